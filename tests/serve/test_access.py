"""Who may use the server: anyone on loopback; elsewhere, only with the token printed at start."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

import graphscore as gs
from graphscore.serve.app import TOKEN_COOKIE, create_app

from .conftest import POLICY_FILES, Served


def test_token_required_when_given(zala_db, policies):
    served = Served(create_app(gs.open(zala_db), policies, token="s3cret-token"))
    try:
        assert served.client.get("/api/info").status_code == 401
        assert served.client.get("/", params={"token": "wrong"}).status_code == 401
        assert served.client.get("/api/info", headers={"X-Graphscore-Token": "s3cret-token"}).status_code == 200
        page = served.client.get("/", params={"token": "s3cret-token"})
        assert page.status_code == 200 and page.cookies.get(TOKEN_COOKIE) == "s3cret-token"
        assert served.client.get("/api/info").status_code == 200  # the page's requests carry the cookie
    finally:
        served.stop()


def _serve(db, *args):
    """Run ``graphscore serve`` and return the process and the address it printed."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    process = subprocess.Popen([sys.executable, "-m", "graphscore", "serve", "--db", str(db), "--port", "0", "-q",
                                "--policy", str(POLICY_FILES[0]), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise AssertionError(f"graphscore serve printed nothing: {process.stderr.read()}")
    return process, line.split()[2]


def test_cli_serves_on_loopback_without_token(zala_db):
    process, address = _serve(zala_db)
    try:
        assert address.startswith("http://127.0.0.1:") and "token" not in address
        info = httpx.get(address + "api/info", timeout=30).json()
        assert [p["name"] for p in info["policies"]] == ["joint-punishment"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_cli_prints_a_token_off_loopback(zala_db):
    process, address = _serve(zala_db, "--host", "0.0.0.0")
    try:
        token = address.split("?token=")[1]
        port = address.split(":")[2].split("/")[0]
        local = f"http://127.0.0.1:{port}"
        assert len(token) >= 20
        assert httpx.get(f"{local}/api/info", timeout=30).status_code == 401
        assert httpx.get(f"{local}/api/info", params={"token": token}, timeout=30).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
