"""Laptop keyboard maps for the keyboard test, Belgian AZERTY first.

A key is a label and the characters (or Textual key names) that light it up:
the unshifted and shifted character the console keymap produces. The terminal
never reports Shift, Ctrl, Alt or Fn on their own, so they are not on the map.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    label: str
    hits: frozenset[str]
    width: int = 3

    @property
    def id(self) -> str:
        return sorted(self.hits)[0]


def _chars(pairs: str) -> list[Key]:
    """'aA zZ' -> keys labelled by their unshifted character."""
    return [Key(p[0], frozenset(p)) for p in pairs.split(" ")]


def _special(label: str, *names: str, width: int = 3) -> Key:
    return Key(label, frozenset(names), width)


@dataclass(frozen=True)
class Layout:
    name: str  # console keymap name (loadkeys)
    title: str
    rows: tuple[tuple[Key, ...], ...]

    def all_keys(self) -> list[Key]:
        return [k for row in self.rows for k in row]

    def match(self, key: str, character: str | None) -> Key | None:
        """The key on the map a Textual key event belongs to."""
        for k in self.all_keys():
            if (character is not None and character in k.hits) or key in k.hits:
                return k
        return None


BE_LATIN1 = Layout(
    "be-latin1",
    "Belgisch AZERTY",
    (
        (
            *_chars("²³ &1 é2 \"3 '4 (5 §6 è7 !8 ç9 à0 )° -_"),
            _special("<-", "backspace", width=4),
        ),
        (
            _special("Tab", "tab", width=4),
            *_chars("aA zZ eE rR tT yY uU iI oO pP ^¨ $*"),
            _special("Ent", "enter", width=4),
        ),
        (*_chars("qQ sS dD fF gG hH jJ kK lL mM ù% µ£"),),
        (*_chars("<> wW xX cC vV bB nN ,? ;. :/ =+"),),
        (_special("spatie", "space", " ", width=24),),
    ),
)

US = Layout(
    "us",
    "US QWERTY",
    (
        (
            *_chars("`~ 1! 2@ 3# 4$ 5% 6^ 7& 8* 9( 0) -_ =+"),
            _special("<-", "backspace", width=4),
        ),
        (
            _special("Tab", "tab", width=4),
            *_chars("qQ wW eE rR tT yY uU iI oO pP [{ ]} \\|"),
        ),
        (*_chars("aA sS dD fF gG hH jJ kK lL ;: '\""), _special("Ent", "enter", width=4)),
        (*_chars("zZ xX cC vV bB nN mM ,< .> /?"),),
        (_special("space", "space", " ", width=24),),
    ),
)

LAYOUTS = (BE_LATIN1, US)
