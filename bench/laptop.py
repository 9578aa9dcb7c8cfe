"""One whole laptop, headless, against what its disks physically allow.

Run as root: ``make bench-laptop`` or ``.venv/bin/python bench/laptop.py``.

A laptop with two disks (loop devices over files under ``--dir``, direct I/O,
donor data planted) goes through the real station pipeline from inspect to
the signed report in the outbox: wipe both (zero, full read-back), flash the
OS image (``build/os/digibench-debian-minimal`` when ``make os-image`` built
it, else ``--image``, else a small image built here), grade, report. The time
of each stage comes from the pipeline's own stage events.

The physical limit is measured on the same devices in the same run, with dd
(the best of two tries): a direct write and a direct read of each disk, plus the
image's mapped bytes written and read once at the first disk's measured dd
rates. The run's total over that limit is the figure to watch (goal: at most
1.3). The station wipes independent disks at the same time, so the line "disks
at once" also sets the run against the slowest disk's write + read instead of
the sum.

Everything runs twice: on the RAM-backed loop devices as they are (every byte is
a CPU copy; on few cores the CPU, which the flash also needs to decompress, is
the limit) and with each device held to ``--disk-mbps`` (default 1000 MB/s) by
the kernel's block throttle (bench/throttle.py), where the disk is the limit as
on a laptop. Each time the limit is measured again, on the same devices.

Two laptops go through, one after the other, as at a station: the first flash of
an image file hashes the image and leaves a stamp (agent/flash/stamps.py); the
next laptop's flash checks only that the compressed file is the same one. Both
read every written byte back. Both are printed.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from agent.config import (
    HeadlessSection,
    ImageSection,
    StationConfig,
    StationSection,
    TestingSection,
    WipeSection,
)
from agent.demo.image import build_image
from agent.demo.profile import build_profile
from agent.demo.run import BATTERY, DMI_TREE, SMART, plant_donor_data
from agent.errors import InputError
from agent.flash.bmap import parse_bmap
from agent.flash.manifest import load_manifest
from agent.pipeline.events import Event, Finished, Stage, StageChanged
from agent.pipeline.headless import run_headless
from agent.runner import SystemRunner

from compiled import compile_sources
from throttle import Throttle

MiB = 1 << 20
REPO = Path(__file__).resolve().parents[1]
MINIMAL = REPO / "build" / "os" / "digibench-debian-minimal.img.manifest.json"
runner = SystemRunner()


@contextmanager
def _loop(path: Path, size: int) -> Iterator[str]:
    with path.open("wb") as fh:
        fh.truncate(size)
    argv = ["losetup", "--direct-io=on", "--find", "--show", str(path)]
    dev = runner.run(argv, check=True).text.strip()
    try:
        yield dev
    finally:
        runner.run(["partx", "-d", dev])
        runner.run(["losetup", "-d", dev])
        path.unlink(missing_ok=True)


def _dd(argv: list[str]) -> float:
    t0 = time.perf_counter()
    runner.run(["dd", *argv, "bs=4M", "status=none"], check=True)
    return time.perf_counter() - t0


@dataclass
class Limit:
    """What dd needs on these devices: each disk written and read, and the image's bytes."""

    disks: list[tuple[float, float]]  # dd write and dd read seconds of each disk
    flash: float  # the image's mapped bytes written and read once at disk 1's dd rates

    @property
    def wipe(self) -> float:
        """One disk after the other: the issue's limit."""
        return sum(w + r for w, r in self.disks)

    @property
    def wipe_at_once(self) -> float:
        """Independent disks wiped at the same time: the slowest disk's write + read."""
        return max(w + r for w, r in self.disks)

    @property
    def total(self) -> float:
        return self.wipe + self.flash


