"""The wipe/verify-record/keygen commands, end to end on loop devices."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.cli import main
from agent.probes.block import list_disks

from .conftest import MARKER, Loop, MiB, needs_root

pytestmark = needs_root


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, Path]:
    d = {k: tmp_path / k for k in ("keys", "records", "state")}
    assert main(["keygen", "--key-dir", str(d["keys"])]) == 0
    return d


def _wipe_args(dirs: dict[str, Path], *extra: str) -> list[str]:
    return [
        "wipe",
        "--key-dir",
        str(dirs["keys"]),
        "--record-dir",
        str(dirs["records"]),
        "--state-dir",
        str(dirs["state"]),
        "--operator",
        "Ann",
        *extra,
    ]


def test_keygen_is_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen", "--key-dir", str(tmp_path)]) == 0
    first = (tmp_path / "station.pub").read_text()
    assert "created" in capsys.readouterr().out
    assert main(["keygen", "--key-dir", str(tmp_path)]) == 0
    assert "already present" in capsys.readouterr().out
    assert (tmp_path / "station.pub").read_text() == first
    assert (tmp_path / "station.key").stat().st_mode & 0o077 == 0


def test_wipe_yes_then_verify_record(
    make_loop: Callable[..., Loop], dirs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    loop = make_loop(16 * MiB)
    loop.plant()
    code = main(_wipe_args(dirs, "--method", "random", "--verify", "full", "--yes", loop.dev))
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Wipe plan:" in out and "ERASED" in out
    assert MARKER not in loop.read_image()
    (record,) = dirs["records"].iterdir()
    data = json.loads(record.read_text())
    assert data["operator"] == "Ann" and data["result"] == "erased"
    assert main(["verify-record", "--key-dir", str(dirs["keys"]), str(record)]) == 0
    assert capsys.readouterr().out.startswith("OK ")
    pub = dirs["keys"] / "station.pub"
    assert main(["verify-record", "--public-key", str(pub), str(record)]) == 0
    capsys.readouterr()
    # One changed byte: the size 16777216 becomes 16777217.
    record.write_text(record.read_text().replace("16777216", "16777217", 1))
    assert main(["verify-record", "--public-key", str(pub), str(record)]) == 1
    assert "INVALID" in capsys.readouterr().out


def test_wipe_asks_and_no_means_no(
    make_loop: Callable[..., Loop],
    dirs: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    loop = make_loop(8 * MiB)
    loop.plant()
    for answer in ("\n", "no\n", "y\n", ""):
        monkeypatch.setattr("sys.stdin", io.StringIO(answer))
        assert main(_wipe_args(dirs, loop.dev)) == 1
        assert "nothing was wiped" in capsys.readouterr().out
    assert loop.read_image().count(MARKER) == 8
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    assert main(_wipe_args(dirs, loop.dev)) == 0
    assert MARKER not in loop.read_image()


def test_wipe_refuses_root_disk_and_touches_nothing(
    make_loop: Callable[..., Loop], dirs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    roots = [d.path for d in list_disks() if d.holds_root]
    if not roots:
        pytest.skip("/ is not on a block device here")
    loop = make_loop(8 * MiB)
    loop.plant()
    assert main(_wipe_args(dirs, "--yes", loop.dev, roots[0])) == 2
    err = capsys.readouterr().err
    assert "refused" in err and "root filesystem" in err and "nothing was wiped" in err
    assert loop.read_image().count(MARKER) == 8
    assert not dirs["records"].exists()


def test_wipe_without_key_is_a_clear_error(
    make_loop: Callable[..., Loop], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loop = make_loop(8 * MiB)
    loop.plant()
    code = main(["wipe", "--key-dir", str(tmp_path / "nokeys"), "--yes", loop.dev])
    assert code == 1
    err = capsys.readouterr().err
    assert "no station key" in err and "digibench keygen" in err
    assert loop.read_image().count(MARKER) == 8


@pytest.mark.parametrize("bad", ["0", "101", "lots", "-5"])
def test_bad_verify_value_is_rejected(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["wipe", "--verify", bad, "/dev/null"])
    assert exc.value.code == 2
    assert "--verify" in capsys.readouterr().err


def test_verify_record_with_missing_key_file(tmp_path: Path) -> None:
    record = tmp_path / "r.json"
    record.write_text("{}")
    assert main(["verify-record", "--public-key", str(tmp_path / "none.pub"), str(record)]) == 1


def test_firmware_method_refused_where_the_disk_has_none(
    make_loop: Callable[..., Loop], dirs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    loop = make_loop(8 * MiB)
    loop.plant()
    assert main(_wipe_args(dirs, "--method", "firmware", "--yes", loop.dev)) == 2
    err = capsys.readouterr().err
    assert "no firmware erase available" in err and "virtual or loop disk" in err
    assert loop.read_image().count(MARKER) == 8


def test_plan_is_printed_with_method_and_level(
    make_loop: Callable[..., Loop], dirs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    loop = make_loop(8 * MiB)
    assert main(_wipe_args(dirs, "--method", "random", "--verify", "5", "--yes", loop.dev)) == 0
    out = capsys.readouterr().out
    assert "overwrite-random (clear): the station policy forces an overwrite" in out
    assert "verify sampled 5 %" in out
