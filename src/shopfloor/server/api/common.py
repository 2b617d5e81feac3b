"""What every API module shares: documented error responses and small conversions."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pandas as pd
from pydantic import BaseModel

from shopfloor.server.schemas import ErrorBody, rows
from shopfloor.server.state import ServerState
from shopfloor.workflows.access import Principal

M = TypeVar("M", bound=BaseModel)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "malformed request"},
    401: {"model": ErrorBody, "description": "not authenticated (or token revoked, expired)"},
    403: {"model": ErrorBody, "description": "role too low for this route"},
    404: {"model": ErrorBody, "description": "no such thing in the sites you may see"},
    409: {"model": ErrorBody, "description": "the lake cannot answer yet (e.g. no model)"},
    413: {"model": ErrorBody, "description": "request body too large"},
    422: {"model": ErrorBody, "description": "input that cannot be used, field named"},
    429: {"model": ErrorBody, "description": "rate limited; see Retry-After"},
}


def sites_of(principal: Principal) -> frozenset[str] | None:
    return principal.sites


def utc_or_none(value: datetime | None) -> pd.Timestamp | None:
    """Naive times are taken as UTC (the lake's clock)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return pd.Timestamp(value).tz_convert("UTC")


def cached_rows(
    state: ServerState,
    view: str,
    key: Hashable,
    frame: Callable[[], pd.DataFrame],
    model: type[M],
    keep: Callable[[list[M]], bool] | None = None,
) -> list[M]:
    """A view's rows as response models, converted once per version of its tables.

    Turning frame rows into models costs 5-30 us a row, more than the rest of a request;
    the models are read-only here, so every request of that version shares them.
    """
    return state.cached(view, ("rows", model.__name__, key), lambda: rows(frame(), model), keep)
