"""Multi-frame zstd images with a seek table: written by our image builds, decompressed in parallel.

A single-frame zstd stream decompresses on one core, and every byte of it, the
long zero runs between filesystem data included. Our images are compressed as
independent frames of ``FRAME_SIZE`` raw bytes each, followed by a seek table in
the zstd "seekable format" (contrib/seekable_format in the zstd sources): a
skippable frame, which every zstd decoder, the ``zstd`` CLI and ``bmaptool``
(which pipes through it) skip. A flash of a local file with such a table
decompresses frames on several threads and never decompresses a frame that
holds no mapped (bmap) range; plain zstd files and HTTP sources are streamed.

Layout of the table (little endian)::

    u32 0x184D2A5E  u32 table size  |  per frame: u32 compressed, u32 raw [, u32 xxh64]
    u32 frame count  u8 descriptor (bit 7: per-frame checksums)  u32 0x8F92EAB1

Every frame carries its own content size and xxh64 checksum, which the decoder
checks; the seek table is checked against the file size and the manifest's raw
size before anything is written.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import logging
import os
import struct
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import zstandard

from agent.errors import InputError

log = logging.getLogger(__name__)

SKIPPABLE_MAGIC = 0x184D2A5E
SEEKABLE_MAGIC = 0x8F92EAB1
FOOTER_SIZE = 9
FRAME_SIZE = 8 << 20
#: a frame's raw size above this is refused (it must fit one of the writer's buffers)
MAX_FRAME_SIZE = 32 << 20
MAX_FRAMES = 1 << 24
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class SeekTableError(InputError):
    """A seek table that contradicts its file or the manifest."""


class FrameChangedError(InputError):
    """A frame's compressed bytes are not those an earlier check saw (see stamps.py)."""


@dataclass(frozen=True)
class Frame:
    index: int
    offset: int  # in the compressed file
    length: int  # compressed bytes
    start: int  # in the raw image
    size: int  # raw bytes

    @property
    def end(self) -> int:
        return self.start + self.size


@dataclass(frozen=True)
class SeekTable:
    frames: tuple[Frame, ...]
    #: bytes of the skippable frame holding the table (header, entries, footer)
    table_size: int

    @property
    def raw_size(self) -> int:
        return self.frames[-1].end if self.frames else 0

    @property
    def max_frame_size(self) -> int:
        return max((f.size for f in self.frames), default=0)


def read_seek_table(path: Path, raw_size: int | None = None) -> SeekTable | None:
    """The seek table at the end of ``path``; None for a zstd file without one.

    Raises :class:`SeekTableError` when a table is there but does not add up
    (to the file's size, or to ``raw_size`` when given).
    """
    name = str(path)
    try:
        with path.open("rb") as fh:
            file_size = os.fstat(fh.fileno()).st_size
            if file_size < FOOTER_SIZE + 8:
                return None
            fh.seek(file_size - FOOTER_SIZE)
            count, descriptor, magic = struct.unpack("<IBI", fh.read(FOOTER_SIZE))
            if magic != SEEKABLE_MAGIC:
                return None
            if descriptor & 0x7C:
                raise SeekTableError(f"image {name}: its seek table uses unknown (reserved) flags")
            entry = 12 if descriptor & 0x80 else 8
            if count == 0 or count > MAX_FRAMES:
                raise SeekTableError(f"image {name}: its seek table lists {count} frames")
            body = count * entry + FOOTER_SIZE
            table_size = body + 8
            if table_size > file_size:
                raise SeekTableError(f"image {name}: its seek table is larger than the file")
            fh.seek(file_size - table_size)
            skip_magic, skip_size = struct.unpack("<II", fh.read(8))
            entries = fh.read(count * entry)
    except OSError as exc:
        raise InputError(f"cannot read image {name}: {exc.strerror}") from None
    if skip_magic != SKIPPABLE_MAGIC or skip_size != body:
        raise SeekTableError(
            f"image {name}: its seek table's frame header is damaged",
            hint="compress the image again (digibench image-compress)",
        )
    frames: list[Frame] = []
    offset = start = 0
    for i in range(count):
        length, size = struct.unpack_from("<II", entries, i * entry)
        if length == 0 or size == 0 or size > MAX_FRAME_SIZE:
            raise SeekTableError(
                f"image {name}: seek table entry {i} is implausible "
                f"({length} compressed, {size} raw bytes; at most {MAX_FRAME_SIZE} raw)"
            )
        frames.append(Frame(i, offset, length, start, size))
        offset += length
        start += size
    if offset != file_size - table_size:
        raise SeekTableError(
            f"image {name}: its seek table accounts for {offset} bytes of frames, "
            f"the file holds {file_size - table_size}",
            hint="the file is truncated or damaged; fetch it again",
        )
    if raw_size is not None and start != raw_size:
        raise SeekTableError(
            f"image {name} decompresses to {start} bytes by its seek table, "
            f"the manifest says {raw_size}",
            hint="the image file and its manifest do not belong together",
        )
    return SeekTable(tuple(frames), table_size)


