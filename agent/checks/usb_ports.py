"""USB port map: a stick goes into each port in turn, and the kernel says which port it was.

Each insertion makes the kernel send an ``add`` uevent for a ``usb_device``
whose device path ends in ``<bus>-<port>[.<hub port>...]``; the first port
number is the laptop's own socket (a hub or a stick behind it still counts for
that socket). A USB 3 socket shows up on two root hubs (the USB 2 and the
SuperSpeed one, linked by sysfs ``peer``): both names are one physical port.
The ports to expect are the root hubs' ports whose firmware says ``hotplug``
(a socket on the case; ``hardwired`` ones hold the webcam or Bluetooth).

The events are read from the kernel's uevent netlink socket (what udev and
pyudev read), so nothing but the kernel is needed on the live system; tests
replay recorded ``udevadm monitor --property`` blocks through the same parser.
"""

from __future__ import annotations

import re
import select
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from agent.probes.sysfs import list_dir, read_text, under
from agent.report.schema import TestOutcome, TestResult

NETLINK_KOBJECT_UEVENT = 15
_PORT = re.compile(r"^usb(\d+)-port(\d+)$")
_DEVICE = re.compile(r"^(\d+)-(\d+)(?:\.\d+)*$")

Port = str  # "<bus>-<port>", the lower-numbered bus of a peer pair


def parse_blocks(text: str) -> list[dict[str, str]]:
    """``udevadm monitor --property`` output: one dict of KEY=VALUE per event block."""
    events: list[dict[str, str]] = []
    for block in re.split(r"\n\s*\n", text):
        props = dict(
            line.split("=", 1)
            for line in block.splitlines()
            if "=" in line and " " not in line.split("=", 1)[0]
        )
        if props:
            events.append(props)
    return events


def parse_datagram(data: bytes) -> dict[str, str] | None:
    """One kernel uevent datagram (``add@/devices/...`` then NUL-separated KEY=VALUE)."""
    if data.startswith(b"libudev"):
        return None  # udevd's re-broadcast, binary; the kernel's own event is enough
    parts = data.split(b"\0")
    if not parts or b"@" not in parts[0]:
        return None
    props: dict[str, str] = {}
    for part in parts[1:]:
        key, sep, value = part.partition(b"=")
        if sep:
            props[key.decode("ascii", "replace")] = value.decode("utf-8", "replace")
    return props


def _peer(root: Path, bus: str, port: str) -> tuple[str, str] | None:
    link = under(root, f"/sys/bus/usb/devices/usb{bus}/{bus}-0:1.0/usb{bus}-port{port}/peer")
    try:
        target = link.readlink()
    except OSError:
        return None
    match = _PORT.match(target.name)
    return (match.group(1), match.group(2)) if match else None


def canonical(root: Path, bus: str, port: str) -> Port:
    """One name for a physical socket: of a USB 2 / SuperSpeed peer pair, the lower bus."""
    pairs = [(int(bus), int(port))]
    peer = _peer(root, bus, port)
    if peer is not None:
        pairs.append((int(peer[0]), int(peer[1])))
    low = min(pairs)
    return f"{low[0]}-{low[1]}"


def port_of(props: dict[str, str], root: Path) -> Port | None:
    """The laptop socket an ``add`` of a USB device happened in, else None."""
    if props.get("ACTION") != "add" or props.get("DEVTYPE") != "usb_device":
        return None
    match = _DEVICE.match(props.get("DEVPATH", "").rsplit("/", 1)[-1])
    return canonical(root, match.group(1), match.group(2)) if match else None


def expected_ports(root: Path) -> list[Port]:
    """The sockets on the case (root hub ports marked ``hotplug``), one per peer pair."""
    found: set[Port] = set()
    devices = under(root, "/sys/bus/usb/devices")
    for hub in list_dir(devices):
        if not hub.startswith("usb") or not hub[3:].isdigit():
            continue
        bus = hub[3:]
        interface = devices / hub / f"{bus}-0:1.0"
        for entry in list_dir(interface):
            match = _PORT.match(entry)
            if match and read_text(interface / entry / "connect_type") == "hotplug":
                found.add(canonical(root, bus, match.group(2)))
    return sorted(found, key=lambda p: tuple(int(n) for n in p.split("-")))


