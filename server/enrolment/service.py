"""Pairing a station with the server (RFC 8628, device authorisation grant).

1. The station posts its public key and gets a secret device code and a short user code.
2. A person with the right to pair types the user code into "Stations → Koppelen", names
   the station and approves (or denies); both are audited.
3. The station, polling with its device code, then collects its token exactly once; the
   station exists from that moment, with the key it enrolled with.
Codes expire after :data:`LIFETIME`; polling faster than :data:`INTERVAL` is told to slow
down; one address may hold only a few open requests, the server only so many.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from agent.errors import InputError
from agent.signing import key_fingerprint, load_public_key
from server.enrolment.codes import (
    hash_code,
    new_device_code,
    new_user_code,
    normalise_user_code,
)
from server.enrolment.models import Enrolment, EnrolmentState, PairingAttempt
from server.ingest import tokens
from server.ingest.models import AuditEvent, Station

LIFETIME = timedelta(minutes=15)
INTERVAL = timedelta(seconds=5)
MAX_OPEN_PER_ADDRESS = 5
MAX_OPEN = 200
#: user codes one person may try in :data:`GUESS_WINDOW` before being told to wait
MAX_GUESSES = 10
GUESS_WINDOW = timedelta(minutes=10)


class EnrolmentError(Exception):
    """A refused step; ``code`` is the RFC 8628 / OAuth error code a station understands."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class NewEnrolment:
    enrolment: Enrolment
    device_code: str  # the only time it exists outside the station


@dataclass(frozen=True)
class Collected:
    station: Station
    token: str  # the only time the full token exists


def _open(now: datetime) -> QuerySet[Enrolment]:
    return Enrolment.objects.filter(
        state__in=[EnrolmentState.PENDING, EnrolmentState.APPROVED], expires_at__gt=now
    )


def start(
    public_key: str, name_hint: str, remote_addr: str, now: datetime | None = None
) -> NewEnrolment:
    """A station asks to be paired."""
    now = now or timezone.now()
    try:
        load_public_key(public_key)
    except InputError:
        raise EnrolmentError(
            "invalid_request", "public_key must be base64 of a raw Ed25519 public key"
        ) from None
    if _open(now).filter(remote_addr=remote_addr).count() >= MAX_OPEN_PER_ADDRESS:
        raise EnrolmentError("slow_down", "too many open pairing requests from this address")
    if _open(now).count() >= MAX_OPEN:
        raise EnrolmentError("slow_down", "too many open pairing requests; try again later")
    device_code = new_device_code()
    for _ in range(5):  # a user code clash among open requests is rare; draw again
        user_code = new_user_code()
        if not _open(now).filter(user_code=user_code).exists():
            break
    enrolment = Enrolment.objects.create(
        device_code_hash=hash_code(device_code),
        user_code=user_code,
        public_key=public_key.strip(),
        name_hint=name_hint[:128],
        remote_addr=remote_addr[:64],
        expires_at=now + LIFETIME,
    )
    return NewEnrolment(enrolment, device_code)


def collect(device_code: str, now: datetime | None = None) -> Collected:
    """The station polls; its token once approved, else an :class:`EnrolmentError`.

    The refusal is raised after the transaction commits, so the poll time it records
    (what ``slow_down`` is measured against) is kept."""
    now = now or timezone.now()
    refusal: EnrolmentError | None = None
    collected: Collected | None = None
    with transaction.atomic():
        enrolment = (
            Enrolment.objects.select_for_update()
            .filter(device_code_hash=hash_code(device_code))
            .first()
        )
        if enrolment is None:
            raise EnrolmentError("invalid_grant", "unknown device code")
        if enrolment.state == EnrolmentState.CLAIMED:
            raise EnrolmentError("invalid_grant", "this pairing was already used")
        if enrolment.state == EnrolmentState.DENIED:
            raise EnrolmentError("access_denied", "the pairing was refused")
        if enrolment.expires_at <= now:
            raise EnrolmentError("expired_token", "the pairing code expired; start again")
        too_soon = enrolment.last_poll_at is not None and now - enrolment.last_poll_at < INTERVAL
        enrolment.last_poll_at = now
        enrolment.save(update_fields=["last_poll_at"])
        if enrolment.state == EnrolmentState.PENDING:
            refusal = (
                EnrolmentError("slow_down", "poll less often")
                if too_soon
                else EnrolmentError("authorization_pending", "waiting for approval")
            )
        else:
            collected = _claim(enrolment)
    if refusal is not None:
        raise refusal
    if collected is None:
        raise EnrolmentError("access_denied", "a station with that name exists already; pair again")
    return collected


def _claim(enrolment: Enrolment) -> Collected | None:
    """Create the approved station with a fresh token; None when its name was taken since."""
    new = tokens.new_token()
    try:
        with transaction.atomic():
            station = Station.objects.create(
                name=enrolment.station_name,
                public_key=enrolment.public_key,
                token_prefix=new.prefix,
                token_hash=new.hash,
            )
    except IntegrityError:
        enrolment.state = EnrolmentState.DENIED
        enrolment.save(update_fields=["state"])
        return None
    enrolment.state = EnrolmentState.CLAIMED
    enrolment.station = station
    enrolment.save(update_fields=["state", "station"])
    AuditEvent.objects.create(
        actor=f"station:{station.name}",
        action="station.enrolled",
        object_type="station",
        object_id=station.name,
        details={"token_prefix": new.prefix, "enrolment": enrolment.pk},
    )
    return Collected(station, new.token)


def find(user: User, typed: str, now: datetime | None = None) -> Enrolment:
    """The open request behind a typed user code; guesses are counted per person."""
    now = now or timezone.now()
    recent = PairingAttempt.objects.filter(user=user, at__gt=now - GUESS_WINDOW, found=False)
    if recent.count() >= MAX_GUESSES:
        raise EnrolmentError("slow_down", "too many wrong codes")
    code = normalise_user_code(typed)
    enrolment = (
        _open(now).filter(user_code=code, state=EnrolmentState.PENDING).first() if code else None
    )
    PairingAttempt.objects.create(user=user, found=enrolment is not None)
    if enrolment is None:
        raise EnrolmentError("invalid_grant", "no open pairing with that code")
    return enrolment


def decide(
    enrolment: Enrolment, user: User, *, approve: bool, name: str = "", now: datetime | None = None
) -> None:
    """A person approves (naming the station) or denies a pending request; audited."""
    now = now or timezone.now()
    with transaction.atomic():
        current = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
        if current.state != EnrolmentState.PENDING or current.expires_at <= now:
            raise EnrolmentError("invalid_grant", "this pairing is no longer open")
        if approve:
            if not tokens.STATION_NAME.match(name):
                raise EnrolmentError("invalid_request", "bad station name")
            if (
                Station.objects.filter(name=name).exists()
                or _open(now).filter(station_name=name, state=EnrolmentState.APPROVED).exists()
            ):
                raise EnrolmentError("invalid_request", "a station with that name exists")
            current.station_name = name
        current.state = EnrolmentState.APPROVED if approve else EnrolmentState.DENIED
        current.decided_by = user
        current.decided_at = now
        current.save(update_fields=["station_name", "state", "decided_by", "decided_at"])
        AuditEvent.objects.create(
            actor=f"user:{user.get_username()}",
            action="station.pairing_approved" if approve else "station.pairing_denied",
            object_type="station",
            object_id=(name or current.name_hint or current.user_code)[:64],
            details={
                "user_code": current.user_code,
                "key_fingerprint": key_fingerprint(current.public_key),
                "remote_addr": current.remote_addr,
            },
        )
