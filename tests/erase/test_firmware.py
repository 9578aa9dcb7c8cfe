"""Firmware erase paths, replayed from real recorded nvme/hdparm outputs (see SOURCES.md)."""

from __future__ import annotations

import pytest

from agent.erase.firmware import (
    Executor,
    parse_hdparm_identify,
    parse_hdparm_sanitize_status,
    parse_nvme_id_ctrl,
    parse_nvme_sanitize_log,
)
from agent.erase.overwrite import Pattern
from agent.erase.plan import ErasePolicy, Method, plan_ata, plan_disk, plan_nvme
from agent.errors import DigibenchError
from agent.report.schema import Disk, MediaType, SanitizeLevel
from agent.runner import ReplayRunner

from .scripted import FakeClock, fixture, script

NVME = "/dev/nvme0n1"
SDA = "/dev/sda"
SN730 = "nvme_id_ctrl_wdc_pc_sn730_256g.json"
EVO = "nvme_id_ctrl_samsung_970_evo_plus_2t.txt"
LOG_RUNNING = "nvme_sanitize_log_intel_660p_1t_in_progress.txt"
LOG_DONE = "nvme_sanitize_log_intel_660p_512g_completed_0x101.txt"


def _disk(transport: str, media: MediaType, path: str) -> Disk:
    return Disk(
        name=path.removeprefix("/dev/"),
        path=path,
        serial="S1",
        size_bytes=256 << 30,
        transport=transport,
        media_type=media,
    )


# --------------------------------------------------------------------------- parsers


def test_nvme_id_ctrl_json_and_text() -> None:
    sn730 = parse_nvme_id_ctrl(fixture(SN730))
    assert sn730.model == "WDC PC SN730 SDBQNTY-256G-1001"
    assert sn730.sanicap == 0x60000003
    assert (sn730.sanitize_crypto, sn730.sanitize_block, sn730.sanitize_overwrite) == (
        True,
        True,
        False,
    )
    assert sn730.format_supported and sn730.format_crypto and not sn730.format_all_namespaces
    evo = parse_nvme_id_ctrl(fixture(EVO))
    assert evo.model == "Samsung SSD 970 EVO Plus 2TB"
    assert not (evo.sanitize_crypto or evo.sanitize_block)
    assert evo.format_supported and evo.format_crypto and evo.format_all_namespaces


def test_nvme_sanitize_log_states() -> None:
    running = parse_nvme_sanitize_log(fixture(LOG_RUNNING))
    assert running.state == "in_progress"
    assert running.progress == pytest.approx(655 / 65536)
    done = parse_nvme_sanitize_log(fixture(LOG_DONE))
    assert done.state == "success"
    assert "global data erased" in done.detail
    with pytest.raises(DigibenchError, match="SSTAT"):
        parse_nvme_sanitize_log("Sanitize Progress (SPROG) : 1\n")


@pytest.mark.parametrize(
    ("name", "frozen", "sanitize_crypto", "rotational", "hpa"),
    [
        ("hdparm_I_micron_5300_frozen.txt", True, True, False, False),
        ("hdparm_I_intel_s3520_480g_not_frozen.txt", False, True, False, False),
        ("hdparm_I_wdc_wd5000bmvv_hdd.txt", False, False, True, True),
        ("hdparm_I_security_frozen_tkperf.txt", True, False, None, False),
    ],
)
def test_hdparm_identify(
    name: str, frozen: bool, sanitize_crypto: bool, rotational: bool | None, hpa: bool
) -> None:
    caps = parse_hdparm_identify(fixture(name))
    assert caps.security_supported and not caps.security_enabled and not caps.locked
    assert caps.enhanced_erase
    assert caps.frozen is frozen
    assert caps.sanitize_crypto is sanitize_crypto
    assert caps.rotational is rotational
    assert caps.hpa_feature is hpa


def test_hdparm_security_section_after_set_pass() -> None:
    caps = parse_hdparm_identify(fixture("hdparm_I_security_enabled_archwiki.txt"))
    assert caps.security_enabled and not caps.frozen and not caps.locked
    assert caps.erase_minutes == 2 and caps.enhanced_erase_minutes == 2


