"""Donation batches: who joins, the four-eyes sample, and when a batch may close."""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from agent.asset_tags import TagRangeError, expand_range
from server.ingest.models import ErasureRecord
from server.web import audit, evidence
from server.web.models import Batch, BatchItem, DeviceStatus, Lending, SpotCheck

MAX_RANGE = 5000


class BatchError(Exception):
    """A batch action refused; the message says why."""


def expand_tags(text: str) -> list[str]:
    """Scanned tags, one per line, or ranges like ``DG-000010..DG-000020``."""
    tags: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if ".." in line:
            first, _sep, last = line.partition("..")
            try:
                tags += expand_range(first, last, limit=MAX_RANGE)
            except TagRangeError as exc:
                raise BatchError(
                    _("Not a range of asset tags: %(line)s (use DG-000010..DG-000020).")
                    % {"line": line}
                ) from exc
        else:
            if len(line) > 256:
                raise BatchError(_("An asset tag has at most 256 characters."))
            tags.append(line)
    return list(dict.fromkeys(tags))


def add_tags(batch: Batch, text: str, user: User) -> int:
    if batch.closed_at is not None:
        raise BatchError(_("The batch is closed."))
    tags = expand_tags(text)
    if not tags:
        raise BatchError(_("No asset tags given."))
    taken = list(BatchItem.objects.filter(asset_tag__in=tags).exclude(batch=batch)[:10])
    if taken:
        listed = ", ".join(f"{i.asset_tag} (#{i.batch_id})" for i in taken)
        raise BatchError(_("Already in another batch: %(tags)s.") % {"tags": listed})
    have = set(BatchItem.objects.filter(batch=batch).values_list("asset_tag", flat=True))
    new = [t for t in tags if t not in have]
    try:
        with transaction.atomic():
            BatchItem.objects.bulk_create(
                BatchItem(batch=batch, asset_tag=t, added_by=user) for t in new
            )
            DeviceStatus.objects.filter(asset_tag__in=new).update(batch=batch)
            audit.record(user, "batch.tags_added", "batch", str(batch.pk), tags=new[:200])
    except IntegrityError as exc:
        raise BatchError(_("Another user added some of these tags at the same time.")) from exc
    return len(new)


def _wiped_by(record: ErasureRecord) -> str:
    """Operator name and badge as the station reported them."""
    try:
        report = json.loads(record.run.raw_body)
    except ValueError:
        return ""
    names = []
    for rec in report.get("erasures", []):
        if rec.get("record_id") == str(record.record_id) and rec.get("operator"):
            names.append(str(rec["operator"]))
    operator = report.get("operator") or {}
    names += [str(operator[k]) for k in ("name", "badge") if operator.get(k)]
    return "|".join(dict.fromkeys(names))


def erased_records(batch: Batch) -> list[ErasureRecord]:
    """The erasures of the batch's laptops (latest run of each) that claim success."""
    return list(
        ErasureRecord.objects.filter(
            run__in=DeviceStatus.objects.filter(batch=batch).values("last_run"),
            result__in=["erased", "erased_with_exceptions"],
        )
        .select_related("run")
        .order_by("id")
    )


def sample_size(batch: Batch, erased: int) -> int:
    if erased == 0:
        return 0
    return min(erased, max(1, math.ceil(erased * float(batch.sample_percent) / 100)))


def ensure_sample(batch: Batch) -> list[SpotCheck]:
    """Top the random sample up to the batch's share of its erased disks."""
    if batch.closed_at is not None:
        return list(batch.spot_checks.all())
    records = erased_records(batch)
    ids = {r.pk for r in records}
    chosen = {c.erasure_id for c in batch.spot_checks.all() if c.erasure_id in ids}
    missing = sample_size(batch, len(records)) - len(chosen)
    pool = [r for r in records if r.pk not in chosen]
    rng = secrets.SystemRandom()
    picks = rng.sample(pool, missing) if missing > 0 else []
    for rec in picks:
        SpotCheck.objects.get_or_create(
            batch=batch, erasure=rec, defaults={"wiped_by": _wiped_by(rec)}
        )
    return list(
        batch.spot_checks.filter(erasure_id__in=ids).select_related("erasure", "checked_by")
    )


def _identities(user: User) -> set[str]:
    names = {user.get_username(), user.get_full_name(), user.first_name, user.last_name}
    return {n.strip().lower() for n in names if n and n.strip()}


def record_check(check: SpotCheck, user: User, passed: bool, remark: str) -> None:
    """Record a four-eyes check; never by the operator who did the wipe."""
    wiped = {w.strip().lower() for w in check.wiped_by.split("|") if w.strip()}
    if wiped & _identities(user):
        raise BatchError(_("A wipe must be checked by someone other than the operator who did it."))
    if check.batch.closed_at is not None:
        raise BatchError(_("The batch is closed."))
    if check.checked_at is not None:
        raise BatchError(_("This erasure was already checked."))
    check.checked_by = user
    check.checked_at = timezone.now()
    check.passed = passed
    check.remark = remark
    check.save()
    audit.record(
        user,
        "spotcheck.recorded",
        "erasure",
        str(check.erasure.record_id),
        batch=check.batch_id,
        passed=passed,
        remark=remark,
    )


@dataclass
class Blocker:
    asset_tag: str
    problem: str


def blockers(batch: Batch) -> list[Blocker]:
    """Everything that keeps the batch open; empty means it may close.

    Laptops are taken one by one (by device, never keyed by tag), so a tag shared
    by two machines shows both, and the conflict itself blocks.
    """
    found: list[Blocker] = []
    items = list(batch.items.values_list("asset_tag", flat=True))
    if not items:
        found.append(Blocker("", _("the batch holds no laptops")))
    statuses = list(
        DeviceStatus.objects.filter(Q(batch=batch) | Q(asset_tag__in=items))
        .select_related("last_run")
        .order_by("asset_tag", "pk")
    )
    reported = {s.asset_tag for s in statuses}
    for tag in items:
        if tag not in reported:
            found.append(Blocker(tag, _("scanned, but no report has arrived")))
    for status in statuses:
        tag = status.asset_tag or str(status.serial)
        if not status.report_finished:
            found.append(Blocker(tag, _("the report is not finished")))
        if not status.decision:
            found.append(Blocker(tag, _("no final destination decided")))
        if status.lending == Lending.NEEDS_REWIPE:
            found.append(Blocker(tag, _("needs a re-wipe")))
        found += [Blocker(tag, m.text()) for m in evidence.erasure_missing(status)]
    for check in ensure_sample(batch):
        serial = check.erasure.disk_serial
        if check.checked_at is None:
            found.append(Blocker("", _("four-eyes check of disk %(disk)s open") % {"disk": serial}))
        elif not check.passed:
            found.append(
                Blocker("", _("four-eyes check of disk %(disk)s failed") % {"disk": serial})
            )
    return found


def close(batch: Batch, user: User) -> None:
    with transaction.atomic():
        locked = Batch.objects.select_for_update().get(pk=batch.pk)
        if locked.closed_at is not None:
            raise BatchError(_("The batch is already closed."))
        open_items = blockers(locked)
        if open_items:
            raise BatchError(
                _("The batch cannot close: %(points)s.")
                % {
                    "points": "; ".join(
                        f"{b.asset_tag}: {b.problem}".lstrip(": ") for b in open_items[:20]
                    )
                }
            )
        locked.closed_at = timezone.now()
        locked.closed_by = user
        locked.save(update_fields=["closed_at", "closed_by"])
        audit.record(user, "batch.closed", "batch", str(batch.pk), donor=batch.donor)
    batch.refresh_from_db()
