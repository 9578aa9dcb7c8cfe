"""The fast writer: decompress, hash, write and read back in parallel threads.

* the read thread fills page-aligned buffers from a pool with decompressed image bytes;
  for a local multi-frame zstd file with a seek table (seekable.py) it has worker
  threads decompress one frame per buffer in parallel, hands the buffers on in image
  order, and skips frames that hold no extent (unless the whole image is hashed);
* the hash thread hashes every extent (checked against the bmap's range checksum
  when there is one); a separate thread hashes the whole image, holes included,
  for the manifest's sha256 (only when nothing else vouches for the image, see
  engine.py);
* the write thread writes only the extents, with O_DIRECT, in large aligned
  writes (a piece that is not sector-aligned is read, patched and rewritten);
* the verify thread reads each written buffer back from the device (O_DIRECT) right
  after it is written and compares it byte for byte with the buffer it came from,
  which the pool holds until then: no second hash of the same bytes, and a stronger
  check than comparing digests (bmaptool never reads the target back). An extent
  that differs is hashed from the disk once more, for the record of what it holds.

A buffer goes back to the pool when every stage is done with it, so the pool
bounds memory and keeps the stages overlapping. zstandard, hashlib, os.pwrite and
os.preadv all release the GIL for large buffers.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import mmap
import os
import queue
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from agent.errors import DigibenchError, InputError
from agent.flash.seekable import Frame, FramedImage
from agent.zerocheck import is_zero, same

log = logging.getLogger(__name__)
_T = TypeVar("_T")

CHUNK_SIZE = 8 << 20
POOL_BUFFERS = 8
POOL_BYTES = POOL_BUFFERS * CHUNK_SIZE  # larger frames: fewer buffers
_BLKSSZGET = 0x1268
_POLL_S = 0.1


class ChecksumMismatchError(InputError):
    """The image's bytes are not what its bmap or manifest says they are."""


class WriteError(DigibenchError):
    """The target refused a write or a read."""


class ByteStream(Protocol):
    def readinto(self, buf: memoryview) -> int: ...


@dataclass(frozen=True)
class Extent:
    """A byte range of the image to write; ``checksum`` is what its source bytes must hash to."""

    start: int
    end: int
    checksum: str | None = None

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass
class WriteResult:
    image_sha256: str | None
    image_bytes: int
    bytes_written: int
    #: zero bytes left alone because the disk already held zeros there (see ``skip_zero``)
    bytes_skipped: int
    #: every written extent with the digest of the bytes written, for the read-back
    digests: list[tuple[Extent, str]]
    algorithm: str
    duration_s: float
    #: whether every extent was read back (see ``verify``), and those that differed
    verified: bool = False
    mismatches: list[Mismatch] = field(default_factory=list)


@dataclass
class Progress:
    """Counters the threads update; a UI polls them (ints are atomic enough for display)."""

    image_size: int
    to_write: int
    read: int = 0
    written: int = 0
    #: zero bytes not written because the disk is proven to hold zeros there already
    skipped: int = 0
    verified: int = 0
    phase: str = "write"

    @property
    def handled(self) -> int:
        """Bytes the write stage is done with: written, or already on the disk."""
        return self.written + self.skipped


ProgressCallback = Callable[[Progress], None]


def whole_image_extents(image_size: int, segment: int = 64 << 20) -> list[Extent]:
    """Without a bmap every byte is written, hashed in segments so the read-back can say where."""
    return [Extent(s, min(s + segment, image_size)) for s in range(0, image_size, segment)]


def needed_frames(frames: Sequence[Frame], extents: Sequence[Extent]) -> list[Frame]:
    """The frames that hold at least one byte of an extent (both sorted by position)."""
    out: list[Frame] = []
    i = 0
    for frame in frames:
        while i < len(extents) and extents[i].end <= frame.start:
            i += 1
        if i < len(extents) and extents[i].start < frame.end:
            out.append(frame)
    return out


def decompress_workers() -> int:
    """Threads that decompress frames: one per CPU, at most four (the other stages need CPU)."""
    return max(1, min(4, os.cpu_count() or 1))


