"""A revoked or suspended stick says so on its result screen (not only in the log): the
real pipeline wipes a loop device and uploads to the real server, which refuses it."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.config import ServerSection, StationConfig, StationSection, TestingSection
from agent.pipeline.station import Pipeline
from agent.runner import SystemRunner
from agent.tui.app import DigibenchApp
from agent.tui.driver import EventBridge
from agent.tui.screens.confirm import ConfirmScreen
from agent.tui.screens.result import ResultScreen
from agent.tui.screens.summary import SummaryScreen
from tests.uplink.server_process import ServerProcess

from .conftest import power_runner, screen_text, wait_for
from .test_real_pipeline import FIXTURES, loop  # noqa: F401  (the loop-device fixture)

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="loop devices need root"),
]


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("server"))
    server.start()
    try:
        yield server
    finally:
        server.drop()


@pytest.mark.parametrize(
    ("how", "words"),
    [
        (("revoke-station",), "Dit station is ingetrokken op de server"),
        (("suspend-station",), "Dit station is geschorst op de server"),
    ],
)
async def test_the_result_screen_says_the_server_refuses_this_station(
    central: ServerProcess,
    tmp_path: Path,
    loop: str,  # noqa: F811
    how: tuple[str, ...],
    words: str,
) -> None:
    name = f"bench-{how[0]}"
    st = central.add_station(name)
    central.manage(*how, name)
    shutil.copytree(st.key_dir, tmp_path / "data" / "keys")  # the key the server knows
    config = StationConfig(
        station=StationSection(name=name, language="nl", data_dir=tmp_path / "data"),
        server=ServerSection(url=central.url, token=st.token),
        testing=TestingSection(allowed_devices=[loop],
                               profile_root=FIXTURES / "sysroots" / "dmi-thinkpad-a485"),
    )  # fmt: skip
    bridge = EventBridge()
    pipeline = Pipeline(config, runner=SystemRunner(), emit=bridge)
    app = DigibenchApp(pipeline, bridge, runner=power_runner(), screen_test_interval=None,
                       touchpad_test=False)  # fmt: skip
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"TUI-REFUSED", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen), timeout=60)
        await pilot.press("enter", "f2", "f2", "5")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen), timeout=120)
        await pilot.pause()
        text = " ".join(screen_text(app).split())
        assert words in text, text
        # no HTTP status for the volunteer (the server's random port may hold "403")
        assert "Traceback" not in text and not re.search(r"\b403\b", text), text
