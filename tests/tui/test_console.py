"""The whole intake run in a pseudo-terminal with TERM=linux, as on the bare console.

What the Linux console can show (console_codes(4)): SGR 30-37 and 90-97 for text,
40-47 for backgrounds (no bright backgrounds), bold, reverse; no 256 or 24-bit
colours; a 512-glyph font (Latin-1, box lines, half and full blocks).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from pathlib import Path

from .conftest import console_safe

REPO = Path(__file__).parent.parent.parent
CHILD = """
from tests.tui.conftest import make_app
app, _ = make_app(touchpad_test=None, language="nl")  # as on a station: TERM decides
app.run()
"""
ALLOWED_SGR = {0, 1, 2, 3, 4, 7, 22, 23, 24, 27, 39, 49, *range(30, 38), *range(40, 48)}
ALLOWED_SGR |= set(range(90, 98))
F2 = "\x1b[[B"  # what the Linux console sends for F2


def _read(fd: int, seconds: float, until: str | None = None) -> bytes:
    out = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
            if until and until.encode() in out:
                break
    return out


def test_intake_run_uses_only_what_the_linux_console_has() -> None:
    pid, fd = pty.fork()
    if pid == 0:  # the child: the station app on a TERM=linux terminal
        env = {k: v for k, v in os.environ.items() if k not in {"COLORTERM", "NO_COLOR"}}
        env.update(TERM="linux", PYTHONPATH=str(REPO))
        os.execve(sys.executable, [sys.executable, "-c", CHILD], env)
    exited, status = 0, 0
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 25, 80, 0, 0))
        out = _read(fd, 30, until="Inname/helpdesk")
        steps = [
            ("DG-1\r", "Verder"),
            ("\r", "Toetsenbordtest"),
            ("az" + F2, "Volgende kleur"),
            (F2, "Uiterlijk"),  # no touchpad test: the console reports no mouse
            ("4", "Annuleren"),
            ("\t\r", "Uitschakelen"),  # a stick's end step: switch the laptop off
            ("\x11", "Digibench afsluiten?"),  # ctrl+q asks first
            ("\t\r", "\x1b[?1049l"),  # Tab to "Afsluiten", Enter: the screen is given back
        ]
        for keys, expect in steps:
            os.write(fd, keys.encode())
            out += _read(fd, 20, until=expect)
        deadline = time.monotonic() + 30
        while not exited and time.monotonic() < deadline:
            exited, status = os.waitpid(pid, os.WNOHANG)
            if not exited:
                out += _read(fd, 0.2)
    finally:
        if not exited:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    assert exited == pid, "ctrl+q and the answer did not end the app"
    assert os.waitstatus_to_exitcode(status) == 0
    text = out.decode("utf-8", "replace")
    plain = re.sub(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z]|[=>])", "", text)
    assert "Uitschakelen" in plain, plain[-2000:]  # it got to the result screen
    params = set()
    for sgr in re.findall(r"\x1b\[([0-9;]*)m", text):
        params.update(int(p) for p in sgr.split(";") if p)
    assert params - ALLOWED_SGR == set()
    assert console_safe(plain.replace("\r", "")) == set()
