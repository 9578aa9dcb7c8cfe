"""``digibench enrol --screen``: the enrolment screens a new stick boots into.

A thin driver of :mod:`agent.uplink.enrol` (the steps the text command takes): find or
ask the server's address, start the pairing with this station's key, show the code and
QR code, poll in a worker thread (stoppable at once), then write the station config.
The app's return value is the exit status: 0 paired, 1 not paired.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import requests
from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import get_current_worker

from agent.errors import DigibenchError
from agent.tui import i18n
from agent.tui.app import key_display
from agent.tui.i18n import N_, _
from agent.tui.screens.base import StationModal, StationScreen
from agent.tui.screens.enrol import AddressScreen, OutcomeScreen, PairingScreen
from agent.uplink import enrol as core
from agent.uplink.discover import Found, discover

Discover = Callable[[], list[Found]]


class EnrolApp(App[int]):
    CSS_PATH = "digibench.tcss"
    TITLE = "Digibench"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        # named by the language it switches to, in that language ("English" on a Dutch
        # screen): whoever cannot read the screen finds their own language's name
        Binding("f9", "switch_language", N_("Other language"), id="language"),
        Binding("f10", "quit_unpaired", N_("Quit"), id="quit"),
        Binding("ctrl+q", "quit_unpaired", N_("Quit"), show=False, priority=True, id="quit-ctrl-q"),
        Binding("ctrl+c", "quit_unpaired", N_("Quit"), show=False, priority=True, id="quit-ctrl-c"),
    ]

    def __init__(
        self,
        config: Path,
        key_dir: Path,
        server: str = "",
        *,
        name_hint: str = "",
        language: str = "nl",
        find_servers: Discover | None = discover,
        session: Callable[[], requests.Session] = requests.Session,
    ) -> None:
        super().__init__()
        self.config_path = config
        self.key_dir = key_dir
        self.server = server
        self.name_hint = name_hint
        self.language = language
        self.find_servers = find_servers
        self.new_session = session
        self.stop = threading.Event()
        self.paired: core.Paired | None = None
        self.theme = "ansi-dark"

    def get_key_display(self, binding: Binding) -> str:
        return key_display(binding, super().get_key_display)

    def on_mount(self) -> None:
        i18n.set_language(self.language)
        self.push_screen(AddressScreen(self.server))
        self._search()

    # ---------------------------------------------------------------- address

    def _search(self) -> None:
        if self.find_servers is not None:
            self.run_worker(self._discover, thread=True, exclusive=True, group="discover")

    def _discover(self) -> None:
        assert self.find_servers is not None
        try:
            found = self.find_servers()
        except Exception:  # discovery only helps: a broken network leaves typing
            self.log.warning("discovery failed")
            found = []
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._found, found)

    def _found(self, found: list[Found]) -> None:
        if isinstance(self.screen, AddressScreen):
            self.screen.show_found(found)

    def on_address_screen_search(self, _message: AddressScreen.Search) -> None:
        self._search()

    def on_address_screen_chosen(self, message: AddressScreen.Chosen) -> None:
        self.server = message.url
        self.stop = threading.Event()
        self.switch_screen(PairingScreen(message.url))
        self.run_worker(
            lambda: self._pair(message.url, self.stop), thread=True, exclusive=True, group="pair"
        )

    # ---------------------------------------------------------------- pairing

    def _pair(self, server: str, stop: threading.Event) -> None:
        """The text command's steps, reporting to the screen instead of stdout."""
        session = self.new_session()
        try:
            pairing = core.begin(session, server, self.key_dir, name_hint=self.name_hint)
            if stop.is_set():
                return
            self.call_from_thread(self._show_pairing, pairing)
            paired = core.wait(
                session,
                server,
                pairing,
                sleep=stop.wait,
                cancelled=stop.is_set,
                on_retry=lambda error: self.call_from_thread(self._retrying, error),
            )
            core.write_config(self.config_path, server, paired)
        except core.Cancelled:
            return
        except core.PairingRefused as exc:
            self.call_from_thread(self._outcome, exc.code, str(exc))
        except DigibenchError as exc:
            self.call_from_thread(self._outcome, "error", str(exc))
        except OSError as exc:  # the data partition: read-only, full, gone
            detail = _("Cannot write the settings to {path}: {error}").format(
                path=self.config_path, error=exc.strerror or exc
            )
            self.call_from_thread(self._outcome, "error", detail)
        else:
            self.paired = paired
            self.call_from_thread(
                self._outcome,
                "approved",
                _("Paired as station {name}. The settings are in {path}.").format(
                    name=paired.station, path=self.config_path
                ),
            )
        finally:
            session.close()

    def _show_pairing(self, pairing: core.Pairing) -> None:
        if isinstance(self.screen, PairingScreen):
            self.screen.show_pairing(pairing)

    def _retrying(self, error: str) -> None:
        if isinstance(self.screen, PairingScreen):
            self.screen.show_status(
                _("No answer from the server ({error}); trying again.").format(error=error)
            )

    def _outcome(self, outcome: str, detail: str) -> None:
        self.switch_screen(OutcomeScreen(outcome, detail))

    def on_pairing_screen_stop(self, _message: PairingScreen.Stop) -> None:
        self.stop.set()  # the worker wakes from its pause and returns
        self.switch_screen(AddressScreen(self.server))
        self._search()

    def on_outcome_screen_next(self, message: OutcomeScreen.Next) -> None:
        if message.outcome == "approved":
            self.exit(0)
            return
        self.switch_screen(AddressScreen(self.server))
        self._search()

    def on_unmount(self) -> None:
        """However the app ends (a key, an error), the pairing worker stops waiting: the
        program cannot exit before that thread returns, which could take the code's
        15 minutes."""
        self.stop.set()

    # ---------------------------------------------------------------- app keys

    def action_quit_unpaired(self) -> None:
        self.stop.set()
        self.exit(0 if self.paired else 1)

    async def action_switch_language(self) -> None:
        i18n.set_language(i18n.next_language())
        for screen in self.screen_stack:
            if isinstance(screen, StationScreen | StationModal):
                await screen.relabel()
        self.refresh_bindings()


def run_screen(
    config: Path, key_dir: Path, server: str = "", *, name_hint: str = "", language: str = "nl"
) -> int:
    """Run the enrolment screens; the exit status (0 paired, 1 not)."""
    app = EnrolApp(config, key_dir, server, name_hint=name_hint, language=language)
    result = app.run()
    return 1 if result is None else result
