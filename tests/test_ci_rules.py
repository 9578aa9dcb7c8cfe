"""The rules that keep CI honest: a proof that skipped fails, a suite that ran nothing fails,
and the set-up names what is missing instead of letting a proof skip for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROOFS = """
import pytest

def test_runs():
    assert 1 + 1 == 2

def test_needs_a_tool():
    pytest.skip("qemu-system-x86_64 is not installed (scripts/setup-debian.sh images)")

@pytest.mark.images
def test_boots():
    pytest.skip("OVMF is not installed")
"""


def _pytest(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_proofs.py").write_text(PROOFS)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    images: boots\n    e2e: vm\n")
    clean = {k: v for k, v in os.environ.items() if k != "DIGIBENCH_STRICT"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-q", "--junitxml",
         str(tmp_path / "results" / "fast.xml"), "-c", str(tmp_path / "pytest.ini"),
         str(tmp_path), *args],
        cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_skip_is_allowed_for_a_developer_and_the_opt_in_proof_is_deselected(
    tmp_path: Path,
) -> None:
    run = _pytest(tmp_path)
    assert run.returncode == 0, run.stdout
    assert "1 passed, 1 skipped, 1 deselected" in run.stdout


def test_under_strict_a_skipped_proof_fails_with_its_reason(tmp_path: Path) -> None:
    run = _pytest(tmp_path, DIGIBENCH_STRICT="1")
    assert run.returncode == 1, run.stdout
    assert "a proof that must run was skipped: qemu-system-x86_64 is not installed" in run.stdout


def test_an_opt_in_proof_that_was_asked_for_fails_instead_of_skipping(tmp_path: Path) -> None:
    run = _pytest(tmp_path, "-m", "images")
    assert run.returncode == 1, run.stdout
    assert "a proof that must run was skipped: OVMF is not installed" in run.stdout


def _summary(results: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "test_summary.py"), str(results), *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_summary_prints_a_line_per_suite_and_fails_on_skips_and_missing_suites(
    tmp_path: Path,
) -> None:
    _pytest(tmp_path)  # 1 passed, 1 skipped
    results = tmp_path / "results"
    relaxed = _summary(results, "--require", "fast", "--no-strict")
    assert relaxed.returncode == 0, relaxed.stdout
    assert relaxed.stdout.splitlines()[-1] == "ci: 1 passed, 0 failed, 1 skipped"
    strict = _summary(results, "--require", "fast", "--strict")
    assert strict.returncode == 1
    assert "fast: 1 skipped where every proof must run" in strict.stdout
    missing = _summary(results, "--require", "fast", "e2e", "--no-strict")
    assert missing.returncode == 1
    assert "FAILED: suite e2e did not run" in missing.stdout


def _results(tmp_path: Path, suite: str, xml: str) -> Path:
    """A results folder holding one suite's JUnit XML."""
    results = tmp_path / "results"
    results.mkdir()
    (results / f"{suite}.xml").write_text(xml)
    return results


def test_the_summary_names_each_failed_test_with_its_message(tmp_path: Path) -> None:
    results = _results(
        tmp_path,
        "fast",
        '<testsuites><testsuite name="pytest" tests="3" failures="1" errors="1" skipped="0" '
        'time="2.0"><testcase classname="tests.erase.test_units" name="test_ok" time="0.1"/>'
        '<testcase classname="tests.erase.test_units" name="test_pass" time="0.5">'
        '<failure message="hypothesis.errors.DeadlineExceeded: 250ms&#10;more">tb</failure>'
        '</testcase><testcase classname="tests.web.test_x" name="test_fixture" time="0.1">'
        '<error message="failed on setup with &quot;OSError&quot;">tb</error></testcase>'
        "</testsuite></testsuites>",
    )
    run = _summary(results, "--require", "fast", "--no-strict")
    assert run.returncode == 1
    assert (
        "failed: tests.erase.test_units::test_pass: hypothesis.errors.DeadlineExceeded: 250ms\n"
        in run.stdout
    )
    assert 'failed: tests.web.test_x::test_fixture: failed on setup with "OSError"' in run.stdout
    assert "failed: tests.erase.test_units::test_ok" not in run.stdout
    slowest = [line.split()[1:] for line in run.stdout.splitlines() if "slowest:" in line]
    assert slowest == [["0.5", "s", "tests.erase.test_units::test_pass"],
                       ["0.1", "s", "tests.erase.test_units::test_ok"],
                       ["0.1", "s", "tests.web.test_x::test_fixture"]]  # fmt: skip


def test_the_summary_fails_a_suite_that_ran_nothing(tmp_path: Path) -> None:
    results = _results(
        tmp_path,
        "e2e",
        '<testsuites><testsuite name="pytest" tests="0" failures="0" errors="0" skipped="0" '
        'time="0.1"/></testsuites>',
    )
    run = _summary(results, "--require", "e2e", "--no-strict")
    assert run.returncode == 1
    assert "FAILED: suite e2e ran no test" in run.stdout


def test_setup_names_what_is_missing_when_it_may_not_install() -> None:
    run = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup-debian.sh")],
        env={**os.environ, "DIGIBENCH_NO_INSTALL": "1",
             "DIGIBENCH_EXTRA_PACKAGES": "digibench-no-such-package"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1
    assert "missing Debian packages: digibench-no-such-package" in run.stderr
    assert "not installing them (DIGIBENCH_NO_INSTALL is set)" in run.stderr


def test_setup_knows_the_packages_the_boot_proofs_need() -> None:
    script = (ROOT / "scripts" / "setup-debian.sh").read_text()
    images = script.split("IMAGES=(", 1)[1].split(")", 1)[0].split()
    for package in ("qemu-system-x86", "ovmf", "seabios", "debootstrap", "xorriso"):
        assert package in images, package