def logical_block_size(fd: int) -> int:
    """The device's logical sector size (O_DIRECT's alignment); 512 for regular files."""
    try:
        buf = fcntl.ioctl(fd, _BLKSSZGET, b"\0" * 4)
    except OSError:
        return 512
    size: int = struct.unpack("i", buf)[0]
    return max(size, 512)


@dataclass
class _Chunk:
    buf: mmap.mmap
    view: memoryview
    pos: int = 0
    n: int = 0
    # (extent index, disk offset, offset in buffer, length)
    pieces: list[tuple[int, int, int, int]] = field(default_factory=list)
    pending: int = 0


class _Pipeline:
    def __init__(
        self,
        stream: ByteStream | FramedImage,
        fd: int,
        image_size: int,
        extents: Sequence[Extent],
        algorithm: str,
        chunk_size: int,
        pool: int,
        full_hash: bool,
        verify: bool,
        workers: int,
        before_write: Callable[[], None] | None = None,
        hash_extents: bool = True,
    ) -> None:
        self.stream = stream
        self.full_hash = full_hash
        self.hash_extents = hash_extents
        self.verify = verify
        self.skip_zero = False
        self.fd = fd
        self.image_size = image_size
        self.extents = extents
        self.algorithm = algorithm
        self.chunk_size = chunk_size
        self.align = logical_block_size(fd)
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.lock = threading.Lock()
        self.free: queue.Queue[_Chunk | None] = queue.Queue()
        self.to_hash: queue.Queue[_Chunk | None] = queue.Queue()
        self.to_full: queue.Queue[_Chunk | None] = queue.Queue()
        self.to_write: queue.Queue[_Chunk | None] = queue.Queue()
        self.chunks = []
        for _ in range(pool):
            buf = mmap.mmap(-1, chunk_size)
            chunk = _Chunk(buf, memoryview(buf))
            self.chunks.append(chunk)
            self.free.put(chunk)
        self.progress = Progress(image_size, sum(e.length for e in extents))
        self.full = hashlib.sha256()
        #: seconds each stage spent working (not waiting), for the debug log
        self.busy = {"read": 0.0, "hash": 0.0, "full": 0.0, "write": 0.0, "verify": 0.0}
        # read-back: each written buffer is read back right away and compared with itself
        self.hashed: dict[int, str] = {}
        #: extents read back to their end, and those whose disk bytes differ
        self.checked: set[int] = set()
        self.differ: set[int] = set()
        self.to_verify: queue.Queue[_Chunk | None] = queue.Queue()
        self.digests: list[tuple[Extent, str]] = []
        self.workers = max(1, min(workers, pool - 2))  # leave buffers to the other stages
        self._ext_i = 0
        self.before_write = before_write
        self.gate = threading.Event()
        if before_write is None:
            self.gate.set()

    # ---------------------------------------------------------------- plumbing

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            if self.error is None:
                self.error = exc
        self.stop.set()

    def _get(self, q: queue.Queue[_T | None]) -> _T | None:
        while not self.stop.is_set():
            try:
                return q.get(timeout=_POLL_S)
            except queue.Empty:
                continue
        return None

    def _release(self, chunk: _Chunk) -> None:
        with self.lock:
            chunk.pending -= 1
            done = chunk.pending == 0
        if done:
            self.free.put(chunk)

    def _run(self, target: Callable[[], None]) -> Callable[[], None]:
        def wrapper() -> None:
            try:
                target()
            except BaseException as exc:
                self.fail(exc)

        return wrapper

    # ---------------------------------------------------------------- stages

    def _pieces(self, pos: int, n: int) -> list[tuple[int, int, int, int]]:
        """The parts of extents inside image bytes ``pos..pos+n`` (extents are sorted)."""
        extents = self.extents
        while self._ext_i < len(extents) and extents[self._ext_i].end <= pos:
            self._ext_i += 1
        pieces = []
        end = pos + n
        j = self._ext_i
        while j < len(extents) and extents[j].start < end:
            lo = max(extents[j].start, pos)
            hi = min(extents[j].end, end)
            pieces.append((j, lo, lo - pos, hi - lo))
            if extents[j].end > end:
                break
            j += 1
        return pieces

    def _dispatch(self, chunk: _Chunk, pos: int, n: int) -> None:
        """Hand a filled buffer to the stages that need it (or straight back to the pool)."""
        pieces = self._pieces(pos, n)
        chunk.pos, chunk.n, chunk.pieces = pos, n, pieces
        holders = 1 + (1 if self.hash_extents else 0) + (1 if self.verify else 0)
        chunk.pending = (holders if pieces else 0) + (1 if self.full_hash else 0)
        if self.full_hash:
            self.to_full.put(chunk)
        if pieces:
            if self.hash_extents:
                self.to_hash.put(chunk)
            self.to_write.put(chunk)
        elif not self.full_hash:
            self.free.put(chunk)

    def read_stage(self) -> None:
        try:
            if isinstance(self.stream, FramedImage):
                self._read_frames(self.stream)
            else:
                self._read_stream(self.stream)
        finally:
            self.to_full.put(None)
            self.to_hash.put(None)
            self.to_write.put(None)

    def _read_stream(self, stream: ByteStream) -> None:
        pos = 0
        while not self.stop.is_set():
            chunk = self._get(self.free)
            if chunk is None:
                return
            t = time.perf_counter()
            n = stream.readinto(chunk.view)
            self.busy["read"] += time.perf_counter() - t
            if n == 0:
                self.free.put(chunk)
                break
            if pos + n > self.image_size:
                raise InputError(
                    f"the image is larger than its manifest says ({self.image_size} bytes)"
                )
            self._dispatch(chunk, pos, n)
            pos += n
            self.progress.read = pos
            if n < self.chunk_size:
                break
        if not self.stop.is_set() and pos != self.image_size:
            raise InputError(
                f"the image ends early: {pos} of {self.image_size} bytes "
                "(truncated or damaged file)",
                hint="fetch the image again",
            )

    def _read_frames(self, image: FramedImage) -> None:
        """Decompress the needed frames on ``self.workers`` threads; hand them on in order.

        A frame that holds no part of an extent is not decompressed at all, unless the
        whole image is hashed. At most ``workers`` frames are in flight, so the other
        stages always have buffers to work with.
        """
        if image.image_size != self.image_size:
            raise InputError(
                f"image {image.name} holds {image.image_size} bytes, "
                f"the manifest says {self.image_size}"
            )
        frames = image.frames if self.full_hash else needed_frames(image.frames, self.extents)
        inflight: deque[tuple[Frame, _Chunk, Future[int]]] = deque()

        def hand_on() -> None:
            frame, chunk, fut = inflight.popleft()
            t = time.perf_counter()
            fut.result()  # a damaged frame raises here
            self.busy["read"] += time.perf_counter() - t
            self._dispatch(chunk, frame.start, frame.size)
            self.progress.read = frame.end

        with ThreadPoolExecutor(self.workers, thread_name_prefix="flash-unzstd") as pool:
            try:
                for frame in frames:
                    while inflight and (inflight[0][2].done() or len(inflight) >= self.workers):
                        hand_on()
                    chunk = self._get(self.free)
                    if chunk is None:
                        return
                    inflight.append(
                        (frame, chunk, pool.submit(image.decompress_into, frame, chunk.view))
                    )
                while inflight and not self.stop.is_set():
                    hand_on()
            finally:
                for _frame, _chunk, fut in inflight:
                    fut.cancel()
        if not self.stop.is_set():
            self.progress.read = self.image_size

    def hash_stage(self) -> None:
        current: hashlib._Hash | None = None
        current_i = -1
        while True:
            chunk = self._get(self.to_hash)
            if chunk is None:
                break
            view = chunk.view
            t = time.perf_counter()
            for i, _disk, off, length in chunk.pieces:
                if i != current_i:
                    current, current_i = hashlib.new(self.algorithm), i
                assert current is not None
                current.update(view[off : off + length])
                extent = self.extents[i]
                if _disk + length == extent.end:
                    digest = current.hexdigest()
                    if extent.checksum is not None and digest != extent.checksum:
                        raise ChecksumMismatchError(
                            f"image bytes {extent.start}-{extent.end} do not match the bmap: "
                            f"{self.algorithm} is {digest}, the bmap says {extent.checksum}",
                            hint="the image or its bmap is damaged; fetch them again",
                        )
                    self.digests.append((extent, digest))
                    self.hashed[i] = digest
                    current, current_i = None, -1
            self.busy["hash"] += time.perf_counter() - t
            self._release(chunk)

    def full_hash_stage(self) -> None:
        """The manifest's sha256 covers every byte, holes included: its own thread."""
        while True:
            chunk = self._get(self.to_full)
            if chunk is None:
                break
            t = time.perf_counter()
            self.full.update(chunk.view[: chunk.n])
            self.busy["full"] += time.perf_counter() - t
            self._release(chunk)

    def write_stage(self) -> None:
        try:
            self._write_stage()
        finally:
            self.to_verify.put(None)

    def gate_stage(self) -> None:
        """Run the caller's last check of the source while the pipeline fills; the write
        stage touches the disk only once it has passed. Its error is the root cause, so
        it wins over any error another stage met meanwhile."""
        assert self.before_write is not None
        try:
            self.before_write()
        except BaseException as exc:
            with self.lock:
                self.error = exc
            self.stop.set()
            return
        self.gate.set()

    def _write_stage(self) -> None:
        while not self.gate.wait(_POLL_S):
            if self.stop.is_set():
                return
        while True:
            chunk = self._get(self.to_write)
            if chunk is None:
                break
            t = time.perf_counter()
            for _i, disk, off, length in chunk.pieces:
                if self.stop.is_set():
                    return
                piece = chunk.view[off : off + length]
                if self.skip_zero and is_zero(piece):
                    self.progress.skipped += length  # the read-back still checks it
                elif disk % self.align or length % self.align:
                    patch_write(self.fd, disk, piece, self.align)
                    self.progress.written += length
                else:
                    pwrite_all(self.fd, piece, disk)
                    self.progress.written += length
            self.busy["write"] += time.perf_counter() - t
            if self.verify:
                self.to_verify.put(chunk)  # the read-back releases it when compared
            self._release(chunk)

    def verify_stage(self) -> None:
        """Read each written buffer back from the device (O_DIRECT) as soon as it is written,
        and compare it with the buffer's own bytes (the hash stage checked those against
        the bmap or the manifest): the read-back ends with the last write.
        """
        with mmap.mmap(-1, self.chunk_size + 2 * self.align) as buf:
            view = memoryview(buf)
            try:
                while True:
                    chunk = self._get(self.to_verify)
                    if chunk is None:
                        break
                    t = time.perf_counter()
                    for i, disk, off, length in chunk.pieces:
                        expected = chunk.view[off : off + length]
                        if not compare_device(
                            self.fd, disk, expected, view, self.align, self.progress
                        ):
                            self.differ.add(i)
                        if disk + length == self.extents[i].end:
                            self.checked.add(i)
                    self.busy["verify"] += time.perf_counter() - t
                    self._release(chunk)
            finally:
                view.release()

    def mismatches(self) -> list[Mismatch]:
        """The extents whose disk bytes differ, with the digest of what the disk holds."""
        out = []
        with mmap.mmap(-1, self.chunk_size + 2 * self.align) as buf:
            view = memoryview(buf)
            try:
                for i in sorted(self.differ):
                    extent = self.extents[i]
                    found = hash_device_range(
                        self.fd, extent.start, extent.end, self.algorithm, view, self.align
                    )
                    expected = self.hashed.get(i) or extent.checksum or ""
                    out.append(Mismatch(extent.start, extent.end, expected, found))
            finally:
                view.release()
        return out

    def close(self) -> None:
        for chunk in self.chunks:
            chunk.view.release()
            # an error's traceback may still hold a slice: the buffer goes with it then
            with contextlib.suppress(BufferError):
                chunk.buf.close()