def test_hdparm_sanitize_status_and_garbage() -> None:
    state = parse_hdparm_sanitize_status(fixture("hdparm_sanitize_status_in_progress.txt"))
    assert state.state == "in_progress" and state.progress == 0.25
    with pytest.raises(DigibenchError):
        parse_hdparm_identify("SG_IO: bad/missing sense data")


# --------------------------------------------------------------------------- planner


def test_plan_nvme_sanitize_crypto_exact_command() -> None:
    runner = ReplayRunner()
    runner.add(["nvme", "id-ctrl", NVME, "--output-format=json"], fixture(SN730))
    plan = plan_disk(_disk("nvme", MediaType.NVME, NVME), runner)
    assert plan.method is Method.NVME_SANITIZE_CRYPTO
    assert plan.level is SanitizeLevel.PURGE
    assert plan.start_command == ("nvme", "sanitize", NVME, "--sanact=4")
    assert plan.overwrite is None
    assert runner.calls == [("nvme", "id-ctrl", NVME, "--output-format=json")]


def test_plan_nvme_without_sanitize_formats_with_crypto_erase() -> None:
    plan = plan_nvme(parse_nvme_id_ctrl(fixture(EVO)), NVME, ErasePolicy())
    assert plan.method is Method.NVME_FORMAT_CRYPTO
    assert plan.level is SanitizeLevel.PURGE
    assert plan.start_command == ("nvme", "format", NVME, "--ses=2", "--force")
    assert any("all namespaces" in n for n in plan.notes)


def test_plan_policy_adds_overwrite_or_forces_it() -> None:
    caps = parse_nvme_id_ctrl(fixture(SN730))
    after = plan_nvme(caps, NVME, ErasePolicy(overwrite_after_firmware=True))
    assert after.method is Method.NVME_SANITIZE_CRYPTO and after.overwrite is Pattern.ZERO
    forced = plan_disk(
        _disk("nvme", MediaType.NVME, NVME),
        ReplayRunner(),  # nothing may run
        ErasePolicy(force_overwrite=True, pattern=Pattern.RANDOM),
    )
    assert forced.method is Method.OVERWRITE_RANDOM and forced.level is SanitizeLevel.CLEAR


def test_plan_ata_sanitize_even_when_security_is_frozen() -> None:
    runner = ReplayRunner()
    runner.add(["hdparm", "-I", SDA], fixture("hdparm_I_micron_5300_frozen.txt"))
    plan = plan_disk(_disk("sata", MediaType.SSD, SDA), runner)
    assert plan.method is Method.ATA_SANITIZE_CRYPTO
    assert plan.start_command == (
        "hdparm",
        "--yes-i-know-what-i-am-doing",
        "--sanitize-crypto-scramble",
        SDA,
    )
    assert not plan.needs_unfreeze


def test_plan_ata_frozen_security_erase_needs_unfreeze() -> None:
    caps = parse_hdparm_identify(fixture("hdparm_I_security_frozen_tkperf.txt"))
    plan = plan_ata(caps, SDA, ErasePolicy())
    assert plan.method is Method.ATA_SECURITY_ERASE_ENHANCED
    assert plan.needs_unfreeze
    no_suspend = plan_ata(caps, SDA, ErasePolicy(unfreeze_by_suspend=False))
    assert no_suspend.method is Method.OVERWRITE_ZERO


def test_plan_hdd_usb_loop_overwrite_without_running_anything() -> None:
    runner = ReplayRunner()
    for transport, media, path in [
        ("sata", MediaType.HDD, SDA),
        ("usb", MediaType.USB, "/dev/sdb"),
        ("loop", MediaType.VIRTUAL, "/dev/loop0"),
        ("mmc", MediaType.EMMC, "/dev/mmcblk0"),
    ]:
        plan = plan_disk(_disk(transport, media, path), runner)
        assert plan.method is Method.OVERWRITE_ZERO
        assert plan.level is SanitizeLevel.CLEAR
    assert runner.calls == []


def test_plan_falls_back_when_identify_fails() -> None:
    runner = ReplayRunner()
    runner.add(["nvme", "id-ctrl", NVME, "--output-format=json"], "", returncode=1)
    plan = plan_disk(_disk("nvme", MediaType.NVME, NVME), runner)
    assert plan.method is Method.OVERWRITE_ZERO
    assert "id-ctrl failed" in plan.reason


