"""The evidence rules: when a laptop counts as erased, and when it may be lent.

Every path that certifies, closes a batch, lends or decides a lending destination
asks these two functions, so there is one place that says what "proven" means.
Each returns what is missing as codes with facts; ``Missing.text`` says it in the
operator's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import F, OuterRef, Subquery
from django.utils.translation import gettext_lazy

from server.ingest.models import Disk, ErasureRecord, Run
from server.web import conflicts, vocabulary
from server.web.models import DeviceStatus, DiskDestruction
from server.web.vocabulary import Decision

#: grades whose laptops may go out on loan
LENDABLE_GRADES = vocabulary.LENDABLE_GRADES
#: the station's proposal and the coordinator's decisions that mean "lend it out"
LENDING_DESTINATIONS = frozenset({vocabulary.Proposal.LEND, *vocabulary.LOAN_DECISIONS})

_TEXTS = {
    "no_intake": gettext_lazy("no intake report"),
    "unfinished": gettext_lazy("the intake report is not finished"),
    "no_disks": gettext_lazy("the intake report names no internal disk"),
    "tag_conflict": gettext_lazy("asset tag %(tag)s is also used by another laptop"),
    "disk_no_record": gettext_lazy("no erasure record"),
    "disk_failed": gettext_lazy("wipe failed"),
    "disk_exceptions": gettext_lazy("erased with exceptions"),
    "disk_unverified": gettext_lazy("erasure not verified"),
    "disk_signature": gettext_lazy("erasure record signature %(status)s"),
    "no_image": gettext_lazy("no verified image"),
    "grade": gettext_lazy("grade %(grade)s does not allow lending"),
    "destination": gettext_lazy("destination %(destination)s is not a loan"),
    "not_rewiped": gettext_lazy("no erasure-proven intake run since the return"),
    "on_loan": gettext_lazy("the laptop is out on loan"),
}
#: a disk's problem with its name in front
_ON_DISK = gettext_lazy("Disk %(disk)s: %(problem)s")


@dataclass(frozen=True)
class Missing:
    """One piece of evidence that is not there."""

    code: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def disk(self) -> str:
        """The disk this is about ("" when it is about the whole laptop)."""
        return self.params.get("disk", "")

    def text(self) -> str:
        """In the operator's language, enum values by their label (never a raw code)."""
        if self.disk:
            return str(_ON_DISK) % {"disk": self.disk, "problem": self.problem()}
        return self.problem()

    def problem(self) -> str:
        """What is missing without naming the disk: the words that group many laptops."""
        words = dict(self.params)
        for name, kind in (("grade", "grade"), ("status", "signature")):
            if name in words:
                words[name] = vocabulary.label(kind, words[name])
        if "destination" in words:
            value = words["destination"]
            kind = "decision" if value in Decision.values else "proposal"
            words["destination"] = vocabulary.label(kind, value)
        return str(_TEXTS[self.code]) % words

    def __str__(self) -> str:
        return self.text()


def latest_intake(status: DeviceStatus) -> Run | None:
    return Run.objects.filter(device_id=status.pk, mode="intake").select_related("station").first()


def _disk_problem(records: list[tuple[str, str, bool | None]]) -> tuple[str, dict[str, str]]:
    """The problem of a disk's best record; ``("", {})`` when one record is proof."""
    worst: tuple[str, dict[str, str]] = ("disk_no_record", {})
    for result, signature, verified in records:
        if result == "failed":
            problem: tuple[str, dict[str, str]] = ("disk_failed", {})
        elif result != "erased":
            problem = ("disk_exceptions", {})
        elif not verified:
            problem = ("disk_unverified", {})
        elif signature != "valid":
            problem = ("disk_signature", {"status": signature})
        else:
            return "", {}
        worst = problem
    return worst


def erasure_missing(status: DeviceStatus) -> list[Missing]:
    """Empty when every internal disk of the latest intake run is proven erased or destroyed."""
    return erasure_missing_many([status])[status.pk]


