"""`shopfloor users ...` and `shopfloor audit ...`: who may use the service, and what they did."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from shopfloor.cli.output import JsonOption, LakeOption, console, print_json
from shopfloor.errors import AuditTamperedError, InputError
from shopfloor.workflows import open_lake
from shopfloor.workflows.access import ROLES, access_store, audit_log

users_app = typer.Typer(help="Users, roles, sites and API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


def _when(stamp: float | None) -> str:
    return "" if stamp is None else datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    env = os.environ.get("SHOPFLOOR_PASSWORD")
    if env:
        return env
    if not sys.stdin.isatty():
        raise InputError(
            "no terminal to ask for it: use --password-stdin or SHOPFLOOR_PASSWORD",
            field="password",
        )
    typed: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return typed


@users_app.command("add")
def add_command(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[
        str, typer.Option(help=f"One of {', '.join(ROLES)} (each includes the ones before).")
    ] = "viewer",
    site: Annotated[
        list[str] | None, typer.Option("--site", help="A site the user may see (repeatable).")
    ] = None,
    all_sites: Annotated[
        bool, typer.Option("--all-sites", help="Every site, now and future (admins only).")
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    replace: Annotated[bool, typer.Option(help="Reset an existing user.")] = False,
    lake: LakeOption = None,
) -> None:
    """Add a user (password asked twice, or from stdin / SHOPFLOOR_PASSWORD)."""
    if all_sites == bool(site):
        raise InputError("give --site (repeatable) or --all-sites", field="site")
    store = access_store(open_lake(lake))
    user = store.add_user(
        username, _password(password_stdin), role, None if all_sites else site, replace=replace
    )
    sites = "every site" if user.sites is None else ", ".join(sorted(user.sites))
    console.print(f"user {user.username}: {user.role} of {sites}")


@users_app.command("list")
def list_command(lake: LakeOption = None, json: JsonOption = False) -> None:
    """Users with their role, sites and active tokens."""
    store = access_store(open_lake(lake))
    found = store.users()
    tokens = store.tokens()
    if json:
        print_json(
            [
                {
                    "username": u.username,
                    "role": u.role,
                    "sites": None if u.sites is None else sorted(u.sites),
                    "disabled": u.disabled,
                    "active_tokens": sum(
                        t.active for t in tokens if t.username == u.username and t.kind == "api"
                    ),
                }
                for u in found
            ]
        )
        return
    table = Table(title="users")
    for column in ("user", "role", "sites", "disabled", "active tokens"):
        table.add_column(column)
    for u in found:
        active = sum(t.active for t in tokens if t.username == u.username and t.kind == "api")
        sites = "*" if u.sites is None else ", ".join(sorted(u.sites))
        table.add_row(u.username, u.role, sites, "yes" if u.disabled else "", str(active))
    console.print(table)


@users_app.command("token")
def token_command(
    username: Annotated[str, typer.Argument(help="The user the token acts as.")],
    days: Annotated[float, typer.Option(min=0.001, help="Days until it expires.")] = 90.0,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
    lake: LakeOption = None,
    json: JsonOption = False,
) -> None:
    """Issue an API token; it is printed once and stored only as a hash."""
    issued = access_store(open_lake(lake)).issue_token(
        username, kind="api", expires_in_s=days * 86400, label=label
    )
    if json:
        print_json(
            {
                "token": issued.secret,
                "token_id": issued.info.token_id,
                "expires_at": _when(issued.info.expires_at),
            }
        )
        return
    console.print(issued.secret, markup=False, highlight=False, soft_wrap=True)
    console.print(
        f"token {issued.info.token_id} for {username}, expires {_when(issued.info.expires_at)} "
        "UTC; send it as 'Authorization: Bearer <token>'. It is not shown again.",
        style="dim",
    )


@users_app.command("revoke")
def revoke_command(
    token_id: Annotated[
        str | None, typer.Argument(help="The token's id (the 12 hex digits after 'sf_').")
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="Disable this user and revoke all their tokens.")
    ] = None,
    lake: LakeOption = None,
) -> None:
    """Revoke a token (or with --user, disable a user): refused from the next request on."""
    if (token_id is None) == (user is None):
        raise InputError("give a token id or --user", field="token_id")
    store = access_store(open_lake(lake))
    if user is not None:
        store.disable_user(user)
        console.print(f"user {user} disabled; every token and session revoked")
        return
    assert token_id is not None
    info = store.revoke(token_id.removeprefix("sf_")[:12])
    console.print(f"token {info.token_id} of {info.username} revoked at {_when(info.revoked_at)}")


@audit_app.command("verify")
def verify_command(lake: LakeOption = None, json: JsonOption = False) -> None:
    """Walk the audit log's hash chain; exit 1 naming the first row edited or removed."""
    found = audit_log(open_lake(lake)).verify()
    if json:
        print_json(found.__dict__)
    elif found.ok:
        console.print(f"audit log intact: {found.rows:,} rows verified")
    if not found.ok:
        raise AuditTamperedError(
            f"audit log tampered: {found.problem} (after {found.rows} good rows)"
        )


@audit_app.command("show")
def show_command(
    limit: Annotated[int, typer.Option(min=1, help="Newest rows to show.")] = 20,
    user: Annotated[str | None, typer.Option(help="Only this user's rows.")] = None,
    lake: LakeOption = None,
    json: JsonOption = False,
) -> None:
    """The newest audit rows: who read or changed what, and how it ended."""
    entries = audit_log(open_lake(lake)).entries(limit=limit, principal=user)
    if json:
        print_json([e.__dict__ for e in entries])
        return
    table = Table(title="audit log (newest first)")
    for column in ("id", "at (UTC)", "user", "action", "request", "status"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            str(e.id), _when(e.at), e.principal, e.action, f"{e.method} {e.target}", str(e.status)
        )
    console.print(table)
