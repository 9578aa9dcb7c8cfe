"""Every check kind's every outcome has one effect, from the policy's [effects] alone.

The policy file is the one place: each kind in the schema has an entry there
for each outcome it can have, the grade's check rows carry exactly that
effect, and changing the entry moves the laptop (block, repair list, note,
nothing) without a line of code.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from tempfile import TemporaryDirectory

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.grading import grade_report
from agent.policy import EffectsPolicy, load_policy
from agent.report.schema import CheckKind, CheckOutcome, Grade, Mode
from tests.check_reports import EVERY_KIND_OF_ROW, LOCKS, POSSIBLE, checked_report

EFFECTS = ("block", "repair", "note", "ignore")
NOT_PASS = [(k, o) for k in CheckKind for o in POSSIBLE[k] if o is not CheckOutcome.PASS]


def _shipped_effects() -> dict[str, dict[str, str]]:
    text = resources.files("agent.policy").joinpath("default.toml").read_text()
    effects: dict[str, dict[str, str]] = tomllib.loads(text)["effects"]
    return effects


def test_every_check_kind_in_the_schema_has_an_entry_per_outcome_in_the_policy_file() -> None:
    shipped = _shipped_effects()
    assert set(shipped) == {k.value for k in CheckKind} == set(EffectsPolicy.model_fields)
    policy = load_policy()
    for kind in CheckKind:
        for outcome in POSSIBLE[kind]:
            if outcome is CheckOutcome.PASS:
                assert policy.effects.effect(kind, outcome) == "ignore"
                continue
            # written in the file itself, not a default in code
            assert shipped[kind.value][outcome.value] in EFFECTS, (kind, outcome)
            assert policy.effects.effect(kind, outcome) == shipped[kind.value][outcome.value]


def _row(grade: Grade, kind: CheckKind) -> tuple[str, str]:
    rows = [r for r in grade.checks if r.kind is kind]
    assert len(rows) == 1  # exactly one row, so exactly one effect
    return rows[0].outcome.value, rows[0].effect


def test_a_clean_laptop_has_one_passing_row_per_check_kind() -> None:
    grade = grade_report(checked_report(), load_policy())
    assert grade.grade == "A"
    assert [r.kind for r in grade.checks] == list(CheckKind)
    assert {(r.outcome, r.effect) for r in grade.checks} == {(CheckOutcome.PASS, "ignore")}


def _policy_file(folder: Path, kind: CheckKind, outcome: CheckOutcome, effect: str) -> Path:
    lines = [f'[effects]\n{kind.value} = {{ {outcome.value} = "{effect}" }}']
    if outcome is CheckOutcome.POLICY_SKIPPED:
        lines.append(f'[checks]\nskip = ["{kind.value}"]')
    path = folder / "policy.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@settings(max_examples=150, deadline=None)
@given(pair=st.sampled_from(NOT_PASS), effect=st.sampled_from(EFFECTS))
def test_the_policy_entry_alone_decides_what_an_outcome_does(
    pair: tuple[CheckKind, CheckOutcome], effect: str
) -> None:
    _assert_moves(*pair, effect)


def test_every_entry_of_every_kind_moves_its_check() -> None:
    """Exhaustively, each (kind, outcome) entry set to each effect: the sampled property above
    over all of them."""
    for kind, outcome in NOT_PASS:
        for effect in EFFECTS:
            _assert_moves(kind, outcome, effect)


def _assert_moves(kind: CheckKind, outcome: CheckOutcome, effect: str) -> None:
    with TemporaryDirectory() as folder:
        policy = load_policy(_policy_file(Path(folder), kind, outcome, effect))
    grade = grade_report(checked_report({kind: outcome}), policy)
    assert _row(grade, kind) == (outcome.value, effect)
    # everything else passes, so the grade is this one effect's doing
    expected = {"block": "C", "repair": "C", "note": "B", "ignore": "A"}[effect]
    assert grade.grade == expected, (kind, outcome, effect, grade.reasons)
    assert bool(grade.to_fix) is (effect in ("block", "repair"))
    problems = [r for r in grade.reasons if r.severity != "info"]
    assert len(problems) == (0 if effect == "ignore" else 1)


@pytest.mark.parametrize("kind", sorted(LOCKS))
def test_locks_on_a_residents_own_laptop_are_only_shown(kind: CheckKind) -> None:
    report = checked_report({kind: CheckOutcome.FAIL}).model_copy(update={"mode": Mode.CHECK})
    grade = grade_report(report, load_policy())
    assert _row(grade, kind) == ("fail", "ignore")


def test_every_kind_of_row_in_one_run() -> None:
    grade = grade_report(checked_report(EVERY_KIND_OF_ROW), load_policy())
    rows = {r.kind: (r.outcome, r.effect) for r in grade.checks}
    assert rows[CheckKind.MEMORY_TEST] == (CheckOutcome.FAIL, "block")
    assert rows[CheckKind.CAMERA] == (CheckOutcome.FAIL, "repair")
    assert rows[CheckKind.BLUETOOTH] == (CheckOutcome.FAIL, "note")
    assert rows[CheckKind.SCREEN] == (CheckOutcome.OPERATOR_SKIPPED, "note")
    assert rows[CheckKind.CHARGING] == (CheckOutcome.NOT_AVAILABLE, "ignore")
    assert rows[CheckKind.SECURE_BOOT] == (CheckOutcome.FAIL, "ignore")
    assert grade.grade == "C"


def test_a_memory_test_the_policy_does_not_run_is_policy_skipped() -> None:
    report = checked_report()
    report.tests = [t for t in report.tests if t.name != "memory_test"]
    grade = grade_report(report, load_policy())
    assert _row(grade, CheckKind.MEMORY_TEST) == ("policy_skipped", "ignore")
    assert grade.grade == "A"


def test_an_override_in_the_earlier_layout_still_moves_the_same_checks(tmp_path: Path) -> None:
    old = tmp_path / "old.toml"
    old.write_text(
        '[grading]\nkey_tests = ["keyboard"]\n'
        '[checks]\ncamera = "note"\nthermal_limit_c = 80\n'
        '[locks]\nsecure_boot_off = "block"\n'
        '[effects]\ncamera = { not_available = "repair" }\n'
    )
    effects = load_policy(old).effects
    assert effects.camera.fail == "note" and effects.camera.not_available == "repair"
    assert effects.secure_boot.fail == "block"
    assert (effects.keyboard.fail, effects.keyboard.operator_skipped) == ("repair", "note")
    assert (effects.screen.fail, effects.screen.operator_skipped) == ("note", "ignore")
    assert load_policy(old).checks.thermal_limit_c == 80


def test_a_wrong_effect_is_a_clear_policy_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[effects]\ncamera = { fail = "sometimes" }\n')
    with pytest.raises(Exception, match="policy"):
        load_policy(bad)
