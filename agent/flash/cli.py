"""``digibench flash``: write the standard image to one disk, verified, fitted and provisioned."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from agent.cli import summary
from agent.errors import DigibenchError
from agent.flash import seekable

if TYPE_CHECKING:  # the engine loads when a command runs, not for --help
    from agent.flash.engine import Target
    from agent.flash.writer import Progress

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_REFUSED = 2


class _Display:
    """A one-line progress display on stderr (rate-limited, only on a terminal)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.t0 = time.monotonic()
        self.last = 0.0

    def phase(self, name: str) -> None:
        if not self.quiet:
            self._line(f"[{time.monotonic() - self.t0:7.2f} s] {name}", force=True)

    def progress(self, p: Progress) -> None:
        if self.quiet or not self.tty:
            return
        now = time.monotonic()
        if now - self.last < 0.25:
            return
        self.last = now
        elapsed = max(now - self.t0, 1e-6)
        text = (
            f"{_pct(p.read, p.image_size)} of the image: "
            f"{p.handled / 1e6:.0f}/{p.to_write / 1e6:.0f} MB written, "
            f"{p.verified / 1e6:.0f} MB read back, {p.read / elapsed / 1e6:.0f} MB/s"
        )
        self._line(text)

    def _line(self, text: str, force: bool = False) -> None:
        if self.tty:
            sys.stderr.write("\r\033[K" + text)
            if force:
                sys.stderr.write("\n")
        elif force:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()


def _pct(done: int, total: int) -> str:
    return f"{100.0 * done / total:5.1f}%" if total else "100.0%"


def _confirm(target: Target, image: str) -> bool:
    serial = f", serial {target.serial}" if target.serial else ""
    print(f"Flash plan: {image} -> {target.path} ({target.size / 1e9:.1f} GB{serial})")
    prompt = f"Replace EVERYTHING on {target.path}? Type 'yes' to go on [no]: "
    print(prompt, end="", flush=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() == "yes"


def _cmd_flash(args: argparse.Namespace) -> int:
    from agent.flash import stamps
    from agent.flash.engine import FlashFailedError, FlashOptions, RefusedError, check_target, flash
    from agent.runner import SystemRunner

    try:
        # the same gate the engine applies, before anyone is asked to confirm
        target = check_target(args.device, 0, Path("/"))
    except RefusedError as exc:
        print(f"digibench: refused: {exc.message}", file=sys.stderr)
        print("digibench: nothing was written", file=sys.stderr)
        return EXIT_REFUSED
    if not args.yes and not _confirm(target, args.image):
        print(f"Not confirmed; nothing was written to {args.device}.")
        return EXIT_FAILURE
    opts = FlashOptions(
        image=args.image,
        device=args.device,
        manifest=args.manifest,
        bmap=args.bmap,
        asset_tag=args.asset_tag,
        hostname=args.hostname,
        provision=not args.no_provision,
        fit=not args.no_fit,
        cache_dir=args.cache,
    )
    opts.stamp_dir = args.stamp_dir if args.stamp_dir is not None else stamps.DEFAULT_DIR
    opts.full_check = args.full_check
    display = _Display(args.quiet)
    try:
        outcome = flash(opts, SystemRunner(), progress=display.progress, on_phase=display.phase)
    except FlashFailedError as exc:
        if exc.record is not None:
            _emit(exc.record.model_dump_json(indent=2), args.report)
        print(f"digibench: error: flash failed: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"digibench: hint: {exc.hint}", file=sys.stderr)
        return EXIT_FAILURE
    except DigibenchError as exc:  # refused before anything was written
        print(f"digibench: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"digibench: hint: {exc.hint}", file=sys.stderr)
        return EXIT_REFUSED
    record = outcome.record
    _emit(record.model_dump_json(indent=2), args.report)
    if not args.quiet:
        print(
            f"digibench: flashed {record.name} {record.version} to {args.device}: "
            f"{record.bytes_written / 1e6:.0f} MB written in {record.ranges} ranges, read back "
            f"and verified, {record.throughput_mb_s} MB/s of image"
            + (f", hostname {record.hostname}" if record.provisioned else ""),
            file=sys.stderr,
        )
    return EXIT_OK if record.verified else EXIT_FAILURE


def _emit(text: str, path: Path | None) -> None:
    if path is None:
        print(text)
    else:
        path.write_text(text + "\n")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "flash",
        help=summary("flash"),
        description=(
            "Flash IMAGE (a manifest .json, an image file or an http(s) URL; raw, .zst, .xz "
            "or .gz) to the whole disk DEVICE. Only the bmap's mapped ranges are written; "
            "every written range is read back and compared. Exit status 0 only when verified."
        ),
    )
    p.add_argument("image", metavar="IMAGE", help="manifest, image file or URL")
    p.add_argument("device", metavar="DEVICE", help="the whole disk to write, e.g. /dev/nvme0n1")
    p.add_argument(
        "--manifest", help="the image's manifest (default: NAME.manifest.json beside it)"
    )
    p.add_argument("--bmap", help="the image's bmap file (default: the one the manifest names)")
    p.add_argument("--asset-tag", help="the laptop's asset tag; its hostname is made from it")
    p.add_argument("--hostname", help="set this hostname instead of one from the asset tag")
    p.add_argument("--no-provision", action="store_true", help="do not provision the system")
    p.add_argument("--no-fit", action="store_true", help="do not grow the root partition")
    p.add_argument("--cache", type=Path, help="keep downloaded images in this directory")
    p.add_argument(
        "--full-check",
        action="store_true",
        help="hash the whole raw image even if a stamp vouches for this file",
    )
    p.add_argument(
        "--stamp-dir",
        type=Path,
        help="where stamps of verified image files are kept "
        "(default /var/cache/digibench/verified)",
    )
    p.add_argument("--report", type=Path, help="write the image record (JSON) here")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=_cmd_flash)

    c = sub.add_parser(
        "image-compress",
        help=summary("image-compress"),
        description=(
            "Compress RAW into independent zstd frames with a seek table (the zstd "
            "seekable format): any zstd tool reads it, and digibench flash decompresses "
            "its frames in parallel, skipping those that hold no mapped data."
        ),
    )
    seekable.add_arguments(c)
    c.set_defaults(func=seekable.run)
