"""PAM's first-login message in Dutch on the desktop image's greeter, without an image build:
the preloaded library (images/os/pam-locale/digibench-pam-locale.c) and the nl_BE catalogue
(Linux-PAM.nl_BE.po), compiled as images/os/build.sh does, in a process that, like LightDM,
never sets a locale itself. Debian's own nl catalogue (libpam-runtime) is the fallback for
PAM's other prompts; an nl_BE locale is compiled into a scratch LOCPATH."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = REPO / "images/os/pam-locale"
DEBIAN_NL = Path("/usr/share/locale/nl/LC_MESSAGES/Linux-PAM.mo")
EXPIRED = "You are required to change your password immediately (administrator enforced)."
PROMPTS = ["New password: ", "Retype new password: "]

#: gettext as PAM calls it (dgettext in the "Linux-PAM" domain), from a process that sets
#: no message locale (Python sets LC_CTYPE only, as LightDM sets none)
PROBE = """import ctypes, sys
libc = ctypes.CDLL(None)
libc.bindtextdomain.restype = ctypes.c_char_p
libc.dgettext.restype = ctypes.c_char_p
libc.bindtextdomain(b"Linux-PAM", sys.argv[1].encode())
for msgid in sys.argv[2:]:
    print(libc.dgettext(b"Linux-PAM", msgid.encode()).decode())
"""


def _run(*cmd: str | Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=120, env=env, check=True
    )
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for tool in ("gcc", "msgfmt", "localedef"):
        assert shutil.which(tool), f"{tool} is missing (scripts/setup-debian.sh)"
    assert DEBIAN_NL.exists(), f"{DEBIAN_NL} is missing (libpam-runtime)"
    root = tmp_path_factory.mktemp("pam-locale")
    (root / "locale/nl_BE/LC_MESSAGES").mkdir(parents=True)
    (root / "locale/nl/LC_MESSAGES").mkdir(parents=True)
    (root / "locales").mkdir()
    shutil.copy(DEBIAN_NL, root / "locale/nl/LC_MESSAGES/Linux-PAM.mo")
    _run("msgfmt", "--check-format", "-o", root / "locale/nl_BE/LC_MESSAGES/Linux-PAM.mo",
         SOURCES / "Linux-PAM.nl_BE.po")  # fmt: skip
    _run("gcc", "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
         root / "pam-locale.so", SOURCES / "digibench-pam-locale.c")  # fmt: skip
    subprocess.run(
        ["localedef", "-i", "nl_BE", "-f", "UTF-8", str(root / "locales/nl_BE.UTF-8")],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert (root / "locales/nl_BE.UTF-8").is_dir(), "localedef could not compile nl_BE.UTF-8"
    (root / "probe.py").write_text(PROBE)
    return root


def _messages(root: Path, preload: bool) -> list[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "nl_BE.UTF-8"}
    env["LOCPATH"] = str(root / "locales")
    if preload:
        env["LD_PRELOAD"] = str(root / "pam-locale.so")
    out = _run(sys.executable, root / "probe.py", root / "locale", EXPIRED, *PROMPTS, env=env)
    return out.splitlines()


def test_without_the_preload_pam_stays_english(built: Path) -> None:
    """What the greeter showed: LANG is Dutch, but a process without setlocale speaks C."""
    assert _messages(built, preload=False) == [EXPIRED, *PROMPTS]


def test_with_the_preload_the_first_login_is_dutch(built: Path) -> None:
    expired, new, again = _messages(built, preload=True)
    assert expired == "U moet nu meteen een nieuw wachtwoord kiezen."
    # PAM's other prompts come from Debian's nl catalogue (gettext falls back nl_BE -> nl)
    assert new.startswith("Nieuw wachtwoord") and again.startswith("Nieuw wachtwoord herhalen")
