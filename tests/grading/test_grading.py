"""Grading over laptop profiles assembled from real recorded SMART and battery outputs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.grading import grade_report
from agent.health.battery import judge_battery
from agent.health.battery_parse import load_battery_file
from agent.health.disk_verdict import judge_disk
from agent.health.smart_parse import read_smartctl_file
from agent.policy import Policy, load_policy
from agent.report.schema import (
    Components,
    Cpu,
    Disk,
    ErasureRecord,
    ErasureResult,
    ErrorRange,
    Grade,
    ImageRecord,
    MediaType,
    Memory,
    MemoryModule,
    Mode,
    Report,
    SanitizeLevel,
    Station,
    TestOutcome,
    TestResult,
)

FIX = Path(__file__).parent.parent / "fixtures"
GIB = 1024**3

NVME_OK = "nvme_samsung_pm9a1_1t_oem_laptop_16pct.json"
NVME_MEDIA_ERRORS = "nvme_samsung_970evo_500g_media_errors7_failing.json"
SSD_WORN = "sata_ssd_intel_s3500_240g_mwi22_worn.json"
HDD_OK = "sata_hdd_wdc_wd10efrx_healthy.json"
BAT_GOOD = "thinkpad_t495s_lgc_5B10W139_tlpstat_cycle1_100pct_tlp566.txt"
BAT_WORN = "thinkpad_smp_42T4977_uevent_worn_66pct_i3status186.txt"
BAT_68 = "dell_samsungsdi_7xfjja2_upower_68pct_jc_fixture.txt"


def _disk(fixture: str, policy: Policy, media: MediaType) -> Disk:
    data = read_smartctl_file(FIX / "smart" / fixture)
    return Disk(
        name="nvme0n1" if media is MediaType.NVME else "sda",
        path="/dev/x",
        model=data.model,
        serial=data.serial,
        size_bytes=data.capacity_bytes or 256 * 1000**3,
        media_type=media,
        health=judge_disk(data, policy.disk),
    )


def _erasure(disk: Disk, result: ErasureResult = ErasureResult.ERASED) -> ErasureRecord:
    now = datetime.now(UTC)
    return ErasureRecord(
        record_id=uuid.uuid4(),
        disk_serial=disk.serial,
        disk_size_bytes=disk.size_bytes,
        method="overwrite-zero",
        tool="digibench",
        level=SanitizeLevel.CLEAR,
        started_at=now,
        finished_at=now,
        verification_method="sampled",
        verification_passed=result is not ErasureResult.FAILED,
        errors=[ErrorRange(start_byte=0, length_bytes=4096, message="EIO")]
        if result is ErasureResult.ERASED_WITH_EXCEPTIONS
        else [],
        result=result,
    )


def _laptop(
    *,
    disks: list[tuple[str, MediaType]] = ((NVME_OK, MediaType.NVME),),  # type: ignore[assignment]
    battery: str | None = BAT_GOOD,
    ram_gib: float = 8,
    cosmetic: str = "C5",
    failed_tests: tuple[str, ...] = (),
    wipe: ErasureResult | None = ErasureResult.ERASED,
    flashed: bool = True,
    flags: tuple[str, ...] = ("fpu", "lm", "sse4_2"),
    mode: Mode = Mode.INTAKE,
    policy: Policy | None = None,
) -> Report:
    policy = policy or load_policy()
    disk_models = [_disk(f, policy, m) for f, m in disks]
    bats = []
    if battery:
        reading = load_battery_file(FIX / "battery" / battery)[0]
        bats.append(judge_battery(reading, policy.battery, name="BAT0"))
    tests = [
        TestResult(
            name=name, outcome=TestOutcome.FAIL if name in failed_tests else TestOutcome.PASS
        )
        for name in ("keyboard", "screen", "touchpad")
    ]
    tests.append(TestResult(name="cosmetic", outcome=TestOutcome.PASS, answers={"code": cosmetic}))
    images = []
    if flashed:
        images.append(
            ImageRecord(
                name="debian-digibank",
                version="12.8",
                sha256="0" * 64,
                verified=True,
                bytes_written=10,
            )
        )
    return Report(
        mode=mode,
        station=Station(name="bench-1", agent_version="test"),
        components=Components(
            cpu=Cpu(model="Intel(R) Core(TM) i5-8350U", flags=list(flags)),
            memory=Memory(
                total_bytes=int(ram_gib * GIB),
                modules=[
                    MemoryModule(
                        locator="ChannelA-DIMM0",
                        size_bytes=int(ram_gib * GIB),
                        type="DDR4",
                        form_factor="SODIMM",
                    )
                ],
            ),
            disks=disk_models,
            batteries=bats,
        ),
        tests=tests,
        erasures=[_erasure(d, wipe) for d in disk_models] if wipe else [],
        images=images,
    )


def _codes(report: Report, policy: Policy | None = None) -> tuple[str, set[str]]:
    grade = grade_report(report, policy or load_policy())
    return grade.grade, {r.code for r in grade.reasons}


def test_healthy_laptop_is_a_and_lend() -> None:
    grade = grade_report(_laptop(), load_policy())
    assert grade.grade == "A"
    assert grade.destination == "lend"
    assert grade.r2_function == "F5"
    assert grade.r2_cosmetic == "C5"
    codes = {r.code for r in grade.reasons}
    assert {"grade.wiped", "grade.flashed", "grade.battery_good", "grade.ram_good"} <= codes
    assert all(r.message for r in grade.reasons)


def test_worn_battery_and_hdd_give_b_with_reasons() -> None:
    grade, codes = _codes(_laptop(battery=BAT_68, disks=[(HDD_OK, MediaType.HDD)]))
    assert grade == "B"
    assert {"grade.battery_worn", "grade.no_ssd"} <= codes


def test_worn_ssd_is_a_note() -> None:
    grade, codes = _codes(_laptop(disks=[(SSD_WORN, MediaType.SSD)]))
    assert grade == "B"
    assert "grade.disk_worn" in codes


def test_failing_disk_means_repair_with_what_to_fix() -> None:
    grade = grade_report(_laptop(disks=[(NVME_MEDIA_ERRORS, MediaType.NVME)]), load_policy())
    assert grade.grade == "C"
    assert grade.destination == "repair"
    assert any("replace disk" in fix for fix in grade.to_fix)


@pytest.mark.parametrize("wipe", [None, ErasureResult.FAILED, ErasureResult.ERASED_WITH_EXCEPTIONS])
def test_failed_missing_or_partial_wipe_never_lends(wipe: ErasureResult | None) -> None:
    grade = grade_report(_laptop(wipe=wipe), load_policy())
    assert grade.destination != "lend"
    assert grade.grade not in ("A", "B")
    assert {r.code for r in grade.reasons} & {
        "grade.wipe_missing",
        "grade.wipe_failed",
        "grade.wipe_exceptions",
    }


def test_keyboard_and_screen_broken_and_bad_battery_go_to_parts() -> None:
    grade = grade_report(
        _laptop(failed_tests=("keyboard", "screen"), battery=BAT_WORN, cosmetic="C3"),
        load_policy(),
    )
    assert grade.grade == "parts"
    assert grade.destination == "parts"
    kinds = {h.kind for h in grade.harvest}
    assert "ram" in kinds and "nvme" in kinds  # healthy parts listed for harvest


def test_damaged_chassis_is_parts() -> None:
    grade, codes = _codes(_laptop(cosmetic="C1"))
    assert grade == "parts"
    assert "grade.cosmetic_damaged" in codes


def test_32bit_cpu_or_tiny_ram_is_recycle() -> None:
    assert _codes(_laptop(flags=("fpu", "sse2")))[0] == "recycle"
    grade, codes = _codes(_laptop(ram_gib=1))
    assert grade == "recycle"
    assert "grade.ram_too_small" in codes


def test_little_ram_means_repair() -> None:
    grade = grade_report(_laptop(ram_gib=2), load_policy())
    assert grade.grade == "C"
    assert "add RAM" in grade.to_fix


def test_no_battery_means_repair() -> None:
    grade = grade_report(_laptop(battery=None), load_policy())
    assert grade.grade == "C"
    assert "fit a battery" in grade.to_fix


def test_flash_failure_blocks_a() -> None:
    grade, codes = _codes(_laptop(flashed=False))
    assert grade == "C"
    assert "grade.not_flashed" in codes


def test_check_mode_gives_no_lending_grade_or_destination_but_keeps_the_diagnosis() -> None:
    """A resident's own laptop goes home: no grade, destination or reuse code, ever; what
    was found stays (and no wipe or flash is asked of it)."""
    grade = grade_report(_laptop(mode=Mode.CHECK, wipe=None, flashed=False), load_policy())
    assert grade.grade is None and grade.destination is None and not grade.lending
    assert grade.r2_function is None and grade.r2_cosmetic is None and grade.harvest == []
    codes = {r.code for r in grade.reasons}
    assert "grade.not_erased" not in codes and "grade.not_flashed" not in codes
    assert grade.checks  # every check's row, as on the result screen
    worn = grade_report(
        _laptop(mode=Mode.CHECK, wipe=None, flashed=False, battery=BAT_WORN), load_policy()
    )
    assert worn.grade is None and any("battery" in r.code for r in worn.reasons)
    # the same laptop donated is graded as ever
    assert grade_report(_laptop(), load_policy()).grade == "A"


def test_only_a_check_report_may_go_without_a_lending_grade() -> None:
    report = _laptop(mode=Mode.CHECK, wipe=None, flashed=False)
    report.grade = grade_report(report, load_policy())
    Report.model_validate_json(report.model_dump_json())  # schema-valid
    intake = _laptop()
    intake.grade = report.grade
    with pytest.raises(ValueError, match="needs a grade and destination"):
        Report.model_validate_json(intake.model_dump_json())
    with pytest.raises(ValueError, match="come together"):
        Grade.model_validate({"grade": "A", "destination": None})


def test_policy_file_changes_outcomes(tmp_path: Path) -> None:
    # A 4 GB laptop is B by default (enough, not plenty) ...
    assert _codes(_laptop(ram_gib=3.8))[0] == "B"
    # ... and A for a programme that decides 4 GB is plenty.
    override = tmp_path / "policy.toml"
    override.write_text("[grading]\nram_a_gib = 3.5\n")
    policy = load_policy(override)
    assert grade_report(_laptop(ram_gib=3.8, policy=policy), policy).grade == "A"
    # A stricter battery line turns a 79 % battery (worn by default too) into bad -> C.
    strict = tmp_path / "strict.toml"
    strict.write_text("[battery]\nworn_percent = 70\n")
    policy = load_policy(strict)
    assert grade_report(_laptop(battery=BAT_68, policy=policy), policy).grade == "C"


SYSROOTS = Path(__file__).parent.parent / "fixtures" / "sysroots"


def _with_locks(tree: str, mode: Mode = Mode.INTAKE) -> Report:
    from agent.probes.firmware_locks import probe_locks

    report = _laptop(mode=mode, wipe=None if mode is Mode.CHECK else ErasureResult.ERASED)
    report.components.locks = probe_locks(SYSROOTS / tree)
    return report


def test_supervisor_password_and_active_computrace_block_lending() -> None:
    grade = grade_report(_with_locks("locks-thinkpad-lmi"), load_policy())
    assert grade.grade == "C" and grade.destination == "repair"
    codes = {r.code for r in grade.reasons if r.severity == "error"}
    assert {"lock.firmware_password", "lock.theft_recovery"} <= codes
    assert "remove the firmware Admin password (ask the donor for it)" in grade.to_fix
    assert any("ComputraceModuleActivation" in fix for fix in grade.to_fix)


def test_leftover_asset_tag_is_a_note_and_secure_boot_off_is_ignored() -> None:
    grade = grade_report(_with_locks("locks-latitude-sysman"), load_policy())
    assert grade.grade == "B"
    by_code = {r.code: r for r in grade.reasons}
    assert by_code["lock.asset_tag"].severity == "warning"
    assert by_code["lock.secure_boot_off"].severity == "info"
    assert "lock.theft_recovery" not in by_code  # permanently disabled


def test_policy_decides_what_a_lock_does(tmp_path: Path) -> None:
    override = tmp_path / "policy.toml"
    override.write_text('[locks]\nfirmware_password = "note"\ntheft_recovery = "repair"\n')
    policy = load_policy(override)
    grade = grade_report(_with_locks("locks-thinkpad-lmi"), policy)
    severities = {r.code: r.severity for r in grade.reasons}
    assert severities["lock.firmware_password"] == "warning"
    assert severities["lock.theft_recovery"] == "error"
    assert grade.grade == "C"
    bad = tmp_path / "bad.toml"
    bad.write_text('[locks]\nfirmware_password = "sometimes"\n')
    with pytest.raises(Exception, match="firmware_password"):
        load_policy(bad)


def test_a_residents_own_password_is_only_reported_in_check_mode() -> None:
    grade = grade_report(_with_locks("locks-thinkpad-lmi", Mode.CHECK), load_policy())
    locks = [r for r in grade.reasons if r.code.startswith("lock.")]
    assert locks and all(r.severity == "info" for r in locks)


def test_recorded_p620_permanently_disabled_absolute_passes() -> None:
    from agent.grading.check_table import checked
    from agent.report.schema import CheckKind, CheckOutcome

    report = _with_locks("locks-lenovo-p620-fwupd")
    rows = {row.kind: row.outcome for row in checked(report, load_policy())}
    assert rows[CheckKind.THEFT_RECOVERY] is CheckOutcome.PASS
    assert "lock.theft_recovery" not in {
        r.code for r in grade_report(report, load_policy()).reasons
    }


def test_recorded_xps13_absolute_of_unknown_state_is_not_a_pass() -> None:
    from agent.grading.check_table import checked
    from agent.report.schema import CheckKind, CheckOutcome

    rows = {
        row.kind: row.outcome
        for row in checked(_with_locks("locks-dell-xps13-9310-fwupd"), load_policy())
    }
    assert rows[CheckKind.THEFT_RECOVERY] is CheckOutcome.NOT_AVAILABLE
