from __future__ import annotations

from pathlib import Path

import pytest

from shopfloor.config import load_settings
from shopfloor.errors import ConfigError


def test_defaults() -> None:
    settings = load_settings()
    assert settings.ingest.unknown_assets == "auto"
    assert settings.production.shift_starts == ["06:00", "14:00", "22:00"]


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPFLOOR_INGEST__BATCH_ROWS", "5000")
    monkeypatch.setenv("SHOPFLOOR_LAKE", "/tmp/somewhere")
    settings = load_settings()
    assert settings.ingest.batch_rows == 5000
    assert settings.lake == Path("/tmp/somewhere")


def test_toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "shopfloor.toml"
    config.write_text('[quality]\ngap_factor = 5.0\n[production]\ntimezone = "Europe/Berlin"\n')
    monkeypatch.setenv("SHOPFLOOR_CONFIG", str(config))
    settings = load_settings()
    assert settings.quality.gap_factor == 5.0
    assert settings.production.timezone == "Europe/Berlin"


def test_invalid_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPFLOOR_INGEST__UNKNOWN_ASSETS", "maybe")
    with pytest.raises(ConfigError, match=r"ingest\.unknown_assets"):
        load_settings()


def test_bad_shift_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPFLOOR_PRODUCTION__SHIFT_STARTS", '["25:00"]')
    with pytest.raises(ConfigError, match="shift_starts"):
        load_settings()
