"""What every API module shares: documented error responses and small conversions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd

from shopfloor.server.schemas import ErrorBody
from shopfloor.workflows.access import Principal

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "malformed request"},
    401: {"model": ErrorBody, "description": "not authenticated (or token revoked, expired)"},
    403: {"model": ErrorBody, "description": "role too low for this route"},
    404: {"model": ErrorBody, "description": "no such thing in the sites you may see"},
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
