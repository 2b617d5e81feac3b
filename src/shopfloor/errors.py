"""The one exception tree of shopfloor.

Every error a user can cause derives from :class:`ShopfloorError`.  The CLI maps
:class:`InputError` (and its children) to exit code 2 with a one-line message that
names the file, row or field at fault; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class ShopfloorError(Exception):
    """Base of every error shopfloor raises on purpose."""

    exit_code = 1


class ConfigError(ShopfloorError):
    """Settings or a mapping file are invalid."""

    exit_code = 2


class InputError(ShopfloorError):
    """User input is unusable as a whole (the whole file or request is refused).

    ``source``, ``row`` and ``field`` locate the fault; ``str(err)`` is one line
    naming them, so the CLI can print it verbatim.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.row = row
        self.field = field
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.source is not None:
            where.append(str(self.source))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        prefix = ": ".join([", ".join(where)]) + ": " if where else ""
        return f"{prefix}{self.message}".replace("\n", " ")


class MappingError(InputError, ConfigError):
    """A declarative mapping file does not fit the data or the data model."""


class UnknownTableError(InputError):
    """A table name that is not part of the canonical data model."""


class NotFoundError(InputError):
    """A named thing (asset, alert, schedule, model, job) does not exist, or is not visible."""


class AuthError(ShopfloorError):
    """Credentials are missing, wrong, expired or revoked."""

    exit_code = 2


class PermissionDeniedError(ShopfloorError):
    """The principal is authenticated but its role or sites do not allow the request."""

    exit_code = 2


class RateLimitedError(ShopfloorError):
    """Too many requests from one principal or address; retry after ``retry_after`` s."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many requests; retry after {retry_after:.0f} s")
        self.retry_after = retry_after


class AuditTamperedError(ShopfloorError):
    """The audit log's hash chain does not verify (exit 1: a failed check)."""


class LakeError(ShopfloorError):
    """The lake on disk is missing, locked or inconsistent."""


class MissingExtraError(ShopfloorError, ImportError):
    """An optional dependency is not installed; names the extra that brings it."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"'{module}' is not installed; install it with: pip install 'shopfloor[{extra}]'"
        )
        self.module = module
        self.extra = extra


class ModelError(ShopfloorError):
    """A model cannot do what was asked: not fitted, wrong inputs, unknown version."""

    exit_code = 2


class NotFittedError(ModelError, ValueError):
    """``predict``/``score`` called before ``fit``."""

    def __init__(self, estimator: object) -> None:
        super().__init__(f"{type(estimator).__name__} is not fitted yet: call fit() first")


class ComputeError(ShopfloorError):
    """A compute backend failed to run a job (a Spark task failed, an executor was lost)."""
