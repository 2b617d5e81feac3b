"""The one estimator contract every model follows (DESIGN section 6).

scikit-learn style: the constructor only stores hyperparameters (keyword arguments,
kept under their own names); ``fit(...)`` learns and returns ``self``; learned state
lives in public attributes ending in ``_``; ``predict`` / ``score`` / ``forecast`` /
``solve`` return typed results (frozen dataclasses), never string-keyed dicts;
randomness comes from a ``seed`` hyperparameter through :func:`local_rng`, never from
global state.  :class:`Estimator` gives ``get_params`` / ``set_params`` / ``clone`` /
``is_fitted`` from that convention, so a model only writes its maths.
"""

from __future__ import annotations

import copy
import inspect
from typing import TYPE_CHECKING, Any, Self

from shopfloor.errors import ModelError, NotFittedError

if TYPE_CHECKING:
    import numpy as np


class Estimator:
    """Base class: hyperparameters from ``__init__``'s signature, learned state ending in ``_``."""

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [
            p.name
            for p in signature.parameters.values()
            if p.name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as given to the constructor (what a registry records)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        names = set(self._param_names())
        unknown = sorted(set(params) - names)
        if unknown:
            raise ModelError(f"{type(self).__name__} has no hyperparameter {', '.join(unknown)}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def clone(self) -> Self:
        """A new, unfitted estimator with the same hyperparameters."""
        return type(self)(**copy.deepcopy(self.get_params()))

    @property
    def is_fitted(self) -> bool:
        return any(
            name.endswith("_") and not name.startswith("_") and not name.endswith("__")
            for name in vars(self)
        )

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(self)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def local_rng(seed: int | None) -> np.random.Generator:
    """The estimator's own generator: same seed, same result; never the global state."""
    import numpy as np

    return np.random.default_rng(seed)