# --------------------------------------------------------------------------- executors


def test_nvme_sanitize_polls_until_the_drive_reports_success() -> None:
    runner = script(
        (["nvme", "sanitize", NVME, "--sanact=4"], "", 0),
        (["nvme", "sanitize-log", NVME], fixture(LOG_RUNNING), 0),
        (["nvme", "sanitize-log", NVME], fixture(LOG_RUNNING), 0),
        (["nvme", "sanitize-log", NVME], fixture(LOG_DONE), 0),
    )
    clock = FakeClock()
    seen: list[float | None] = []
    ex = Executor(
        runner,
        clock=clock,
        sleep=clock.sleep,
        poll_s=5,
        progress=lambda f, _d: seen.append(f),
    )
    out = ex.nvme_sanitize(NVME, "crypto")
    assert out.ok, out.message
    assert "global data erased" in out.message
    assert runner.calls == [
        ("nvme", "sanitize", NVME, "--sanact=4"),
        ("nvme", "sanitize-log", NVME),
        ("nvme", "sanitize-log", NVME),
        ("nvme", "sanitize-log", NVME),
    ]
    assert clock.sleeps == [5, 5]
    assert seen == [pytest.approx(655 / 65536)] * 2


def test_nvme_sanitize_stuck_at_655_is_a_failure() -> None:
    """The Intel 660p case: SPROG stays at 655 for days (nvme-cli #3027, #1784)."""
    runner = script(
        (["nvme", "sanitize", NVME, "--sanact=2"], "", 0),
        *[(["nvme", "sanitize-log", NVME], fixture(LOG_RUNNING), 0) for _ in range(8)],
    )
    clock = FakeClock()
    ex = Executor(runner, clock=clock, sleep=clock.sleep, poll_s=60, stall_s=300)
    out = ex.nvme_sanitize(NVME, "block")
    assert not out.ok
    assert "no progress for 300 s" in out.message and "SPROG 655" in out.message


def test_nvme_sanitize_refused() -> None:
    runner = script(
        (["nvme", "sanitize", NVME, "--sanact=4"], "", 1),
        (["nvme", "sanitize-log", NVME], fixture(LOG_DONE), 0),
    )
    out = Executor(runner).nvme_sanitize(NVME, "crypto")
    assert not out.ok and "refused" in out.message
    assert runner.calls == [
        ("nvme", "sanitize", NVME, "--sanact=4"),
        ("nvme", "sanitize-log", NVME),
    ]


def test_nvme_sanitize_already_running_after_power_loss_is_followed() -> None:
    """A rerun after a crash: the drive refuses a new sanitize while its old one runs."""
    runner = script(
        (["nvme", "sanitize", NVME, "--sanact=4"], "", 1),
        (["nvme", "sanitize-log", NVME], fixture(LOG_RUNNING), 0),
        (["nvme", "sanitize-log", NVME], fixture(LOG_RUNNING), 0),
        (["nvme", "sanitize-log", NVME], fixture(LOG_DONE), 0),
    )
    clock = FakeClock()
    out = Executor(runner, clock=clock, sleep=clock.sleep).nvme_sanitize(NVME, "crypto")
    assert out.ok, out.message
    assert out.notes == ["a sanitize was already running on the drive; followed it to the end"]


def test_nvme_format_crypto() -> None:
    runner = script((["nvme", "format", NVME, "--ses=2", "--force"], "", 0))
    out = Executor(runner).nvme_format(NVME, 2)
    assert out.ok and "cryptographic erase" in out.message


SDX = "/dev/sdX"
PW = "PasSWorD"  # the password in the recorded ArchWiki transcript


