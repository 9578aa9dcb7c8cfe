"""Benchmark: flash one .zst image with bmap to one loop device, several ways (root only).

    sudo .venv/bin/python bench/flash.py [--size-gib 2] [--data-mb 600] [--runs 3]

Builds a GPT image (256 MiB ESP + ext4 root holding a copy of part of /usr), its
bmap (bmaptool create) and the .zst our image builds ship (``digibench image-compress``:
zstd frames of 8 MiB plus a seek table, see agent/flash/seekable.py; any zstd reads
it) with its manifest as images/write_manifest.py writes it. The same .zst goes to
every tool; on the same loop device it times:

* ``dd if=img.raw of=LOOP bs=4M oflag=direct``      (reference: plain copy of the raw image)
* ``zstd -dc img.zst | dd of=LOOP bs=4M oflag=direct``   (the baseline from the brief)
* ``bmaptool copy --bmap img.bmap img.zst LOOP``         (the peer tool; no read-back)
* ``digibench flash --no-fit --no-provision`` (ours, read-back on: every flash, the first
  one too). The first flash of a file (its own line: the stamps are cleared before it)
  checks each range's sha256 against the bmap the manifest vouches for, and the
  compressed file's sha256; a repeat flash of the same file (what a station does all
  day) checks the compressed file's sha256 against the stamp the first one left and
  hashes no range again (agent/flash/stamps.py). Both compare every byte read back.
* ``digibench flash ... --full-check`` (ours, the whole raw image hashed as well)
* ``python -m agent.flash ...``  (the same flash without importing digibench's other
  subcommands at start-up)

and, for honesty, on a plain single-frame copy (``zstd -T0 -3``, what the zstd CLI
makes): ``bmaptool copy`` and ``digibench flash``, which then decompress on one core.

Each run starts with the page cache dropped, its source file read once and its tool
started once with --version (warm source and program files, cold target). The loop
device's backing file lives in /dev/shm by default (--target-dir), so the figures show
the tools' own cost rather than the shared disk's I/O; all methods end with a flush
(conv=fsync, bmaptool's fsync, ours). Prints MB/s of image data (raw image size / wall
time), ratios and CPU seconds (medians over the runs); cleans up.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from agent.flash.manifest import describe_image, dump_manifest, sibling_manifest  # noqa: E402
from agent.flash.seekable import compress_image, read_seek_table  # noqa: E402

from compiled import compile_sources  # noqa: E402
from throttle import Throttle  # noqa: E402

DIGIBENCH = Path(sys.executable).with_name("digibench")
MiB = 1 << 20
ESP_SECTORS = 256 * MiB // 512
ROOT_START = 2048 + ESP_SECTORS


def sh(*argv: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, check=True, capture_output=True, **kw)  # type: ignore[call-overload]


def copy_some_of_usr(dest: Path, budget: int) -> int:
    """Copy regular files from /usr into ``dest`` until ``budget`` bytes are copied."""
    total = 0
    for top in ("/usr/lib/x86_64-linux-gnu", "/usr/share", "/usr/bin", "/usr/lib"):
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in sorted(filenames):
                src = Path(dirpath) / name
                if src.is_symlink() or not src.is_file():
                    continue
                target = dest / src.relative_to("/")
                if target.exists():
                    continue
                size = src.stat().st_size
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, target)
                total += size
                if total >= budget:
                    return total
    return total


def build(work: Path, size: int, data: int) -> tuple[Path, Path, Path, Path]:
    raw = work / "bench.img"
    with raw.open("wb") as fh:
        fh.truncate(size)
    layout = (
        "label: gpt\n"
        f"start=2048, size={ESP_SECTORS}, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n"
        f"start={ROOT_START}, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709\n"
    )
    sh("sfdisk", "-q", str(raw), input=layout.encode())
    table = json.loads(sh("sfdisk", "--json", str(raw)).stdout)["partitiontable"]
    root_blocks = table["partitions"][1]["size"] * 512 // 4096
    tree = work / "tree"
    copied = copy_some_of_usr(tree, data)
    sh("mkfs.vfat", "-F", "32", "-s", "1", "--offset", "2048", str(raw), str(ESP_SECTORS // 2))
    sh("mkfs.ext4", "-q", "-F", "-b", "4096", "-E", f"offset={ROOT_START * 512}",
       "-d", str(tree), str(raw), str(root_blocks))  # fmt: skip
    shutil.rmtree(tree)
    bmap = work / "bench.img.bmap"
    sh("bmaptool", "create", "-o", str(bmap), str(raw))
    zst, single = compressed(work, raw, bmap)
    print(f"image: {size / MiB:.0f} MiB raw, {copied / 1e6:.0f} MB of /usr copied in, "
          f"{zst.stat().st_size / 1e6:.0f} MB zstd in frames, "
          f"{single.stat().st_size / 1e6:.0f} MB single-frame zstd")  # fmt: skip
    return raw, bmap, zst, single


def compressed(work: Path, raw: Path, bmap: Path) -> tuple[Path, Path]:
    """Our framed .zst and a single-frame one, each with its manifest (made if missing)."""
    zst = work / "bench.img.zst"
    single = work / "single.img.zst"
    if not zst.exists() or read_seek_table(zst) is None:
        compress_image(raw, zst, level=3)
    if not single.exists():
        sh("zstd", "-q", "-T0", "-3", str(raw), "-o", str(single))
    for image in (zst, single):
        manifest = describe_image(raw, image, bmap, "bench", "1")
        sibling_manifest(image).write_text(dump_manifest(manifest))
    return zst, single


def cold(source: Path, tool: list[str]) -> None:
    """Drop the page cache, then read the source and start the tool once (its own files
    and, for Python tools, their imports come back into the cache): every run starts alike."""
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")
    with source.open("rb") as fh:
        while fh.read(8 * MiB):
            pass
    subprocess.run(tool, capture_output=True, check=False)


def timed(argv: list[str] | str, source: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system, children included) of one run."""
    if isinstance(argv, str):
        warm = [argv.split()[0], "--version"]
    elif argv[1] == "-m":
        warm = [*argv[:3], "--help"]
    elif argv[1] == "flash":  # --version alone would not load the flash command's modules
        warm = [*argv[:2], "--help"]
    else:
        warm = [argv[0], "--version"]
    cold(source, warm)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    if isinstance(argv, str):
        subprocess.run(["bash", "-o", "pipefail", "-c", argv], check=True, capture_output=True)
    else:
        subprocess.run(argv, check=True, capture_output=True)
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


