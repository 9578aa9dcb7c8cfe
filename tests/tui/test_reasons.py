"""Reasons on the Dutch screen: every code the core can emit has Dutch words, filled with its facts.

The list of codes is the core's catalog (agent/report/reasons.py), which the
producers must use (an uncatalogued code raises); the producers are also run
over the real fixtures to show that what they emit is catalogued and that each
message can be formed again from its code and facts, which is what the screen
relies on.
"""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from agent.grading import grade_report
from agent.health.battery import judge_battery, load_battery_file
from agent.health.disk_verdict import judge_disk
from agent.health.smart_parse import read_smartctl_file
from agent.inspect import inspect_machine
from agent.policy import Policy, load_policy
from agent.report.reasons import (
    CATALOG,
    FAMILIES,
    WORD_LISTS,
    ParamValue,
    lookup,
    reason,
    wordings,
    words,
)
from agent.report.samples import sample_report
from agent.report.schema import (
    BatteryVerdict,
    DiskVerdict,
    ErasureResult,
    Grade,
    Reason,
    Report,
    TestOutcome,
    TestResult,
    Warning_,
)
from agent.runner import ReplayRunner
from agent.tui import i18n
from agent.tui.reasons import fix_texts, reason_text
from agent.tui.screens.confirm import ConfirmScreen
from agent.tui.screens.result import ResultScreen, device_url
from agent.tui.screens.summary import SummaryScreen

from .conftest import SERVER, inspected_report, make_app, screen_text

FIXTURES = Path(__file__).parent.parent / "fixtures"
PO_NL = Path(i18n.__file__).parent / "locale" / "nl" / "LC_MESSAGES" / "digibench.po"


def reason_msgids() -> set[str]:
    """Every English text of the core's catalog the screens translate."""
    ids: set[str] = set()
    for _key, wording in wordings():
        ids |= {t for t in (wording.text, wording.plural, wording.fix) if t}
    for listed in WORD_LISTS.values():
        ids |= set(listed)
    return ids


@cache
def _dutch() -> dict[str, str]:
    with PO_NL.open("rb") as fh:
        return {m.id: m.string for m in read_po(fh, locale="nl") if m.id}