def _limit(devs: list[str], sizes: list[int], mapped: int) -> Limit:
    """dd's direct write and direct read of each disk, and the image's mapped bytes
    written and read once at the first disk's rates. The best of two tries each: what
    the devices can do (on /dev/shm a first write sometimes takes three times as long)."""
    disks: list[tuple[float, float]] = []
    for dev, size in zip(devs, sizes, strict=True):
        count = f"count={size // (4 * MiB)}"
        write = ["if=/dev/zero", f"of={dev}", "oflag=direct", "conv=fsync", count]
        read = [f"if={dev}", "of=/dev/null", "iflag=direct", count]
        disks.append((min(_dd(write), _dd(write)), min(_dd(read), _dd(read))))
    w1, r1 = disks[0]
    flash = mapped / (sizes[0] / w1) + mapped / (sizes[0] / r1)
    return Limit(disks, flash)


def _mapped_bytes(manifest: Path) -> int:
    m = load_manifest(manifest)
    if m.bmap:
        bmap = manifest.parent / m.bmap
        return parse_bmap(bmap.read_bytes(), str(bmap)).mapped_bytes
    return m.size


class Clock:
    """When each stage began, from the pipeline's own events."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.stages: list[tuple[Stage, float]] = []
        self.report_id = ""

    def __call__(self, event: Event) -> None:
        if isinstance(event, StageChanged):
            if not self.stages or self.stages[-1][0] is not event.stage:
                self.stages.append((event.stage, time.monotonic()))
        elif isinstance(event, Finished):
            self.report_id = str(event.report.report_id)

    def durations(self) -> dict[str, float]:
        marks = [*self.stages, (Stage.DONE, self.stages[-1][1])]
        out: dict[str, float] = {}
        for (stage, t), (_, t_next) in itertools.pairwise(marks):
            out[stage.value] = out.get(stage.value, 0.0) + (t_next - t)
        return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=Path("/dev/shm"), help="where the disks live")
    ap.add_argument("--disk-mib", type=int, nargs=2, default=[2048, 1024], metavar="MIB")
    ap.add_argument("--image", type=Path, help="OS image manifest (default: the minimal image)")
    ap.add_argument(
        "--disk-mbps",
        type=int,
        default=1000,
        help="rate (MB/s) each disk is held to for the disk-bound run; 0 skips it",
    )
    args = ap.parse_args()
    bound_skip = "--disk-mbps 0" if args.disk_mbps <= 0 else Throttle.available()
    if os.geteuid() != 0:
        print("bench/laptop.py: needs root (loop devices)", file=sys.stderr)
        return 2
    compile_sources()  # as installed: no module compiled while timed
    sizes = [n * MiB for n in args.disk_mib]
    free = shutil.disk_usage(args.dir).free
    if free < sum(sizes) + 512 * MiB:
        print(f"bench/laptop.py: {args.dir} has {free // MiB} MiB free", file=sys.stderr)
        return 2

    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=args.dir)))
        manifest = args.image or (MINIMAL if MINIMAL.exists() else None)
        if manifest is None:
            print("(no minimal OS image built: make os-image; using a 512 MiB test image)")
            img = build_image(work / "image", runner, size_mib=512, data=os.urandom(96 * MiB))
            manifest = img.manifest
        try:
            image_size = load_manifest(manifest).size
        except InputError as exc:
            print(f"bench/laptop.py: {exc} (--image takes the image's .manifest.json)")
            return 2
        if image_size > sizes[0]:
            print(f"bench/laptop.py: the image ({image_size // MiB} MiB) does not fit disk 1")
            return 2
        mapped = _mapped_bytes(manifest)
        devs = [stack.enter_context(_loop(work / f"disk{i}.raw", s)) for i, s in enumerate(sizes)]
        named = ", ".join(f"{d} {s // MiB} MiB" for d, s in zip(devs, sizes, strict=True))
        print(f"disks: {named} on {args.dir}")
        print(f"image: {manifest.name}, {image_size // MiB} MiB, {mapped // MiB} MiB mapped")

        for dev, size in zip(devs, sizes, strict=True):
            # untimed: the sparse files' blocks allocated once, or the limit's dd write
            # pays for the first touch of every page (3-4x slower on /dev/shm)
            _dd(["if=/dev/zero", f"of={dev}", "oflag=direct", f"count={size // (4 * MiB)}"])
        policy = work / "policy.toml"
        policy.write_text("[grading]\nstorage_lend_gb = 0.1\nstorage_a_gb = 0.1\n")
        profile = build_profile(work / "laptop", dmi_tree=DMI_TREE, battery_uevent=BATTERY)

        def measure(stick: Path) -> tuple[Limit, list[Run]] | None:
            """The limit, then two laptops, one after the other, on a stick of their own."""
            limit = _limit(devs, sizes, mapped)
            config = StationConfig(
                station=StationSection(name="bench", language="nl", data_dir=stick),
                image=ImageSection(source=str(manifest)),
                wipe=WipeSection(pattern="zero", verify_percent=100),
                headless=HeadlessSection(confirm_wipe=True, cosmetic="C5"),
                testing=TestingSection(
                    allowed_devices=devs,
                    profile_root=profile,
                    smart_fixtures=dict(zip(devs, SMART, strict=True)),
                ),
                policy=policy,
            )
            runs: list[Run] = []
            for n, title in enumerate(["first laptop of this image", "next laptop"], start=1):
                for dev, size in zip(devs, sizes, strict=True):
                    plant_donor_data(dev, size)
                config.headless.asset_tag = f"BENCH-{stick.name}-{n:04d}"
                clock = Clock()
                with open(os.devnull, "w") as quiet:
                    code = run_headless(config, runner=runner, out=quiet, observe=clock)
                total = time.monotonic() - clock.t0
                spooled = list(stick.rglob(f"{clock.report_id}*.json"))
                if code != 0 or not clock.report_id or not spooled:
                    print(f"bench/laptop.py: the run failed (exit {code})", file=sys.stderr)
                    return None
                runs.append(Run(title, clock.durations(), total))
            return limit, runs

        ram = measure(work / "stick-ram")
        if ram is None:
            return 1
        bound = None
        if bound_skip is None:
            with Throttle(devs, args.disk_mbps * 1_000_000):
                bound = measure(work / "stick-disk")
            if bound is None:
                return 1

    print(f"\n== RAM-backed loop devices: the CPU copies every byte ({os.cpu_count()} CPUs)")
    _tables(*ram, mapped)
    if bound is not None:
        print(f"\n== the same devices held to {args.disk_mbps} MB/s each: the disk is the limit")
        _tables(*bound, mapped)
    else:
        print(f"\n(disk-bound lines skipped: {bound_skip})")
    return 0


@dataclass
class Run:
    title: str
    phases: dict[str, float]
    total: float


def _tables(limit: Limit, runs: list[Run], mapped: int) -> None:
    for run in runs:
        print(f"\n{run.title}:\n{'phase':14s} {'seconds':>8s} {'limit':>8s} {'x limit':>8s}")
        for name, seconds in run.phases.items():
            bound = {"wipe": limit.wipe, "flash": limit.flash}.get(name)
            extra = f"{bound:8.2f} {seconds / bound:8.2f}" if bound else ""
            print(f"{name:14s} {seconds:8.2f} {extra}")
        ratio = run.total / limit.total
        print(f"{'whole run':14s} {run.total:8.2f} {limit.total:8.2f} {ratio:8.2f}")
        at_once = limit.wipe_at_once + limit.flash
        print(f"{'(disks at once)':14s} {'':8s} {at_once:8.2f} {run.total / at_once:8.2f}")
    write = sum(w for w, _ in limit.disks)
    read = sum(r for _, r in limit.disks)
    print(
        f"(limit = dd write + dd read of each disk ({write:.2f} + {read:.2f} s) + the image's"
        f" {mapped // MiB} MiB mapped written and read once at disk 1's dd rates"
        f" ({limit.flash:.2f} s); goal: whole run <= 1.3x. The station wipes independent disks"
        f" at the same time: against the slowest disk's dd write + read instead"
        f' ({limit.wipe_at_once:.2f} s) the line "disks at once")'
    )


if __name__ == "__main__":
    sys.exit(main())
