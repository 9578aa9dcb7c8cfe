"""Donation batches: who joins, the four-eyes sample, and when a batch may close."""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agent.asset_tags import TagRangeError, expand_range
from server.ingest.models import ErasureRecord
from server.web import audit, evidence
from server.web.models import Batch, BatchItem, Certificate, DeviceStatus, SpotCheck
from server.web.summary import ERASED_RESULTS

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
                    _(
                        "Not a range of asset tags: %(line)s (same prefix, ascending, at "
                        "most %(max)d tags, e.g. DG-000010..DG-000020)."
                    )
                    % {"line": line, "max": MAX_RANGE}
                ) from exc
        else:
            if len(line) > 256:
                raise BatchError(_("An asset tag has at most 256 characters."))
            tags.append(line)
    return list(dict.fromkeys(tags))


def _open_locked(batch: Batch) -> Batch:
    """The batch again, locked to the commit, refused if it has closed meanwhile: the
    caller's copy may date from before another coordinator closed it."""
    locked = Batch.objects.select_for_update().get(pk=batch.pk)
    if locked.closed_at is not None:
        raise BatchError(_("The batch is closed."))
    return locked


def add_tags(batch: Batch, text: str, user: User) -> int:
    tags = expand_tags(text)
    if not tags:
        raise BatchError(_("No asset tags given."))
    try:
        with transaction.atomic():
            # a batch that closes takes this lock too: no tag joins it after its check
            batch = _open_locked(batch)
            taken = list(BatchItem.objects.filter(asset_tag__in=tags).exclude(batch=batch)[:10])
            if taken:
                listed = ", ".join(f"{i.asset_tag} (#{i.batch_id})" for i in taken)
                raise BatchError(_("Already in another batch: %(tags)s.") % {"tags": listed})
            have = set(BatchItem.objects.filter(batch=batch).values_list("asset_tag", flat=True))
            new = [t for t in tags if t not in have]
            BatchItem.objects.bulk_create(
                BatchItem(batch=batch, asset_tag=t, added_by=user) for t in new
            )
            DeviceStatus.objects.filter(asset_tag__in=new).update(batch=batch)
            audit.record(user, "batch.tags_added", "batch", str(batch.pk), tags=new[:200])
    except IntegrityError as exc:
        raise BatchError(
            _("Another user added some of these tags at the same time; try again.")
        ) from exc
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


def draw_sample(batch: Batch, user: User) -> int:
    """The coordinator's explicit "draw the four-eyes sample": tops it up, audited.

    Only this POST action creates checks; looking at a batch never does.
    """
    with transaction.atomic():
        locked = _open_locked(batch)
        before = set(SpotCheck.objects.filter(batch=locked).values_list("pk", flat=True))
        checks = ensure_sample(locked)
        new = [c for c in checks if c.pk not in before]
        audit.record(
            user,
            "spotcheck.sampled",
            "batch",
            str(batch.pk),
            records=[str(c.erasure.record_id) for c in new],
            sample=len(checks),
        )
    return len(new)


def _identities(user: User) -> set[str]:
    names = {user.get_username(), user.get_full_name(), user.first_name, user.last_name}
    return {n.strip().lower() for n in names if n and n.strip()}


def record_check(check: SpotCheck, user: User, passed: bool, remark: str) -> None:
    """Record a four-eyes check; never by the operator who did the wipe."""
    wiped = {w.strip().lower() for w in check.wiped_by.split("|") if w.strip()}
    if wiped & _identities(user):
        raise BatchError(_("A wipe must be checked by someone other than the operator who did it."))
    with transaction.atomic():
        _open_locked(check.batch)  # the batch's close waits, or was first and refuses this
        current = SpotCheck.objects.select_for_update().get(pk=check.pk)
        if current.checked_at is not None:  # a second checker at the same moment
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
    #: what to do about it, in the coordinator's words
    next_step: str = ""
    #: the laptop's key, to link to its page
    device: int | None = None
    #: the disk it is about, if one
    disk: str = ""

    @property
    def laptop(self) -> str:
        """The laptop as the coordinator finds it: its tag, and the disk if it is one's."""
        return f"{self.asset_tag} ({self.disk})" if self.disk else self.asset_tag


_NEXT_FOR_MISSING = {
    "tag_conflict": gettext_lazy("Retag or merge the two laptops on the laptop's page."),
    "no_intake": gettext_lazy("Run the laptop through intake at a workbench station."),
    "unfinished": gettext_lazy("Run the laptop through a station again until the report ends."),
    "no_disks": gettext_lazy("Run the laptop through intake at a workbench station."),
    "not_rewiped": gettext_lazy("Run the laptop through intake at a workbench station."),
}
_NEXT_FOR_DISK = gettext_lazy(
    "Wipe the laptop again at a station, or record the disk as physically destroyed "
    "on the laptop's page."
)


