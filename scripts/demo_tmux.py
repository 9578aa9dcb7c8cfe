#!/usr/bin/env python3
"""Drive `make demo` (the station TUI) under tmux as a volunteer would; keep the result screen.

    python3 scripts/demo_tmux.py [--command "make demo"] [--out FILE] [--asset-tag T]

Types the asset tag as a barcode scanner does, answers the quick tests, moves
from Cancel to the wipe button and confirms, waits for the result screen,
saves it, quits the TUI (Ctrl+Q, then "Afsluiten") and returns the demo's exit status.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

SESSION = "digibench-demo"
ROOT = Path(__file__).resolve().parent.parent


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION)


def wait_for(text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = screen()
        if text in shown:
            return shown
        time.sleep(0.3)
    raise TimeoutError(f"{text!r} did not appear within {timeout:.0f} s; screen:\n{screen()}")


def wait_for_any(texts: tuple[str, ...], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = screen()
        if any(text in shown for text in texts):
            return shown
        time.sleep(0.3)
    raise TimeoutError(f"none of {texts!r} appeared within {timeout:.0f} s; screen:\n{screen()}")


def keys(*names: str, pause: float = 0.6) -> None:
    for name in names:
        tmux("send-keys", "-t", SESSION, name)
        time.sleep(pause)


def drive(command: str, out: Path, asset_tag: str = "DEMO-0001") -> tuple[int, str]:
    """Run ``command`` under tmux as a volunteer; (exit status, what the demo printed last)."""
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is not installed (apt-get install tmux)")
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True, check=False)
    done = out.with_suffix(".exit")
    done.unlink(missing_ok=True)
    shell = f"cd {ROOT} && {command}; echo $? > {done}; sleep 5"
    tmux("new-session", "-d", "-s", SESSION, "-x", "100", "-y", "32", shell)
    try:
        wait_for("Enter", 600)  # set-up, image build, server start, then the start screen
        wait_for("Digibench", 60)
        keys(asset_tag, "Enter")  # what a keyboard-wedge barcode scanner types
        wait_for(asset_tag, 120)
        wait_for("F9", 60)
        keys("Enter")  # hardware summary -> quick tests
        keys("F2", "F2")  # keyboard works, screen works
        steps = ("Touchpadtest", "Cameratest", "Geluidstest", "USB-poorten", "Apparaten")
        while True:  # optional steps: touchpad (not on a bare console), camera, sound, USB, devices
            shown = wait_for_any((*steps, "Druk 1 tot 6"), 60)
            if "Druk 1 tot 6" in shown:
                break
            if "Cameratest" in shown or "Geluidstest" in shown:
                answers = ("Helderheid", "Het beeld", "Geen beeld", "Microfoon", "geen geluid")
                wait_for_any(answers, 60)  # the picture or the tones first
            keys("F4" if "Touchpadtest" in shown else "F2")  # skip touchpad / record the rest
        keys("5")  # cosmetic condition C5
        shown = wait_for("Annuleren", 60)
        print("== confirm screen ==\n" + shown, flush=True)
        keys("Tab", "Enter")  # the focus starts on Cancel: move to the wipe button
        result = wait_for("Volgende laptop", 600)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(result)
        print("== result screen ==\n" + result, flush=True)
        keys("C-q")  # asks first; the answer starts on "Niet afsluiten"
        wait_for("Digibench afsluiten?", 60)
        keys("Tab", "Enter")
        deadline = time.monotonic() + 300
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        log = tmux("capture-pane", "-p", "-S", "-", "-t", SESSION)  # with the scrollback
        print(log, flush=True)
        return (int(done.read_text().strip()) if done.exists() else 1), log
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--command", default="make demo")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "demo-result.txt")
    parser.add_argument("--asset-tag", default="DEMO-0001", help="what the scanner types")
    args = parser.parse_args()
    return drive(args.command, args.out, args.asset_tag)[0]


if __name__ == "__main__":
    sys.exit(main())
