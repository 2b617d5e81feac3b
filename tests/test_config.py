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


def test_planning_defaults_match_the_demo_plant_clock() -> None:
    planning = load_settings().planning
    assert planning.working_days == ["mon", "tue", "wed", "thu", "fri"]
    assert planning.working_hours == ["06:00-22:00"]
    assert planning.timezone is None  # falls back to production.timezone
    assert (planning.horizon_days, planning.objective, planning.workers) == (14, "mix", 2)
    assert planning.may_span_break and planning.maintenance_window_h == 4.0


def test_planning_days_accept_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPFLOOR_PLANNING__WORKING_DAYS", '["Saturday", "MON", "mon"]')
    monkeypatch.setenv("SHOPFLOOR_PLANNING__HOLIDAYS", '["2026-12-25"]')
    planning = load_settings().planning
    assert planning.working_days == ["mon", "sat"]
    assert str(planning.holidays[0]) == "2026-12-25"


@pytest.mark.parametrize(
    ("variable", "value", "match"),
    [
        ("WORKING_DAYS", '["someday"]', "working_days"),
        ("WORKING_DAYS", "[]", "working_days"),
        ("WORKING_HOURS", '["6-22"]', "working_hours"),
        ("WORKING_HOURS", '["06:00-06:00"]', "working_hours"),
        ("TIMEZONE", "Mars/Olympus", "timezone"),
        ("OBJECTIVE", "profit", "objective"),
        ("HORIZON_DAYS", "0", "horizon_days"),
        ("HOLIDAYS", '["christmas"]', "holidays"),
    ],
)
def test_bad_planning_settings_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, match: str
) -> None:
    monkeypatch.setenv(f"SHOPFLOOR_PLANNING__{variable}", value)
    with pytest.raises(ConfigError, match=rf"planning\.{match}"):
        load_settings()