def _fields(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


def _code_and_variant(key: str) -> tuple[str, str | None]:
    code, _, variant = key.partition("/")
    if code in FAMILIES:
        code += "keyboard"
    return code, variant or None


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(None)


def test_every_code_the_core_can_emit_has_dutch_words() -> None:
    dutch = _dutch()
    assert len(CATALOG) > 100
    missing = sorted(m for m in reason_msgids() if not dutch.get(m))
    assert missing == []
    same = {m for m in reason_msgids() if dutch[m] == m}
    # the same in both languages only where it is names and bare facts
    assert same == {
        "CPU: {model}.",
        "DMI: {error}",
        "GPU: {error}",
        "CPU: {error}",
        "{gib:.1f} GiB RAM.",
    }


@pytest.mark.parametrize("key", sorted(CATALOG))
@pytest.mark.parametrize("count", [1, 3])
def test_each_wording_reads_in_dutch_with_its_facts(key: str, count: int) -> None:
    """Every code and variant, singular and plural: the Dutch sentence filled with the facts."""
    wording = CATALOG[key]
    code, variant = _code_and_variant(key)
    params: dict[str, ParamValue] = {name: count for name in _fields(wording.text)}
    if variant:
        params["variant"] = variant
    item = reason(code, "warning", **params)
    assert item.message == wording.render(params)
    i18n.set_language("en")
    assert reason_text(item) == item.message
    i18n.set_language("nl")
    dutch = _dutch()
    shown = reason_text(item)
    assert shown == dutch[wording.sentence(params)].format(**params)
    if wording.plural is not None:
        assert shown.startswith(f"{count} ") or f" {count} " in shown


def _lendable(n: int) -> Report:
    """A sample laptop whose CPU can run the OS (the samples list no 64-bit flag)."""
    report = sample_report(n)
    assert report.components.cpu is not None
    report.components.cpu.flags.append("lm")
    return report


def _ata_failing() -> Report:
    report = _lendable(3)
    health = judge_disk(
        read_smartctl_file(
            FIXTURES / "smart" / "sata_hdd_hitachi_hds721050_usbjmicron_realloc1975_failed.json"
        ),
        load_policy(None).disk,
    )
    report.components.disks[0].health = health
    return report


def _graded_reports(policy: Policy) -> list[Report]:
    """Sample laptops changed so that every grading rule fires somewhere."""
    reports = [_lendable(n) for n in range(12)]
    failing = _ata_failing()
    failing.components.batteries[0].verdict = BatteryVerdict.BAD
    failing.erasures[0].result = ErasureResult.FAILED
    failing.images[0].verified = False
    failing.tests = [
        TestResult(name="keyboard", outcome=TestOutcome.FAIL, details="F1 dead"),
        TestResult(name="touchpad", outcome=TestOutcome.FAIL),
        TestResult(name="webcam", outcome=TestOutcome.FAIL),
        TestResult(name="screen", outcome=TestOutcome.SKIPPED),
        TestResult(name="cosmetic", outcome=TestOutcome.PASS, answers={"code": "C2"}),
    ]
    reports.append(failing)
    old = sample_report(20)
    assert old.components.cpu is not None and old.components.memory is not None
    old.components.cpu.flags = ["fpu"]
    old.components.cpu.model = None
    old.components.memory.total_bytes = 2 * 1024**3
    old.components.batteries = []
    old.images = []
    old.erasures[0].result = ErasureResult.ERASED_WITH_EXCEPTIONS
    for disk in old.components.disks:
        assert disk.health is not None
        disk.health.verdict = DiskVerdict.UNKNOWN
    reports.append(old)
    bare = sample_report(21)
    bare.components.cpu = None
    bare.components.memory = None
    bare.components.disks = []
    bare.tests = [TestResult(name="cosmetic", outcome=TestOutcome.PASS, answers={"code": "C1"})]
    reports.append(bare)
    return reports


def _produced(policy: Policy) -> list[Reason | Warning_]:
    out: list[Reason | Warning_] = []
    for path in sorted((FIXTURES / "smart").glob("*.json")):
        out += judge_disk(read_smartctl_file(path), policy.disk).reasons
    for path in sorted((FIXTURES / "battery").glob("*.txt")):
        for reading in load_battery_file(path):
            out += judge_battery(reading, policy.battery).reasons
    for report in _graded_reports(policy):
        out += grade_report(report, policy).reasons
    for root in sorted((FIXTURES / "sysroots").iterdir()):
        if root.is_dir():
            report = inspect_machine(runner=ReplayRunner(installed=set()), policy=policy, root=root)
            out += report.warnings
            for disk in report.components.disks:
                out += disk.health.reasons if disk.health else []
            for battery in report.components.batteries:
                out += battery.reasons
    return out


def test_producers_over_the_real_fixtures_emit_only_catalogued_codes(policy: Policy) -> None:
    produced = _produced(policy)
    seen = set()
    for item in produced:
        assert lookup(item.code, item.params.get("variant")) is not None, item.code
        assert words(item.code, **item.params) == item.message
        seen.add(item.code)
    # the fixtures reach every producer: SMART (ATA, NVMe, none), battery, grading, inspection
    assert {"ata.reallocated", "nvme.percentage_used", "smart.unavailable"} <= seen
    assert {"battery.health", "battery.cycles_unknown", "grade.battery_bad"} <= seen
    assert {"grade.test_keyboard", "grade.untested_screen", "grade.wipe_failed"} <= seen
    assert {"smartctl.missing", "battery.none"} & seen
    assert len(seen) > 60


def test_unknown_codes_and_missing_facts_show_the_english_message() -> None:
    i18n.set_language("nl")
    newer = Reason(code="disk.reallocated", message="4 reallocated sectors", severity="warning")
    assert reason_text(newer) == "4 reallocated sectors"
    older = Reason(code="ata.pending", message="5 unreadable sectors waiting to be remapped")
    assert reason_text(older) == older.message  # no facts: an older core's report
    odd = Reason(code="battery.health", message="Holds 80 %", params={"variant": "superb"})
    assert reason_text(odd) == "Holds 80 %"
    bad_fact = Reason(code="info.wear", message="x % used", params={"used": "many"})
    assert reason_text(bad_fact) == "many % opgebruikt van de opgegeven schrijfduurzaamheid"
    wrong_type = Reason(code="info.data_written", message="1.0 TB written", params={"tb": "x"})
    assert reason_text(wrong_type) == "1.0 TB written"
    assert reason_text(Warning_(code="smart.none", message="No disk reported SMART data")) == (
        "Geen enkele schijf gaf SMART-gegevens (virtuele schijven en sommige USB-adapters hebben "
        "er geen)."
    )


def test_fractions_are_written_with_the_languages_decimal_sign() -> None:
    """Dutch writes 2,3 jaar (a point reads as a thousands separator); English 2.3."""
    powered = reason("info.power_on_hours", "info", hours=20000, years=20000 / (24 * 365))
    i18n.set_language("nl")
    assert reason_text(powered) == "20000 uur aangestaan (ongeveer 2,3 jaar in werking)"
    i18n.set_language("en")
    assert reason_text(powered) == powered.message
    assert "about 2.3 years" in powered.message


def test_test_names_and_nvme_warning_bits_are_translated_too() -> None:
    i18n.set_language("nl")
    failed = reason("grade.test_keyboard", "error", test="keyboard", detail=": F1 dead")
    # the probe's English detail is left to the check list, which says it in Dutch
    assert reason_text(failed) == "De test toetsenbord is mislukt."
    webcam = reason("grade.test_webcam", "warning", test="webcam", detail="")
    assert reason_text(webcam) == "De test webcam is mislukt."  # no Dutch name: as it is
    fixture = FIXTURES / "smart" / "nvme_samsung_pm1725a_critwarn_0x10_failed.json"
    nvme = judge_disk(read_smartctl_file(fixture), load_policy(None).disk)
    (critical,) = [r for r in nvme.reasons if r.code == "nvme.critical_warning"]
    assert critical.message.endswith("0x10: volatile memory backup failed")
    assert reason_text(critical) == (
        "De schijf geeft kritieke waarschuwing 0x10: back-up van het vluchtige geheugen mislukt"
    )
    several = reason("nvme.critical_warning", "error", warning=5, bits="a, reliability degraded")
    assert reason_text(several).endswith(": a, betrouwbaarheid verminderd")


def test_repair_lines_follow_the_repair_reasons(policy: Policy) -> None:
    report = _lendable(5)
    report.components.batteries[0].verdict = BatteryVerdict.BAD
    report.erasures = []
    grade = grade_report(report, policy)
    assert grade.grade == "C" and "replace the battery" in grade.to_fix
    i18n.set_language("en")
    assert fix_texts(grade) == grade.to_fix
    i18n.set_language("nl")
    dutch = fix_texts(grade)
    assert len(dutch) == len(grade.to_fix) and "de batterij vervangen" in dutch
    assert any(line.startswith("schijf ") and line.endswith(" wissen") for line in dutch)
    # lines that do not pair up with the reasons (another core's grading): English, as sent
    odd = Grade.model_validate(grade.model_dump() | {"to_fix": ["polish the lid"]})
    assert fix_texts(odd) == ["polish the lid"]


def test_device_url_quotes_the_tag() -> None:
    assert device_url(SERVER, "DB/2024/001") == f"{SERVER}/devices/DB/2024/001/"
    assert device_url(SERVER, "A 1#2?") == f"{SERVER}/devices/A%201%232%3F/"


async def test_dutch_summary_confirm_and_result_show_reasons_in_dutch() -> None:
    app, _pipeline = make_app(language="nl")
    report = inspected_report("DG-000042")
    failing = _ata_failing().components.disks[0].health
    report.components.disks[0].health = failing
    (reading,) = load_battery_file(
        FIXTURES / "battery" / "dell_samsungsdi_7xfjja2_upower_68pct_jc_fixture.txt"
    )
    report.components.batteries = [judge_battery(reading, load_policy(None).battery)]
    async with app.run_test(size=(100, 60)) as pilot:
        await pilot.app.switch_screen(SummaryScreen(report))
        await pilot.pause()
        text = screen_text(app)
        assert "vervangen sectoren (stuk vanaf" in text
        assert "reallocated sectors" not in text
        assert "Houdt " in text and "ontwerpcapaciteit over" in text  # the battery's reason

        await pilot.press("f9")  # the volunteer switches to English: the core's own words
        await pilot.pause()
        assert "reallocated sectors (failing at" in screen_text(app)
        await pilot.press("f9")
        await pilot.pause()

        disks = report.components.disks
        refusal = reason("refuse.boot_medium", "error", detail="sdb1: DIGIBENCH")
        await pilot.app.push_screen(ConfirmScreen("DG-000042", disks[:2], [(disks[2], refusal)]))
        await pilot.pause()
        assert "dit is het Digibench-opstartmedium (sdb1: DIGIBENCH)" in screen_text(app)
        pilot.app.pop_screen()

        graded = _ata_failing()
        graded.erasures = []
        grade = grade_report(graded, load_policy(None))
        await pilot.app.switch_screen(
            ResultScreen(graded, grade, server_url=None, outbox_pending=0, uploaded=True)
        )
        await pilot.pause()
        text = screen_text(app)
        assert "gaat stuk." in text and "is failing" not in text
        assert "heeft geen wisverslag." in text
        assert "vervangen" in text and "replace disk" not in text