def seek_table_bytes(frames: list[tuple[int, int]]) -> bytes:
    """The skippable frame for ``(compressed, raw)`` sizes, without per-frame checksums."""
    entries = b"".join(struct.pack("<II", c, r) for c, r in frames)
    footer = struct.pack("<IBI", len(frames), 0, SEEKABLE_MAGIC)
    body = entries + footer
    return struct.pack("<II", SKIPPABLE_MAGIC, len(body)) + body


# --------------------------------------------------------------------------- reading


class FramedImage:
    """A local multi-frame zstd image: frames decompressed on their own, into given buffers.

    Thread-safe: each thread uses its own decompression context; reads use pread.
    With ``hash_frames``, the sha256 of each frame's compressed bytes, as read for
    decompressing it, is kept in ``digests`` (by the frame's start in the image);
    with ``expected`` as well, a frame whose digest differs is refused before it is
    decompressed: the bytes checked are the very bytes used.
    """

    hash_frames: bool = False
    expected: Mapping[int, str] | None = None

    def __init__(self, path: Path, table: SeekTable) -> None:
        self.path = path
        self.name = str(path)
        self.table = table
        self.frames = table.frames
        self.image_size = table.raw_size
        try:
            self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise InputError(f"cannot open image {path}: {exc.strerror}") from None
        self._local = threading.local()
        self.digests: dict[int, str] = {}

    def _dctx(self) -> zstandard.ZstdDecompressor:
        dctx: zstandard.ZstdDecompressor | None = getattr(self._local, "dctx", None)
        if dctx is None:
            dctx = self._local.dctx = zstandard.ZstdDecompressor()
        return dctx

    def decompress_into(self, frame: Frame, out: memoryview) -> int:
        """Decompress ``frame`` into ``out[:frame.size]``; a damaged frame is an InputError."""
        where = (
            f"image {self.name} is corrupt: frame {frame.index} "
            f"(image bytes {frame.start}-{frame.end})"
        )
        try:
            data = os.pread(self._fd, frame.length, frame.offset)
        except OSError as exc:
            raise InputError(f"cannot read image {self.name}: {exc.strerror}") from None
        if len(data) != frame.length:
            raise InputError(f"image {self.name} ends early (truncated)", hint="fetch it again")
        if self.hash_frames:
            digest = hashlib.sha256(data).hexdigest()
            if self.expected is not None and self.expected.get(frame.start) != digest:
                raise FrameChangedError(
                    f"image {self.name} changed since it was checked: frame {frame.index} "
                    f"(image bytes {frame.start}-{frame.end}) is not the one checked then",
                    hint="the next flash checks the whole file again",
                )
            self.digests[frame.start] = digest
        if not data.startswith(_ZSTD_MAGIC):
            raise InputError(f"{where} is not a zstd frame; the seek table is wrong")
        try:
            declared = zstandard.frame_content_size(data)
            if declared >= 0 and declared != frame.size:
                raise InputError(
                    f"{where} holds {declared} bytes, the seek table says {frame.size}"
                )
            reader = self._dctx().stream_reader(data, read_across_frames=False)
            filled = 0
            target = out[: frame.size]
            while filled < frame.size:
                n = reader.readinto(target[filled:])
                if not n:
                    break
                filled += n
            if filled != frame.size or reader.read(1):
                raise InputError(
                    f"{where} decompresses to another size than the seek table says "
                    f"({frame.size} bytes)"
                )
        except zstandard.ZstdError as exc:
            raise InputError(f"{where}: {exc}", hint="fetch the image again") from None
        return filled

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def open_framed(path: Path, raw_size: int) -> FramedImage | None:
    """A :class:`FramedImage` for a local zstd file with a seek table, else None."""
    table = read_seek_table(path, raw_size)
    if table is None or table.max_frame_size > MAX_FRAME_SIZE:
        return None
    return FramedImage(path, table)