@dataclass
class Step:
    """One stage of a batch's progress: how many of how many got there."""

    key: str
    label: str
    done: int
    total: int

    @property
    def percent(self) -> int:
        if self.total <= 0:
            return 0
        return min(100, round(100 * self.done / self.total))


def steps(
    *,
    expected: int,
    scanned: int,
    reported: int,
    decided: int,
    sample_need: int,
    checked: int,
    certified: int,
) -> list[Step]:
    """The five stages, the same on the batch list and the batch page."""
    return [
        Step("received", _("received"), scanned, max(expected, scanned)),
        Step("reported", _("reported"), min(reported, scanned), scanned),
        Step("decided", _("decided"), min(decided, scanned), scanned),
        Step("checked", _("four-eyes checked"), min(checked, sample_need), sample_need),
        Step("certified", _("certified"), min(certified, scanned), scanned),
    ]


@dataclass
class Overview:
    """Everything the batch page shows, gathered in a constant number of queries."""

    items: list[tuple[str, DeviceStatus | None]]
    blockers: list[Blocker]
    steps: list[Step]
    checks: list[SpotCheck]
    sample_need: int
    sample_have: int


_ERASED = list(ERASED_RESULTS)


def overview(batch: Batch) -> Overview:
    """The batch's laptops, progress and, while open, what keeps it from closing.

    Laptops are taken one by one (by device, never keyed by tag), so a tag shared
    by two machines shows both, and the conflict itself blocks.
    """
    items = list(batch.items.values_list("asset_tag", flat=True))
    # By asset tag (selective), not by batch_id, whose statistics make SQLite scan; a
    # laptop's batch is the batch its tag was scanned into (summary.refresh), so this is
    # every laptop of the batch, and every machine under one of its tags.
    statuses = list(
        DeviceStatus.objects.filter(
            asset_tag__in=BatchItem.objects.filter(batch=batch).values("asset_tag")
        )
        .defer("search")
        .order_by("asset_tag", "pk")
    )
    members = [s for s in statuses if s.batch_id == batch.pk]
    records = ErasureRecord.objects.filter(
        run_id__in=[s.last_run_id for s in members if s.last_run_id], result__in=_ERASED
    )
    current = set(records.values_list("pk", flat=True))
    checks = [
        c
        for c in SpotCheck.objects.filter(batch=batch)
        .select_related("erasure__run__device", "checked_by")
        .defer("erasure__run__raw_body")
        if c.erasure_id in current or batch.closed_at is not None
    ]
    need = sample_size(batch, len(current))
    certs = Certificate.objects.filter(revoked_at__isnull=True).filter(
        Q(kind=Certificate.Kind.DONOR, batch=batch)
        | Q(kind=Certificate.Kind.LAPTOP, device_id__in=[s.pk for s in members])
    )
    certified_devices = set()
    donor = False
    for kind, device_id in certs.values_list("kind", "device_id"):
        donor = donor or kind == Certificate.Kind.DONOR
        certified_devices.add(device_id)
    by_tag = {s.asset_tag: s for s in members}
    return Overview(
        items=[(t, by_tag.get(t)) for t in items],
        blockers=_blockers(batch, items, statuses, checks, need) if batch.closed_at is None else [],
        steps=steps(
            expected=batch.expected_count,
            scanned=len(items),
            reported=len(members),
            decided=sum(1 for s in members if s.decision),
            sample_need=need,
            checked=sum(1 for c in checks if c.passed),
            certified=len(items) if donor else len(certified_devices - {None}),
        ),
        checks=checks,
        sample_need=need,
        sample_have=len(checks),
    )


