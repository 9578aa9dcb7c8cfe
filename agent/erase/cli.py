"""``digibench wipe``, ``verify-record`` and ``keygen``: thin argument handling over the engine.

Paths default to ``/var/lib/digibench/{keys,state,records}`` (the live system
mounts the stick's data partition there) and can be moved with
``$DIGIBENCH_KEY_DIR``, ``$DIGIBENCH_STATE_DIR`` and ``$DIGIBENCH_RECORD_DIR``.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from agent.cli import summary
from agent.errors import InputError

if TYPE_CHECKING:  # the engine loads when a command runs, not for --help
    from agent.erase.progress import WipeProgress
    from agent.erase.safety import Target

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
DATA = Path("/var/lib/digibench")


def _dir(env: str, leaf: str) -> Path:
    return Path(os.environ.get(env) or DATA / leaf)


def _verify_arg(value: str) -> float:
    if value == "full":
        return 100.0
    try:
        pct = float(value.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not 'full' or a percentage") from None
    if not 0 < pct <= 100:
        raise argparse.ArgumentTypeError("the percentage must be above 0 and at most 100")
    return pct


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the wipe subcommands to the ``digibench`` parser."""
    p = sub.add_parser(
        "wipe",
        help=summary("wipe"),
        description="Erase disks and prove it. Refuses the boot medium, the disk holding /,"
        " anything mounted or in use. Exit status 0 only if every disk ended 'erased'.",
    )
    p.add_argument("devices", nargs="+", metavar="DEVICE", help="e.g. /dev/disk/by-id/ata-...")
    p.add_argument(
        "--method",
        choices=["auto", "zero", "random", "firmware"],
        default="auto",
        help="auto: firmware sanitize where the drive supports it, else overwrite (default)",
    )
    p.add_argument(
        "--verify",
        type=_verify_arg,
        default=10.0,
        metavar="full|PERCENT",
        help="read back everything, or a sampled percentage (default 10)",
    )
    p.add_argument("--record-dir", type=Path, default=None, help="where records go")
    p.add_argument("--state-dir", type=Path, default=None, help="where the resume journal lives")
    p.add_argument("--key-dir", type=Path, default=None, help="the station key pair")
    p.add_argument("--operator", default=None, help="who runs the wipe (goes in the record)")
    p.add_argument("--station", default=None, help="station name (default: hostname)")
    p.add_argument("--asset-tag", default=None, help="the laptop's asset tag")
    p.add_argument("--host-serial", default=None, help="the laptop's serial number")
    p.add_argument(
        "--overwrite-after-firmware",
        action="store_true",
        help="follow a firmware erase with an overwrite pass",
    )
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_wipe)

    p = sub.add_parser(
        "verify-record",
        help=summary("verify-record"),
        description="Exit status 0 only if every record carries an intact signature by the key.",
    )
    p.add_argument("records", nargs="+", type=Path, metavar="RECORD")
    p.add_argument(
        "--public-key",
        type=Path,
        default=None,
        help="file with the station's public key (default: the one in --key-dir)",
    )
    p.add_argument("--key-dir", type=Path, default=None)
    p.set_defaults(func=cmd_verify_record)

    p = sub.add_parser("keygen", help=summary("keygen"))
    p.add_argument("--key-dir", type=Path, default=None)
    p.set_defaults(func=cmd_keygen)


def _key_dir(args: argparse.Namespace) -> Path:
    return args.key_dir or _dir("DIGIBENCH_KEY_DIR", "keys")


def cmd_keygen(args: argparse.Namespace) -> int:
    from agent.signing import PRIVATE_KEY_NAME, PUBLIC_KEY_NAME, load_or_create_key, public_key_b64

    key_dir = _key_dir(args)
    existed = (key_dir / PRIVATE_KEY_NAME).exists()
    try:
        key = load_or_create_key(key_dir)
    except OSError as exc:
        raise InputError(f"{key_dir}: cannot write the key: {exc.strerror}") from exc
    state = "already present" if existed else "created"
    print(f"station key {state}: {key_dir / PRIVATE_KEY_NAME}")
    print(f"public key ({key_dir / PUBLIC_KEY_NAME}): {public_key_b64(key)}")
    return EXIT_OK