def erasure_missing_many(statuses: Sequence[DeviceStatus]) -> dict[int, list[Missing]]:
    """``erasure_missing`` for many laptops at once, in a constant number of queries.

    A batch of 500 laptops is judged with six queries instead of six per laptop;
    the rule per laptop is the same (``erasure_missing`` is this with one laptop).
    """
    ids = [s.pk for s in statuses]
    if not ids:
        return {}
    conflicted = conflicts.conflicted_devices(ids)
    newest = (
        Run.objects.filter(device_id=OuterRef("device_id"), mode="intake")
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )
    # Plain rows, not model instances: a 500-laptop batch has 500 runs, 1,000 disks and
    # their records, and building objects would cost more than the queries.
    runs = {
        device_id: (run_id, finished)
        for device_id, run_id, finished in Run.objects.filter(device_id__in=ids, mode="intake")
        .annotate(newest=Subquery(newest))
        .filter(pk=F("newest"))
        .order_by()
        .values_list("device_id", "pk", "finished_at")
    }
    disks: dict[int, list[tuple[str, str]]] = {}
    run_ids = [run_id for run_id, _ in runs.values()]
    for run_id, name, serial in (
        Disk.objects.filter(run__in=run_ids, internal=True)
        .order_by("id")
        .values_list("run_id", "name", "serial")
    ):
        disks.setdefault(run_id, []).append((name, serial))
    # the record signatures as checked when the report arrived (ingest.service)
    records: dict[tuple[int, str], list[tuple[str, str, bool | None]]] = {}
    for run_id, serial, outcome, signature, verified in (
        ErasureRecord.objects.filter(run__in=run_ids)
        .order_by("id")
        .values_list("run_id", "disk_serial", "result", "signature_status", "verification_passed")
    ):
        records.setdefault((run_id, serial), []).append((outcome, signature, verified))
    destroyed: dict[int, set[str]] = {}
    for device_id, serial in DiskDestruction.objects.filter(device_id__in=ids).values_list(
        "device_id", "disk_serial"
    ):
        destroyed.setdefault(device_id, set()).add(serial)
    result: dict[int, list[Missing]] = {}
    for status in statuses:
        found = (
            [Missing("tag_conflict", {"tag": status.asset_tag})] if status.pk in conflicted else []
        )
        run = runs.get(status.pk)
        if run is None:
            result[status.pk] = [*found, Missing("no_intake")]
            continue
        run_id, finished = run
        if finished is None:
            found.append(Missing("unfinished"))
        run_disks = disks.get(run_id, [])
        if not run_disks:
            found.append(Missing("no_disks"))
        gone = destroyed.get(status.pk, set())
        for name, serial in run_disks:
            if serial and serial in gone:
                continue
            code, params = _disk_problem(records.get((run_id, serial), []) if serial else [])
            if code:
                found.append(Missing(code, {"disk": serial or name, **params}))
        result[status.pk] = found
    return result


def lending_missing(
    status: DeviceStatus, destination: str | None = None, since: datetime | None = None
) -> list[Missing]:
    """Empty when the laptop may be lent (to ``destination``, rewiped after ``since``)."""
    found = erasure_missing(status)
    run = latest_intake(status)
    if run is not None and not run.images.filter(verified=True).exists():
        found.append(Missing("no_image"))
    if status.grade not in LENDABLE_GRADES:
        found.append(Missing("grade", {"grade": status.grade or "-"}))
    dest = status.destination if destination is None else destination
    if dest not in LENDING_DESTINATIONS:
        found.append(Missing("destination", {"destination": dest or "-"}))
    # Newer on both clocks: a report made before the return but delivered after it (an old
    # one waiting in a station's outbox) proves nothing about the returned laptop.
    if since is not None and (run is None or run.received_at <= since or run.created_at <= since):
        found.append(Missing("not_rewiped"))
    return found


def erasure_proven(status: DeviceStatus) -> bool:
    return not erasure_missing(status)


def say(missing: list[Missing]) -> str:
    """All missing evidence as one sentence for a message."""
    return "; ".join(m.text() for m in missing)
