"""Who may do what: users, API tokens, roles, sites, and the tamper-evident audit log.

Everything lives in the lake's SQLite metadata store (DESIGN §4): passwords as argon2
hashes, tokens as SHA-256 digests of 256-bit random secrets (shown once, never stored),
and an audit log whose rows are chained by HMAC-SHA256 under a key kept outside the
database, so that editing, inserting or deleting a row is detected by ``verify``.
"""

from shopfloor.access.audit import AuditEntry, AuditLog, AuditVerification
from shopfloor.access.principals import ROLES, Principal, Role, role_at_least
from shopfloor.access.store import AccessStore, IssuedToken, TokenInfo, User

__all__ = [
    "ROLES",
    "AccessStore",
    "AuditEntry",
    "AuditLog",
    "AuditVerification",
    "IssuedToken",
    "Principal",
    "Role",
    "TokenInfo",
    "User",
    "role_at_least",
]
