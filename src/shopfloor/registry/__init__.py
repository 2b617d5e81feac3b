"""Model registry: versioned model artefacts with their params, metrics and training data."""

from shopfloor.registry.store import ModelRegistry, ModelVersion

__all__ = ["ModelRegistry", "ModelVersion"]
