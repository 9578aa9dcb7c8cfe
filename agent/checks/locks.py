"""The firmware locks found, each with the policy key that decides what it does.

One list, used by the grading (block/repair/note/ignore) and by the confirm
screen (the volunteer sees them before erasing, while the donor can still be asked).
"""

from __future__ import annotations

from agent.policy import EffectsPolicy
from agent.report.reasons import ParamValue, reason
from agent.report.schema import CheckKind, CheckOutcome, FirmwareLocks, Reason

Finding = tuple[str, str, dict[str, ParamValue]]
#: the check kind (its row and its [effects] entry) of each finding's key
LOCK_KINDS: dict[str, CheckKind] = {
    "firmware_password": CheckKind.FIRMWARE_PASSWORD,
    "secure_boot_off": CheckKind.SECURE_BOOT,
    "theft_recovery": CheckKind.THEFT_RECOVERY,
    "amt_provisioned": CheckKind.AMT,
    "asset_tag": CheckKind.ASSET_TAG,
}


def lock_findings(locks: FirmwareLocks) -> list[Finding]:
    """(policy key, reason code, facts) for every lock that is on."""
    found: list[Finding] = []
    for password in locks.passwords:
        if password.enabled:
            found.append(("firmware_password", "lock.firmware_password", {"name": password.name}))
    for agent in locks.theft_recovery:
        if agent.active:
            facts: dict[str, ParamValue] = {"name": agent.name, "state": agent.value or ""}
            found.append(("theft_recovery", "lock.theft_recovery", facts))
    if locks.asset_tag:
        found.append(("asset_tag", "lock.asset_tag", {"tag": locks.asset_tag}))
    if locks.amt_provisioning in ("in", "post"):
        found.append(("amt_provisioned", "lock.amt_provisioned", {"state": locks.amt_provisioning}))
    if locks.secure_boot is False:
        found.append(("secure_boot_off", "lock.secure_boot_off", {}))
    return found


def lock_warnings(locks: FirmwareLocks | None, policy: EffectsPolicy) -> list[Reason]:
    """The locks the policy does not ignore, as reasons to show before erasing."""
    if locks is None:
        return []
    return [
        reason(code, "warning", None, **facts)
        for key, code, facts in lock_findings(locks)
        if policy.effect(LOCK_KINDS[key], CheckOutcome.FAIL) != "ignore"
    ]
