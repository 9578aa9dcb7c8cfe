"""HPA/DCO detection from recorded hdparm outputs."""

from __future__ import annotations

from agent.erase.hidden import HiddenAreas, detect, parse_dco_real_max, remove_hpa
from agent.runner import ReplayRunner

from .scripted import fixture, script

SDB = "/dev/sdb"


def test_dco_real_max_from_recording() -> None:
    assert parse_dco_real_max(fixture("hdparm_dco_identify_wdc_wd5000bmvv.txt")) == 976773168
    assert parse_dco_real_max("SG_IO: bad/missing sense data") is None


def test_usb_bridge_hides_sectors_the_dco_reveals() -> None:
    """The WD My Passport case: the kernel sees 976717824 sectors, the drive has 976773168."""
    runner = ReplayRunner()
    runner.add(["hdparm", "-N", SDB], "", returncode=22, stderr="SG_IO: bad/missing sense data")
    runner.add(["hdparm", "--dco-identify", SDB], fixture("hdparm_dco_identify_wdc_wd5000bmvv.txt"))
    areas = detect(runner, SDB, kernel_sectors=976717824)
    assert areas.visible == 976717824 and areas.native is None
    assert areas.dco_max == 976773168
    assert areas.dco
    assert "real max 976773168" in areas.dco_text()
    assert areas.hpa_text().startswith("unknown (hdparm -N gave no answer: SG_IO")
    assert not areas.hpa


def test_remove_hpa_runs_the_exact_command_and_checks_it() -> None:
    areas = HiddenAreas(visible=976773168 - 2048, native=976773168, dco_max=976773168)
    assert areas.hpa and "2048 sectors hidden" in areas.hpa_text()
    set_cmd = ["hdparm", "--yes-i-know-what-i-am-doing", "-N", "p976773168", SDB]
    # hdparm's own report format (identify.c: " max sectors   = %llu/%llu, HPA is ...").
    runner = script(
        (set_cmd, "", 0),
        (["hdparm", "-N", SDB], " max sectors   = 976771120/976773168, HPA is enabled\n", 0),
    )
    ok, message = remove_hpa(runner, SDB, areas)
    assert not ok and "did not take effect" in message
    assert runner.calls[0] == tuple(set_cmd)
    runner = script(
        (set_cmd, "", 0),
        (["hdparm", "-N", SDB], " max sectors   = 976773168/976773168, HPA is disabled\n", 0),
    )
    assert remove_hpa(runner, SDB, areas) == (
        True,
        "HPA removed: visible size restored to 976773168 sectors",
    )