def progress_many(shown: list[Batch]) -> dict[int, list[Step]]:
    """The progress steps of many batches in six queries, whatever their number or size."""
    ids = [b.pk for b in shown]
    scanned = dict(
        BatchItem.objects.filter(batch_id__in=ids)
        .values("batch_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("batch_id", "n")
    )
    laptops: dict[int, dict[str, int]] = {
        row["batch_id"]: row
        for row in DeviceStatus.objects.filter(batch_id__in=ids)
        .values("batch_id")
        .annotate(
            reported=Count("pk"),
            decided=Count("pk", filter=~Q(decision="")),
            erased=Sum("erased_disks"),  # stored at ingest (summary.py): no join to erasures
        )
        .order_by()
    }
    # From the (few) passed checks to their laptops, never from every laptop to the checks.
    current = DeviceStatus.objects.filter(
        last_run_id=OuterRef("erasure__run_id"), batch_id=OuterRef("batch_id")
    )
    checked = dict(
        SpotCheck.objects.filter(batch_id__in=ids, passed=True)
        .filter(Exists(current))
        .values("batch_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("batch_id", "n")
    )
    valid = Certificate.objects.filter(revoked_at__isnull=True)
    donor = set(
        valid.filter(kind=Certificate.Kind.DONOR, batch_id__in=ids).values_list(
            "batch_id", flat=True
        )
    )
    certified = dict(
        valid.filter(kind=Certificate.Kind.LAPTOP, device__status__batch_id__in=ids)
        .values("device__status__batch_id")
        .annotate(n=Count("device_id", distinct=True))
        .order_by()
        .values_list("device__status__batch_id", "n")
    )
    found: dict[int, list[Step]] = {}
    for b in shown:
        row = laptops.get(b.pk, {})
        items = scanned.get(b.pk, 0)
        found[b.pk] = steps(
            expected=b.expected_count,
            scanned=items,
            reported=row.get("reported", 0),
            decided=row.get("decided", 0),
            sample_need=sample_size(b, row.get("erased", 0)),
            checked=checked.get(b.pk, 0),
            certified=items if b.pk in donor else certified.get(b.pk, 0),
        )
    return found


def _blockers(
    batch: Batch,
    items: list[str],
    statuses: list[DeviceStatus],
    checks: list[SpotCheck],
    need: int,
) -> list[Blocker]:
    found: list[Blocker] = []
    if not items:
        found.append(
            Blocker(
                "",
                _("the batch holds no laptops"),
                _("Scan the laptops' asset tags into the batch below."),
            )
        )
    # Each sentence is translated once, not once per laptop (1,500 blockers on a big batch).
    unreported = (
        _("scanned, but no report has arrived"),
        _("Run the laptop through a workbench station under this asset tag."),
    )
    unfinished = (
        _("the report is not finished"),
        _("Run the laptop through a station again until the report ends."),
    )
    undecided = (
        _("no final destination decided"),
        _("Decide the destination on the laptop's page or in the review queue."),
    )
    # by what the words depend on: the code and its facts other than the disk
    said: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, str]] = {}
    reported = {s.asset_tag for s in statuses}
    for tag in items:
        if tag not in reported:
            found.append(Blocker(tag, *unreported))
    missing = evidence.erasure_missing_many(statuses)
    for status in statuses:
        tag = status.asset_tag or str(status.serial)
        if not status.report_finished:
            found.append(Blocker(tag, *unfinished, status.pk))
        if not status.decision:
            found.append(Blocker(tag, *undecided, status.pk))
        for m in missing[status.pk]:
            if m.code == "unfinished" and not status.report_finished:
                continue  # said above already
            key = (m.code, tuple(sorted((k, v) for k, v in m.params.items() if k != "disk")))
            if key not in said:
                step = _NEXT_FOR_MISSING.get(m.code, _NEXT_FOR_DISK)
                said[key] = (m.problem(), str(step))
            found.append(Blocker(tag, *said[key], status.pk, m.disk))
    if len(checks) < need:
        found.append(
            Blocker(
                "",
                _("four-eyes sample not drawn yet (%(have)d of %(need)d disks chosen)")
                % {"have": len(checks), "need": need},
                _('Draw the sample with the button under "Four-eyes checks".'),
            )
        )
    for check in checks:
        serial = check.erasure.disk_serial
        device = check.erasure.run.device
        if check.checked_at is None:
            found.append(
                Blocker(
                    device.asset_tag,
                    _("four-eyes check of disk %(disk)s open") % {"disk": serial},
                    _(
                        "Someone who did not do the wipe checks the erasure and records "
                        'the outcome under "Four-eyes checks".'
                    ),
                    device.pk,
                )
            )
        elif not check.passed:
            found.append(
                Blocker(
                    device.asset_tag,
                    _("four-eyes check of disk %(disk)s failed") % {"disk": serial},
                    str(FAILED_CHECK_GUIDANCE),
                    device.pk,
                )
            )
    return found


#: what to do after a failed four-eyes check
FAILED_CHECK_GUIDANCE = gettext_lazy(
    "Wipe the laptop again at a workbench station: the new report replaces the failed "
    "erasure. Then draw the sample again and record a new four-eyes check."
)


@dataclass
class BlockerGroup:
    """One problem with every laptop it holds back, and the next step once."""

    problem: str
    next_step: str
    laptops: list[tuple[str, int | None]]


def grouped(found: list[Blocker]) -> list[BlockerGroup]:
    """Blockers by problem and next step, in first-seen order: 500 undecided laptops are
    one line with their tags, not 500 lines."""
    groups: dict[tuple[str, str], BlockerGroup] = {}
    for b in found:
        key = (b.problem, b.next_step)
        if key not in groups:
            groups[key] = BlockerGroup(b.problem, b.next_step, [])
        if b.asset_tag:
            groups[key].laptops.append((b.laptop, b.device))
    return list(groups.values())


def blockers(batch: Batch) -> list[Blocker]:
    """Everything that keeps the batch open; empty means it may close."""
    return overview(batch).blockers


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
                        f"{b.laptop}: {b.problem}".lstrip(": ") for b in open_items[:20]
                    )
                }
            )
        locked.closed_at = timezone.now()
        locked.closed_by = user
        locked.save(update_fields=["closed_at", "closed_by"])
        audit.record(user, "batch.closed", "batch", str(batch.pk), donor=batch.donor)
    batch.refresh_from_db()
