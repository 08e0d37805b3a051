"""Real stores for the web application's tests, and the application served over HTTP.

Two embedded stores, each loaded the way ``graphscore load`` does it: the bundled OpenSanctions
sample (Zala Aero, LLC CST and the Zakharovs; Cyrillic names) and a synthetic registry of 300
companies in which a few entities are renamed in Chinese characters and with accents, as a real
register has them. The application runs in uvicorn on a free loopback port, in a thread.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

import graphscore as gs
from graphscore.serve.app import create_app
from graphscore.store.ladybug import LadybugStore
from graphscore.synthetic import generate_network

DATA = Path(__file__).resolve().parents[2] / "data"
POLICY_FILES = [DATA / "policies" / name for name in ("joint-punishment.toml", "diffusion.toml", "ofac-50.toml")]
ZALA_AS_OF = "2024-06-30"

# Renamed in the synthetic registry: what investigators type must find them.
RENAMED = {"C000001": "深圳华信贸易有限公司", "P000001": "张伟", "C000002": "Zoë Müller-Lüdenscheidt GmbH"}


def _load(tables: gs.Tables, path: Path) -> Path:
    with LadybugStore(path) as store:
        store.load(tables)
    return path


@pytest.fixture(scope="session")
def zala_db(tmp_path_factory) -> Path:
    return _load(gs.read_path(DATA / "zala" / "entities.ftm.json"), tmp_path_factory.mktemp("zala") / "db")


@pytest.fixture(scope="session")
def registry_db(tmp_path_factory) -> Path:
    tables = generate_network(300, seed=7, as_of="2024-06-30")
    names = tables.entities["id"].map(RENAMED)
    tables.entities["name"] = names.fillna(tables.entities["name"])
    return _load(tables, tmp_path_factory.mktemp("registry") / "db")


@pytest.fixture(scope="session")
def policies() -> list[gs.Policy]:
    return [gs.load_policy(path) for path in POLICY_FILES]


class Served:
    """The application over a store, listening on a free loopback port until stopped."""

    def __init__(self, app):
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(base_url=self.url, timeout=60)

    def stop(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def zala(zala_db, policies):
    served = Served(create_app(gs.open(zala_db), policies))
    yield served
    served.stop()


@pytest.fixture(scope="session")
def registry(registry_db, policies):
    served = Served(create_app(gs.open(registry_db), policies))
    yield served
    served.stop()
