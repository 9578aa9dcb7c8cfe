"""What every station screen shares: translated footer bindings, event hook."""

from __future__ import annotations

import dataclasses
from typing import Any

from textual.binding import ActiveBinding
from textual.screen import ModalScreen, Screen

from agent.pipeline.events import Event
from agent.tui.i18n import _


def translated(bindings: dict[str, ActiveBinding]) -> dict[str, ActiveBinding]:
    """The active bindings with their descriptions (English msgids) in the current language.

    The footer shows ``Screen.active_bindings``; translating there (and not in
    the class's BINDINGS) keeps every binding's id and key as declared, so a
    keymap can still rebind it by id.
    """
    return {
        key: active._replace(
            binding=dataclasses.replace(active.binding, description=_(active.binding.description))
        )
        for key, active in bindings.items()
    }


class StationScreen(Screen[Any]):
    """Base screen: recomposes itself in a new language and may follow events."""

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        return translated(super().active_bindings)

    async def relabel(self) -> None:
        """The language changed: redraw every text and footer label."""
        await self.recompose()
        self.refresh_bindings()

    def pipeline_event(self, event: Event) -> None:
        """A pipeline event arrived while this screen is shown; most ignore it."""


class StationModal(ModalScreen[bool]):
    """A question over the current screen, with the same translated footer."""

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        return translated(super().active_bindings)

    async def relabel(self) -> None:
        await self.recompose()
        self.refresh_bindings()
