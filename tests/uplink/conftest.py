"""Fixtures: one real server process for the session, and a station registered on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.uplink.server_process import ServerProcess, Station


@pytest.fixture(scope="session")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("server"))
    server.start()
    try:
        yield server
    finally:
        server.drop()


@pytest.fixture(scope="session")
def station(central: ServerProcess) -> Station:
    return central.add_station("bench-e2e")
