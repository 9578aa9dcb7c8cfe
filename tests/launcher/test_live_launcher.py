"""The stick's launcher (images/live/overlay/usr/local/sbin/digibench-live) as a plain user:
the commands it runs (blkid, mount, tune2fs, digibench, script...) are stand-ins that log
their arguments and keep the partition's UUID in a file, so what it decides at each boot
is seen without a VM (the VM proofs are in tests/images/test_live_image.py and tests/e2e)."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "images" / "live" / "overlay" / "usr" / "local" / "sbin" / "digibench-live"
BUILD_UUID = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
NEW_UUID = "0c0ffee0-0000-4000-8000-00000000beef"

STUBS = {
    # the data partition is /dev/fakestick; its UUID lives in $STICK_UUID
    "blkid": """
case "$*" in
    "-U "*) [ "$2" = "$(cat "$STICK_UUID")" ] && echo /dev/fakestick ;;
    "-L "*) echo /dev/fakestick ;;
    *"-s UUID -o value /dev/fakestick") cat "$STICK_UUID" ;;
    *) exit 2 ;;
esac
""",
    "mountpoint": '[ -e "$STUB_MOUNTED" ]',
    # /dev/fakestick is a partition of /dev/fakedisk, a USB stick unless the test says not
    "lsblk": """
case "$*" in
    "-no PKNAME /dev/fakestick") echo fakedisk ;;
    "-dno TRAN /dev/fakedisk") if [ -e "$STUB_INTERNAL" ]; then echo sata; else echo usb; fi ;;
    "-dno RM /dev/fakedisk") echo 0 ;;
    *) exit 1 ;;
esac
""",
    "tune2fs": f'[ "$1 $2" = "-U random" ] && echo {NEW_UUID} >"$STICK_UUID"',
    # the enrolment screen: quit (no token) unless the test lets the admin approve
    "digibench": """
if [ "$1" = enrol ] && [ -e "$STUB_APPROVE" ]; then
    for last; do :; done
    printf '[server]\\nurl = "https://db.example"\\ntoken = "dgb_x"\\n' >>"$last"
fi
""",
    "script": 'while [ "$1" != --command ]; do shift; done; sh -c "$2"',
}
QUIET = ("mount", "umount", "e2fsck", "systemctl", "udevadm", "modprobe", "sync", "sleep")


@dataclass
class Stick:
    root: Path

    @property
    def calls(self) -> list[str]:
        log = self.root / "calls"
        return log.read_text().splitlines() if log.exists() else []

    @property
    def uuid(self) -> str:
        return (self.root / "uuid").read_text().strip()

    @property
    def config(self) -> Path:
        return self.root / "run" / "data" / "station.toml"

    def boot(
        self, cmdline: str = "", *, approve: bool = False, mounted: bool = False,
        internal: bool = False,
    ) -> str:  # fmt: skip
        """One start of the launcher (a boot); its console output."""
        (self.root / "calls").unlink(missing_ok=True)
        want = f"digibench.data=UUID={self.uuid}"  # what GRUB probed on the stick
        (self.root / "cmdline").write_text(f"BOOT_IMAGE=/live/vmlinuz {want} {cmdline}\n")
        for flag, on in (("approve", approve), ("mounted", mounted), ("internal", internal)):
            (self.root / flag).unlink(missing_ok=True)
            if on:
                (self.root / flag).touch()
        env = {
            "PATH": f"{self.root / 'bin'}:/usr/bin:/bin",
            "DIGIBENCH_LIVE_TEST_ROOT": str(self.root),
            "STICK_UUID": str(self.root / "uuid"),
            "STUB_APPROVE": str(self.root / "approve"),
            "STUB_MOUNTED": str(self.root / "mounted"),
            "STUB_INTERNAL": str(self.root / "internal"),
        }
        done = subprocess.run(
            ["sh", str(LAUNCHER)], env=env, capture_output=True, text=True, timeout=60,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        return done.stdout + done.stderr


def _stick(tmp_path: Path) -> Stick:
    """A stick just written from the released image: the build's UUID, no station.toml."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    for name in (*STUBS, *QUIET):
        stub = bin_dir / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >>"{log}"\n{STUBS.get(name, "")}\n')
        stub.chmod(0o755)
    (tmp_path / "data-build-uuid").write_text(BUILD_UUID + "\n")
    (tmp_path / "uuid").write_text(BUILD_UUID + "\n")
    example = REPO / "provisioning" / "station.example.toml"
    (tmp_path / "station.example.toml").write_text(example.read_text(encoding="utf-8"))
    return Stick(tmp_path)


