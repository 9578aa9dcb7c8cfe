"""``digibench demo``: the real station on virtual hardware, from nothing, and back to nothing.

What it does (as root):
1. builds a small OS image (GPT, ESP, ext4; bmap, zstd, manifest);
2. makes two loop-device "disks" and writes a donor's data on them (a marker
   in every MiB and in the last sector);
3. starts the central server on 127.0.0.1 with a fresh SQLite database and
   registers the demo station with its public key;
4. runs the station, the TUI on a terminal (``--headless`` otherwise), with
   a recorded real laptop profile (ThinkPad DMI, a Dell battery, real SMART
   outputs) for what a virtual machine does not have;
5. checks independently that no donor data is left and that the server has
   the report; then detaches the loops, stops the server and removes it all.

Only the loop devices it made are ever allowed as targets.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from agent.config import (
    HeadlessSection,
    ImageSection,
    ServerSection,
    StationConfig,
    StationSection,
    TestingSection,
    WipeSection,
)
from agent.demo import ASSET_TAG
from agent.demo.image import build_image
from agent.demo.profile import build_profile
from agent.errors import DigibenchError
from agent.pipeline.events import Event, Finished
from agent.report.schema import Mode
from agent.runner import Background, Runner, SystemRunner
from agent.signing import PUBLIC_KEY_NAME, load_or_create_key

MiB = 1 << 20
MARKER = b"DIGIBENCH-DEMO-DONOR-DATA"
REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
#: the recorded laptop the demo plays, and the real SMART outputs of its two disks
DMI_TREE = FIXTURES / "sysroots" / "dmi-thinkpad-a485"
BATTERY = FIXTURES / "battery" / "dell_samsungsdi_m7r9677_uevent_98pct_cnx31.txt"
SMART = (
    FIXTURES / "smart" / "nvme_samsung_pm9a1_1t_oem_laptop_16pct.json",
    FIXTURES / "smart" / "sata_ssd_samsung_860evo_500g_19pct_used.json",
)
DISK_SIZES = (256 * MiB, 128 * MiB)


@contextmanager
def _stop_signals_unwind() -> Iterator[None]:
    """SIGTERM and SIGHUP (a closed terminal or tmux session) unwind like Ctrl-C, so the
    loop devices, the server and the work folder are cleaned up instead of left behind."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass
class Demo:
    workdir: Path
    runner: Runner
    disks: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        print(f"demo: {text}", flush=True)


def plant_donor_data(dev: str, size: int) -> None:
    """A marker at every MiB and in the last sector: what the wipe must leave none of."""
    with open(dev, "r+b", buffering=0) as fh:
        for offset in range(0, size, MiB):
            fh.seek(offset)
            fh.write(MARKER)
        fh.seek(size - 512)
        fh.write(MARKER)
        os.fsync(fh.fileno())


def markers_planted(size: int) -> int:
    """How many markers :func:`plant_donor_data` writes on a disk of ``size`` bytes."""
    return len(range(0, size, MiB)) + 1


def count_markers(dev: str) -> int:
    """Read the whole device ourselves: how much donor data is left."""
    found, tail = 0, b""
    with open(dev, "rb", buffering=0) as fh:
        while chunk := fh.read(4 * MiB):
            data = tail + chunk
            found += data.count(MARKER)
            tail = data[-(len(MARKER) - 1) :]
    return found