@dataclass(frozen=True)
class Mismatch:
    """A range whose bytes on the device differ from the image's."""

    start: int
    end: int
    expected: str
    found: str


def read_device(
    fd: int, start: int, end: int, buf: memoryview, align: int
) -> Iterator[tuple[int, memoryview]]:
    """Bytes ``start..end`` of ``fd`` as ``(offset, view)`` pieces, read with aligned
    (O_DIRECT-safe) reads into ``buf``; each view is valid until the next piece."""
    step = len(buf) - 2 * align
    pos = start
    while pos < end:
        lo = pos - pos % align
        hi = min(end, lo + step)
        length = -(-(hi - lo) // align) * align
        got = pread_exact(fd, buf[:length], lo)
        if got < hi - lo:
            raise WriteError(f"the target ends before offset {hi}")
        yield pos, buf[pos - lo : hi - lo]
        pos = hi


def hash_device_range(
    fd: int,
    start: int,
    end: int,
    algorithm: str,
    buf: memoryview,
    align: int,
    progress: Progress | None = None,
) -> str:
    """Hash bytes ``start..end`` of ``fd`` (see :func:`read_device`)."""
    h = hashlib.new(algorithm)
    for _pos, piece in read_device(fd, start, end, buf, align):
        h.update(piece)
        if progress is not None:
            progress.verified += len(piece)
    return h.hexdigest()


def compare_device(
    fd: int,
    start: int,
    expected: memoryview,
    buf: memoryview,
    align: int,
    progress: Progress | None = None,
) -> bool:
    """Whether ``fd`` holds ``expected`` at ``start`` (see :func:`read_device`)."""
    equal = True
    for pos, piece in read_device(fd, start, start + len(expected), buf, align):
        equal = same(piece, expected[pos - start : pos - start + len(piece)]) and equal
        if progress is not None:
            progress.verified += len(piece)
    return equal


def wait_for(
    threads: Sequence[threading.Thread], interval_s: float, tick: Callable[[], None]
) -> None:
    """Wait until every thread has ended, calling ``tick`` (progress) every ``interval_s``.

    Each wait is on a thread still running: joining one that has ended returns at
    once, and a loop around that spins, taking a core from the threads that work.
    """
    while alive := [t for t in threads if t.is_alive()]:
        alive[0].join(interval_s)
        tick()


def pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    done = 0
    while done < len(data):
        try:
            n = os.pwrite(fd, data[done:], offset + done)
        except OSError as exc:
            raise WriteError(
                f"writing {len(data) - done} bytes at offset {offset + done} failed: {exc.strerror}"
            ) from None
        if n <= 0:
            raise WriteError(f"the target accepted no bytes at offset {offset + done}")
        done += n


def pread_exact(fd: int, buf: memoryview, offset: int) -> int:
    """Read up to ``len(buf)`` bytes; fewer only at the end of the device."""
    done = 0
    while done < len(buf):
        try:
            n = os.preadv(fd, [buf[done:]], offset + done)
        except OSError as exc:
            raise WriteError(
                f"reading {len(buf) - done} bytes at offset {offset + done} failed: {exc.strerror}"
            ) from None
        if n == 0:
            break
        done += n
    return done


def patch_write(fd: int, offset: int, data: memoryview, align: int) -> None:
    """Write bytes that are not sector-aligned: read the covering sectors, patch, write back."""
    lo = offset - offset % align
    hi = -(-(offset + len(data)) // align) * align
    with mmap.mmap(-1, hi - lo) as buf:
        view = memoryview(buf)
        try:
            got = pread_exact(fd, view, lo)
            if got < offset + len(data) - lo:
                raise WriteError(f"the target ends before offset {offset + len(data)}")
            view[offset - lo : offset - lo + len(data)] = data
            pwrite_all(fd, view[:got], lo)
        finally:
            view.release()


def write_image(
    stream: ByteStream | FramedImage,
    fd: int,
    image_size: int,
    extents: Sequence[Extent],
    *,
    algorithm: str = "sha256",
    chunk_size: int = CHUNK_SIZE,
    pool: int = POOL_BUFFERS,
    progress: ProgressCallback | None = None,
    interval_s: float = 0.5,
    full_hash: bool = True,
    verify: bool = True,
    workers: int | None = None,
    before_write: Callable[[], None] | None = None,
    skip_zero: bool = False,
    hash_extents: bool = True,
) -> WriteResult:
    """Stream ``image_size`` bytes from ``stream``, write ``extents`` to ``fd``, then flush.

    ``fd`` should be opened O_RDWR|O_DIRECT (|O_EXCL for a block device). Without
    ``full_hash`` the whole-image sha256 is not computed (``image_sha256`` is None):
    the caller then vouches for the stream another way. With ``verify`` (the default)
    every piece is read back from the device right after it is written, while later
    pieces are still being written; :attr:`WriteResult.mismatches` lists the extents
    whose bytes on the device differ from the stream's.
    A :class:`FramedImage` is decompressed frame by frame on ``workers`` threads
    (default :func:`decompress_workers`), one frame per buffer, skipping frames that
    hold no extent unless ``full_hash``. ``before_write`` (e.g. the compressed file's
    sha256 check) runs in its own thread while the first buffers are decompressed and
    hashed; nothing is written before it returns, and its exception ends the flash.
    With ``skip_zero`` (only when the whole disk is proven to hold zeros, e.g. by a
    fully verified zero wipe just before) pieces that are all zeros are not written:
    the disk holds them already. The read-back still reads and compares them, so a
    wrong claim ends in a mismatch, never in a bad disk passing.
    Without ``hash_extents`` the extents are not hashed (no ``digests``): only when the
    caller vouches for the stream's bytes another way (a stamp, see stamps.py).
    Raises on the first problem; what was written by then is not a usable system.
    """
    if isinstance(stream, FramedImage):
        page = mmap.PAGESIZE
        chunk_size = max(chunk_size, -(-stream.table.max_frame_size // page) * page)
        pool = max(4, min(pool, (POOL_BYTES // chunk_size)))
    if chunk_size % mmap.PAGESIZE:
        raise ValueError("chunk size must be a multiple of the page size")
    start = time.monotonic()
    pipe = _Pipeline(
        stream, fd, image_size, extents, algorithm, chunk_size, pool, full_hash, verify,
        workers or decompress_workers(), before_write, hash_extents,
    )  # fmt: skip
    pipe.skip_zero = skip_zero
    stages = [pipe.read_stage, pipe.write_stage]
    if hash_extents:
        stages.append(pipe.hash_stage)
    if before_write is not None:
        stages.append(pipe.gate_stage)
    if full_hash:
        stages.append(pipe.full_hash_stage)
    if verify:
        stages.append(pipe.verify_stage)
    threads = [
        threading.Thread(target=pipe._run(stage), name=f"flash-{stage.__name__}", daemon=True)
        for stage in stages
    ]

    def tick() -> None:
        if verify and pipe.progress.handled >= pipe.progress.to_write:
            pipe.progress.phase = "verify"  # only the read-back is left
        if progress:
            progress(pipe.progress)

    try:
        for t in threads:
            t.start()
        wait_for(threads, interval_s, tick)
    except BaseException as exc:  # KeyboardInterrupt: stop the threads before leaving
        pipe.fail(exc)
        for t in threads:
            t.join()
        raise
    finally:
        for t in threads:
            t.join()
        pipe.close()
    log.debug(
        "write pipeline: %.2f s; busy: %s",
        time.monotonic() - start,
        ", ".join(f"{k} {v:.2f} s" for k, v in pipe.busy.items()),
    )
    if progress:
        progress(pipe.progress)  # the final counts, also when the flash failed
    if pipe.error is not None:
        raise pipe.error
    try:
        os.fsync(fd)
    except OSError as exc:
        raise WriteError(f"flushing the target failed: {exc.strerror}") from None
    if hash_extents and len(pipe.digests) != len(extents):
        raise WriteError("internal error: not every extent was hashed")
    if verify and len(pipe.checked) != len(extents):
        raise WriteError("internal error: not every extent was read back")
    return WriteResult(
        image_sha256=pipe.full.hexdigest() if full_hash else None,
        image_bytes=pipe.progress.read,
        bytes_written=pipe.progress.written,
        bytes_skipped=pipe.progress.skipped,
        digests=pipe.digests,
        algorithm=algorithm,
        duration_s=time.monotonic() - start,
        verified=verify,
        mismatches=pipe.mismatches() if verify else [],
    )