def test_ata_frozen_drive_is_unfrozen_then_security_erased() -> None:
    runner = script(
        (["rtcwake", "-m", "mem", "-s", "5"], "", 0),
        (["hdparm", "-I", SDX], fixture("hdparm_I_security_disabled_archwiki.txt"), 0),
        (
            ["hdparm", "--user-master", "u", "--security-set-pass", PW, SDX],
            fixture("hdparm_security_set_pass_archwiki.txt"),
            0,
        ),
        (["hdparm", "-I", SDX], fixture("hdparm_I_security_enabled_archwiki.txt"), 0),
        (
            ["hdparm", "--user-master", "u", "--security-erase-enhanced", PW, SDX],
            fixture("hdparm_security_erase_archwiki.txt"),
            0,
        ),
        (["hdparm", "-I", SDX], fixture("hdparm_I_security_disabled_archwiki.txt"), 0),
    )
    frozen = parse_hdparm_identify(fixture("hdparm_I_security_frozen_tkperf.txt"))
    ex = Executor(runner, ata_password=PW)
    caps = ex.unfreeze(SDX)
    assert frozen.frozen and not caps.frozen
    out = ex.ata_security_erase(SDX, caps)
    assert out.ok, out.message
    assert out.message == "ATA enhanced security erase completed"
    assert len(runner.calls) == 6 and not runner.recordings


def test_ata_password_refused_despite_exit_zero() -> None:
    """QEMU's drives refuse the password yet hdparm exits 0: re-read before erasing."""
    runner = script(
        (["hdparm", "--user-master", "u", "--security-set-pass", PW, SDX], "", 0),
        (["hdparm", "-I", SDX], fixture("hdparm_I_security_disabled_archwiki.txt"), 0),
    )
    caps = parse_hdparm_identify(fixture("hdparm_I_security_disabled_archwiki.txt"))
    out = Executor(runner, ata_password=PW).ata_security_erase(SDX, caps)
    assert not out.ok and "did not accept a security password" in out.message
    assert not any("--security-erase" in c for call in runner.calls for c in call)


def test_ata_failed_erase_removes_the_password_again() -> None:
    runner = script(
        (["hdparm", "--user-master", "u", "--security-set-pass", PW, SDX], "", 0),
        (["hdparm", "-I", SDX], fixture("hdparm_I_security_enabled_archwiki.txt"), 0),
        (["hdparm", "--user-master", "u", "--security-erase-enhanced", PW, SDX], "", 5),
        (["hdparm", "-I", SDX], fixture("hdparm_I_security_enabled_archwiki.txt"), 0),
        (["hdparm", "--user-master", "u", "--security-disable", PW, SDX], "", 0),
        (["hdparm", "-I", SDX], fixture("hdparm_I_security_disabled_archwiki.txt"), 0),
    )
    caps = parse_hdparm_identify(fixture("hdparm_I_security_disabled_archwiki.txt"))
    out = Executor(runner, ata_password=PW).ata_security_erase(SDX, caps)
    assert not out.ok
    assert "the temporary ATA password was removed again" in out.notes
    assert ("hdparm", "--user-master", "u", "--security-disable", PW, SDX) in runner.calls


def test_ata_password_left_set_is_said_loudly() -> None:
    runner = script(
        (["hdparm", "--user-master", "u", "--security-set-pass", PW, SDX], "", 0),
        (["hdparm", "-I", SDX], fixture("hdparm_I_security_enabled_archwiki.txt"), 0),
        (["hdparm", "--user-master", "u", "--security-erase-enhanced", PW, SDX], "", 5),
        (["hdparm", "-I", SDX], fixture("hdparm_I_security_enabled_archwiki.txt"), 0),
        (["hdparm", "--user-master", "u", "--security-disable", PW, SDX], "", 5),
        (["hdparm", "-I", SDX], fixture("hdparm_I_security_enabled_archwiki.txt"), 0),
    )
    caps = parse_hdparm_identify(fixture("hdparm_I_security_disabled_archwiki.txt"))
    out = Executor(runner, ata_password=PW).ata_security_erase(SDX, caps)
    assert not out.ok
    assert any(n.startswith("WARNING: the drive is left with ATA user password") for n in out.notes)


def test_ata_sanitize_polls_status() -> None:
    runner = script(
        (["hdparm", "--yes-i-know-what-i-am-doing", "--sanitize-block-erase", SDA], "", 0),
        (
            ["hdparm", "--sanitize-status", SDA],
            fixture("hdparm_sanitize_status_in_progress.txt"),
            0,
        ),
        (["hdparm", "--sanitize-status", SDA], "", 1),
    )
    clock = FakeClock()
    out = Executor(runner, clock=clock, sleep=clock.sleep).ata_sanitize(SDA, "block")
    assert not out.ok and "--sanitize-status" in out.message
    assert clock.sleeps == [10.0]