def _enrolled(calls: list[str]) -> bool:
    return any(c.startswith("digibench enrol --screen") for c in calls)


TUI = "digibench.poweroff=1"  # the TUI's loop ends after one run (as on a real switch-off)


def test_a_stick_whose_pairing_was_quit_offers_it_again_at_the_next_boot(tmp_path: Path) -> None:
    stick = _stick(tmp_path)
    first = stick.boot(TUI)
    assert _enrolled(stick.calls), first
    assert "digibench run" in stick.calls  # quitting the pairing runs the station offline
    assert "pairing again at the next boot" in first
    assert stick.config.exists()
    assert not re.search(r"^\s*token\s*=", stick.config.read_text(), re.MULTILINE)

    stick.boot(TUI)  # station.toml is there now, still without a token
    assert _enrolled(stick.calls)

    stick.boot(TUI, approve=True)
    assert _enrolled(stick.calls) and "digibench run" in stick.calls
    stick.boot(TUI)  # paired: straight to the station
    assert not _enrolled(stick.calls) and "digibench run" in stick.calls


def test_a_stick_meant_to_stay_offline_is_not_asked_to_pair(tmp_path: Path) -> None:
    stick = _stick(tmp_path)
    stick.boot(f"{TUI} digibench.pair=0")
    assert not _enrolled(stick.calls) and "digibench run" in stick.calls


def test_a_stick_whose_boot_cfg_names_a_server_pairs_until_it_is_paired(tmp_path: Path) -> None:
    stick = _stick(tmp_path)
    said = stick.boot(f"{TUI} digibench.server=https://db.example")
    assert "digibench enrol --screen https://db.example --config" in "\n".join(stick.calls)
    assert "trying again" in said and "digibench run" not in stick.calls  # the unit restarts it


def test_headless_without_a_server_runs_unpaired_instead_of_looping(tmp_path: Path) -> None:
    stick = _stick(tmp_path)
    said = stick.boot("digibench.headless=1 digibench.poweroff=1")
    assert not any(c.startswith("digibench enrol") for c in stick.calls)
    assert "digibench run --headless" in stick.calls
    assert "headless without digibench.server=URL: not paired" in said


def test_the_images_data_partition_uuid_is_made_the_sticks_own_at_first_boot(
    tmp_path: Path,
) -> None:
    stick = _stick(tmp_path)
    said = stick.boot(TUI)
    calls = stick.calls
    assert stick.uuid == NEW_UUID, said
    # checked and changed before it is mounted (tune2fs rewrites every checksum)
    fsck = calls.index("e2fsck -f -p /dev/fakestick")
    tune = calls.index("tune2fs -U random /dev/fakestick")
    mount = next(i for i, c in enumerate(calls) if c.startswith("mount "))
    assert fsck < tune < mount
    assert f"now has UUID {stick.uuid}" in said

    stick.boot(TUI)  # GRUB passes the new UUID; nothing more to do
    assert not any(c.startswith(("tune2fs", "e2fsck")) for c in stick.calls)
    assert any(c.startswith("mount ") for c in stick.calls)


def test_a_mounted_data_partition_keeps_its_uuid(tmp_path: Path) -> None:
    stick = _stick(tmp_path)
    (tmp_path / "run" / "data").mkdir(parents=True)
    stick.boot(TUI, mounted=True)  # the launcher restarted by its unit: already mounted
    assert stick.uuid == BUILD_UUID
    assert not any(c.startswith(("tune2fs", "e2fsck", "mount ")) for c in stick.calls)


def test_a_copy_of_the_image_on_a_laptops_own_disk_is_left_alone(tmp_path: Path) -> None:
    """Found by UUID on a SATA disk, not the USB stick: the donor's disk is not touched."""
    stick = _stick(tmp_path)
    said = stick.boot(TUI, internal=True)
    assert stick.uuid == BUILD_UUID, said
    assert not any(c.startswith(("tune2fs", "e2fsck")) for c in stick.calls)


def test_the_launcher_is_valid_posix_sh() -> None:
    assert os.access(LAUNCHER, os.X_OK)
    subprocess.run(["sh", "-n", str(LAUNCHER)], check=True, timeout=10)
