"""The service: REST API and server-rendered dashboard over one lake (`shopfloor serve`).

Imported lazily by the CLI: FastAPI and its friends load only when serving.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from shopfloor.config import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    from shopfloor.server.app import create_app as build

    return build(settings)


__all__ = ["create_app"]
