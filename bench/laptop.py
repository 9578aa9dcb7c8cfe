"""One whole laptop, headless, against what its disks physically allow.

Run as root: ``make bench-laptop`` or ``.venv/bin/python bench/laptop.py``.

A laptop with two disks (loop devices over files under ``--dir``, direct I/O,
donor data planted) goes through the real station pipeline from inspect to
the signed report in the outbox: wipe both (zero, full read-back), flash the
OS image (``build/os/digibench-debian-minimal`` when ``make os-image`` built
it, else ``--image``, else a small image built here), grade, report. The time
of each stage comes from the pipeline's own stage events.

The physical limit is measured on the same devices in the same run, with dd:
a direct write and a direct read of each disk, plus the image's mapped bytes
written and read once at the first disk's measured dd rates. The run's total
over that limit is the figure to watch (goal: at most 1.3).

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


def _limit(devs: list[str], sizes: list[int]) -> tuple[float, float, float, float]:
    """Seconds for dd to write and to read each disk; the first disk's write and read rates."""
    write = read = 0.0
    rates: list[tuple[float, float]] = []
    for dev, size in zip(devs, sizes, strict=True):
        count = f"count={size // (4 * MiB)}"
        w = _dd(["if=/dev/zero", f"of={dev}", "oflag=direct", "conv=fsync", count])
        r = _dd([f"if={dev}", "of=/dev/null", "iflag=direct", count])
        write, read = write + w, read + r
        rates.append((size / w, size / r))
    return write, read, rates[0][0], rates[0][1]


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
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench/laptop.py: needs root (loop devices)", file=sys.stderr)
        return 2
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
        write, read, w_rate, r_rate = _limit(devs, sizes)
        flash_limit = mapped / w_rate + mapped / r_rate
        limit = write + read + flash_limit
        policy = work / "policy.toml"
        policy.write_text("[grading]\nstorage_lend_gb = 0.1\nstorage_a_gb = 0.1\n")
        profile = build_profile(work / "laptop", dmi_tree=DMI_TREE, battery_uevent=BATTERY)
        config = StationConfig(
            station=StationSection(name="bench", language="nl", data_dir=work / "stick"),
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
        runs: list[tuple[str, dict[str, float], float]] = []
        for n, title in enumerate(["first laptop of this image", "next laptop"], start=1):
            for dev, size in zip(devs, sizes, strict=True):
                plant_donor_data(dev, size)
            config.headless.asset_tag = f"BENCH-{n:04d}"
            clock = Clock()
            with open(os.devnull, "w") as quiet:
                code = run_headless(config, runner=runner, out=quiet, observe=clock)
            total = time.monotonic() - clock.t0
            spooled = list((work / "stick").rglob(f"{clock.report_id}*.json"))
            if code != 0 or not clock.report_id or not spooled:
                print(f"bench/laptop.py: the run failed (exit {code}); see {work}", file=sys.stderr)
                return 1
            runs.append((title, clock.durations(), total))

    for title, phases, total in runs:
        print(f"\n{title}:\n{'phase':14s} {'seconds':>8s} {'limit':>8s} {'x limit':>8s}")
        for name, seconds in phases.items():
            bound = {"wipe": write + read, "flash": flash_limit}.get(name)
            extra = f"{bound:8.2f} {seconds / bound:8.2f}" if bound else ""
            print(f"{name:14s} {seconds:8.2f} {extra}")
        print(f"{'whole run':14s} {total:8.2f} {limit:8.2f} {total / limit:8.2f}")
    print(
        f"(limit = dd write + dd read of each disk ({write:.2f} + {read:.2f} s) + the image's"
        f" {mapped // MiB} MiB mapped written and read once at disk 1's dd rates"
        f" ({flash_limit:.2f} s); goal: whole run <= 1.3x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
