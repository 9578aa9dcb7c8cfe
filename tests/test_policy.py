from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import InputError
from agent.policy import load_policy


def test_default_policy_matches_the_brief() -> None:
    policy = load_policy()
    assert policy.disk.reallocated_failing == 17
    assert policy.disk.nvme_percentage_used_worn == 50
    assert policy.battery.good_percent == 80
    assert policy.battery.worn_percent == 60


def test_override_changes_only_its_keys(tmp_path: Path) -> None:
    override = tmp_path / "policy.toml"
    override.write_text("[battery]\ngood_percent = 85\n")
    policy = load_policy(override)
    assert policy.battery.good_percent == 85
    assert policy.battery.worn_percent == 60
    assert policy.disk.reallocated_failing == 17


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[battery\n", "not valid TOML"),
        ("[battery]\ngood_percent = 'lots'\n", "battery.good_percent"),
        ("[disk]\nunknown_key = 1\n", "disk.unknown_key"),
    ],
)
def test_bad_override_is_a_clear_error(tmp_path: Path, text: str, match: str) -> None:
    override = tmp_path / "policy.toml"
    override.write_text(text)
    with pytest.raises(InputError, match=match):
        load_policy(override)


def test_missing_override_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read policy file"):
        load_policy(tmp_path / "nope.toml")