@contextmanager
def loop_disk(demo: Demo, name: str, size: int) -> Iterator[str]:
    backing = demo.workdir / f"{name}.raw"
    with backing.open("wb") as fh:
        fh.truncate(size)
    dev = demo.runner.run(["losetup", "--find", "--show", str(backing)], check=True).text.strip()
    try:
        yield dev
    finally:
        demo.runner.run(["partx", "-d", dev])
        demo.runner.run(["losetup", "-d", dev])
        backing.unlink(missing_ok=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def local_server(demo: Demo, public_key: Path) -> Iterator[tuple[str, str]]:
    """The central server on a loopback port with a fresh SQLite database; (url, token)."""
    env = {**os.environ, "DIGIBENCH_DATA_DIR": str(demo.workdir / "server")}
    env.pop("DATABASE_URL", None)
    server_cmd = str(Path(sys.executable).with_name("digibench-server"))
    added = SystemRunner(env=env).run(
        [server_cmd, "add-station", "demo-bench", "--public-key", str(public_key)],
        check=True,
        timeout=300,
    )
    token = added.text.strip().splitlines()[-1]
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = demo.workdir / "server.log"
    server = Background(
        [server_cmd, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, log=log
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if not server.alive() or time.monotonic() > deadline:
                raise DigibenchError("the demo server did not start", hint=f"see {log}")
            try:
                requests.get(f"{url}/api/v1/openapi.json", timeout=5)
                break
            except requests.RequestException:  # not listening yet, or still starting up
                time.sleep(0.3)
        yield url, token
    finally:
        server.stop()


def station_config(
    demo: Demo, manifest: Path, url: str, token: str, *, mode: Mode, asset_tag: str
) -> StationConfig:
    data = demo.workdir / "stick"
    policy = demo.workdir / "policy.toml"
    # The demo's disks are MiB, not GB: let them count as enough storage.
    policy.write_text("[grading]\nstorage_lend_gb = 0.1\nstorage_a_gb = 0.1\n")
    profile = build_profile(demo.workdir / "laptop", dmi_tree=DMI_TREE, battery_uevent=BATTERY)
    return StationConfig(
        # loop disks stand in for swapped disks: "next laptop", never switching this machine off
        station=StationSection(
            name="demo-bench",
            language="nl",
            mode=mode,
            data_dir=data,
            swappable_disks=True,
        ),
        server=ServerSection(url=url, token=token),
        image=ImageSection(source=str(manifest)),
        wipe=WipeSection(pattern="zero", verify_percent=100),
        headless=HeadlessSection(asset_tag=asset_tag, confirm_wipe=True, cosmetic="C5"),
        testing=TestingSection(
            allowed_devices=list(demo.disks),
            profile_root=profile,
            smart_fixtures=dict(zip(demo.disks, SMART, strict=True)),
        ),
        policy=policy,
    )


@dataclass(frozen=True)
class FinishedRun:
    """What the station said it did for one laptop: the demo checks it independently."""

    report_id: str
    asset_tag: str
    mode: Mode
    wiped: bool  # the run erased the disks (an intake run whose wipe was confirmed)


class RunLog:
    """Collects the runs the station finished, whatever drove it (TUI or headless)."""

    def __init__(self) -> None:
        self.runs: list[FinishedRun] = []

    def __call__(self, event: Event) -> None:
        if isinstance(event, Finished):
            report = event.report
            self.runs.append(
                FinishedRun(
                    report_id=str(report.report_id),
                    asset_tag=report.asset_tag or "",
                    mode=report.mode,
                    wiped=bool(report.erasures),
                )
            )


def check_donor_data(demo: Demo, runs: list[FinishedRun]) -> list[str]:
    """Read every byte ourselves: an intake run leaves no donor data, a helpdesk check all of it."""
    problems: list[str] = []
    wiped = any(run.wiped for run in runs)
    for dev, size in zip(demo.disks, DISK_SIZES, strict=True):
        left, planted = count_markers(dev), markers_planted(size)
        if wiped:
            demo.say(f"{dev}: {left} pieces of donor data left (independent read of every byte)")
            if left:
                problems.append(f"{dev} still holds {left} pieces of donor data after the wipe")
        else:
            demo.say(f"{dev}: {left} of {planted} pieces of donor data in place (nothing wiped)")
            if left != planted:
                problems.append(f"{dev} lost donor data although nothing was to be wiped")
    return problems


def _helpdesk_visit_stored(
    demo: Demo, url: str, auth: dict[str, str], run: FinishedRun
) -> list[str]:
    """A check run is a helpdesk visit on the server, and no laptop of the inventory."""
    try:
        visit = requests.get(
            f"{url}/api/v1/helpdesk/visits/{run.report_id}", headers=auth, timeout=10
        )
        device = requests.get(
            f"{url}/api/v1/devices", params={"asset_tag": run.asset_tag}, headers=auth, timeout=10
        )
    except requests.RequestException as exc:
        return [f"the server did not answer for {run.asset_tag}: {exc}"]
    if visit.status_code != 200:
        return [f"the server lacks the helpdesk visit {run.asset_tag} (HTTP {visit.status_code})"]
    if device.status_code == 200 and device.json().get("devices"):
        return [f"the helpdesk visit {run.asset_tag} is in the inventory of donated laptops"]
    demo.say(f"server has {run.asset_tag} (check run {run.report_id}, a helpdesk visit)")
    return []


def check_server(demo: Demo, url: str, token: str, runs: list[FinishedRun]) -> list[str]:
    """The server must hold every run the station finished, under the tag that was typed."""
    problems: list[str] = []
    auth = {"Authorization": f"Bearer {token}"}
    for run in runs:
        if run.mode is Mode.CHECK:  # a helpdesk visit: kept apart from the inventory
            problems += _helpdesk_visit_stored(demo, url, auth, run)
            continue
        try:
            stored = requests.get(f"{url}/api/v1/reports/{run.report_id}", headers=auth, timeout=10)
            device = requests.get(
                f"{url}/api/v1/devices",
                params={"asset_tag": run.asset_tag},
                headers=auth,
                timeout=10,
            )
        except requests.RequestException as exc:
            problems.append(f"the server did not answer for {run.asset_tag}: {exc}")
            continue
        if stored.status_code != 200:
            problems.append(
                f"the server lacks the {run.mode.value} run of {run.asset_tag} "
                f"(report {run.report_id}: HTTP {stored.status_code})"
            )
            continue
        devices = device.json().get("devices", []) if device.status_code == 200 else []
        if not any(d.get("asset_tag") == run.asset_tag for d in devices):
            problems.append(f"the server has no laptop {run.asset_tag}")
            continue
        demo.say(f"server has {run.asset_tag} ({run.mode.value} run {run.report_id})")
    return problems


def leftovers(workdir: Path) -> list[str]:
    """Loop devices, mounts or processes the demo made that are still there."""
    found: list[str] = []
    listed = SystemRunner().run(["losetup", "--list", "--noheadings", "-O", "NAME,BACK-FILE"])
    for line in listed.text.splitlines():
        if str(workdir) in line:
            found.append(f"loop device {line.split()[0]}")
    for line in Path("/proc/self/mounts").read_text().splitlines():
        where = line.split()[1] if len(line.split()) > 1 else ""
        if where.startswith(str(workdir)):
            found.append(f"mount {where}")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (proc / "environ").read_bytes()
        except OSError:  # gone meanwhile, or a kernel thread
            continue
        if str(workdir).encode() in environ and int(proc.name) != os.getpid():
            found.append(f"process {proc.name} ({cmdline.strip()[:80]})")
    return found


def run_demo(
    *,
    headless: bool | None = None,
    keep: bool = False,
    mode: Mode = Mode.INTAKE,
    asset_tag: str = ASSET_TAG,
) -> int:
    """The whole demo; returns the exit status (0 only when everything checked out).

    ``mode`` and ``asset_tag`` are the headless run's; on the TUI the volunteer chooses
    them, and the closing checks follow what was actually run.
    """
    if os.geteuid() != 0:
        raise DigibenchError(
            "the demo needs root: it makes loop devices, wipes and flashes them",
            hint="run 'sudo make demo' (it only touches loop devices it creates itself)",
        )
    if not DMI_TREE.is_dir():
        raise DigibenchError(f"{FIXTURES} is missing: run the demo from a Digibench checkout")
    interactive = sys.stdin.isatty() and sys.stdout.isatty() if headless is None else not headless
    runner = SystemRunner()
    workdir = Path(tempfile.mkdtemp(prefix="digibench-demo-", dir="/var/tmp"))
    demo = Demo(workdir, runner)
    runs = RunLog()
    problems: list[str] = []
    code = 1
    try:
        with _stop_signals_unwind(), ExitStack() as stack:
            demo.say(f"working in {workdir}")
            image = build_image(workdir / "image", runner, size_mib=64)
            demo.say(f"built the OS image {image.compressed.name} ({image.size // MiB} MiB)")
            for i, size in enumerate(DISK_SIZES):
                dev = stack.enter_context(loop_disk(demo, f"disk{i}", size))
                plant_donor_data(dev, size)
                demo.disks.append(dev)
            demo.say(f"donated laptop's disks: {', '.join(demo.disks)} (donor data planted)")
            key_dir = workdir / "stick" / "keys"
            load_or_create_key(key_dir)
            url, token = stack.enter_context(local_server(demo, key_dir / PUBLIC_KEY_NAME))
            demo.say(f"central server running at {url} (SQLite in {workdir / 'server'})")
            config = station_config(
                demo, image.manifest, url, token, mode=mode, asset_tag=asset_tag
            )
            if interactive:
                from agent.pipeline.cli import log_to_file
                from agent.tui.app import run_station

                log_to_file(workdir / "logs")
                demo.say(f"starting the station TUI: scan or type the asset tag, e.g. {ASSET_TAG}")
                run_station(config, runner=runner, observe=runs)
                code = 0
            else:
                from agent.pipeline.headless import run_headless

                demo.say(f"running the station headless ({mode.value}) for asset tag {asset_tag}")
                code = run_headless(config, runner=runner, observe=runs)
                if code != 0:
                    problems.append(f"the station run ended with exit status {code}")
            if not runs.runs:
                problems.append("no laptop was run to the end, so there is nothing to check")
            problems += check_donor_data(demo, runs.runs)
            problems += check_server(demo, url, token, runs.runs)
            if keep:
                stack.pop_all()
                demo.say(f"kept {workdir} and its loop devices (--keep)")
        if not keep:
            problems += [f"left behind: {what}" for what in leftovers(workdir)]
    finally:
        # also when something failed: loops and the server are already gone with the stack
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
            demo.say("cleaned up: loop devices detached, server stopped, files removed")
    for problem in problems:
        demo.say(f"FAILED: {problem}")
    if not problems:
        demo.say("every check passed")
    return 0 if not problems and code == 0 else 1
