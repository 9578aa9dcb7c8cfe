"""Wipe speed on a loop device: dd vs nwipe vs Digibench's overwrite engine.

Run as root: ``make bench-wipe`` or ``.venv/bin/python bench/wipe.py [--size-mib 2048]``.
One sparse file (default 2 GiB, never above 4 GiB) under ``--dir`` is attached
as a loop device with direct I/O to its backing file (``--buffered-loop`` to
go through the page cache instead) and first filled once, so every timed run
writes to allocated blocks. Then, interleaved ``--repeats`` times:

* ``dd if=/dev/zero of=LOOP bs=4M oflag=direct`` (the baseline);
* Debian's ``nwipe --method=zero --autonuke --nowait --noblank --nogui --verify=off``
  if installed (``apt-get install nwipe``), and a newer nwipe given with
  ``--nwipe-current PATH`` (e.g. built from source);
* ``dd ... conv=fsync``: the same with the final cache flush our passes also do;
* our zero and random passes (``agent.erase.overwrite``: O_DIRECT, 2 MiB
  buffers, several chunks in flight), and full wipes with full read-back
  verification (``agent.erase.engine.wipe_one``: safety re-check, pass,
  verify, signed record);
* ``dd if=LOOP of=/dev/null bs=4M iflag=direct`` (the read baseline) next to
  our read-back of the zero and the random pattern, full and sampled (10 %);
* two disks at once: a second loop device on its own backing file, both wiped
  and verified by ``wipe_all`` (as a laptop with two disks is), against one;
  and the same with dd (write then read each disk, both disks in parallel,
  against one disk). On a RAM-backed loop every byte is copied by the CPU (the
  loop's kernel thread), so on 2 cores one disk of ours already keeps both
  busy and two disks can only share them: there, ours together is compared with
  dd's together.
* the same devices bound by the disk, not the CPU (``--disk-mbps``, default
  1000; 0 skips it): the kernel's block throttle (cgroup ``io.max``, or v1
  ``blkio.throttle``) holds each loop device to that rate for reads and writes,
  as a real disk slower than the CPU does. There dd, our passes and read-backs,
  and one disk against two are timed again: the lines that say whether the
  engine keeps a disk busy and wipes two disks truly at once.

Prints the median MB/s of each and its ratio to its baseline (dd write for
writes, dd read for reads, dd write + read for a full wipe; >1 is faster than
dd), then the two-disk lines, the keystream speed of one core, and the load
average (the machine may be shared: only ratios measured interleaved are
comparable). Both tables, RAM-bound and disk-bound.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from agent.erase.device import AlignedBuffer, BlockDevice
from agent.erase.engine import WipeOptions, wipe_all, wipe_one
from agent.erase.overwrite import Pattern, overwrite
from agent.erase.prng import KeyStream, new_seed
from agent.erase.progress import Meter, ignore_progress
from agent.erase.safety import resolve
from agent.erase.verify import sample_regions, verify
from agent.report.schema import ErasureResult
from agent.runner import SystemRunner
from agent.signing import load_or_create_key

from throttle import Throttle

MiB = 1 << 20
MAX_SIZE = 4096 * MiB
TWO = "digibench two disks at once, zero + full verify"
ONE = "digibench zero + full verify"
DD_ONE = "dd write + read, one disk"
DD_TWO = "dd write + read, two disks at once"
runner = SystemRunner()


def _dd(dev: str) -> None:
    # count= stops dd at the end of the device (without it dd exits 1 on ENOSPC there).
    size = int(runner.run(["blockdev", "--getsize64", dev], check=True).text)
    count = f"count={size // (4 * MiB)}"
    argv = ["dd", "if=/dev/zero", f"of={dev}", "bs=4M", "oflag=direct", count]
    runner.run(argv, check=True)


def _dd_fsync(dev: str) -> None:
    size = int(runner.run(["blockdev", "--getsize64", dev], check=True).text)
    count = f"count={size // (4 * MiB)}"
    argv = ["dd", "if=/dev/zero", f"of={dev}", "bs=4M", "oflag=direct", "conv=fsync", count]
    runner.run(argv, check=True)


def _settle(dev: str) -> None:
    """Untimed, between runs: write back whatever a method left dirty (nwipe writes
    through the page cache), so it is not billed to the next method."""
    fd = os.open(dev, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _nwipe(exe: str) -> Callable[[str], None]:
    def run(dev: str) -> None:
        argv = [exe, "--method=zero", "--autonuke", "--nowait", "--noblank", "--nogui"]
        argv += ["--verify=off", dev]
        result = runner.run(argv, timeout=3600)
        if not result.ok:
            raise RuntimeError(f"nwipe failed ({result.returncode}): {result.error_text[-400:]}")

    return run


def _dd_read(dev: str) -> None:
    size = int(runner.run(["blockdev", "--getsize64", dev], check=True).text)
    argv = [
        "dd",
        f"if={dev}",
        "of=/dev/null",
        "bs=4M",
        "iflag=direct",
        f"count={size // (4 * MiB)}",
    ]
    runner.run(argv, check=True)


#: the keystream of the last random pass, so its read-back can be timed on its own
_last_stream: dict[str, KeyStream | None] = {}
#: bytes a sampled read-back really read (its MB/s counts those, not the disk size)
_read_bytes: dict[str, int] = {}


def _pass(pattern: Pattern) -> Callable[[str], None]:
    def run(dev: str) -> None:
        stream = KeyStream(new_seed()) if pattern is Pattern.RANDOM else None
        with BlockDevice(dev) as bd:
            out = overwrite(bd, stream, meter=Meter(ignore_progress, dev, "wipe", bd.size))
        assert out.completed and not out.errors
        _last_stream[dev] = stream

    return run


def _read_back(percent: float) -> Callable[[str], None]:
    """Verify what the pass just before left (zeros or its keystream)."""

    def run(dev: str) -> None:
        stream = _last_stream[dev]
        with BlockDevice(dev) as bd:
            regions = sample_regions(bd.size, percent, sector=bd.sector)
            meter = Meter(ignore_progress, dev, "verify", sum(n for _, n in regions))
            method = "full" if percent >= 100 else "sampled"
            out = verify(bd, stream, regions, meter=meter, method=method)
        assert out.completed and not out.problems
        _read_bytes[f"{percent}"] = out.checked_bytes

    return run


def _full(pattern: Pattern, work: Path) -> Callable[[str], None]:
    key = load_or_create_key(work / "keys")

    def run(dev: str) -> None:
        target = resolve(dev)
        opts = WipeOptions(
            pattern=pattern,
            verify_percent=100,
            key=key,
            record_dir=work / "records",
            state_dir=work / "state",
            confirmed=frozenset({target.identity}),
        )
        rec = wipe_one(target, opts).record
        assert rec.result is ErasureResult.ERASED, rec.notes

    return run


def _two_disks(other: list[str], work: Path) -> Callable[[str], None]:
    """Both disks wiped (zero) and fully verified at once, as the station does."""
    key = load_or_create_key(work / "keys")

    def run(dev: str) -> None:
        targets = [resolve(dev), resolve(other[0])]
        opts = WipeOptions(
            pattern=Pattern.ZERO,
            verify_percent=100,
            key=key,
            record_dir=work / "records",
            state_dir=work / "state",
            confirmed=frozenset(t.identity for t in targets),
        )
        for outcome in wipe_all(targets, opts):
            assert outcome.record.result is ErasureResult.ERASED, outcome.record.notes

    return run


def _dd_write_read(dev: str) -> None:
    _dd(dev)
    _dd_read(dev)


def _dd_two_disks(other: list[str]) -> Callable[[str], None]:
    """dd's write then read on both disks at once: what the machine allows two disks."""

    def run(dev: str) -> None:
        failed: list[BaseException] = []

        def one(d: str) -> None:
            try:
                _dd_write_read(d)
            except BaseException as exc:  # re-raised in the caller
                failed.append(exc)

        threads = [threading.Thread(target=one, args=(d,)) for d in (dev, other[0])]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failed:
            raise failed[0]

    return run


