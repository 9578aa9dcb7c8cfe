"""The device checks step: pilot tests, the bench-time keystroke budget, a snapshot."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from agent.checks.charger import unplugged
from agent.policy import load_policy
from agent.probes.peripherals import probe_peripherals
from agent.report.schema import Report, TestOutcome
from agent.tui.app import DigibenchApp
from agent.tui.screens.checks import (
    SCREEN_TEST_INTERVAL_S,
    CosmeticScreen,
    KeyboardScreen,
    TouchpadScreen,
)
from agent.tui.screens.confirm import ConfirmScreen
from agent.tui.screens.devices import DevicesScreen
from agent.tui.screens.summary import SummaryScreen
from tests.tui.bench_time import BUDGET_S, bench_time

from .conftest import (
    CountedKeys,
    ScriptedPipeline,
    inspected_report,
    make_app,
    screen_text,
    wait_for,
)

SYSROOTS = Path(__file__).parent.parent / "fixtures" / "sysroots"
DEVICE_CHECKS = ["camera", "audio", "wifi", "bluetooth", "charging", "thermal"]


def _laptop(tree: str = "laptop-peripherals") -> Report:
    report = inspected_report("DG-000051")
    report.components.peripherals = probe_peripherals(SYSROOTS / tree)
    return report


def _app(report: Report, **kwargs: Any) -> tuple[DigibenchApp, ScriptedPipeline]:
    app, pipeline = make_app(report=report, **kwargs)
    app.device_checks = load_policy().checks
    return app, pipeline


def unplug_charger(root: Path) -> None:
    """What pulling the charger out does to the power supply files (the kernel's ABI)."""
    supplies = root / "sys/class/power_supply"
    (supplies / "AC/online").write_text("0\n")
    (supplies / "BAT0/status").write_text("Discharging\n")


def charger_root(tmp_path: Path) -> Path:
    """A copy of the laptop's tree whose power supply files the test may flip."""
    root = tmp_path / "laptop"
    shutil.copytree(SYSROOTS / "laptop-peripherals", root)
    return root


async def _to_devices(pilot: Any, tag: str) -> None:
    """From the start screen to the devices screen: the tag, the summary, the keyboard
    and screen tests passed (the keys a volunteer presses)."""
    app = pilot.app
    await pilot.press(*tag, "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
    await pilot.press("enter", "f2")
    await wait_for(pilot, lambda: not isinstance(app.screen, KeyboardScreen))
    await pilot.press("f2")
    await wait_for(pilot, lambda: isinstance(app.screen, DevicesScreen))


async def test_happy_path_with_device_checks_stays_within_15_keystrokes(tmp_path: Path) -> None:
    """Bench time: asset tag to confirm, with every new check in its default policy; the
    charger's unplug is noticed on the devices screen without a key."""
    root = charger_root(tmp_path)
    app, pipeline = _app(_laptop())
    app.charger = lambda: unplugged(root)
    async with app.run_test(size=(100, 30)) as pilot:
        press = CountedKeys(pilot, start=2)  # the boot menu: pick the entry, Enter
        await pilot.press(*"DG-000051")  # the barcode scanner types the tag...
        await press("enter")  # ...and the Enter is counted
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        await press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyboardScreen))
        await press("f2")
        await wait_for(pilot, lambda: not isinstance(app.screen, KeyboardScreen))
        await press("f2")  # screen test
        await wait_for(pilot, lambda: isinstance(app.screen, TouchpadScreen))
        await press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, DevicesScreen))
        assert "Integrated Camera" in screen_text(app)
        assert "Pull the charger out" in screen_text(app)
        unplug_charger(root)  # the volunteer pulls the charger: no key
        await wait_for(pilot, lambda: "Charger unplug noticed" in screen_text(app))
        await press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, CosmeticScreen))
        await press("5")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await press("tab", "enter")
        await wait_for(pilot, lambda: "run" in pipeline.calls)
    names = [t.name for t in pipeline.tests]
    assert names == ["keyboard", "screen", "touchpad", *DEVICE_CHECKS, "cosmetic"]
    assert all(t.outcome is TestOutcome.PASS for t in pipeline.tests if t.name in DEVICE_CHECKS)
    charging = next(t for t in pipeline.tests if t.name == "charging")
    assert charging.details == "AC online, battery Charging; unplug noticed"
    assert press.count <= 15, press.count
    assert app.device_checks is not None
    spent = bench_time(
        app.device_checks,
        keystrokes=press.count,
        screen_test_interval=SCREEN_TEST_INTERVAL_S,
        usb_ports=0,  # no USB map on this station
        camera=False,  # no frame grabbed: the camera is only listed
        audio=False,
    )
    assert spent.parts["charger_unplug"] > 0 and spent.total <= BUDGET_S, spent.parts


