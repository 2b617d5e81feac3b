"""Model registry: versions, stages, checksums, lineage of training data."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopfloor.errors import InputError, ModelError
from shopfloor.estimators import Estimator
from shopfloor.registry import ModelRegistry


class _Model(Estimator):
    def __init__(self, *, depth: int = 3) -> None:
        self.depth = depth

    def fit(self) -> _Model:
        self.weights_ = [self.depth] * 3
        return self


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models", tmp_path / "meta.sqlite")


def test_register_load_and_promote(registry: ModelRegistry) -> None:
    first = registry.register(
        "rul", _Model(depth=2).fit(), metrics={"rmse": 12.0}, training_data={"readings": 4}
    )
    second = registry.register("rul", _Model(depth=5).fit(), metrics={"rmse": 11.0})
    assert (first.version, second.version) == (1, 2)
    assert first.params == {"depth": 2} and first.training_data == {"readings": 4}
    assert first.estimator.endswith(":_Model")
    # Without a production version, the latest is served.
    assert registry.load("rul").depth == 5
    registry.promote("rul", 1)
    assert registry.get("rul").version == 1
    assert registry.load("rul").weights_ == [2, 2, 2]
    registry.promote("rul", 2)
    stages = {v.version: v.stage for v in registry.list("rul")}
    assert stages == {1: "archived", 2: "production"}


def test_unknown_model_and_bad_names(registry: ModelRegistry) -> None:
    with pytest.raises(ModelError, match="registry is empty"):
        registry.get("nothing")
    registry.register("a", _Model().fit())
    with pytest.raises(ModelError, match="known models: a"):
        registry.load("b")
    with pytest.raises(ModelError, match="version 9"):
        registry.promote("a", 9)
    with pytest.raises(InputError):
        registry.register("../escape", _Model())


def test_tampered_artefact_is_refused(registry: ModelRegistry) -> None:
    version = registry.register("m", _Model().fit())
    path = registry.root / version.artefact
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ModelError, match="checksum mismatch"):
        registry.load("m")
    path.unlink()
    with pytest.raises(ModelError, match="artefact missing"):
        registry.load("m")


def test_registering_production_archives_the_previous(registry: ModelRegistry) -> None:
    registry.register("m", _Model().fit(), stage="production")
    registry.register("m", _Model().fit(), stage="production")
    assert [v.stage for v in registry.list("m")] == ["archived", "production"]