def _keystream_rate() -> float:
    """Bytes per second of AES-128-CTR keystream one thread makes here (no I/O)."""
    stream = KeyStream(new_seed())
    buf = AlignedBuffer(8 * MiB)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for i in range(16):
            stream.fill(i * 8 * MiB, buf.view, 8 * MiB)
        best = min(best, time.perf_counter() - t0)
    return 16 * 8 * MiB / best


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _version(exe: str) -> str:
    out = runner.run([exe, "--version"]).text.strip()
    return out.splitlines()[0] if out else "?"


DD, READ = "dd bs=4M oflag=direct", "dd read bs=4M iflag=direct"
Methods = list[tuple[str, Callable[[str], None]]]


def _time(methods: Methods, dev: str, repeats: int, nwipe_repeats: int) -> dict[str, list[float]]:
    """Each method once per round, interleaved, ``repeats`` rounds."""
    times: dict[str, list[float]] = {name: [] for name, _ in methods}
    for rep in range(repeats):
        for name, fn in methods:
            if name.startswith("nwipe") and rep >= nwipe_repeats:
                continue
            t0 = time.perf_counter()
            fn(dev)
            times[name].append(time.perf_counter() - t0)
            _settle(dev)
            print(f"  run {rep + 1}: {name}: {times[name][-1]:.2f} s", flush=True)
    return times


