"""What every station screen shares: translated footer bindings, event hook."""

from __future__ import annotations

import dataclasses
from typing import Any

from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode
from textual.screen import Screen

from agent.pipeline.events import Event
from agent.tui.i18n import _


def translate_bindings(node: DOMNode, extra: list[Binding] | None = None) -> None:
    """Re-label ``node``'s bindings (English msgids) in the current language.

    Textual builds the bindings map from the class's BINDINGS once; the footer
    reads the descriptions from the node's own copy, so we rebuild that copy.
    """
    source = type(node)._merged_bindings
    if source is None:
        return
    fresh = BindingsMap()
    fresh.key_to_bindings = {
        key: [dataclasses.replace(b, description=_(b.description)) for b in bindings]
        for key, bindings in source.key_to_bindings.items()
    }
    for binding in extra or []:
        fresh.key_to_bindings.setdefault(binding.key, []).append(
            dataclasses.replace(binding, description=_(binding.description))
        )
    node._bindings = fresh


class StationScreen(Screen[Any]):
    """Base screen: recomposes itself in a new language and may follow events."""

    def on_mount(self) -> None:
        translate_bindings(self, self.extra_bindings())
        self.refresh_bindings()

    def extra_bindings(self) -> list[Binding]:
        """Bindings that depend on the instance (e.g. only in helpdesk mode)."""
        return []

    async def relabel(self) -> None:
        """The language changed: redraw every text and footer label."""
        translate_bindings(self, self.extra_bindings())
        await self.recompose()
        self.refresh_bindings()

    def pipeline_event(self, event: Event) -> None:
        """A pipeline event arrived while this screen is shown; most ignore it."""