def _read_public_key(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise InputError(f"{path}: cannot read public key: {exc.strerror}") from exc


def cmd_verify_record(args: argparse.Namespace) -> int:
    from agent.erase.record import check_record
    from agent.signing import PUBLIC_KEY_NAME

    key_file = args.public_key or _key_dir(args) / PUBLIC_KEY_NAME
    public_key = _read_public_key(key_file)
    bad = 0
    for path in args.records:
        try:
            rec = check_record(path, public_key)
        except InputError as exc:
            print(f"INVALID {exc.message}")
            bad += 1
            continue
        who = rec.disk_serial or "(no serial)"
        print(f"OK {path}: disk {who}, {rec.method}, {rec.level.value}, result {rec.result.value}")
    return EXIT_OK if bad == 0 else EXIT_FAILURE


class _Printer:
    """Progress lines on stderr, at most one per disk every few seconds."""

    def __init__(self, every_s: float = 2.0) -> None:
        self._every = every_s
        self._last: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def __call__(self, ev: WipeProgress) -> None:
        now = time.monotonic()
        key = (ev.disk, ev.phase)
        with self._lock:
            if ev.phase != "done" and now - self._last.get(key, float("-inf")) < self._every:
                return
            self._last[key] = now
        if ev.phase == "done":
            line = f"{ev.disk}: finished, {ev.message}"
        else:
            eta = f", {ev.eta_s:.0f} s left" if ev.eta_s is not None else ""
            line = (
                f"{ev.disk}: {ev.phase} {ev.percent:5.1f}% at {ev.rate_bytes_s / 1e6:.0f} MB/s{eta}"
            )
        print(line, file=sys.stderr, flush=True)


def _confirm(targets: list[Target]) -> bool:
    prompt = f"Erase ALL data on these {len(targets)} disk(s)? Type 'yes' to go on [no]: "
    print(prompt, end="", flush=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() == "yes"


def cmd_wipe(args: argparse.Namespace) -> int:
    from agent.erase.engine import WipeOptions, all_erased, wipe_all
    from agent.erase.overwrite import Pattern
    from agent.erase.plan import DiskPlan, ErasePolicy, plan_disk
    from agent.erase.safety import RefusedError, resolve
    from agent.runner import SystemRunner
    from agent.signing import PRIVATE_KEY_NAME, load_private_key

    key_dir = _key_dir(args)
    key_path = key_dir / PRIVATE_KEY_NAME
    if not key_path.exists():
        raise InputError(
            f"no station key in {key_dir}: records could not be signed",
            hint="run 'digibench keygen' once on this station (or give --key-dir)",
        )
    key = load_private_key(key_path)
    targets: list[Target] = []
    refused: list[str] = []
    for device in args.devices:
        try:
            targets.append(resolve(device))
        except RefusedError as exc:
            refused.append(str(exc))
    if refused:
        for line in refused:
            print(f"digibench: refused: {line}", file=sys.stderr)
        print("digibench: nothing was wiped", file=sys.stderr)
        return EXIT_BAD_INPUT
    if len({t.identity for t in targets}) != len(targets):
        raise InputError("the same disk was named more than once")
    pattern = Pattern.RANDOM if args.method == "random" else Pattern.ZERO
    policy = ErasePolicy(
        force_overwrite=args.method in ("zero", "random"),
        pattern=pattern,
        overwrite_after_firmware=args.overwrite_after_firmware,
    )
    runner = SystemRunner()
    plans: dict[str, DiskPlan] = {t.identity: plan_disk(t.disk, runner, policy) for t in targets}
    if args.method == "firmware":
        unable = [t for t in targets if not plans[t.identity].method.is_firmware]
        for t in unable:
            print(
                f"digibench: refused: {t.disk.path}: no firmware erase available"
                f" ({plans[t.identity].reason})",
                file=sys.stderr,
            )
        if unable:
            print("digibench: nothing was wiped", file=sys.stderr)
            return EXIT_BAD_INPUT
    verify = "full" if args.verify >= 100 else f"sampled {args.verify:g} %"
    print("Wipe plan:")
    for t in targets:
        print(f"  {t.describe()}")
        print(f"    {plans[t.identity].describe()}; verify {verify}")
    if not args.yes and not _confirm(targets):
        print("Not confirmed; nothing was wiped.")
        return EXIT_FAILURE
    opts = WipeOptions(
        pattern=pattern,
        verify_percent=args.verify,
        key=key,
        record_dir=args.record_dir or _dir("DIGIBENCH_RECORD_DIR", "records"),
        state_dir=args.state_dir or _dir("DIGIBENCH_STATE_DIR", "state"),
        operator=args.operator,
        station=args.station or os.uname().nodename,
        host_serial=args.host_serial,
        host_asset_tag=args.asset_tag,
        confirmed=frozenset(t.identity for t in targets),
        runner=runner,
        policy=policy,
    )
    stop = threading.Event()
    outcomes = wipe_all(targets, opts, _Printer(), stop, plans)
    for t, out in zip(targets, outcomes, strict=True):
        rec = out.record
        print(f"{t.disk.path}: {rec.result.value.upper()} ({rec.method}, {rec.level.value})")
        for note in rec.notes[1:]:
            print(f"    {note}")
        if out.path:
            print(f"    record: {out.path}")
    return EXIT_OK if all_erased(outcomes) else EXIT_FAILURE
