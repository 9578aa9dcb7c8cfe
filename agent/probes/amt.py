"""Intel AMT provisioning state, asked from the ME through the kernel's MEI driver.

A laptop whose AMT is provisioned ("post") can be managed remotely by the
former owner's IT department (power on, remote screen, reinstall), whatever
OS is on the disk: it must be unprovisioned in the firmware (MEBx) first.

The question goes to the ME's AMT host interface client (AMTHI, UUID
12f80028-b4b7-4b2d-aca8-46e0ff65814c), which the kernel lists under
``/sys/bus/mei/devices/<pci>-<uuid>`` only on AMT-capable firmware: no entry,
no AMT, nothing is asked. The exchange follows the AMT host interface as
Intel's LMS and mjg59's mei-amt-check use it: connect with the MEI ioctl
``IOCTL_MEI_CONNECT_CLIENT``, send a 12-byte header (version 1.1, reserved,
command ``0x04000011`` "provisioning state", length 0), read the answer:
the same header (command ``0x04800011``), a status and the state (0 pre,
1 in, 2 post provisioning), all little-endian.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from agent.probes.sysfs import list_dir, under

AMTHI = uuid.UUID("12f80028-b4b7-4b2d-aca8-46e0ff65814c")
STATE_REQUEST = 0x04000011
STATE_RESPONSE = 0x04800011
#: _IOWR('H', 0x01, struct mei_connect_client_data), 16 bytes (include/uapi/linux/mei.h)
IOCTL_MEI_CONNECT_CLIENT = 0xC0104801
_HEADER = struct.Struct("<BBHII")

State = Literal["pre", "in", "post"]
STATES: dict[int, State] = {0: "pre", 1: "in", 2: "post"}
#: sends one request to the AMTHI client and returns its answer
Transport = Callable[[bytes], bytes]


def request() -> bytes:
    return _HEADER.pack(1, 1, 0, STATE_REQUEST, 0)


def parse_state(answer: bytes) -> State | None:
    """The provisioning state in an AMTHI answer; None for an error status or garbage."""
    if len(answer) < _HEADER.size + 8:
        return None
    _major, _minor, _res, command, length = _HEADER.unpack_from(answer)
    status, state = struct.unpack_from("<II", answer, _HEADER.size)
    if command != STATE_RESPONSE or length < 8 or status != 0:
        return None
    return STATES.get(state)


def amt_present(root: Path) -> bool:
    """Whether the ME firmware offers the AMT host interface (AMT-capable SKU)."""
    suffix = f"-{AMTHI}"
    return any(
        name.lower().endswith(suffix) for name in list_dir(under(root, "/sys/bus/mei/devices"))
    )


def mei_transport(device: str = "/dev/mei0", timeout: float = 5.0) -> Transport:
    """Talk to AMTHI through ``device`` (root only); OSError when it cannot."""

    def exchange(message: bytes) -> bytes:
        fd = os.open(device, os.O_RDWR)
        try:
            connect = bytearray(AMTHI.bytes_le)  # in: the client's UUID; out: its limits
            fcntl.ioctl(fd, IOCTL_MEI_CONNECT_CLIENT, connect, True)
            os.write(fd, message)
            ready, _w, _x = select.select([fd], [], [], timeout)
            if not ready:
                raise TimeoutError("the ME did not answer")
            return os.read(fd, 4096)
        finally:
            os.close(fd)

    return exchange


def probe_amt(root: Path, transport: Transport | None = None) -> State | None:
    """The AMT provisioning state; None when there is no AMT or it cannot be asked."""
    if not amt_present(root):
        return None
    if transport is None:
        if root != Path("/"):
            return None  # a recorded tree has no ME to ask
        transport = mei_transport()
    try:
        return parse_state(transport(request()))
    except OSError:
        return None
