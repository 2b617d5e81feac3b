"""Roles and the principal a request acts as."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["viewer", "operator", "engineer", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "engineer", "admin")
ALL_SITES = "*"


def role_at_least(role: str, needed: str) -> bool:
    """viewer < operator < engineer < admin."""
    return ROLES.index(role) >= ROLES.index(needed)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Principal:
    """An authenticated user (through a session or an API token) and what it may see.

    ``sites`` is None for a principal of every site (only an admin can be given that);
    otherwise it is the closed set of sites whose data the principal may read or change.
    """

    user: str
    role: Role
    sites: frozenset[str] | None
    via: Literal["session", "token"]
    token_id: str

    def may(self, needed: str) -> bool:
        return role_at_least(self.role, needed)

    def sees_site(self, site: str | None) -> bool:
        # Data of no known site is only for principals of every site: deny by default.
        if self.sites is None:
            return True
        return site is not None and site in self.sites

    def sees_all(self, sites: set[str] | frozenset[str]) -> bool:
        return self.sites is None or set(sites) <= self.sites

    @property
    def site_label(self) -> str:
        return ALL_SITES if self.sites is None else ",".join(sorted(self.sites))
