"""Realistic sample reports, for tests, benchmarks and demos of the server side.

The shape follows a real intake run on a ThinkPad T480 (NVMe plus a SATA SSD,
a worn internal battery, two verified erasures, one image, grade B). Values
vary with ``n`` so a thousand samples are a thousand different laptops.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from agent.report.reasons import reason
from agent.report.schema import (
    Battery,
    BatteryVerdict,
    Components,
    Cpu,
    Destination,
    DeviceIdentity,
    Disk,
    DiskFigures,
    DiskHealth,
    DiskVerdict,
    ErasureRecord,
    ErasureResult,
    Grade,
    ImageRecord,
    MediaType,
    Memory,
    MemoryModule,
    Mode,
    Operator,
    Report,
    SanitizeLevel,
    Station,
    TestOutcome,
    TestResult,
)

_EPOCH = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
_IMAGE_SHA256 = "5f1e2b9c0d8a7f6e5d4c3b2a19087f6e5d4c3b2a19087f6e5d4c3b2a19087f6e"


def _ata_attributes(n: int, hours: int) -> dict[str, Any]:
    """A smartctl --json ATA attribute table, the bulky part of a real report."""
    names = [
        (5, "Reallocated_Sector_Ct", 0),
        (9, "Power_On_Hours", hours),
        (12, "Power_Cycle_Count", 900 + n % 700),
        (177, "Wear_Leveling_Count", 12 + n % 30),
        (179, "Used_Rsvd_Blk_Cnt_Tot", 0),
        (181, "Program_Fail_Cnt_Total", 0),
        (182, "Erase_Fail_Count_Total", 0),
        (183, "Runtime_Bad_Block", 0),
        (187, "Uncorrectable_Error_Cnt", 0),
        (190, "Airflow_Temperature_Cel", 31),
        (195, "ECC_Error_Rate", 0),
        (199, "CRC_Error_Count", 0),
        (235, "POR_Recovery_Count", 40 + n % 50),
        (241, "Total_LBAs_Written", 23_000_000_000 + n * 1000),
    ]
    table = [
        {
            "id": attr_id,
            "name": name,
            "value": 99,
            "worst": 99,
            "thresh": 10 if attr_id in (5, 179, 181, 182, 183) else 0,
            "when_failed": "",
            "flags": {
                "value": 50,
                "string": "-O--CK ",
                "prefailure": False,
                "updated_online": True,
            },
            "raw": {"value": raw, "string": str(raw)},
        }
        for attr_id, name, raw in names
    ]
    return {
        "json_format_version": [1, 0],
        "smartctl": {"version": [7, 3], "exit_status": 0},
        "device": {"name": "/dev/sda", "type": "sat", "protocol": "ATA"},
        "model_name": "Samsung SSD 860 EVO 500GB",
        "serial_number": f"S3Z2NB0K{n:07d}",
        "smart_status": {"passed": True},
        "ata_smart_attributes": {"revision": 1, "table": table},
        "power_on_time": {"hours": hours},
        "temperature": {"current": 31},
    }


def sample_report(
    n: int = 0,
    *,
    station: str = "bench-1",
    serial: str | None = None,
    asset_tag: str | None = None,
    report_id: uuid.UUID | None = None,
) -> Report:
    """The ``n``-th sample laptop's intake report (unsigned)."""
    serial = serial or f"PF1{n:07d}"
    asset_tag = asset_tag if asset_tag is not None else f"DG-{n:06d}"
    created = _EPOCH + timedelta(minutes=7 * n)
    hours_nvme = 3100 + (n * 37) % 9000
    hours_sata = 8800 + (n * 53) % 12000
    nvme_serial = f"S4EUNX0M{n:07d}"
    sata_serial = f"S3Z2NB0K{n:07d}"
    nvme = Disk(
        name="nvme0n1",
        path="/dev/nvme0n1",
        by_id=[f"nvme-SAMSUNG_MZVLB512HAJQ-000L7_{nvme_serial}"],
        model="SAMSUNG MZVLB512HAJQ-000L7",
        serial=nvme_serial,
        firmware="5M2QEXF7",
        size_bytes=512_110_190_592,
        transport="nvme",
        media_type=MediaType.NVME,
        rotational=False,
        logical_sector_size=512,
        physical_sector_size=512,
        health=DiskHealth(
            verdict=DiskVerdict.HEALTHY,
            figures=DiskFigures(
                power_on_hours=hours_nvme,
                power_cycles=1500 + n % 400,
                temperature_c=34,
                percentage_used=3 + n % 20,
                available_spare=100,
                available_spare_threshold=10,
                media_errors=0,
                critical_warning=0,
                data_written_bytes=41_000_000_000_000 + n,
            ),
            smart_passed=True,
            protocol="NVMe",
            smartctl_exit_status=0,
            smartctl_version="7.3",
        ),
    )
    sata = Disk(
        name="sda",
        path="/dev/sda",
        by_id=[f"ata-Samsung_SSD_860_EVO_500GB_{sata_serial}"],
        model="Samsung SSD 860 EVO 500GB",
        serial=sata_serial,
        wwn="0x5002538e40000000",
        firmware="RVT04B6Q",
        size_bytes=500_107_862_016,
        transport="sata",
        media_type=MediaType.SSD,
        rotational=False,
        logical_sector_size=512,
        physical_sector_size=512,
        health=DiskHealth(
            verdict=DiskVerdict.HEALTHY if n % 10 else DiskVerdict.WORN,
            reasons=[]
            if n % 10
            else [reason("ata.reallocated", "warning", 4, variant="worn", count=4, limit=17)],
            figures=DiskFigures(
                power_on_hours=hours_sata,
                power_cycles=900 + n % 700,
                temperature_c=31,
                reallocated_sectors=0 if n % 10 else 4,
                pending_sectors=0,
                crc_errors=0,
                life_left_percent=88,
            ),
            smart_passed=True,
            protocol="ATA",
            smartctl_exit_status=0,
            smartctl_version="7.3",
            raw_smartctl_json=_ata_attributes(n, hours_sata),
        ),
    )
    full_uwh = 18_520_000 + (n * 9173) % 4_000_000
    health = round(100 * full_uwh / 23_480_000, 1)
    battery = Battery(
        name="BAT0",
        manufacturer="SMP",
        model_name="01AV421",
        serial=f"SMP{n:05d}",
        technology="Li-poly",
        energy_full_uwh=full_uwh,
        energy_full_design_uwh=23_480_000,
        voltage_min_design_uv=11_580_000,
        capacity_percent=97,
        status="Charging",
        cycle_count=310 + n % 400,
        health_percent=health,
        verdict=BatteryVerdict.WORN,
        reasons=[
            reason(
                "battery.health",
                "warning",
                health,
                variant="worn",
                health=health,
                full=full_uwh / 1e6,
                design=23.48,
                unit="Wh",
                source="uevent",
                good=80,
                worn=60,
            )
        ],
        source_format="uevent",
        raw={
            "POWER_SUPPLY_NAME": "BAT0",
            "POWER_SUPPLY_STATUS": "Charging",
            "POWER_SUPPLY_ENERGY_FULL_DESIGN": "23480000",
            "POWER_SUPPLY_ENERGY_FULL": str(full_uwh),
            "POWER_SUPPLY_CYCLE_COUNT": str(310 + n % 400),
        },
    )
    erasures = [
        ErasureRecord(
            record_id=uuid.uuid5(uuid.NAMESPACE_URL, f"digibench:erasure:{n}:{disk.serial}"),
            disk_model=disk.model,
            disk_serial=disk.serial,
            disk_size_bytes=disk.size_bytes,
            media_type=disk.media_type,
            transport=disk.transport,
            host_serial=serial,
            host_asset_tag=asset_tag,
            method=method,
            tool="digibench",
            tool_versions={"digibench": "0.1.0", "nvme-cli": "2.4", "hdparm": "9.65"},
            level=level,
            passes=1,
            started_at=created + timedelta(minutes=2),
            finished_at=created + timedelta(minutes=4),
            bytes_written=0 if level is SanitizeLevel.PURGE else disk.size_bytes,
            verification_method="sampled",
            verification_coverage_percent=10.0,
            verification_passed=True,
            result=ErasureResult.ERASED,
            station=station,
        )
        for disk, method, level in (
            (nvme, "nvme-format-crypto", SanitizeLevel.PURGE),
            (sata, "ata-security-erase", SanitizeLevel.PURGE),
        )
    ]
    return Report(
        report_id=report_id or uuid.uuid5(uuid.NAMESPACE_URL, f"digibench:report:{station}:{n}"),
        created_at=created,
        finished_at=created + timedelta(minutes=19),
        mode=Mode.INTAKE,
        asset_tag=asset_tag,
        station=Station(name=station, hostname=station, agent_version="0.1.0"),
        operator=Operator(name="Volunteer", badge=f"V{n % 40:03d}"),
        device=DeviceIdentity(
            vendor="LENOVO",
            product_name="20L5CTO1WW",
            product_version="ThinkPad T480",
            product_family="ThinkPad T480",
            serial=serial,
            uuid=str(uuid.uuid5(uuid.NAMESPACE_OID, f"dmi:{serial}")),
            sku="LENOVO_MT_20L5_BU_Think_FM_ThinkPad T480",
            chassis_type=10,
            chassis_type_name="Notebook",
            chassis_vendor="LENOVO",
            board_vendor="LENOVO",
            board_name="20L5CTO1WW",
            bios_vendor="LENOVO",
            bios_version="N24ET76W (1.51 )",
            bios_date="02/27/2024",
            raw_dmi={"sys_vendor": "LENOVO", "product_name": "20L5CTO1WW"},
        ),
        components=Components(
            cpu=Cpu(
                model="Intel(R) Core(TM) i5-8350U CPU @ 1.70GHz",
                vendor="GenuineIntel",
                architecture="x86_64",
                cores=4,
                threads=8,
                max_mhz=3600.0,
                flags=["fpu", "vme", "sse4_2", "avx2", "aes"],
            ),
            memory=Memory(
                total_bytes=16 * 2**30,
                modules=[
                    MemoryModule(
                        locator=f"ChannelA-DIMM{i}",
                        size_bytes=8 * 2**30,
                        type="DDR4",
                        form_factor="SODIMM",
                        speed_mts=2400,
                        manufacturer="Samsung",
                        part_number="M471A1K43CB1-CRC",
                    )
                    for i in range(2)
                ],
                slots=2,
            ),
            disks=[nvme, sata],
            batteries=[battery],
        ),
        tests=[
            TestResult(name="keyboard", outcome=TestOutcome.PASS),
            TestResult(name="screen", outcome=TestOutcome.PASS),
            TestResult(
                name="cosmetic",
                outcome=TestOutcome.PASS,
                answers={"lid": "light scratches", "palmrest": "clean"},
            ),
        ],
        erasures=erasures,
        images=[
            ImageRecord(
                name="digibench-debian",
                version="12.8-2026.11",
                sha256=_IMAGE_SHA256,
                target_disk_serial=nvme_serial,
                target_disk_path="/dev/nvme0n1",
                bytes_written=6_442_450_944,
                ranges=48,
                verified=True,
                verification_method="bmap-sha256",
                started_at=created + timedelta(minutes=5),
                finished_at=created + timedelta(minutes=17),
                provisioned=True,
                hostname=f"digi-{n:06d}",
            )
        ],
        grade=Grade(
            grade="B",
            destination=Destination.LEND,
            reasons=[reason("grade.battery_worn", "warning", 79, battery="BAT0", health=79.0)],
            to_fix=[],
            r2_function="F4",
            r2_cosmetic="C3",
            policy_version="default-1",
        ),
    )
