"""Every key a station screen's footer shows fits on an 80-column console, in Dutch and English.

The bare Linux console (no KMS, or booted with ``nomodeset``) is 80 columns wide. A
footer wider than that cuts its last keys, and the last are the app's own: F9 (the
language) and F10 (quit), the two a lost volunteer needs most. The widths are
computed for every screen class from its bindings, the way Textual's footer lays
them out; one real screen, the widest, checks that computation against the footer
Textual draws.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets._footer import FooterKey

import agent.tui.screens
from agent.tui import i18n
from agent.tui.app import DigibenchApp
from agent.tui.enrol_app import EnrolApp
from agent.tui.screens.audio import AudioScreen

from .conftest import make_app, screen_text, wait_for
from .test_sound_and_usb_screens import _heard

COLUMNS = 80


def _station_screens() -> list[type[Screen[Any]]]:
    for module in pkgutil.iter_modules(agent.tui.screens.__path__):
        importlib.import_module(f"{agent.tui.screens.__name__}.{module.name}")
    found: set[type[Screen[Any]]] = set()
    todo: list[type[Screen[Any]]] = [Screen]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("agent.tui."):
                found.add(sub)
    return sorted(found, key=lambda cls: cls.__qualname__)


def _shown(node: type[Screen[Any]] | type[App[Any]]) -> list[Binding]:
    """Every binding the footer may show, inherited ones included (Textual's own merge):
    ``check_action`` can hide some, never add one."""
    return [b for _key, b in node._merge_bindings() if b.show]


def _widest(app: DigibenchApp, bindings: list[Binding]) -> list[Binding]:
    """One binding per key, as the footer shows them (the result screen's Enter is either
    "next laptop" or "switch off"): the one with the longest words."""
    per_key: dict[str, Binding] = {}
    for b in bindings:
        if b.key not in per_key or _width(app, [b]) > _width(app, [per_key[b.key]]):
            per_key[b.key] = b
    return list(per_key.values())


def _width(app: DigibenchApp, bindings: list[Binding]) -> int:
    """Columns of Textual's footer: `` KEY `` then ``description `` per key, side by side."""
    return sum(len(app.get_key_display(b)) + 2 + len(i18n._(b.description)) + 1 for b in bindings)


def test_there_are_screens_to_check() -> None:
    names = {cls.__name__ for cls in _station_screens()}
    assert {"AudioScreen", "KeyboardScreen", "ResultScreen", "PairingScreen"} <= names


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_screens_footer_fits_80_columns(language: str) -> None:
    app, _pipeline = make_app(language=language)
    too_wide = []
    for screen in _station_screens():
        for app_class in (DigibenchApp, EnrolApp):
            keys = _widest(app, _shown(screen) + _shown(app_class))
            width = _width(app, keys)
            if width > COLUMNS:
                shown = " | ".join(
                    f"{app.get_key_display(b)} {i18n._(b.description)}" for b in keys
                )
                too_wide.append(f"{screen.__name__} ({width} columns): {shown}")
    assert not too_wide, "\n".join(too_wide)


@pytest.mark.parametrize("language", i18n.LANGUAGES)
async def test_the_computed_width_is_the_footer_textual_draws(language: str) -> None:
    """The sound screen has the most keys: its real footer is as wide as computed, and on
    an 80-column console the quit key is there whole."""
    app, _pipeline = make_app(language=language)
    async with app.run_test(size=(200, 20)) as pilot:
        screen = AudioScreen(_heard())
        app.push_screen(screen)
        await wait_for(pilot, lambda: screen.found is not None)
        drawn = sum(key.region.width for key in app.screen.query(FooterKey))
        keys = _shown(AudioScreen) + _shown(DigibenchApp)
        assert drawn == _width(app, keys)
    app, _pipeline = make_app(language=language)
    async with app.run_test(size=(COLUMNS, 20)) as pilot:
        screen = AudioScreen(_heard())
        app.push_screen(screen)
        await wait_for(pilot, lambda: screen.found is not None)
        footer = screen_text(app).rstrip().splitlines()[-1]
        assert footer.rstrip().endswith(f"F10 {i18n._('Quit')}"), footer
        assert f"F9 {i18n._('Other language')}" in footer