def netlink_events(stop: threading.Event, poll_s: float = 0.2) -> Iterator[dict[str, str]]:
    """The kernel's uevents until ``stop`` is set; raises OSError if the socket cannot open.

    The first event is empty: the socket listens from then on (an unattended run says
    "plug the stick in" only then, so no insertion is lost)."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_KOBJECT_UEVENT)
    try:
        sock.bind((0, 1))  # multicast group 1: the kernel's events
        yield {}
        while not stop.is_set():
            ready, _w, _x = select.select([sock], [], [], poll_s)
            if not ready:
                continue
            props = parse_datagram(sock.recv(65536))
            if props is not None:
                yield props
    finally:
        sock.close()


def watch(
    events: Iterable[dict[str, str]],
    root: Path,
    on_port: Callable[[Port], None],
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Call ``on_port`` for each insertion in ``events`` (the first time each socket is seen);
    ``on_ready`` at the empty event that says the events are being followed."""
    seen: set[Port] = set()
    for props in events:
        if not props:
            if on_ready is not None:
                on_ready()
            continue
        port = port_of(props, root)
        if port is not None and port not in seen:
            seen.add(port)
            on_port(port)


def result(
    expected: list[Port], seen: set[Port], skipped: bool = False, count: int = 0
) -> TestResult:
    """``usb_ports``: fails when an expected socket saw no stick (or none was seen at all).

    ``count``: how many sockets must see it where the firmware names none (an unattended
    run's setting; the TUI's volunteer says so with a key instead)."""
    missing = [p for p in expected if p not in seen]
    extra = sorted(seen - set(expected)) if expected else sorted(seen)
    wanted = len(expected) or count
    detail = f"{len(seen)} ports seen" + (f" of {wanted} expected" if wanted else "")
    if missing:
        detail += f"; no insertion in {', '.join(missing)}"
    if extra:
        detail += f"; seen {', '.join(extra)}"
    if skipped:
        outcome = TestOutcome.SKIPPED
    elif missing or not seen or len(seen) < count:
        outcome = TestOutcome.FAIL
    else:
        outcome = TestOutcome.PASS
    return TestResult(name="usb_ports", outcome=outcome, details=detail)


class PortWatch:
    """The sockets to expect and the insertions seen, on the machine under ``root``."""

    def __init__(
        self,
        root: Path,
        events: Callable[[threading.Event], Iterable[dict[str, str]]] = netlink_events,
    ) -> None:
        self.root = root
        self.events = events

    def available(self) -> bool:
        """Whether the machine has USB root hubs at all (a container or VM may not)."""
        devices = under(self.root, "/sys/bus/usb/devices")
        return any(n.startswith("usb") and n[3:].isdigit() for n in list_dir(devices))

    def expected(self) -> list[Port]:
        return expected_ports(self.root)

    def listen(
        self,
        on_port: Callable[[Port], None],
        stop: threading.Event,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        """Report each new socket until ``stop``; OSError when events cannot be read."""
        watch(self.events(stop), self.root, on_port, on_ready)

    def follow(
        self,
        count: int,
        timeout_s: float,
        on_port: Callable[[Port], None],
        on_ready: Callable[[list[Port]], None],
    ) -> tuple[list[Port], set[Port]]:
        """An unattended port map: the expected sockets (the firmware's, else ``count`` of
        any) and those seen before all were, or ``timeout_s`` passed. ``on_ready`` gets the
        expected sockets once insertions are followed; OSError when events cannot be read."""
        expected = self.expected()
        seen: set[Port] = set()
        stop, done = threading.Event(), threading.Event()
        failure: list[OSError] = []

        def seen_port(port: Port) -> None:
            seen.add(port)
            on_port(port)
            if (expected and set(expected) <= seen) or (not expected and 0 < count <= len(seen)):
                done.set()

        def listen() -> None:
            try:
                self.listen(seen_port, stop, lambda: on_ready(expected))
            except OSError as exc:
                failure.append(exc)
            done.set()

        listener = threading.Thread(target=listen, name="usb-ports", daemon=True)
        listener.start()
        done.wait(timeout_s)
        stop.set()
        listener.join()
        if failure and not seen:
            raise failure[0]
        return expected, set(seen)
