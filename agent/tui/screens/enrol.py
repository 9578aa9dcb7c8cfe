"""Pairing a new stick with the server, on screen: address, code and QR, the answer.

Three screens, driven by :class:`agent.tui.enrol_app.EnrolApp`; the network work (the
steps of :mod:`agent.uplink.enrol`, the same ones ``digibench enrol`` takes) runs in the
app's worker threads, never here.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from agent.tui.i18n import N_, _
from agent.tui.screens.base import StationScreen
from agent.tui.widgets import QRCode
from agent.uplink.discover import Found
from agent.uplink.enrol import Pairing


def server_address(raw: str) -> tuple[str, str | None]:
    """The address typed, as a URL (https:// when no scheme is given), or an error."""
    text = raw.strip().rstrip("/")
    if not text:
        return text, _("Type the server's address, or choose a server that was found.")
    if "://" not in text:
        text = "https://" + text
    scheme, _sep, rest = text.partition("://")
    if scheme not in ("http", "https") or not rest or any(c.isspace() for c in rest):
        return text, _("{address} is not a server address.").format(address=raw.strip())
    return text, None


class AddressScreen(StationScreen):
    """Where is the server? Typed, or chosen from what the network announced."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "search", N_("Search again"), id="enrol-search"),
    ]

    class Chosen(Message):
        def __init__(self, url: str) -> None:
            super().__init__()
            self.url = url

    class Search(Message):
        """Ask the app to look for servers on the network (again)."""

    def __init__(self, address: str = "", *, error: str = "") -> None:
        super().__init__()
        self.address = address
        self.error = error
        self.found: list[Found] | None = None  # None: still searching

    def compose(self) -> ComposeResult:
        with Vertical(id="enrol-box"):
            yield Static(_("Pair this station with the server"), classes="title")
            yield Static(_("Type the server's address and press Enter:"))
            with Vertical(id="tag-frame"):
                yield Input(value=self.address, id="address", max_length=200, compact=True)
            yield Static(self.error, id="error", classes="error", markup=False)
            yield Static(self._found_text(), id="found-status", classes="heading")
            yield OptionList(
                *[Option(f"{f.name}  {f.url}", id=str(i)) for i, f in enumerate(self.found or [])],
                id="servers",
                compact=True,
            )
        yield Footer()

    def _found_text(self) -> str:
        if self.found is None:
            return _("Looking for a Digibench server on this network...")
        if not self.found:
            return _("No server found on this network: type its address.")
        return _("Found on this network (choose one, or type another address):")

    def on_mount(self) -> None:
        self.query_one("#address", Input).focus()

    def show_found(self, found: list[Found]) -> None:
        """What discovery found; one server is filled in, so Enter confirms it."""
        self.found = found
        self.query_one("#found-status", Static).update(self._found_text())
        servers = self.query_one("#servers", OptionList)
        servers.clear_options()
        servers.add_options([Option(f"{f.name}  {f.url}", id=str(i)) for i, f in enumerate(found)])
        field = self.query_one("#address", Input)
        if len(found) == 1 and not field.value.strip():
            field.value = found[0].url
            self.address = found[0].url
        field.focus()

    def action_search(self) -> None:
        self.found = None
        self.query_one("#found-status", Static).update(self._found_text())
        self.query_one("#servers", OptionList).clear_options()
        self.post_message(self.Search())

    def on_input_changed(self, event: Input.Changed) -> None:
        self.address = event.value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._choose(event.value)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if self.found and event.option.id is not None:
            self._choose(self.found[int(event.option.id)].url)

    def _choose(self, raw: str) -> None:
        url, error = server_address(raw)
        if error:
            self.error = error
            self.query_one("#error", Static).update(error)
            return
        self.post_message(self.Chosen(url))


class PairingScreen(StationScreen):
    """The code, the key's fingerprint and a QR code of the approval page, while waiting."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop", N_("Stop pairing"), id="enrol-stop"),
    ]

    class Stop(Message):
        """The volunteer stops waiting (back to the address)."""

    def __init__(self, server: str) -> None:
        super().__init__()
        self.server = server
        self.pairing: Pairing | None = None
        self.status = ""

    def compose(self) -> ComposeResult:
        pairing = self.pairing
        if pairing is None:
            with Vertical(id="enrol-box"):
                yield Static(_("Pair this station with the server"), classes="title")
                yield Static(
                    _("Asking {server} for a pairing code...").format(server=self.server),
                    id="pair-status",
                    markup=False,
                )
            yield Footer()
            return
        with Horizontal(id="pair-box"):
            yield QRCode(pairing.verification_uri_complete or pairing.verification_uri, id="qr")
            with Vertical(id="pair-text"):
                yield Static(_("Pair this station with the server"), classes="title")
                yield Static(
                    _("In the web UI open Stations, Pair a station ({uri}) and type:").format(
                        uri=pairing.verification_uri
                    ),
                    markup=False,
                )
                yield Static(pairing.user_code, id="user-code")
                yield Static(_("Or scan the QR code with a phone."), classes="dim")
                yield Static(_("Key fingerprint (compare it in the web UI):"), classes="heading")
                yield Static(pairing.key_fingerprint, id="fingerprint", markup=False)
                yield Static(self.status or self._waiting(), id="pair-status", markup=False)
        yield Footer()

    def _waiting(self) -> str:
        minutes = self.pairing.expires_in // 60 if self.pairing else 0
        return _("Waiting for approval (the code is valid for {minutes} minutes)...").format(
            minutes=minutes
        )

    def show_pairing(self, pairing: Pairing) -> None:
        self.pairing = pairing
        self.call_later(self.relabel)  # recompose, then the footer's keys again

    def show_status(self, text: str) -> None:
        """A passing problem (no answer from the server); the screen keeps waiting."""
        self.status = text
        self.query_one("#pair-status", Static).update(text)

    def action_stop(self) -> None:
        self.post_message(self.Stop())


#: what each outcome is called on screen (English msgids; the screen translates)
OUTCOME_TITLES = {
    "approved": N_("Approved: this station is paired"),
    "denied": N_("Refused: the pairing was refused in the web UI"),
    "expired": N_("Expired: the pairing code is no longer valid"),
    "used": N_("Already used: this pairing code cannot be used again"),
    "ended": N_("The server ended the pairing"),
    "error": N_("The pairing could not start"),
}


class OutcomeScreen(StationScreen):
    """How the pairing ended; Enter goes on (paired) or starts again (anything else)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "next", N_("Continue"), id="enrol-next"),
    ]

    class Next(Message):
        def __init__(self, outcome: str) -> None:
            super().__init__()
            self.outcome = outcome

    def __init__(self, outcome: str, detail: str) -> None:
        super().__init__()
        self.outcome = outcome if outcome in OUTCOME_TITLES else "error"
        self.detail = detail

    def compose(self) -> ComposeResult:
        good = self.outcome == "approved"
        with Vertical(id="enrol-box"):
            yield Static(
                _(OUTCOME_TITLES[self.outcome]),
                id="outcome",
                classes="outcome-ok" if good else "outcome-bad",
            )
            yield Static(self.detail, id="outcome-detail", markup=False)
            yield Static(
                _("Press Enter to start the station.")
                if good
                else _("Press Enter to pair again, or F10 to quit."),
                classes="dim",
            )
        yield Footer()

    def action_next(self) -> None:
        self.post_message(self.Next(self.outcome))
