"""Intel AMT provisioning state from the ME (MEI), and what the policy does with it.

No Intel ME exists on the development machine or in QEMU: the answers are built
from the AMT host interface layout (see fixtures/sysroots/SOURCES.md, "amt"),
the sysfs entry the kernel makes for the AMTHI client is constructed.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from agent.checks.locks import lock_findings
from agent.grading import grade_report
from agent.policy import load_policy
from agent.probes.amt import AMTHI, STATE_RESPONSE, parse_state, probe_amt, request
from agent.probes.firmware_locks import probe_locks
from agent.report.samples import sample_report
from agent.report.schema import Mode

MEI_CLIENT = f"sys/bus/mei/devices/0000:00:16.0-{AMTHI}"


def answer(state: int, status: int = 0, command: int = STATE_RESPONSE) -> bytes:
    return struct.pack("<BBHIIII", 1, 1, 0, command, 8, status, state)


def amt_laptop(tmp_path: Path, sysroots: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(sysroots / "locks-thinkpad-lmi", root, symlinks=True)
    (root / MEI_CLIENT).mkdir(parents=True)
    return root


def test_the_request_is_the_provisioning_state_command() -> None:
    assert request() == bytes.fromhex("010100001100000400000000")


@pytest.mark.parametrize(("state", "word"), [(0, "pre"), (1, "in"), (2, "post")])
def test_each_state_is_read(state: int, word: str) -> None:
    assert parse_state(answer(state)) == word


def test_an_error_status_another_command_or_garbage_is_unknown() -> None:
    assert parse_state(answer(2, status=1)) is None
    assert parse_state(answer(2, command=0x0480001A)) is None
    assert parse_state(answer(7)) is None
    assert parse_state(b"\x01\x01") is None


def test_no_amt_client_means_nothing_is_asked(sysroots: Path) -> None:
    asked: list[bytes] = []
    root = sysroots / "locks-thinkpad-lmi"  # ME present (fw_ver) but no AMTHI client
    assert probe_amt(root, lambda m: asked.append(m) or answer(2)) is None
    assert asked == []


def test_a_provisioned_laptop_blocks_lending_by_policy(tmp_path: Path, sysroots: Path) -> None:
    asked: list[bytes] = []

    def me(message: bytes) -> bytes:
        asked.append(message)
        return answer(2)

    locks = probe_locks(amt_laptop(tmp_path, sysroots), amt=me)
    assert locks.amt_provisioning == "post" and asked == [request()]
    assert ("amt_provisioned", "lock.amt_provisioned", {"state": "post"}) in lock_findings(locks)
    report = sample_report(7).model_copy(update={"mode": Mode.INTAKE})
    report.components.locks = locks.model_copy(update={"passwords": [], "theft_recovery": []})
    assert report.components.cpu is not None
    report.components.cpu.flags.append("lm")  # 64-bit, as the sample's real CPU is
    grade = grade_report(report, load_policy())
    amt = next(r for r in grade.reasons if r.code == "lock.amt_provisioned")
    assert amt.severity == "error" and grade.destination.value != "lend"
    assert "unprovision Intel AMT in the firmware (MEBx)" in grade.to_fix


def test_an_unprovisioned_amt_is_no_lock_and_an_me_that_fails_is_unknown(
    tmp_path: Path, sysroots: Path
) -> None:
    root = amt_laptop(tmp_path, sysroots)
    clean = probe_locks(root, amt=lambda _m: answer(0))
    assert clean.amt_provisioning == "pre"
    assert not any(code == "lock.amt_provisioned" for _k, code, _f in lock_findings(clean))

    def busy(_message: bytes) -> bytes:
        raise OSError(16, "Device or resource busy")

    assert probe_locks(root, amt=busy).amt_provisioning is None
    assert probe_locks(root).amt_provisioning is None  # a recorded tree: no ME to ask