def _table(methods: Methods, times: dict[str, list[float]], size: int) -> None:
    def baseline(name: str) -> str:
        if "full verify" in name and DD_ONE in times:
            return DD_ONE  # a write and a read of the disk, as dd does them
        return READ if "read" in name else DD

    print(f"\n{'method':42s} {'runs':>4s} {'MB/s':>7s} {'ratio':>6s} {'best':>6s}  baseline")
    for name, _ in methods:
        if name in (TWO, DD_ONE, DD_TWO):
            continue
        base = baseline(name)
        n = _read_bytes["10"] if "sampled" in name else size  # same windows each run
        t, best = statistics.median(times[name]), min(times[name])
        ratio = statistics.median(times[base]) / size / (t / n)
        best_ratio = min(times[base]) / size / (best / n)
        print(
            f"{name:42s} {len(times[name]):4d} {n / t / 1e6:7.0f} {ratio:6.2f}"
            f" {best_ratio:6.2f}  x {base}"
        )
    print("(median of the runs, and best against best; ratio > 1 means faster than dd)")
    print("(with full verify, MB/s counts the disk size once: write + read-back time)")


def _two_lines(times: dict[str, list[float]], size: int) -> None:
    """Two disks at once against one, ours and dd's, and ours against dd's together."""
    one, two = statistics.median(times[ONE]), statistics.median(times[TWO])
    dd_one, dd_two = statistics.median(times[DD_ONE]), statistics.median(times[DD_TWO])
    print(
        f"two disks wiped + verified at once: {2 * size / two / 1e6:.0f} MB/s together,"
        f" {2 * one / two:.2f}x one disk's {size / one / 1e6:.0f} MB/s"
    )
    print(
        f"dd write + read on two disks at once: {2 * size / dd_two / 1e6:.0f} MB/s together,"
        f" {2 * dd_one / dd_two:.2f}x one disk's {size / dd_one / 1e6:.0f} MB/s;"
        f" ours together / dd's together = {dd_two / two:.2f}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mib", type=int, default=2048)
    ap.add_argument("--dir", type=Path, default=Path("/tmp"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--buffered-loop", action="store_true")
    ap.add_argument("--nwipe-current", default=None, help="path of a newer nwipe binary")
    ap.add_argument(
        "--nwipe-repeats",
        type=int,
        default=1,
        help="nwipe runs (Debian 12's nwipe needs minutes per GiB; default 1, 0 skips it)",
    )
    ap.add_argument("--one-disk", action="store_true", help="skip the two-disk lines")
    ap.add_argument(
        "--disk-mbps",
        type=int,
        default=1000,
        help="rate (MB/s) each disk is held to for the disk-bound lines; 0 skips them",
    )
    args = ap.parse_args()
    size = args.size_mib * MiB
    if os.geteuid() != 0:
        print("bench/wipe.py: needs root (loop devices)", file=sys.stderr)
        return 2
    if not 0 < size <= MAX_SIZE:
        print(f"bench/wipe.py: size must be 1..{MAX_SIZE // MiB} MiB", file=sys.stderr)
        return 2
    free = shutil.disk_usage(args.dir).free
    need = size * (1 if args.one_disk else 2)
    if free < need + 1024 * MiB:
        print(f"bench/wipe.py: {args.dir} has {free // MiB} MiB free, need {need // MiB} + 1024")
        return 2
    bound_skip = "--disk-mbps 0" if args.disk_mbps <= 0 else Throttle.available()

    methods: Methods = [
        (DD, _dd),
        ("dd bs=4M oflag=direct conv=fsync", _dd_fsync),
        (READ, _dd_read),
    ]
    if args.nwipe_repeats and runner.which("nwipe"):
        methods.append((f"nwipe zero ({_version('nwipe')})", _nwipe("nwipe")))
    elif args.nwipe_repeats:
        print("(nwipe not installed: apt-get install nwipe to compare with it)")
    if args.nwipe_current:
        exe = args.nwipe_current
        methods.append((f"nwipe zero ({_version(exe)}, {exe})", _nwipe(exe)))

    with tempfile.TemporaryDirectory(dir=args.dir, prefix="digibench-bench-") as tmp:
        work = Path(tmp)
        second: list[str] = []
        ours: Methods = [
            ("digibench zero pass", _pass(Pattern.ZERO)),
            ("digibench read-back zero, full", _read_back(100)),
            ("digibench read-back zero, 10 % sampled", _read_back(10)),
            ("digibench random pass", _pass(Pattern.RANDOM)),
            ("digibench read-back random, full", _read_back(100)),
            ("digibench read-back random, 10 % sampled", _read_back(10)),
            (ONE, _full(Pattern.ZERO, work)),
            ("digibench random + full verify", _full(Pattern.RANDOM, work)),
        ]
        methods += ours
        pair: Methods = []
        if not args.one_disk:
            pair = [
                (TWO, _two_disks(second, work)),
                (DD_ONE, _dd_write_read),
                (DD_TWO, _dd_two_disks(second)),
            ]
            methods += pair
        image = work / "disk.img"
        with image.open("wb") as fh:
            fh.truncate(size)
        dio = "off" if args.buffered_loop else "on"
        argv = ["losetup", f"--direct-io={dio}", "--find", "--show", str(image)]
        dev = runner.run(argv, check=True).text.strip()
        if not args.one_disk:
            image2 = work / "disk2.img"
            with image2.open("wb") as fh:
                fh.truncate(size)
            argv[-1] = str(image2)
            second.append(runner.run(argv, check=True).text.strip())
        bound: dict[str, list[float]] = {}
        bound_methods: Methods = [(DD, _dd), (READ, _dd_read), *ours, *pair]
        try:
            print(f"{dev}: {size // MiB} MiB on {args.dir} (loop direct-io {dio}), {_load()}")
            for d in [dev, *second]:
                _dd(d)  # allocate the sparse files' blocks once, untimed
            times = _time(methods, dev, args.repeats, args.nwipe_repeats)
            if bound_skip is None:
                rate = args.disk_mbps * 1_000_000
                print(f"\neach disk held to {args.disk_mbps} MB/s by the block throttle:")
                with Throttle([dev, *second], rate):
                    bound = _time(bound_methods, dev, args.repeats, 0)
        finally:
            for d in [dev, *second]:
                runner.run(["losetup", "-d", d])

    print(f"\n== RAM-backed loop devices: the CPU copies every byte ({_load()})")
    _table(methods, times, size)
    if pair:
        print()
        _two_lines(times, size)
    print(
        f"AES-128-CTR keystream, one thread, no I/O: {_keystream_rate() / 1e6:.0f} MB/s"
        " (a random pass and its read-back make it on top of the copy the RAM-backed"
        " loop's kernel thread does: on few, busy cores that CPU is the limit, not the disk)"
    )
    if bound:
        print(f"\n== the same devices held to {args.disk_mbps} MB/s each: the disk is the limit")
        _table(bound_methods, bound, size)
        if pair:
            print()
            _two_lines(bound, size)
    else:
        print(f"\n(disk-bound lines skipped: {bound_skip})")
    print(
        "(goals: >= 0.95x dd for each pass and read-back, and two disks >= 1.8x one disk, where"
        " the disk is the limit; on RAM the CPU is, and two disks can only share it)"
    )
    print(f"({_load()}, {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