# --------------------------------------------------------------------------- writing


def _is_hole(fd: int, start: int, end: int) -> bool:
    """True when ``start..end`` of a sparse file holds no data (reads as zeros)."""
    try:
        return os.lseek(fd, start, os.SEEK_DATA) >= end
    except OSError as exc:  # ENXIO: no data after start; EINVAL: no SEEK_DATA here
        return exc.errno == errno.ENXIO


def compress_image(
    raw: Path,
    out: Path,
    *,
    level: int = 9,
    frame_size: int = FRAME_SIZE,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SeekTable:
    """Compress ``raw`` into ``out`` as independent frames plus a seek table.

    Frames are compressed in parallel; holes of a sparse file are not read (their
    frames are one precompressed run of zeros). ``out`` appears only when complete.
    """
    if not 0 < frame_size <= MAX_FRAME_SIZE:
        raise InputError(f"frame size must be 1..{MAX_FRAME_SIZE} bytes")
    workers = threads or max(1, min(8, os.cpu_count() or 1))
    local = threading.local()

    def cctx() -> zstandard.ZstdCompressor:
        c: zstandard.ZstdCompressor | None = getattr(local, "cctx", None)
        if c is None:
            c = local.cctx = zstandard.ZstdCompressor(
                level=level, write_checksum=True, write_content_size=True
            )
        return c

    try:
        fd = os.open(raw, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise InputError(f"cannot read {raw}: {exc.strerror}") from None
    tmp = out.with_name(out.name + ".part")
    zero_frames: dict[int, bytes] = {}

    def work(start: int, size: int) -> bytes:
        if _is_hole(fd, start, start + size):
            if size not in zero_frames:
                zero_frames[size] = cctx().compress(bytes(size))
            return zero_frames[size]
        data = os.pread(fd, size, start)
        if len(data) != size:
            raise InputError(f"{raw} changed while it was being compressed")
        return cctx().compress(data)

    def spans(total: int) -> Iterator[tuple[int, int]]:
        for start in range(0, total, frame_size):
            yield start, min(frame_size, total - start)

    sizes: list[tuple[int, int]] = []
    try:
        total = os.fstat(fd).st_size
        if total == 0:
            raise InputError(f"{raw} is empty")
        with tmp.open("wb") as fh, ThreadPoolExecutor(workers) as pool:
            pending: deque[tuple[int, Future[bytes]]] = deque()
            done = 0

            def emit() -> None:
                nonlocal done
                size, fut = pending.popleft()
                data = fut.result()
                fh.write(data)
                sizes.append((len(data), size))
                done += size
                if progress:
                    progress(done, total)

            for start, size in spans(total):
                pending.append((size, pool.submit(work, start, size)))
                if len(pending) >= 2 * workers:
                    emit()
            while pending:
                emit()
            fh.write(seek_table_bytes(sizes))
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    table = read_seek_table(out, total)
    assert table is not None
    return table


def main(argv: list[str] | None = None) -> int:
    """``python -m agent.flash.seekable RAW [OUT]`` (also ``digibench image-compress``)."""
    parser = argparse.ArgumentParser(prog="digibench image-compress")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("raw", type=Path, metavar="RAW", help="the raw disk image")
    parser.add_argument("out", type=Path, nargs="?", metavar="OUT", help="default: RAW.zst")
    parser.add_argument("-l", "--level", type=int, default=9, help="zstd level (default 9)")
    parser.add_argument(
        "--frame-mib", type=int, default=FRAME_SIZE >> 20, help="raw MiB per frame (default 8)"
    )
    parser.add_argument("-T", "--threads", type=int, default=0, help="0: one per CPU")


def run(args: argparse.Namespace) -> int:
    out = args.out or args.raw.with_name(args.raw.name + ".zst")
    try:
        table = compress_image(
            args.raw,
            out,
            level=args.level,
            frame_size=args.frame_mib << 20,
            threads=args.threads or None,
        )
    except InputError as exc:
        print(f"digibench: error: {exc.message}", file=sys.stderr)
        return 2
    print(f"{out}: {len(table.frames)} frames, {out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