Times = dict[str, list[float]]


def _runs(
    cases: dict[str, list[str] | str], sources: dict[str, Path], runs: int, work: Path
) -> tuple[Times, Times, list[float]]:
    """Every case once per run, interleaved, so drift hits all alike: wall and CPU seconds."""
    times: Times = {name: [] for name in cases}
    cpu: Times = {name: [] for name in cases}
    loads = []
    for run in range(runs):
        for name, argv in cases.items():
            shutil.rmtree(work / "stamps-first", ignore_errors=True)
            wall, used = timed(argv, sources[name])
            times[name].append(wall)
            cpu[name].append(used)
        loads.append(os.getloadavg()[0])
        line = ", ".join(f"{t[-1]:.2f}s" for t in times.values())
        print(f"run {run + 1}/{runs} (load {loads[-1]:.1f}): {line}")
    return times, cpu, loads


def _results(times: Times, cpu: Times, loads: list[float], size: int, work: Path) -> None:
    record = json.loads((work / "ours.json").read_text())
    first = json.loads((work / "first.json").read_text())
    full = json.loads((work / "full.json").read_text())
    single_record = json.loads((work / "single.json").read_text())
    assert record["verified"] and "vouched by an earlier" in record["verification_method"]
    assert first["verified"] and "against the bmap" in first["verification_method"], first
    assert full["verified"] and "in full" in full["verification_method"], full
    assert single_record["verified"], single_record
    best = {name: statistics.median(t) for name, t in times.items()}
    ref = best["dd raw image (reference)"]
    peer = best["bmaptool copy"]
    print(f"\nload average (1 min) after each run: {', '.join(f'{x:.1f}' for x in loads)}"
          f" on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'method':36} {'median s':>9} {'MB/s':>6} {'vs dd raw':>10} {'vs bmaptool':>12}"
          f" {'CPU s':>6}")  # fmt: skip
    for name, t in best.items():
        used = statistics.median(cpu[name])
        print(f"{name:36} {t:9.2f} {size / t / 1e6:6.0f} {ref / t:9.2f}x {peer / t:11.2f}x"
              f" {used:6.2f}")  # fmt: skip
    print(f"\ndigibench flash vs bmaptool copy on the same .zst, read-back on: "
          f"{peer / best['digibench flash']:.2f}x (target >= 2.0x), with --full-check "
          f"{peer / best['digibench flash --full-check']:.2f}x; each wrote "
          f"{record['bytes_written'] / 1e6:.0f} MB in {record['ranges']} ranges "
          "and read them back")  # fmt: skip
    print(f"the first flash of a file (ranges hashed against the bmap, stamp kept): "
          f"{peer / best['digibench flash, first of this file']:.2f}x")  # fmt: skip
    one = best["bmaptool copy, 1-frame .zst"] / best["digibench flash, 1-frame .zst"]
    print(f"on a single-frame .zst: digibench flash vs bmaptool copy {one:.2f}x")
    # the two timed seconds apart in each run: robust to the machine's load drifting
    pairs = zip(times["bmaptool copy"], times["digibench flash"], strict=True)
    per_run = [b / d for b, d in pairs]
    print("per run, bmaptool copy time / digibench flash time: "
          + ", ".join(f"{r:.2f}x" for r in per_run)
          + f" (median {statistics.median(per_run):.2f}x)")  # fmt: skip
    print(f"inside digibench (write + read-back, no start-up), last run: "
          f"{record['duration_s']:.2f} s, --full-check {full['duration_s']:.2f} s")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size-gib", type=float, default=2.0)
    ap.add_argument("--data-mb", type=int, default=600)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=Path("/var/tmp"))
    ap.add_argument("--keep", action="store_true", help="keep the image files (not the loop)")
    ap.add_argument(
        "--target-dir",
        type=Path,
        default=Path("/dev/shm"),
        help="where the loop device's backing file lives (default /dev/shm: a fast 'disk' "
        "that leaves the other machine's I/O out of the figures)",
    )
    ap.add_argument("--reuse", type=Path, help="a directory kept by --keep: skip the build")
    ap.add_argument(
        "--disk-mbps",
        type=int,
        default=1000,
        help="rate (MB/s) the target is held to for the disk-bound lines; 0 skips them",
    )
    args = ap.parse_args()
    bound_skip = "--disk-mbps 0" if args.disk_mbps <= 0 else Throttle.available()
    compile_sources()  # as installed: no module compiled while timed
    if os.geteuid() != 0:
        print("bench/flash.py needs root (loop devices)", file=sys.stderr)
        return 2
    for tool in ("sfdisk", "mkfs.vfat", "mkfs.ext4", "bmaptool", "zstd", "losetup", "dd"):
        if shutil.which(tool) is None:
            print(f"missing tool: {tool} (make setup)", file=sys.stderr)
            return 2
    size = int(args.size_gib * 1024) * MiB
    if args.reuse:
        work = args.reuse
        args.keep = True
    else:
        work = Path(tempfile.mkdtemp(prefix="digibench-bench-flash-", dir=args.workdir))
    loop = None
    target: Path | None = None
    try:
        if args.reuse:
            raw, bmap = work / "bench.img", work / "bench.img.bmap"
            size = raw.stat().st_size
            zst, single = compressed(work, raw, bmap)
            shutil.rmtree(work / "stamps", ignore_errors=True)
        else:
            raw, bmap, zst, single = build(work, size, args.data_mb * 1_000_000)
        target = args.target_dir / f"digibench-bench-flash-target-{os.getpid()}.raw"
        sh("fallocate", "-l", str(size + 256 * MiB), str(target))
        loop = sh("losetup", "--find", "--show", str(target)).stdout.decode().strip()
        manifest = sibling_manifest(zst)
        flags = ["--yes", "-q", "--no-fit", "--no-provision"]
        options = [*flags, "--stamp-dir", str(work / "stamps")]
        ours = [str(DIGIBENCH), "flash", *options]
        # the same command without loading digibench's other subcommands at start-up
        light = [sys.executable, "-m", "agent.flash", *options]
        cases = {
            "dd raw image (reference)": f"dd if={raw} of={loop} bs=4M oflag=direct conv=fsync",
            "zstd -dc | dd oflag=direct": (
                f"zstd -dc {zst} | dd of={loop} bs=4M iflag=fullblock oflag=direct conv=fsync"
            ),
            "bmaptool copy": ["bmaptool", "copy", "--bmap", str(bmap), str(zst), loop],
            "digibench flash": [*ours, "--report", str(work / "ours.json"), str(manifest), loop],
            "digibench flash, first of this file": [
                str(DIGIBENCH), "flash", *flags, "--stamp-dir", str(work / "stamps-first"),
                "--report", str(work / "first.json"), str(manifest), loop
            ],
            "digibench flash --full-check": [
                *ours, "--full-check", "--report", str(work / "full.json"), str(manifest), loop
            ],
            "python -m agent.flash": [
                *light, "--report", str(work / "light.json"), str(manifest), loop
            ],
            "bmaptool copy, 1-frame .zst": [
                "bmaptool", "copy", "--bmap", str(bmap), str(single), loop
            ],
            "digibench flash, 1-frame .zst": [
                *ours, "--report", str(work / "single.json"), str(sibling_manifest(single)), loop
            ],
        }  # fmt: skip
        sources = {name: raw if name.startswith("dd raw") else zst for name in cases}
        sources.update({name: single for name in cases if "1-frame" in name})
        # a station flashes one file to many laptops: "digibench flash" is a repeat flash,
        # after the first one (untimed here, timed on its own line) left its stamp
        subprocess.run(cases["digibench flash"], check=True, capture_output=True)
        subprocess.run(cases["digibench flash, 1-frame .zst"], check=True, capture_output=True)
        print(f"\n== a loop device over a file in {target.parent}, as fast as that store")
        results = _runs(cases, sources, args.runs, work)
        _results(*results, size, work)
        if bound_skip is None:
            print(f"\n== the same loop device held to {args.disk_mbps} MB/s: the disk is the limit")
            with Throttle([loop], args.disk_mbps * 1_000_000):
                results = _runs(cases, sources, args.runs, work)
            _results(*results, size, work)
        else:
            print(f"\n(disk-bound lines skipped: {bound_skip})")
    finally:
        if loop:
            subprocess.run(["partx", "-d", loop], capture_output=True, check=False)
            subprocess.run(["losetup", "-d", loop], capture_output=True, check=False)
        if target is not None:
            target.unlink(missing_ok=True)
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