async def test_going_on_before_unplugging_records_the_unplug_as_not_tried(tmp_path: Path) -> None:
    root = charger_root(tmp_path)
    app, pipeline = _app(_laptop(), touchpad_test=False)
    policy = load_policy().checks.model_copy(update={"charger_unplug_s": 600})
    app.device_checks = policy
    app.charger = lambda: unplugged(root)
    async with app.run_test(size=(100, 30)) as pilot:
        await _to_devices(pilot, "DG-54")
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, CosmeticScreen))
        await pilot.press("5")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    charging = next(t for t in pipeline.tests if t.name == "charging")
    assert charging.outcome is TestOutcome.PASS
    assert charging.details == "AC online, battery Charging; unplug not tried"


async def test_operator_marks_a_broken_camera_and_changes_their_mind_on_sound() -> None:
    app, pipeline = _app(_laptop(), touchpad_test=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _to_devices(pilot, "DG-51")
        await pilot.press("1", "2", "2")
        await pilot.pause()
        assert "1 [x] camera: broken (operator)" in screen_text(app)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, CosmeticScreen))
        await pilot.press("5")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    outcomes = {t.name: t.outcome for t in pipeline.tests}
    assert outcomes["camera"] is TestOutcome.FAIL and outcomes["audio"] is TestOutcome.PASS
    camera = next(t for t in pipeline.tests if t.name == "camera")
    assert camera.details == "Integrated Camera: Integrated C; operator: broken"


async def test_a_vm_proposes_failures_and_f4_skips_them_all() -> None:
    app, pipeline = _app(_laptop("vm-virtio-loop"), touchpad_test=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await _to_devices(pilot, "DG-52")
        assert "NOT OK" in screen_text(app) and "none found" in screen_text(app)
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, CosmeticScreen))
        await pilot.press("5")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    skipped = [t.outcome for t in pipeline.tests if t.name in DEVICE_CHECKS]
    assert skipped == [TestOutcome.SKIPPED] * 6


async def test_without_the_policy_step_the_flow_is_unchanged() -> None:
    app, _pipeline = make_app(report=_laptop(), touchpad_test=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"DG-53", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        await pilot.press("enter", "f2")
        await wait_for(pilot, lambda: not isinstance(app.screen, KeyboardScreen))
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, CosmeticScreen))


async def test_a_charger_unplug_never_noticed_in_its_time_fails_the_charging_check(
    tmp_path: Path,
) -> None:
    from agent.checks.devices import device_checks

    root = charger_root(tmp_path)
    now = [1000.0]
    checks = device_checks(_laptop().components.peripherals, load_policy().checks)  # type: ignore[arg-type]
    app, _ = make_app()
    results: list[Any] = []
    async with app.run_test(size=(100, 30)) as pilot:
        screen = DevicesScreen(checks, lambda: unplugged(root), 20, clock=lambda: now[0])
        app.push_screen(screen, results.append)
        await wait_for(pilot, lambda: "Pull the charger out" in screen_text(app))
        now[0] += 21  # the volunteer pulled it out; the laptop did not notice
        await pilot.press("f2")
        await wait_for(pilot, lambda: bool(results))
    charging = next(t for t in results[0] if t.name == "charging")
    assert charging.outcome is TestOutcome.FAIL
    assert charging.details == "AC online, battery Charging; unplug not noticed within 20 s"


def test_devices_screen_snapshot(snap_compare: Any) -> None:
    from agent.checks.devices import device_checks

    app, _ = make_app(language="nl")
    checks = device_checks(_laptop().components.peripherals, load_policy().checks)  # type: ignore[arg-type]

    async def run_before(pilot: Any) -> None:
        await pilot.app.push_screen(DevicesScreen(checks))
        await pilot.press("3")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 25), run_before=run_before)
