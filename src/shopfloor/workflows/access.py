"""Users, tokens and the audit log of a lake, for the CLI and the server."""

from __future__ import annotations

from pathlib import Path

from shopfloor.access import (
    ROLES,
    AccessStore,
    AuditEntry,
    AuditLog,
    AuditVerification,
    IssuedToken,
    Principal,
    TokenInfo,
    User,
    role_at_least,
)
from shopfloor.lake import Lake


def access_store(lake: Lake | Path) -> AccessStore:
    return AccessStore.for_lake(lake.path if isinstance(lake, Lake) else lake)


def audit_log(lake: Lake | Path) -> AuditLog:
    return AuditLog.for_lake(lake.path if isinstance(lake, Lake) else lake)


def verify_audit(lake: Lake | Path) -> AuditVerification:
    return audit_log(lake).verify()


def lake_sites(lake: Lake) -> set[str]:
    """Every site named in the asset registry."""
    with lake.meta.connect() as con:
        rows = con.execute("SELECT DISTINCT site FROM assets WHERE site IS NOT NULL").fetchall()
    return {str(r[0]) for r in rows}


__all__ = [
    "ROLES",
    "AccessStore",
    "AuditEntry",
    "AuditLog",
    "AuditVerification",
    "IssuedToken",
    "Principal",
    "TokenInfo",
    "User",
    "access_store",
    "audit_log",
    "lake_sites",
    "role_at_least",
    "verify_audit",
]
