"""`shopfloor serve`: the REST API and the dashboard over one lake."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopfloor.cli.output import LakeOption, console, err_console
from shopfloor.config import Settings, load_settings
from shopfloor.errors import InputError


def settings_for(
    lake: Path | None,
    host: str | None,
    port: int | None,
    tls_cert: Path | None,
    tls_key: Path | None,
) -> Settings:
    base = load_settings()
    server = base.server.model_copy(
        update={
            k: v
            for k, v in {
                "host": host,
                "port": port,
                "tls_cert": tls_cert,
                "tls_key": tls_key,
            }.items()
            if v is not None
        }
    )
    settings = base.model_copy(update={"server": server, **({"lake": lake} if lake else {})})
    if (settings.server.tls_cert is None) != (settings.server.tls_key is None):
        raise InputError("give both --tls-cert and --tls-key, or neither", field="tls-key")
    for option, value in (("tls-cert", server.tls_cert), ("tls-key", server.tls_key)):
        if value is not None and not value.is_file():
            raise InputError("file not found", source=str(value), field=option)
    return settings


def run_server(settings: Settings, banner: str = "") -> None:
    """Serve until interrupted (Ctrl-C)."""
    import uvicorn

    from shopfloor.server import create_app

    app = create_app(settings)
    server = settings.server
    scheme = "https" if server.tls_cert else "http"
    if not app.state.shopfloor.access.users():
        err_console.print(
            "no users yet: add one with `shopfloor users add NAME --role admin --all-sites "
            f"--lake {settings.lake}`"
        )
    console.print(
        f"{banner}serving {settings.lake} at {scheme}://{server.host}:{server.port} "
        f"(API spec: /api/openapi.json); Ctrl-C stops"
    )
    uvicorn.run(
        app,
        host=server.host,
        port=server.port,
        ssl_certfile=str(server.tls_cert) if server.tls_cert else None,
        ssl_keyfile=str(server.tls_key) if server.tls_key else None,
        log_level="warning",
        proxy_headers=False,
        server_header=False,
        # open SSE streams never finish by themselves: without a limit a stop would wait
        # for every dashboard tab to close
        timeout_graceful_shutdown=5,
    )


def serve_command(
    lake: LakeOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port.")] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(help="PEM certificate: serve HTTPS (with --tls-key).")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(help="PEM private key of the certificate.")
    ] = None,
) -> None:
    """Serve the REST API and the web dashboard (default http://127.0.0.1:8000).

    Every route but login and health needs a user: `shopfloor users add`, then log in
    in the browser, or send `Authorization: Bearer <token>` from `shopfloor users token`.
    """
    run_server(settings_for(lake, host, port, tls_cert, tls_key))
