"""The "donated laptop" of the end-to-end test: disk files with a donor's data, and the
independent checks made afterwards with tools that are not Digibench (grep, cmp,
e2fsck, diff, mount)."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

MiB = 1 << 20
LINUX_FS = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"


def run(
    *argv: str, check: bool = True, timeout: float = 600, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, check=check, timeout=timeout, input=input_text
    )


def new_marker(name: str) -> bytes:
    return f"DONOR-{name}-{secrets.token_hex(8)}-PRIVATE".encode()


def donor_disk(path: Path, size: int, marker: bytes, work: Path) -> int:
    """A GPT disk with an ext4 partition holding the donor's files, and ``marker`` in every MiB
    (also in the gap before the first partition) and in the disk's last sector (in the backup
    GPT header's reserved bytes, which no checksum covers). Returns how many markers it holds."""
    with path.open("wb") as fh:
        fh.truncate(size)
    run("sfdisk", "-q", str(path), input_text=f"label: gpt\nstart=2048, type={LINUX_FS}\n")
    part = json.loads(run("sfdisk", "--json", str(path)).stdout)["partitiontable"]["partitions"][0]
    home = work / f"{path.stem}-home"
    (home / "Documenten").mkdir(parents=True, exist_ok=True)
    (home / "Documenten" / "belastingbrief.txt").write_bytes(marker + b"\nrijksregisternummer\n")
    run(
        "mkfs.ext4", "-q", "-F", "-L", "donor", "-d", str(home),
        "-E", f"offset={int(part['start']) * 512}", str(path), f"{int(part['size']) // 2}k",
    )  # fmt: skip
    with path.open("r+b") as fh:
        for offset in range(MiB // 2, size, MiB):  # 512 KiB into every MiB
            fh.seek(offset)
            fh.write(marker)
        fh.seek(size - 512 + 256)
        fh.write(marker)
    found = count_marker(path, marker)
    assert found >= size // MiB + 1, f"{path}: only {found} markers planted"
    return found


def count_marker(path: Path, marker: bytes) -> int:
    """How often ``marker`` occurs in the file, by grep (NUL-separated records: a wiped disk is
    all NULs, so no record grows huge)."""
    out = subprocess.run(
        ["grep", "-z", "-a", "-o", "-F", marker.decode(), str(path)],
        capture_output=True, check=False, timeout=900,
    )  # fmt: skip
    assert out.returncode in (0, 1), out.stderr
    return out.stdout.count(b"\0")


def partitions(disk: Path) -> list[dict[str, object]]:
    parts: list[dict[str, object]] = json.loads(run("sfdisk", "--json", str(disk)).stdout)[
        "partitiontable"
    ]["partitions"]
    return parts


def same_bytes(a: Path, b: Path, offset: int, length: int) -> bool:
    """``cmp`` of one region of two files."""
    cmp = run("cmp", "-n", str(length), "-i", f"{offset}:{offset}", str(a), str(b), check=False)
    return cmp.returncode == 0
