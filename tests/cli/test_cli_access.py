"""`shopfloor users | audit | serve`: accounts, tokens, tamper detection, TLS."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

PASSWORD = "a long enough password"


def run(*args: str, lake: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shopfloor.cli.main", *args, "--lake", str(lake)],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        check=False,
    )


def _get(
    url: str, token: str | None = None, context: ssl.SSLContext | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_users_tokens_and_revocation(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    added = run(
        "users",
        "add",
        "ana",
        "--role",
        "engineer",
        "--site",
        "PLANT1",
        "--password-stdin",
        lake=lake,
        stdin=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert "engineer of PLANT1" in added.stdout
    listed = json.loads(run("users", "list", "--json", lake=lake).stdout)
    assert listed == [
        {
            "username": "ana",
            "role": "engineer",
            "sites": ["PLANT1"],
            "disabled": False,
            "active_tokens": 0,
        }
    ]
    token = json.loads(run("users", "token", "ana", "--days", "1", "--json", lake=lake).stdout)
    assert token["token"].startswith("sf_" + token["token_id"])
    assert json.loads(run("users", "list", "--json", lake=lake).stdout)[0]["active_tokens"] == 1
    revoked = run("users", "revoke", token["token_id"], lake=lake)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert json.loads(run("users", "list", "--json", lake=lake).stdout)[0]["active_tokens"] == 0


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (
            ("users", "add", "bob", "--role", "boss", "--site", "A", "--password-stdin"),
            PASSWORD,
            "field 'role'",
        ),
        (("users", "add", "bob", "--site", "A", "--password-stdin"), "short", "field 'password'"),
        (
            ("users", "add", "bob", "--role", "viewer", "--all-sites", "--password-stdin"),
            PASSWORD,
            "only an admin",
        ),
        (("users", "add", "bob", "--password-stdin"), PASSWORD, "--site"),
        (("users", "token", "nobody"), "", "no user 'nobody'"),
        (("users", "revoke", "abcdef012345"), "", "no token"),
        (("serve", "--tls-cert", "missing.pem"), "", "--tls-cert and --tls-key"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    tmp_path: Path, args: tuple[str, ...], stdin: str, says: str
) -> None:
    result = run(*args, lake=tmp_path / "lake", stdin=stdin + "\n")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_audit_verify_detects_an_edited_row(tmp_path: Path) -> None:
    from shopfloor.access import AuditLog

    lake = tmp_path / "lake"
    log = AuditLog.for_lake(lake)
    for i in range(4):
        log.append(
            principal="ana",
            action="read",
            method="GET",
            target=f"/api/assets/M{i}",
            status=200,
            sites="PLANT1",
        )
    intact = run("audit", "verify", lake=lake)
    assert intact.returncode == 0 and "4 rows verified" in intact.stdout
    shown = json.loads(run("audit", "show", "--json", lake=lake).stdout)
    assert [r["id"] for r in shown] == [4, 3, 2, 1]
    with sqlite3.connect(lake / "meta.sqlite") as con:
        con.execute("UPDATE audit_log SET principal='someone-else' WHERE id=2")
    broken = run("audit", "verify", lake=lake)
    assert broken.returncode == 1
    assert "audit log tampered: row 2 was altered" in broken.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_over_tls_with_a_token(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    run(
        "users",
        "add",
        "root",
        "--role",
        "admin",
        "--all-sites",
        "--password-stdin",
        lake=lake,
        stdin=PASSWORD + "\n",
    )
    token = json.loads(run("users", "token", "root", "--json", lake=lake).stdout)["token"]
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shopfloor.cli.main",
            "serve",
            "--lake",
            str(lake),
            "--port",
            str(port),
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ},
    )
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, headers, _ = _get(f"{url}/api/health", context=context)
                break
            except (urllib.error.URLError, ConnectionError, ssl.SSLError):
                assert time.monotonic() < deadline, server.stderr.read1().decode()  # type: ignore[union-attr]
                time.sleep(0.3)
        assert status == 200 and "max-age" in headers["strict-transport-security"]
        assert _get(f"{url}/api/me", context=context)[0] == 401
        status, _, body = _get(f"{url}/api/me", token, context=context)
        assert status == 200 and json.loads(body)["user"] == "root"
    finally:
        server.terminate()
        server.wait(timeout=30)
