"""Disk verdicts over every real SMART fixture, with the rule hits that justify them."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from agent.health.smart import SmartData, judge_disk, parse_smartctl, read_smartctl_file
from agent.policy import DiskPolicy, load_policy
from agent.report.schema import DiskHealth, DiskVerdict

SMART = Path(__file__).parent.parent / "fixtures" / "smart"
POLICY = load_policy().disk

# file -> (verdict, the rule hits: reason codes with severity error or warning).
# The corpus "expected verdict" column agrees on every file; where our rule hits
# differ from its "rule hits" column, the comment says why.
EXPECTED: dict[str, tuple[DiskVerdict, set[str]]] = {
    # USB bridge smartctl does not know: no data (the probe retries with -d sat)
    "edge_usb_unknown_bridge_sandisk_no_data.json": (DiskVerdict.UNKNOWN, {"smart.unavailable"}),
    "edge_virtualbox_virtual_disk_no_smart.json": (DiskVerdict.UNKNOWN, {"smart.unavailable"}),
    # 8382 error-log entries are rejected commands, not media errors
    "nvme_corsair_mp510_errlog8382_healthy.json": (DiskVerdict.HEALTHY, set()),
    "nvme_crucial_p2_250g_healthy.json": (DiskVerdict.HEALTHY, set()),
    "nvme_intel_660p_1tb_healthy.json": (DiskVerdict.HEALTHY, set()),
    # spare threshold 0: spare can never be below it
    "nvme_intel_optane_m10_32g_41k_hours.json": (DiskVerdict.HEALTHY, set()),
    "nvme_intel_p3700_800g_worn_51pct_spare93.json": (
        DiskVerdict.WORN,
        {"nvme.percentage_used"},
    ),
    "nvme_intel_p4510_2t_worn_75pct.json": (DiskVerdict.WORN, {"nvme.percentage_used"}),
    "nvme_kingston_a2000_500g_healthy.txt": (DiskVerdict.HEALTHY, set()),
    # PASSED, yet 7 unrecovered media errors
    "nvme_samsung_970evo_500g_media_errors7_failing.json": (
        DiskVerdict.FAILING,
        {"nvme.media_errors"},
    ),
    "nvme_samsung_970evoplus_250g_healthy.json": (DiskVerdict.HEALTHY, set()),
    "nvme_samsung_980pro_1t_13pct.txt": (DiskVerdict.HEALTHY, set()),
    "nvme_samsung_pm1725a_critwarn_0x10_failed.json": (
        DiskVerdict.FAILING,
        {"smart.failed", "nvme.critical_warning"},
    ),
    "nvme_samsung_pm9a1_1t_oem_laptop_16pct.json": (DiskVerdict.HEALTHY, set()),
    "nvme_seagate_firecuda530_4t_healthy.json": (DiskVerdict.HEALTHY, set()),
    # smartctl exit 4 (error log read interrupted) but the health log is complete
    "nvme_skhynix_pc300_256g_errlog_read_interrupted_healthy.json": (DiskVerdict.HEALTHY, set()),
    "nvme_toshiba_kbg30_256g_laptop_33pct.txt": (DiskVerdict.HEALTHY, set()),
    "nvme_toshiba_kxg60_512g_oem_laptop_healthy.json": (DiskVerdict.HEALTHY, set()),
    "nvme_usb_asmedia_bridge_samsung_t7_healthy.txt": (DiskVerdict.HEALTHY, set()),
    "nvme_wd_black_sn770_500g_healthy.json": (DiskVerdict.HEALTHY, set()),
    "nvme_wd_sn730_oem_512g_healthy.txt": (DiskVerdict.HEALTHY, set()),
    # SCSI health "OK", but 260 grown defects and 536 uncorrected errors
    "sas_hdd_seagate_st373453lc_grown_defects260_failing.json": (
        DiskVerdict.FAILING,
        {"scsi.grown_defects", "scsi.uncorrected_errors"},
    ),
    "sata_hdd_hgst_hus726060_realloc1040_pending878_passed_but_failing.json": (
        DiskVerdict.FAILING,
        {"ata.reallocated", "ata.pending", "ata.offline_uncorrectable"},
    ),
    # 102k hours with clean error counters; 4 CRC errors are a cable note only
    "sata_hdd_hitachi_hds5c3020_102k_hours_clean.json": (DiskVerdict.HEALTHY, set()),
    # The corpus row omits the self-test hit: its log holds 3 "Completed: read failure"
    # extended tests, so the self-test rule fires too (same verdict).
    "sata_hdd_hitachi_hds721050_usbjmicron_realloc1975_failed.json": (
        DiskVerdict.FAILING,
        {
            "smart.failed",
            "ata.failing_now",
            "ata.reallocated",
            "ata.pending",
            "selftest.read_failure",
        },
    ),
    # Borderline (corpus note): a single reported-uncorrectable read after 89k hours.
    # We follow the policy (187 >= 1 is failing, Scrutiny AFR 34 %); a station that
    # wants Backblaze's "investigate" can raise reported_uncorrect_failing.
    "sata_hdd_hp_mb0500ebncr_89k_hours_187eq1_watch.json": (
        DiskVerdict.FAILING,
        {"ata.reported_uncorrect"},
    ),
    "sata_hdd_seagate_st2000nm000a_healthy.txt": (DiskVerdict.HEALTHY, set()),
    # PASSED with 1640 pending sectors; as above, the corpus row omits the 7 failed
    # self-tests, and 188's packed raw ("0 0 5") is ignored.
    "sata_hdd_seagate_st3000dm001_pending1640_passed_but_failing.json": (
        DiskVerdict.FAILING,
        {
            "ata.reallocated",
            "ata.pending",
            "ata.offline_uncorrectable",
            "ata.reported_uncorrect",
            "selftest.read_failure",
        },
    ),
    "sata_hdd_seagate_st3500418as_realloc304_failing.json": (
        DiskVerdict.FAILING,
        {"ata.reallocated"},
    ),
    "sata_hdd_toshiba_mq01abd050_laptop_no_smart_status.json": (
        DiskVerdict.UNKNOWN,
        {"smart.unavailable"},
    ),
    "sata_hdd_wd4000fyyx_megaraid_realloc387_failing.json": (
        DiskVerdict.FAILING,
        {"ata.reallocated"},
    ),
    "sata_hdd_wdc_wd10efrx_healthy.json": (DiskVerdict.HEALTHY, set()),
    # 173 VALUE 165 is Apple's own scale, not "% life left"
    "sata_ssd_apple_sm0256f_macbook_20k_hours.txt": (DiskVerdict.HEALTHY, set()),
    "sata_ssd_crucial_m4_128g_healthy.json": (DiskVerdict.HEALTHY, set()),
    "sata_ssd_crucial_mx500_freebsd_17pct_used.json": (DiskVerdict.HEALTHY, set()),
    "sata_ssd_intel_s3500_1.6t_mwi15_worn.json": (DiskVerdict.WORN, {"ssd.life_left"}),
    "sata_ssd_intel_s3500_240g_mwi22_worn.json": (DiskVerdict.WORN, {"ssd.life_left"}),
    # 4 reallocated (worn band 1-16); life 55 % left is above the worn line
    "sata_ssd_intel_s4500_240g_realloc4_mwi55_worn.json": (
        DiskVerdict.WORN,
        {"ata.reallocated"},
    ),
    "sata_ssd_kingston_a400_m2_120g_exit4_healthy.json": (DiskVerdict.HEALTHY, set()),
    "sata_ssd_liteon_lct512_laptop_healthy.txt": (DiskVerdict.HEALTHY, set()),
    # Scrutiny says FAILED on 199 CRC = 108: a cable/interface count, not the disk
    "sata_ssd_samsung_840_crc108_scrutiny_false_positive.json": (DiskVerdict.HEALTHY, set()),
    "sata_ssd_samsung_860evo_500g_19pct_used.json": (DiskVerdict.HEALTHY, set()),
    "sata_ssd_toshiba_thnsnh128_laptop_29k_hours.json": (DiskVerdict.HEALTHY, set()),
    "sata_ssd_transcend_mts400_msata_32g_healthy.json": (DiskVerdict.HEALTHY, set()),
}

_CORPUS_VERDICT = {"n/a": DiskVerdict.UNKNOWN}


def judge(name: str, policy: DiskPolicy = POLICY) -> DiskHealth:
    return judge_disk(read_smartctl_file(SMART / name), policy)


def rule_hits(health: DiskHealth) -> set[str]:
    return {r.code for r in health.reasons if r.severity != "info"}


def codes(health: DiskHealth) -> set[str]:
    return {r.code for r in health.reasons}


def reason(health: DiskHealth, code: str) -> str:
    return next(r.message for r in health.reasons if r.code == code)


def test_every_fixture_is_covered_and_has_a_source_row() -> None:
    files = {p.name for p in SMART.iterdir() if p.is_file() and p.name != "SOURCES.md"}
    assert files == set(EXPECTED)
    assert len(files) == 44
    sources = (SMART / "SOURCES.md").read_text()
    for name in files:
        assert f"`{name}`" in sources, name


def test_verdicts_agree_with_the_corpus_column() -> None:
    sources = (SMART / "SOURCES.md").read_text()
    for name, (verdict, _) in EXPECTED.items():
        match = re.search(rf"^\| `{re.escape(name)}` \| \*\*([a-z/]+)\*\*", sources, re.M)
        assert match, name
        corpus = _CORPUS_VERDICT.get(match.group(1)) or DiskVerdict(match.group(1))
        assert corpus == verdict, name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_verdict_and_rule_hits(name: str) -> None:
    verdict, hits = EXPECTED[name]
    health = judge(name)
    assert health.verdict == verdict
    assert rule_hits(health) == hits
    # the report schema accepts it, raw output included
    again = DiskHealth.model_validate_json(health.model_dump_json())
    assert again.verdict == verdict
    assert (again.raw_smartctl_json is None) != (again.raw_smartctl_text is None)
    if verdict is not DiskVerdict.UNKNOWN:
        assert "info.power_on_hours" in codes(health) or health.figures.power_on_hours is None


def test_messages_are_plain_words_with_thresholds() -> None:
    hgst = judge("sata_hdd_hgst_hus726060_realloc1040_pending878_passed_but_failing.json")
    assert reason(hgst, "ata.reallocated") == "1040 reallocated sectors (failing at 17 or more)"
    assert "878 unreadable sectors" in reason(hgst, "ata.pending")
    assert "PASSED" in reason(hgst, "smart.passed_but_failing")
    intel = judge("sata_ssd_intel_s4500_240g_realloc4_mwi55_worn.json")
    assert reason(intel, "ata.reallocated") == (
        "4 reallocated sectors (worn from 1, failing at 17 or more)"
    )
    nvme = judge("nvme_samsung_pm1725a_critwarn_0x10_failed.json")
    assert "0x10" in reason(nvme, "nvme.critical_warning")
    assert "volatile memory backup failed" in reason(nvme, "nvme.critical_warning")
    s3500 = judge("sata_ssd_intel_s3500_1.6t_mwi15_worn.json")
    assert reason(s3500, "ssd.life_left").startswith("15 % of rated life left")


def test_key_figures() -> None:
    hgst = judge("sata_hdd_hgst_hus726060_realloc1040_pending878_passed_but_failing.json")
    f = hgst.figures
    assert (f.reallocated_sectors, f.pending_sectors, f.offline_uncorrectable) == (1040, 878, 1272)
    assert f.power_on_hours == 43177
    assert hgst.smart_passed is True and hgst.protocol == "ATA"
    assert hgst.smartctl_exit_status == 0 and hgst.smartctl_version == "7.3"
    nvme = judge("nvme_intel_p3700_800g_worn_51pct_spare93.json").figures
    assert (nvme.percentage_used, nvme.available_spare, nvme.available_spare_threshold) == (
        51,
        93,
        10,
    )
    assert nvme.media_errors == 0 and nvme.critical_warning == 0
    assert nvme.data_written_bytes == 15055091656 * 512_000
    mx500 = judge("sata_ssd_crucial_mx500_freebsd_17pct_used.json").figures
    assert mx500.life_left_percent == 83  # 202 Percent_Lifetime_Remain, not 173's erase count
    sas = judge("sas_hdd_seagate_st373453lc_grown_defects260_failing.json")
    assert sas.figures.grown_defects == 260
    samsung = judge("sata_ssd_samsung_840_crc108_scrutiny_false_positive.json")
    assert samsung.figures.crc_errors == 108
    apple = judge("sata_ssd_apple_sm0256f_macbook_20k_hours.txt")
    assert apple.figures.life_left_percent is None
    assert "ssd.life_vendor_scale" in codes(apple)


def test_healthy_disks_carry_their_figures_as_info() -> None:
    health = judge("nvme_samsung_980pro_1t_13pct.txt")
    assert health.verdict is DiskVerdict.HEALTHY
    assert all(r.severity == "info" for r in health.reasons)
    assert {"info.power_on_hours", "info.wear", "info.data_written"} <= codes(health)
    hours = next(r for r in health.reasons if r.code == "info.power_on_hours")
    assert hours.value == 3441


def test_crc_errors_are_info_never_failing() -> None:
    health = judge("sata_ssd_samsung_840_crc108_scrutiny_false_positive.json")
    crc = next(r for r in health.reasons if r.code == "ata.crc_errors")
    assert crc.severity == "info" and crc.value == 108
    assert "cable" in crc.message


def test_unknown_reasons_say_what_to_do() -> None:
    bridge = judge("edge_usb_unknown_bridge_sandisk_no_data.json")
    assert "-d sat" in reason(bridge, "smart.unavailable")
    assert "usb.unknown_bridge" in codes(bridge)
    vbox = judge("edge_virtualbox_virtual_disk_no_smart.json")
    assert "virtual disk" in reason(vbox, "smart.unavailable")
    assert bridge.figures.power_on_hours is None


def test_exit_status_4_with_good_data_is_a_note() -> None:
    health = judge("sata_ssd_kingston_a400_m2_120g_exit4_healthy.json")
    assert health.verdict is DiskVerdict.HEALTHY
    assert health.smartctl_exit_status == 4
    assert "smartctl.partial" in codes(health)


# --------------------------------------------------------------------------- policy


def _policy(**changes: Any) -> DiskPolicy:
    return POLICY.model_copy(update=changes)


def test_thresholds_come_from_the_policy() -> None:
    name = "sata_ssd_intel_s4500_240g_realloc4_mwi55_worn.json"
    strict = judge(name, _policy(reallocated_failing=4))
    assert strict.verdict is DiskVerdict.FAILING
    assert reason(strict, "ata.reallocated") == "4 reallocated sectors (failing at 4 or more)"
    lenient = judge("sata_ssd_intel_s3500_240g_mwi22_worn.json", _policy(ssd_life_left_worn=20))
    assert lenient.verdict is DiskVerdict.HEALTHY
    nvme = judge(
        "nvme_intel_p3700_800g_worn_51pct_spare93.json", _policy(nvme_percentage_used_worn=60)
    )
    assert nvme.verdict is DiskVerdict.HEALTHY


def test_policy_override_file_is_used(tmp_path: Path) -> None:
    override = tmp_path / "policy.toml"
    override.write_text("[disk]\nreported_uncorrect_failing = 2\n")
    policy = load_policy(override).disk
    health = judge("sata_hdd_hp_mb0500ebncr_89k_hours_187eq1_watch.json", policy)
    assert health.verdict is DiskVerdict.HEALTHY


def test_ignored_attributes_are_never_used() -> None:
    health = judge(
        "sata_hdd_hp_mb0500ebncr_89k_hours_187eq1_watch.json",
        _policy(ignored_attributes=(187, 188, 199)),
    )
    assert health.verdict is DiskVerdict.HEALTHY


# --------------------------------------------------------------------------- derived cases
# Real fixtures with one field changed, to reach rules no real sample hits. Each
# change is named; the rest of the drive's data stays as recorded.


def _variant(name: str, change: Any) -> SmartData:
    doc = json.loads((SMART / name).read_text())
    change(doc)
    return parse_smartctl(json.dumps(copy.deepcopy(doc)), source=f"{name} (modified)")


def _nvme_log(**values: int) -> Any:
    def change(doc: dict[str, Any]) -> None:
        doc["nvme_smart_health_information_log"].update(values)
        doc["smart_status"]["passed"] = values.get("critical_warning", 0) == 0

    return change


def test_nvme_endurance_used_up_is_worn_not_failing() -> None:
    # smartctl says FAILED because bit 0x04 is set, but only endurance is used up
    data = _variant(
        "nvme_intel_p3700_800g_worn_51pct_spare93.json",
        _nvme_log(critical_warning=0x04, percentage_used=100),
    )
    assert data.smart_passed is False
    health = judge_disk(data, POLICY)
    assert health.verdict is DiskVerdict.WORN
    assert rule_hits(health) == {"nvme.endurance_used", "nvme.percentage_used"}


def test_nvme_endurance_flag_with_media_errors_is_failing() -> None:
    data = _variant(
        "nvme_intel_p3700_800g_worn_51pct_spare93.json",
        _nvme_log(critical_warning=0x04, percentage_used=100, media_errors=3),
    )
    health = judge_disk(data, POLICY)
    assert health.verdict is DiskVerdict.FAILING
    assert {"smart.failed", "nvme.critical_warning", "nvme.media_errors"} <= rule_hits(health)


def test_nvme_spare_below_threshold_is_failing() -> None:
    data = _variant(
        "nvme_intel_660p_1tb_healthy.json",
        _nvme_log(critical_warning=0x01, available_spare=5),
    )
    health = judge_disk(data, POLICY)
    assert health.verdict is DiskVerdict.FAILING
    assert "nvme.available_spare" in rule_hits(health)
    assert "Only 5 % spare space left" in reason(health, "nvme.available_spare")


def _set_attr(attr_id: int, raw: int, name: str | None = None, when_failed: str = "") -> Any:
    def change(doc: dict[str, Any]) -> None:
        for row in doc["ata_smart_attributes"]["table"]:
            if row["id"] == attr_id:
                row["raw"] = {"value": raw, "string": str(raw)}
                row["when_failed"] = when_failed
                if name:
                    row["name"] = name

    return change


def test_mx500_bogus_pending_sector_is_not_counted() -> None:
    # MX500 firmware briefly reports 1 on 197, which drivedb names Bogus_Current_Pend_Sect
    name = "sata_ssd_crucial_mx500_freebsd_17pct_used.json"
    bogus = judge_disk(_variant(name, _set_attr(197, 1)), POLICY)
    assert bogus.verdict is DiskVerdict.HEALTHY
    assert "ata.pending_bogus" in codes(bogus)
    real = judge_disk(_variant(name, _set_attr(197, 1, name="Current_Pending_Sector")), POLICY)
    assert real.verdict is DiskVerdict.FAILING
    assert rule_hits(real) == {"ata.pending"}


def test_attribute_failed_in_the_past_is_a_note() -> None:
    name = "sata_hdd_wdc_wd10efrx_healthy.json"
    health = judge_disk(_variant(name, _set_attr(1, 0, when_failed="past")), POLICY)
    assert health.verdict is DiskVerdict.HEALTHY
    assert "ata.failed_in_past" in codes(health)


def test_seagate_packed_188_is_ignored() -> None:
    name = "sata_hdd_seagate_st3500418as_realloc304_failing.json"
    data = _variant(name, _set_attr(188, 17180131332))
    attr = data.attribute(188)
    assert attr is not None and attr.raw_value == 17180131332
    assert rule_hits(judge_disk(data, POLICY)) == {"ata.reallocated"}
