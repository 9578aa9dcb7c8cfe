"""The wheel the live image installs carries the provisioning templates, and the agent
installed from it finds them (the live build installs no checkout, only the wheel)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent.flash import provision

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "agent", "server", "provisioning")

# Run by the installed agent: where it finds the templates, and what applying them writes.
PROBE = textwrap.dedent(
    """
    import json, stat, sys
    from pathlib import Path
    import agent.flash.provision as p
    root = Path(sys.argv[1])
    settings = p.load_settings()
    changed = p.apply(root, "db-00123-a", settings)
    files = {
        str(f.relative_to(root)): [f.read_text(), stat.S_IMODE(f.stat().st_mode)]
        for f in sorted(root.rglob("*")) if f.is_file() and not f.is_symlink()
    }
    print(json.dumps({"module": p.__file__, "templates": str(p.TEMPLATES),
                      "changed": changed, "files": files}))
    """
)


def _written(root: Path) -> dict[str, list[object]]:
    return {
        str(f.relative_to(root)): [f.read_text(), f.stat().st_mode & 0o7777]
        for f in sorted(root.rglob("*"))
        if f.is_file() and not f.is_symlink()
    }


@pytest.mark.slow
def test_installed_wheel_finds_the_provisioning_templates(tmp_path: Path) -> None:
    src = tmp_path / "src"  # a copy: building writes build/ and *.egg-info into the source
    src.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(
                path, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(path, src / name)
    wheels = tmp_path / "wheels"
    # the command images/live/build.sh runs
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), "."],
        cwd=src,
        check=True,
    )
    (wheel,) = wheels.glob("digibench-*.whl")
    shutil.rmtree(src)  # the installed agent must not lean on the checkout

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # provision.py needs only the standard library, so the agent goes in without its deps
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
    )
    root = tmp_path / "installed-root"
    root.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    out = subprocess.run(
        [str(python), "-I", "-c", PROBE, str(root)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(out.stdout)
    assert got["module"].startswith(str(venv))
    assert got["templates"].startswith(str(venv))

    # the same as what the checkout's own templates give, file for file, modes included
    expected_root = tmp_path / "checkout-root"
    expected_root.mkdir()
    settings = provision.load_settings()
    expected = provision.apply(expected_root, "db-00123-a", settings)
    assert got["changed"] == expected
    assert got["files"] == _written(expected_root)
    assert got["files"]["usr/local/sbin/digibench-firstboot"][1] == 0o755
    assert "db-00123-a" in got["files"]["etc/hostname"][0]
