"""Flash one image to one disk: check, write, read back, fit, provision, record.

Everything that can be checked before the disk is touched is checked first
(manifest against file format, size and seek table, the bmap's own checksum and
the manifest's sha256 of it, the compressed file's sha256 when the manifest gives
it, target size, target not in use). Any failure ends with a failed
:class:`ImageRecord` inside :class:`FlashFailedError`, never with a success claim.

What guarantees that the disk holds the image the manifest names: a flash
writes only the bmap's mapped ranges (the rest of the image is free space), so
the claim is "every mapped range on the disk holds exactly the image's bytes".
Two links make it:

1. the bytes written are the image's. When the manifest binds the bmap (its
   sha256) and the bmap carries a strong checksum per range (see
   :func:`bmap_vouches`), each range is hashed while streaming and must match the
   bmap: that is the image's content where it is written, checked where it
   matters, and hashing the unmapped zeros too would prove nothing more about
   the disk. Otherwise the whole raw image is hashed against the manifest's
   sha256. On a repeat flash, a stamp (stamps.py) of an earlier check of the same
   compressed file stands for either hash: its sha256 compared before the disk is
   touched or, for a multi-frame file, each frame's sha256 compared as the frame is
   read for decompressing (the very bytes used). ``--full-check`` always hashes it all.
2. the disk kept them: every written range is read back (O_DIRECT) and compared
   byte for byte with the bytes that were written (the image's, checked in 1.).

The compressed file's sha256 (in every manifest our image builds write) is
checked before the disk is touched: a damaged or foreign file is refused
outright instead of failing halfway through a flash. A repeat flash of a
multi-frame file with a stamp checks each frame instead, as it is read: a file
changed since the stamp fails at the first changed frame, never verified.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import shutil
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from agent.errors import DigibenchError, InputError
from agent.flash.bmap import BlockMap, parse_bmap
from agent.flash.fit import FitResult, fit_to_disk
from agent.flash.manifest import (
    MANIFEST_SUFFIX,
    Manifest,
    compression_of,
    file_sha256,
    parse_manifest,
    raw_name,
)
from agent.flash.provision import TEMPLATES, hostname_for, provision_device
from agent.flash.seekable import MAX_FRAME_SIZE, FrameChangedError, FramedImage
from agent.flash.source import (
    DownloadError,
    ImageStream,
    check_local_image,
    download,
    is_url,
    open_image,
    remote_size,
)
from agent.flash.stamps import Stamp, drop_stamp, load_stamp, save_stamp
from agent.flash.writer import (
    Extent,
    Progress,
    ProgressCallback,
    whole_image_extents,
    write_image,
)
from agent.probes.block import device_in_use, disk_serial
from agent.runner import Runner

if TYPE_CHECKING:
    import requests  # imported only when a URL is fetched (start-up time)

    from agent.report.schema import ErasureRecord, ImageRecord

log = logging.getLogger(__name__)

MAX_SMALL_FILE = 64 << 20  # a manifest or bmap larger than this is not one


class RefusedError(DigibenchError):
    """The target must not be written (in use, too small, not a disk)."""


class FlashFailedError(DigibenchError):
    """Flashing failed; ``record`` says how far it got (never verified)."""

    def __init__(self, message: str, record: ImageRecord | None, *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.record = record


@dataclass
class FlashOptions:
    image: str  # manifest (.json), image file or URL
    device: str
    manifest: str | None = None
    bmap: str | None = None
    asset_tag: str | None = None
    hostname: str | None = None
    provision: bool = True
    fit: bool = True
    cache_dir: Path | None = None
    #: where stamps of verified compressed files are kept (see stamps.py); None: never.
    #: The CLI uses stamps.DEFAULT_DIR; a library caller opts in.
    stamp_dir: Path | None = None
    #: hash the whole raw image even when a stamp vouches for the file (a new stamp is kept)
    full_check: bool = False
    templates: Path = TEMPLATES
    sys_root: Path = Path("/")
    #: the erasure record of this same disk from just before (the caller matched the
    #: disk's identity): when it proves the whole disk holds zeros, zero runs of the
    #: image are not written again. The read-back checks them all the same.
    zeroed_by: ErasureRecord | None = None


@dataclass
class Resolved:
    manifest: Manifest
    manifest_ref: str
    image_ref: str
    bmap_ref: str | None
    block_map: BlockMap | None = None


@dataclass
class FlashOutcome:
    record: ImageRecord
    fit: FitResult | None = None
    provisioned_files: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- resolving


def join_ref(base: str, ref: str) -> str:
    """``ref`` relative to where ``base`` lives (a path or a URL)."""
    if is_url(ref) or Path(ref).is_absolute():
        return ref
    if is_url(base):
        return urljoin(base, ref)
    return str(Path(base).parent / ref)


def _sibling_manifest(image: str) -> str:
    if is_url(image):
        parts = urlsplit(image)
        head, _, last = parts.path.rpartition("/")
        path = f"{head}/{raw_name(last)}{MANIFEST_SUFFIX}"
        return urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    local = Path(image)
    return str(local.with_name(raw_name(local.name) + MANIFEST_SUFFIX))


def fetch_small(ref: str, what: str, session: requests.Session | None = None) -> bytes:
    """Read a manifest or bmap from a path or URL."""
    if is_url(ref):
        import requests

        try:
            resp = (session or requests).get(ref, timeout=30)
        except requests.RequestException as exc:
            raise DownloadError(f"cannot fetch {what} {ref}: {exc}") from None
        if resp.status_code != 200:
            raise DownloadError(f"cannot fetch {what} {ref}: HTTP {resp.status_code}")
        data = resp.content
    else:
        try:
            if Path(ref).stat().st_size > MAX_SMALL_FILE:
                raise InputError(f"{what} {ref} is too large")
            data = Path(ref).read_bytes()
        except FileNotFoundError:
            raise InputError(
                f"{what} {ref} does not exist",
                hint="every image travels with a manifest (NAME.manifest.json) and its bmap",
            ) from None
        except OSError as exc:
            raise InputError(f"cannot read {what} {ref}: {exc.strerror}") from None
    if len(data) > MAX_SMALL_FILE:
        raise InputError(f"{what} {ref} is too large")
    return data


def resolve(opts: FlashOptions, session: requests.Session | None = None) -> Resolved:
    """Find and read the manifest; :func:`load_block_map` then reads and checks the bmap."""
    if opts.manifest:
        manifest_ref, image_ref = opts.manifest, opts.image
    elif opts.image.lower().split("?", 1)[0].endswith(".json"):
        manifest_ref, image_ref = opts.image, ""
    else:
        manifest_ref, image_ref = _sibling_manifest(opts.image), opts.image
    manifest = parse_manifest(fetch_small(manifest_ref, "manifest", session), manifest_ref)
    if not image_ref:
        image_ref = join_ref(manifest_ref, manifest.image)
    bmap_ref = opts.bmap or (join_ref(manifest_ref, manifest.bmap) if manifest.bmap else None)
    return Resolved(manifest, manifest_ref, image_ref, bmap_ref)


#: what a download into the cache leaves free at least (the stick's outbox, logs, records)
CACHE_RESERVE = 16 << 20


def _room_to_cache(cached: Path, size: int | None) -> bool:
    """Whether the rest of the image fits beside ``cached`` with :data:`CACHE_RESERVE` to spare.

    A stick written from the released image has a 64 MiB data partition: an OS image does
    not fit there, so it is streamed from the server instead (range requests resume it)."""
    if size is None:
        return True  # the manifest does not say: cache, as before
    have = cached.stat().st_size if cached.is_file() else 0
    folder = next((p for p in (cached.parent, *cached.parents) if p.is_dir()), None)
    if folder is None:
        return True
    free = shutil.disk_usage(folder).free
    if free - (size - have) >= CACHE_RESERVE:
        return True
    log.info(
        "flash: %d bytes free in %s, the image needs %d more: streaming it instead of caching",
        free, folder, size - have,
    )  # fmt: skip
    return False


def load_block_map(resolved: Resolved, session: requests.Session | None = None) -> None:
    """Read the bmap the manifest names and check it against the manifest."""
    manifest, bmap_ref = resolved.manifest, resolved.bmap_ref
    if bmap_ref:
        data = fetch_small(bmap_ref, "bmap", session)
        if manifest.bmap_sha256 and hashlib.sha256(data).hexdigest() != manifest.bmap_sha256:
            raise InputError(f"bmap {bmap_ref} is not the one its manifest names (sha256 differs)")
        block_map = parse_bmap(data, bmap_ref)
        if block_map.image_size != manifest.size:
            raise InputError(
                f"bmap {bmap_ref} describes a {block_map.image_size}-byte image, "
                f"the manifest says {manifest.size}"
            )
        resolved.block_map = block_map


# --------------------------------------------------------------------------- target


@dataclass
class Target:
    path: str
    name: str
    size: int
    serial: str | None


def check_target(device: str, needed: int, sys_root: Path) -> Target:
    """Refuse a target that is not a whole, unused disk at least ``needed`` bytes large."""
    try:
        st = Path(device).stat()
    except OSError as exc:
        raise RefusedError(f"{device}: {exc.strerror}") from None
    if not stat.S_ISBLK(st.st_mode):
        raise RefusedError(f"{device} is not a block device")
    name = Path(os.path.realpath(device)).name
    reason = device_in_use(sys_root, name)
    if reason:
        raise RefusedError(f"refusing to write {device}: {reason}")
    try:
        fd = os.open(device, os.O_RDONLY | os.O_CLOEXEC)
        try:
            size = os.lseek(fd, 0, os.SEEK_END)
        finally:
            os.close(fd)
    except OSError as exc:
        raise RefusedError(f"cannot open {device}: {exc.strerror}") from None
    if size < needed:
        raise RefusedError(
            f"{device} is too small for the image: {size} bytes, the image needs {needed}"
        )
    serial = None
    try:
        serial = disk_serial(sys_root, name)
    except (OSError, DigibenchError) as exc:
        log.warning("cannot read the serial number of %s: %s", device, exc)
    return Target(device, name, size, serial)


def open_exclusive(device: str) -> int:
    """O_EXCL on a block device fails while anything has it mounted or claimed."""
    try:
        return os.open(device, os.O_RDWR | os.O_DIRECT | os.O_EXCL | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            raise RefusedError(f"{device} is in use (mounted or held by another program)") from None
        raise RefusedError(f"cannot open {device} for writing: {exc.strerror}") from None


# --------------------------------------------------------------------------- what vouches


#: range checksums strong enough to stand in for the whole image's sha256
STRONG_CHECKSUMS = frozenset(
    {"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512", "blake2b", "blake2s"}
)


def bmap_vouches(manifest: Manifest, block_map: BlockMap | None) -> bool:
    """Whether the bmap's range checksums may stand in for hashing the whole raw image.

    Only when the manifest binds the bmap (its sha256, checked on load) and every
    range carries a strong checksum: then a range that hashes right holds exactly the
    image's bytes, and the unmapped rest is never written, so hashing it proves nothing
    about the disk.
    """
    return (
        block_map is not None
        and manifest.bmap_sha256 is not None
        and block_map.checksum_type in STRONG_CHECKSUMS
        and all(r.checksum is not None for r in block_map.ranges)
    )


def proves_zeros(record: ErasureRecord, target: Target) -> bool:
    """Whether ``record`` proves every byte of ``target`` reads as zero: a zero overwrite,
    erased without exceptions, read back in full, of a disk of this size and serial."""
    from agent.report.schema import ErasureResult

    return (
        record.result is ErasureResult.ERASED
        and record.method.split("+")[-1] == "overwrite-zero"
        and record.verification_passed is True
        and record.verification_method == "full"
        and (record.verification_coverage_percent or 0.0) >= 100.0
        and not record.errors
        and record.disk_size_bytes == target.size
        and record.disk_serial == target.serial
    )


def sha256_file(path: Path) -> str:
    try:
        return file_sha256(path)
    except OSError as exc:
        raise InputError(f"cannot read image {path}: {exc.strerror}") from None


def _check_compressed(image_ref: str, found: str, expected: str) -> None:
    if found != expected:
        raise InputError(
            f"{image_ref} is not the file its manifest names (sha256 {found}, "
            f"the manifest says {expected})",
            hint="the image is damaged or belongs to another manifest; fetch it again",
        )


def _check_stamp(
    opts: FlashOptions, manifest: Manifest, stamp: Stamp, image_ref: str, found: str
) -> None:
    if found != stamp.compressed_sha256:
        assert opts.stamp_dir is not None
        drop_stamp(opts.stamp_dir, manifest.sha256, manifest.compressed_sha256)
        raise InputError(
            f"{image_ref} is not the file whose sha256 was verified before",
            hint="run again: the image will be checked in full",
        )


# --------------------------------------------------------------------------- flash


def _now() -> datetime:
    return datetime.now(UTC)


def flash(
    opts: FlashOptions,
    runner: Runner,
    *,
    progress: ProgressCallback | None = None,
    session: requests.Session | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> FlashOutcome:
    """Flash ``opts.image`` to ``opts.device``; raise :class:`FlashFailedError` unless verified."""

    def phase(name: str) -> None:
        if on_phase:
            on_phase(name)

    phase("check")
    if len(opts.device) > 256:  # what an ImageRecord holds; it is made only after the write
        raise InputError(f"the device path is longer than 256 characters: {opts.device[:64]}…")
    resolved = resolve(opts, session)
    manifest = resolved.manifest
    # the record's fields, made an ImageRecord once the write is done (see _image_record)
    fields: dict[str, Any] = dict(
        name=manifest.name,
        version=manifest.version,
        sha256=manifest.sha256,
        target_disk_path=opts.device,
        image_size_bytes=manifest.size,
        source=resolved.image_ref[:4000],
    )
    try:
        hostname = opts.hostname or (hostname_for(opts.asset_tag) if opts.asset_tag else None)
        return _flash(opts, runner, resolved, fields, hostname, progress, session, phase)
    except FlashFailedError:
        raise
    except (DigibenchError, OSError) as exc:
        message = exc.message if isinstance(exc, DigibenchError) else str(exc)
        hint = exc.hint if isinstance(exc, DigibenchError) else None
        fields["verified"] = False
        fields.setdefault("errors", []).append(message[:4000])
        fields["finished_at"] = _now()
        raise FlashFailedError(message, _image_record(fields), hint=hint) from exc


#: held while the record's model is being made ready (see _ready_record_model)
_RECORD_MODEL = threading.Lock()


def _ready_record_model() -> None:
    """Import the record's schema and build its validator (pydantic builds it on first use).

    A flash from the command line has not imported pydantic yet: a tenth of a second,
    and as much again for the validator, that the write hides when this runs in a
    thread beside it (its threads spend their time in zstd, the kernel and hashlib,
    with the GIL released). Under a lock, so the record waits for it, never races it.
    """
    with _RECORD_MODEL, contextlib.suppress(Exception):  # _image_record will raise it
        from agent.report.schema import ImageRecord

        ImageRecord.model_rebuild()


def _image_record(fields: dict[str, Any]) -> ImageRecord:
    with _RECORD_MODEL:
        from agent.report.schema import ImageRecord

        return ImageRecord(**fields)


def _flash(
    opts: FlashOptions,
    runner: Runner,
    resolved: Resolved,
    fields: dict[str, Any],
    hostname: str | None,
    progress: ProgressCallback | None,
    session: requests.Session | None,
    phase: Callable[[str], None],
) -> FlashOutcome:
    manifest = resolved.manifest
    load_block_map(resolved, session)
    fields["ranges"] = len(resolved.block_map.ranges) if resolved.block_map else 0
    compression = manifest.compression or compression_of(resolved.image_ref)
    target = check_target(opts.device, manifest.size, opts.sys_root)
    fields["target_disk_serial"] = target.serial

    image_ref = resolved.image_ref
    #: sha256 of the compressed file, once known (download or local check)
    source_sha256: str | None = None
    name = Path(urlsplit(image_ref).path).name or "image"
    cached = (
        opts.cache_dir / f"{manifest.name}-{manifest.version}-{name}" if opts.cache_dir else None
    )
    if (
        is_url(image_ref)
        and cached is not None
        and _room_to_cache(cached, manifest.compressed_size)
    ):
        phase("download")
        cached.parent.mkdir(parents=True, exist_ok=True)
        image_ref = str(
            download(
                image_ref,
                cached,
                expected_size=manifest.compressed_size,
                expected_sha256=manifest.compressed_sha256,
                session=session,
            )
        )
        source_sha256 = manifest.compressed_sha256  # download() checked it
    local = not is_url(image_ref)
    table = None
    if local:
        table = check_local_image(Path(image_ref), compression, manifest.size)
    elif manifest.compressed_size is not None:
        announced = remote_size(image_ref, session)
        if announced is not None and announced != manifest.compressed_size:
            raise InputError(
                f"{image_ref} is {announced} bytes on the server, "
                f"the manifest says {manifest.compressed_size}"
            )

    block_map = resolved.block_map
    if block_map is not None:
        extents = [Extent(r.start, r.end, r.checksum) for r in block_map.ranges]
        algorithm = block_map.checksum_type or "sha256"
        method = "every mapped range read back from the disk and compared with the image's bytes"
    else:
        extents = whole_image_extents(manifest.size)
        algorithm = "sha256"
        method = "the whole image read back from the disk and compared with the image's bytes"

    compressed = compression != "raw"
    by_bmap = bmap_vouches(manifest, block_map)
    stamp = None
    if opts.stamp_dir is not None and compressed and not opts.full_check:
        stamp = load_stamp(
            opts.stamp_dir, manifest.sha256, manifest.size, compression, manifest.compressed_sha256
        )
        if stamp is not None and not stamp.vouches(manifest.bmap_sha256 if by_bmap else None):
            stamp = None  # it proved the ranges of another bmap (or of none)
    full_hash = opts.full_check or not (by_bmap or stamp is not None)
    # what a stamp vouches for is not hashed again: the compressed file's sha256 stands in
    hash_ranges = full_hash or stamp is None

    # a local compressed file's own sha256 is checked before the disk is touched: by
    # write_image, while it decompresses the first frames (see before_write there)
    checked_before = source_sha256 is not None
    source_size = Path(image_ref).stat().st_size if local else 0
    wanted = manifest.compressed_sha256 is not None or (
        opts.stamp_dir is not None and (stamp is not None or full_hash or by_bmap)
    )
    framed = table is not None and table.max_frame_size <= MAX_FRAME_SIZE
    # a stamp that kept the frames' digests: each frame is checked as it is read, in the
    # decompression threads, instead of the whole file before the write (stamps.py)
    frames = stamp.frames if stamp is not None and framed else None
    check_source: Callable[[], None] | None = None
    if frames is None and local and compressed and source_sha256 is None and wanted:
        hashed: list[str] = []

        def check_source() -> None:
            hashed.append(sha256_file(Path(image_ref)))
            if manifest.compressed_sha256 is not None:
                _check_compressed(image_ref, hashed[0], manifest.compressed_sha256)
            if stamp is not None:
                _check_stamp(opts, manifest, stamp, image_ref, hashed[0])

        checked_before = manifest.compressed_sha256 is not None
    elif stamp is not None and source_sha256 is not None:
        _check_stamp(opts, manifest, stamp, image_ref, source_sha256)

    skip_zero = opts.zeroed_by is not None and proves_zeros(opts.zeroed_by, target)
    phase("write")
    fields["started_at"] = _now()
    t0 = time.monotonic()
    stream: ImageStream | FramedImage
    if framed:
        assert table is not None
        stream = FramedImage(Path(image_ref), table)  # frames decompressed in parallel
        # the frames' digests: checked against the stamp's, or kept for the stamp to leave
        stream.hash_frames = frames is not None or (opts.stamp_dir is not None and hash_ranges)
        stream.expected = frames
    else:
        # a streamed compressed file's own bytes are hashed too (cheap), to check them
        stream = open_image(
            image_ref, compression, session=session, hash_source=compressed and not local
        )

    def counted(p: Progress) -> None:
        fields["bytes_written"] = p.written  # true even when the write fails half-way
        if progress:
            progress(p)

    # the record is made once the write is done: its model gets ready beside the write
    threading.Thread(target=_ready_record_model, name="record-model", daemon=True).start()
    try:
        fd = open_exclusive(opts.device)
        try:
            try:
                result = write_image(
                    stream,
                    fd,
                    manifest.size,
                    extents,
                    algorithm=algorithm,
                    progress=counted,
                    full_hash=full_hash,
                    before_write=check_source,
                    skip_zero=skip_zero,
                    hash_extents=hash_ranges,
                )
            except FrameChangedError:
                assert opts.stamp_dir is not None  # only a stamp's frames are expected
                drop_stamp(opts.stamp_dir, manifest.sha256, manifest.compressed_sha256)
                raise
            fields["bytes_written"] = result.bytes_written
            if check_source is not None:
                source_sha256 = hashed[0]
            if isinstance(stream, ImageStream) and stream.source is not None:
                stream.source.drain()
                source_sha256 = stream.source.hash.hexdigest()
                source_size = stream.source.count
                if manifest.compressed_sha256 is not None:
                    _check_compressed(image_ref, source_sha256, manifest.compressed_sha256)
                    checked_before = True  # streamed: checked before success is claimed
                if stamp is not None:
                    _check_stamp(opts, manifest, stamp, image_ref, source_sha256)
            if full_hash:
                if result.image_sha256 != manifest.sha256:
                    raise InputError(
                        f"the image's sha256 is {result.image_sha256}, "
                        f"its manifest says {manifest.sha256}",
                        hint="the image or its manifest is damaged or they do not belong together",
                    )
                image_check = "image sha256 checked in full"
            elif stamp is not None:
                proved = "image sha256" if stamp.bmap_sha256 is None else "range sha256s"
                image_check = f"{proved} vouched by an earlier check of this compressed file"
                if frames is not None:
                    image_check += ", whose sha256 of each frame matched as it was read"
            else:  # the bmap vouches
                image_check = (
                    f"each range's {algorithm} checked against the bmap, which the manifest's "
                    "sha256 of the bmap vouches for"
                )
            if checked_before:
                image_check += "; compressed file sha256 matches the manifest"
            if result.bytes_skipped:
                image_check += "; zero runs left as the verified wipe made them"
            mismatches = result.mismatches
        finally:
            os.close(fd)
    finally:
        stream.close()
    elapsed = time.monotonic() - t0
    if mismatches:
        first = mismatches[0]
        raise DigibenchError(
            f"read-back found {len(mismatches)} range(s) on {opts.device} that differ from the "
            f"image, first at bytes {first.start}-{first.end}",
            hint="the disk may be failing; do not use it",
        )
    fields["verified"] = True
    fields["verification_method"] = f"{method}; {image_check}"[:256]
    if opts.stamp_dir is not None and compressed and source_sha256 is not None and hash_ranges:
        # what this flash proved of this compressed file: the whole image, or the bmap's ranges
        proved_bmap = None if full_hash else manifest.bmap_sha256
        save_stamp(
            opts.stamp_dir,
            Stamp(
                manifest.sha256,
                manifest.size,
                source_sha256,
                source_size,
                compression,
                proved_bmap,
                dict(stream.digests)
                if isinstance(stream, FramedImage) and stream.hash_frames
                else None,
            ),
            manifest.compressed_sha256,
        )
    fields["duration_s"] = round(elapsed, 3)
    fields["throughput_mb_s"] = round(manifest.size / elapsed / 1e6, 1) if elapsed > 0 else None
    fit_result = None
    if opts.fit:
        phase("fit")
        fit_result = fit_to_disk(runner, opts.device, target.size)
        fields["fitted"] = fit_result.grown_partition is not None
    provisioned_files: list[str] = []
    if opts.provision:
        phase("provision")
        prov = provision_device(
            runner, opts.device, hostname, templates=opts.templates, sys_root=opts.sys_root
        )
        fields["provisioned"] = True
        fields["hostname"] = prov.hostname
        provisioned_files = prov.changed
    fields["finished_at"] = _now()
    outcome = FlashOutcome(_image_record(fields), fit_result, provisioned_files)
    phase("done")
    return outcome
