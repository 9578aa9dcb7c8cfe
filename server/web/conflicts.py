"""Asset tags claimed by two different machines: finding and resolving the conflict.

A laptop is one device by its hardware identity; a tag is only a label. When a
second machine arrives under a tag already in use, the ingest stores a
``TagConflict`` (see ``summary.note_conflicts``) and nothing under that tag can
be certified, lent or closed until a coordinator retags one or merges the two.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from server.ingest.models import Device, Disk, Run
from server.web import audit, summary
from server.web.models import Certificate, DeviceStatus, DiskDestruction, Note, TagConflict


class ConflictError(Exception):
    """A resolution refused; the message says why (translated)."""


def _open() -> QuerySet[TagConflict]:
    """Unresolved conflicts whose two devices still carry the tag (a later report may retag)."""
    # Correlated EXISTS rather than joins: the few conflicts drive the query, never a scan
    # of every device's tag (which SQLite chose for the join at 100,000 laptops).
    same_tag = Device.objects.filter(asset_tag=OuterRef("asset_tag"))
    return TagConflict.objects.filter(
        Exists(same_tag.filter(pk=OuterRef("device_id"))),
        Exists(same_tag.filter(pk=OuterRef("other_id"))),
        resolved_at__isnull=True,
    )


def open_queryset() -> QuerySet[TagConflict]:
    """The unresolved conflicts, as a query other queries can build on."""
    return _open()


def open_conflicts() -> list[TagConflict]:
    return list(_open()[:200])


def for_device(device_id: int) -> list[TagConflict]:
    return list(
        _open()
        .filter(Q(device_id=device_id) | Q(other_id=device_id))
        .select_related("device", "other")
    )


def conflicted_devices(device_ids: list[int]) -> set[int]:
    """Which of these devices share their tag with another machine (one query)."""
    found: set[int] = set()
    for pair in (
        _open()
        .filter(Q(device_id__in=device_ids) | Q(other_id__in=device_ids))
        .values_list("device_id", "other_id")
    ):
        found.update(pair)
    return found & set(device_ids)


def _settle(device_ids: set[int], user: User, resolution: str) -> None:
    """Mark the conflicts of these devices resolved where the tags no longer clash."""
    for c in TagConflict.objects.filter(resolved_at__isnull=True).filter(
        Q(device_id__in=device_ids) | Q(other_id__in=device_ids)
    ):
        tags = dict(
            Device.objects.filter(pk__in=[c.device_id, c.other_id]).values_list("pk", "asset_tag")
        )
        if len(tags) < 2 or tags[c.device_id] != tags[c.other_id]:
            c.resolved_at = timezone.now()
            c.resolved_by = user
            c.resolution = resolution
            c.save(update_fields=["resolved_at", "resolved_by", "resolution"])


def retag(status: DeviceStatus, new_tag: str, user: User) -> None:
    """Give one of the clashing laptops its own (unused) tag."""
    new_tag = new_tag.strip()
    if not new_tag or len(new_tag) > 256:
        raise ConflictError(_("Give the new asset tag (at most 256 characters)."))
    if Device.objects.filter(asset_tag=new_tag).exists():
        raise ConflictError(_("Asset tag %(tag)s is already in use.") % {"tag": new_tag})
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=status.pk)
        old = device.asset_tag
        device.asset_tag = new_tag
        device.save(update_fields=["asset_tag"])
        summary.refresh(device)
        _settle({device.pk}, user, f"retag {old} -> {new_tag}")
        audit.record(user, "device.retagged", "device", str(device.pk), old=old, new=new_tag)


def _hardware(device: Device) -> set[str]:
    ids = {f"serial:{device.serial}"} if device.serial else set()
    if device.dmi_uuid:
        ids.add(f"uuid:{device.dmi_uuid}")
    ids |= {
        f"disk:{s}"
        for s in Disk.objects.filter(run__device=device, internal=True).values_list(
            "serial", flat=True
        )
        if s
    }
    return ids


def merge(keep: DeviceStatus, other_id: int, user: User) -> None:
    """Fold another device record into this one: only when it is the same hardware."""
    conflict = next((c for c in for_device(keep.pk) if other_id in (c.device_id, c.other_id)), None)
    if conflict is None or other_id == keep.pk:
        raise ConflictError(_("These laptops are not in conflict."))
    with transaction.atomic():
        # both in key order: two coordinators folding the pair either way wait in turn
        pair = {
            d.pk: d
            for d in Device.objects.select_for_update()
            .filter(pk__in=[keep.pk, other_id])
            .order_by("pk")
        }
        if len(pair) != 2:
            raise ConflictError(_("These laptops are not in conflict."))
        target, other = pair[keep.pk], pair[other_id]
        if not _hardware(target) & _hardware(other):
            raise ConflictError(
                _("These are different machines (no shared serial, UUID or disk): retag one.")
            )
        for model in (Run, Note, DiskDestruction, Certificate):
            model.objects.filter(device=other).update(device=target)
        TagConflict.objects.filter(Q(device=other) | Q(other=other)).update(
            resolved_at=timezone.now(), resolved_by=user, resolution=f"merged into {target.pk}"
        )
        DeviceStatus.objects.filter(pk=other.pk).delete()
        other_key = other.identity_key
        other.delete()
        summary.refresh(target)
        audit.record(
            user, "device.merged", "device", str(target.pk), merged=other_id, identity=other_key
        )
