"""The USB port map: plug a stick into each socket in turn; each one is ticked off.

The sockets to expect are drawn as boxes; the kernel's event for each
insertion fills its box. When every expected socket has seen the stick the
screen closes by itself (no key); F2 ends earlier (a socket that saw nothing
fails), F4 skips. Where the firmware does not say which sockets are on the
case, each socket seen gets a box and F2 records them. Dismisses with one
:class:`TestResult` named ``usb_ports``.
"""

from __future__ import annotations

import threading
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Static

from agent.checks.usb_ports import Port, PortWatch, result
from agent.tui.i18n import N_, _
from agent.tui.screens.base import StationScreen

BOX_WIDTH = 8


def port_map(ports: list[Port], seen: set[Port]) -> str:
    """A row of boxes, one per socket, filled where the stick was seen (console glyphs)."""
    if not ports:
        return ""
    inner = BOX_WIDTH - 2
    top = " ".join("┌" + "─" * inner + "┐" for _p in ports)
    names = " ".join("│" + p.center(inner) + "│" for p in ports)
    marks = " ".join("│" + ("██" if p in seen else "  ").center(inner) + "│" for p in ports)
    bottom = " ".join("└" + "─" * inner + "┘" for _p in ports)
    return "\n".join((top, names, marks, bottom))


class UsbPortsScreen(StationScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "done", N_("Done"), id="usb-done"),
        Binding("f4", "skip", N_("Skip"), id="usb-skip"),
    ]

    def __init__(self, ports: PortWatch) -> None:
        super().__init__()
        self.ports = ports
        self.expected = ports.expected()
        self.seen: set[Port] = set()
        self.error: str | None = None
        self.stop = threading.Event()

    def compose(self) -> ComposeResult:
        with Vertical(id="check-box"):
            yield Static(_("USB ports"), classes="title")
            yield Static(
                _("Plug the USB stick into each USB port of the laptop in turn."), markup=False
            )
            yield Static(self._map(), id="usb-map", markup=False)
            yield Static(self._count(), id="usb-count", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(self._listen, thread=True, group="usb")

    def on_unmount(self) -> None:
        self.stop.set()

    def _listen(self) -> None:
        try:
            self.ports.listen(lambda port: self.app.call_from_thread(self._seen, port), self.stop)
        except OSError as exc:
            self.app.call_from_thread(self._failed, str(exc.strerror or exc))

    def _shown(self) -> list[Port]:
        extra = sorted(self.seen - set(self.expected))
        return [*self.expected, *extra]

    def _map(self) -> str:
        return port_map(self._shown(), self.seen)

    def _count(self) -> str:
        if self.error is not None:
            return _("The station cannot follow the USB ports: {error}").format(error=self.error)
        if self.expected:
            done = len(self.seen & set(self.expected))
            return _("{done} of {total} USB ports seen").format(done=done, total=len(self.expected))
        return _("{done} USB ports seen; F2 when every port had the stick").format(
            done=len(self.seen)
        )

    def _failed(self, error: str) -> None:
        self.error = error
        self.query_one("#usb-count", Static).update(self._count())

    def _seen(self, port: Port) -> None:
        if self.stop.is_set():
            return
        self.seen.add(port)
        self.query_one("#usb-map", Static).update(self._map())
        self.query_one("#usb-count", Static).update(self._count())
        if self.expected and set(self.expected) <= self.seen:
            self.action_done()  # every socket seen: no key needed

    def action_done(self) -> None:
        self.stop.set()
        self.dismiss(result(self.expected, self.seen))

    def action_skip(self) -> None:
        self.stop.set()
        self.dismiss(result(self.expected, self.seen, skipped=True))
