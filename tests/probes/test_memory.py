"""RAM total from meminfo; modules from real dmidecode outputs (linuxhw/DMI) and the live VM."""

from __future__ import annotations

from pathlib import Path

from agent.errors import ToolMissingError
from agent.probes.memory import meminfo_total, parse_memory_devices, probe_memory
from agent.runner import ReplayRunner, SystemRunner

from .conftest import SYSROOTS

DMIDECODE = Path(__file__).parent.parent / "fixtures" / "dmidecode"
ROOT = Path("/")


def test_a485_two_16g_sodimms() -> None:
    modules, slots = parse_memory_devices(
        (DMIDECODE / "thinkpad_a485_20MUCTO1WW_excerpt.txt").read_text()
    )
    assert slots == 2
    assert [m.size_bytes for m in modules] == [16 << 30, 16 << 30]
    first = modules[0]
    assert first.type == "DDR4" and first.form_factor == "SODIMM"
    assert first.speed_mts == 2667
    assert first.manufacturer == "Ramaxel Technology"
    assert first.part_number == "RMSA3300ME78HBF-2666"
    assert first.serial is None  # masked as "--" in the upload
    assert first.locator == "DIMM 0"


def test_e7470_one_module_one_empty_slot() -> None:
    modules, slots = parse_memory_devices((DMIDECODE / "latitude_e7470_excerpt.txt").read_text())
    assert slots == 2
    assert len(modules) == 1
    m = modules[0]
    assert (m.locator, m.size_bytes, m.type, m.speed_mts) == ("DIMM A", 8 << 30, "DDR4", 2133)
    assert m.manufacturer == "SK Hynix"
    assert m.part_number == "HMA41GS6AFR8N-TF"  # trailing padding dropped


def test_parser_ignores_other_types_and_garbage() -> None:
    assert parse_memory_devices("") == ([], 0)
    assert parse_memory_devices("not dmidecode\n\x00\nHandle zz") == ([], 0)
    text = (DMIDECODE / "thinkpad_a485_20MUCTO1WW_excerpt.txt").read_text()
    # BIOS/System/Board/Chassis/Array blocks present, only type 17 counted
    assert "DMI type 0," in text and "DMI type 16," in text
    legacy = (
        "Handle 0x0001, DMI type 17, 27 bytes\nMemory Device\n\tSize: 2048 MB\n\tSpeed: 667 MHz\n"
    )
    modules, slots = parse_memory_devices(legacy)
    assert slots == 1 and modules[0].speed_mts == 667 and modules[0].size_bytes == 2 << 30


def test_meminfo_total_from_recorded_vm() -> None:
    assert meminfo_total(SYSROOTS / "vm-virtio-loop") == 24683656 * 1024


def test_recorded_root_never_runs_dmidecode() -> None:
    runner = ReplayRunner()
    memory = probe_memory(SYSROOTS / "vm-virtio-loop", runner)
    assert memory.total_bytes == 24683656 * 1024
    assert memory.modules == [] and runner.calls == []


def test_live_root_parses_replayed_dmidecode() -> None:
    runner = ReplayRunner()
    text = (DMIDECODE / "latitude_e7470_excerpt.txt").read_text()
    runner.add(["dmidecode", "-t", "17"], stdout=text)
    memory = probe_memory(ROOT, runner)
    assert runner.calls == [("dmidecode", "-t", "17")]
    assert memory.slots == 2 and len(memory.modules) == 1
    assert memory.raw_dmidecode == text
    assert memory.total_bytes > 0


def test_no_smbios_and_missing_dmidecode_mean_no_modules() -> None:
    runner = ReplayRunner()
    runner.add(
        ["dmidecode", "-t", "17"],
        stdout="# dmidecode 3.4\nScanning /dev/mem for entry point.\n",
        stderr="/dev/mem: No such file or directory\n",
        returncode=1,
    )
    assert probe_memory(ROOT, runner).modules == []
    missing = ReplayRunner(installed=set())
    assert probe_memory(ROOT, missing).modules == []


def test_runner_error_is_not_fatal() -> None:
    class Exploding(ReplayRunner):
        def run(self, *args: object, **kwargs: object):  # type: ignore[override]
            raise ToolMissingError("gone")

    assert probe_memory(ROOT, Exploding()).modules == []


def test_live_vm_without_smbios() -> None:
    """This VM has dmidecode but no SMBIOS table: modules empty, total from meminfo."""
    memory = probe_memory(ROOT, SystemRunner())
    assert memory.total_bytes == meminfo_total(ROOT)
    if not Path("/sys/firmware/dmi/tables").exists():
        assert memory.modules == [] and memory.raw_dmidecode is None
    else:  # a machine with SMBIOS: whatever it lists must add up
        assert len(memory.modules) <= (memory.slots or 0)
