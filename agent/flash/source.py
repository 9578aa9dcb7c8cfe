"""Image sources: a local file or an HTTP(S) URL, raw or compressed (zst, xz, gz).

Decompression happens in-process (zstandard, lzma, zlib release the GIL), so
the writer thread can run while this one decompresses. A download that drops
is resumed with a Range request from where it stopped; with a cache directory
the compressed file is kept (and resumed across runs) on the stick.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import lzma
import os
import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import zstandard

from agent.errors import InputError
from agent.flash.manifest import Compression
from agent.flash.seekable import SeekTable, read_seek_table
from agent.flash.stamps import HashingReader

if TYPE_CHECKING:  # requests is imported only for a URL (start-up time of a local flash)
    import requests

log = logging.getLogger(__name__)

MAGIC: dict[Compression, bytes] = {
    "zst": b"\x28\xb5\x2f\xfd",
    "xz": b"\xfd7zXZ\x00",
    "gz": b"\x1f\x8b",
}
READ_SIZE = 1 << 20
HTTP_TIMEOUT_S = 30.0
HTTP_RETRIES = 5
HTTP_BACKOFF_S = 0.5  # wait before the n-th retry: n times this


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class DownloadError(InputError):
    """A download failed or ended early; what is cached so far is kept for a resume."""


def is_url(ref: str) -> bool:
    return urlsplit(ref).scheme in ("http", "https")


def detect_compression(head: bytes) -> Compression:
    for kind, magic in MAGIC.items():
        if head.startswith(magic):
            return kind
    return "raw"


def check_local_image(path: Path, compression: Compression, raw_size: int) -> SeekTable | None:
    """Refuse, before the disk is touched, a file whose format or size contradicts the manifest.

    A zstd file's seek table (see seekable.py), if it has one, must add up to the
    manifest's size too; it is returned.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(32)
            tail = b""
            if compression == "gz" and size >= 18:
                fh.seek(size - 4)
                tail = fh.read(4)
    except OSError as exc:
        raise InputError(f"cannot read image {path}: {exc.strerror}") from None
    found = detect_compression(head)
    if found != compression:
        raise InputError(
            f"image {path} looks like {found} data, but the manifest says {compression}",
            hint="the image file and its manifest do not belong together",
        )
    if compression == "raw" and size != raw_size:
        raise InputError(f"image {path} is {size} bytes, the manifest says {raw_size}")
    table = None
    if compression == "zst":
        table = read_seek_table(path, raw_size)
        try:
            content_size = zstandard.frame_content_size(head)
        except zstandard.ZstdError as exc:
            raise InputError(f"image {path} has a bad zstd header: {exc}") from None
        # -1 means the frame does not record its size (streamed compression).
        if table is not None:
            if content_size >= 0 and content_size != table.frames[0].size:
                raise InputError(
                    f"image {path}: its first frame holds {content_size} bytes, "
                    f"its seek table says {table.frames[0].size}"
                )
        elif content_size >= 0 and content_size != raw_size:
            raise InputError(
                f"image {path} decompresses to {content_size} bytes, the manifest says {raw_size}"
            )
    if compression == "gz" and tail:
        (isize,) = struct.unpack("<I", tail)
        if isize != raw_size % (1 << 32):
            raise InputError(
                f"image {path} records a size of {isize} (mod 2^32) bytes, "
                f"the manifest says {raw_size}"
            )
    return table


class HttpReader:
    """A file-like view of a URL that resumes with Range requests when the connection drops."""

    def __init__(
        self,
        url: str,
        *,
        start: int = 0,
        session: requests.Session | None = None,
        retries: int = HTTP_RETRIES,
        timeout: float = HTTP_TIMEOUT_S,
        backoff_s: float | None = None,
    ) -> None:
        self.url = url
        self.pos = start
        self.total: int | None = None
        self.resumes = 0
        import requests

        self._session = session or requests.Session()
        self._retries = retries
        self._timeout = timeout
        self._backoff = HTTP_BACKOFF_S if backoff_s is None else backoff_s
        self._validator: str | None = None
        self._resp: requests.Response | None = None
        self._raw: Any = None  # urllib3's HTTPResponse

    def _connect(self) -> None:
        headers = {"Accept-Encoding": "identity"}
        if self.pos:
            headers["Range"] = f"bytes={self.pos}-"
            if self._validator:
                headers["If-Range"] = self._validator
        import requests

        try:
            resp = self._session.get(self.url, headers=headers, stream=True, timeout=self._timeout)
        except requests.RequestException as exc:
            raise _Retry(str(exc)) from exc
        if resp.status_code == 416 and self.total is not None and self.pos >= self.total:
            resp.close()
            self._raw = None
            return
        if resp.status_code >= 500:
            resp.close()
            raise _Retry(f"server answered {resp.status_code}")
        if resp.status_code not in (200, 206):
            resp.close()
            raise DownloadError(f"download of {self.url} failed: HTTP {resp.status_code}")
        validator = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
        if self.pos and resp.status_code == 206:
            content_range = resp.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {self.pos}-"):
                resp.close()
                raise DownloadError(f"server resumed {self.url} at the wrong place")
            total = content_range.rsplit("/", 1)[-1]
            if total.isdigit():
                self._set_total(int(total))
        else:
            if self.pos:
                # The server ignored the Range (or the file changed): start again is not
                # possible mid-stream, so skip what we already have only if it is the same file.
                if self._validator and validator != self._validator:
                    resp.close()
                    raise DownloadError(f"{self.url} changed on the server during the download")
                log.info("server ignored the range request; skipping %d bytes", self.pos)
                _skip(resp.raw, self.pos)
            length = resp.headers.get("Content-Length")
            if length and length.isdigit():
                self._set_total(int(length))
        self._validator = self._validator or validator
        self._resp = resp
        self._raw = resp.raw

    def _set_total(self, total: int) -> None:
        if self.total is not None and self.total != total:
            raise DownloadError(f"{self.url} changed size on the server during the download")
        self.total = total

    def read(self, size: int = -1, /) -> bytes:
        import requests

        if size < 0:
            size = READ_SIZE
        failures = 0
        while True:
            try:
                if self._raw is None:
                    if self.total is not None and self.pos >= self.total:
                        return b""
                    self._connect()
                    if self._raw is None:
                        return b""
                data: bytes = self._raw.read(size)
            except (_Retry, requests.RequestException, OSError, _urllib3_errors()) as exc:
                self._drop()
                failures += 1
                if failures > self._retries:
                    raise DownloadError(
                        f"download of {self.url} stopped at {self.pos} of "
                        f"{self.total if self.total is not None else '?'} bytes: {exc}",
                        hint="check the network; run again to resume",
                    ) from None
                self.resumes += 1
                log.warning("download interrupted at %d bytes (%s); resuming", self.pos, exc)
                time.sleep(self._backoff * failures)
                continue
            if data:
                self.pos += len(data)
                return data
            # A clean end: complete only if the length is known and reached.
            self._drop()
            if self.total is None or self.pos >= self.total:
                return b""
            failures += 1
            if failures > self._retries:
                raise DownloadError(
                    f"download of {self.url} ended at {self.pos} of {self.total} bytes",
                    hint="check the network; run again to resume",
                )
            self.resumes += 1
            time.sleep(self._backoff * failures)

    def readinto(self, buf: memoryview | bytearray) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def _drop(self) -> None:
        if self._resp is not None:
            self._resp.close()
        self._resp = None
        self._raw = None

    def close(self) -> None:
        self._drop()


class _Retry(Exception):
    """A failure worth another try (connection refused/reset, 5xx)."""


def _urllib3_errors() -> type[Exception]:
    from urllib3.exceptions import HTTPError

    return HTTPError


def _skip(raw: Any, count: int) -> None:
    while count > 0:
        data = raw.read(min(count, READ_SIZE))
        if not data:
            raise _Retry("connection ended while skipping")
        count -= len(data)


def remote_size(url: str, session: requests.Session | None = None) -> int | None:
    """The size a server announces for ``url`` (HEAD), or None when it does not say."""
    import requests

    try:
        resp = (session or requests).head(url, timeout=HTTP_TIMEOUT_S, allow_redirects=True)
    except requests.RequestException as exc:
        raise DownloadError(f"cannot reach {url}: {exc}") from None
    if resp.status_code != 200:
        raise DownloadError(f"cannot fetch {url}: HTTP {resp.status_code}")
    length = resp.headers.get("Content-Length", "")
    return int(length) if length.isdigit() else None


def download(
    url: str,
    dest: Path,
    *,
    expected_size: int | None = None,
    expected_sha256: str | None = None,
    session: requests.Session | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Fetch ``url`` to ``dest`` (resuming ``dest.part`` if present); check size and sha256."""
    if dest.exists() and _matches(dest, expected_size, expected_sha256):
        return dest
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    if expected_size is not None and start > expected_size:
        part.unlink()
        start = 0
    reader = HttpReader(url, start=start, session=session)
    try:
        with part.open("ab") as out:
            while True:
                data = reader.read(READ_SIZE)
                if not data:
                    break
                out.write(data)
                if progress:
                    progress(reader.pos, reader.total)
            out.flush()
            os.fsync(out.fileno())
    finally:
        reader.close()
    if not _matches(part, expected_size, expected_sha256):
        got = part.stat().st_size
        part.unlink()
        raise DownloadError(
            f"download of {url} does not match the manifest ({got} bytes; "
            f"expected {expected_size if expected_size is not None else '?'} bytes"
            + (", sha256 differs)" if expected_sha256 and got == expected_size else ")"),
            hint="the server holds a different or damaged file",
        )
    part.replace(dest)
    return dest


def _matches(path: Path, size: int | None, sha256: str | None) -> bool:
    if size is not None and path.stat().st_size != size:
        return False
    if sha256 is None:
        return True
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(READ_SIZE * 4):
            h.update(chunk)
    return h.hexdigest() == sha256


class ImageStream:
    """The raw image bytes, decompressed on the fly, read with :meth:`readinto`."""

    def __init__(self, raw: Readable, compression: Compression, name: str) -> None:
        self.name = name
        self._source = raw
        self.source: HashingReader | None = raw if isinstance(raw, HashingReader) else None
        self._reader: Any
        source: Any = raw
        if compression == "zst":
            self._reader = zstandard.ZstdDecompressor().stream_reader(
                source, read_size=READ_SIZE, read_across_frames=True, closefd=False
            )
        elif compression == "xz":
            self._reader = lzma.LZMAFile(source)  # noqa: SIM115 - closed in close()
        elif compression == "gz":
            self._reader = gzip.GzipFile(fileobj=source, mode="rb")
        else:
            self._reader = raw

    def readinto(self, buf: memoryview) -> int:
        """Fill ``buf``; fewer bytes only at the end of the image."""
        filled = 0
        total = len(buf)
        reader = self._reader
        try:
            while filled < total:
                if hasattr(reader, "readinto"):
                    n = reader.readinto(buf[filled:])
                else:
                    data = reader.read(total - filled)
                    n = len(data)
                    buf[filled : filled + n] = data
                if not n:
                    break
                filled += n
        except DownloadError:
            raise
        except (zstandard.ZstdError, lzma.LZMAError, zlib.error, gzip.BadGzipFile) as exc:
            raise InputError(
                f"image {self.name} is corrupt: {exc}", hint="fetch the image again"
            ) from None
        except EOFError as exc:
            raise InputError(
                f"image {self.name} ends early (truncated): {exc}", hint="fetch the image again"
            ) from None
        except OSError as exc:
            raise InputError(f"cannot read image {self.name}: {exc}") from None
        return filled

    def close(self) -> None:
        for obj in (self._reader, self._source):
            close = getattr(obj, "close", None)
            if close is not None:
                close()


def open_image(
    ref: str,
    compression: Compression,
    *,
    session: requests.Session | None = None,
    hash_source: bool = False,
) -> ImageStream:
    """Open a local path or URL as a decompressed :class:`ImageStream`.

    With ``hash_source`` the stream's :attr:`ImageStream.source` hashes the file's
    own (compressed) bytes as they are read.
    """
    raw: Readable
    if is_url(ref):
        raw = HttpReader(ref, session=session)
    else:
        try:
            raw = Path(ref).open("rb", buffering=0)  # noqa: SIM115 - ImageStream closes it
        except OSError as exc:
            raise InputError(f"cannot open image {ref}: {exc.strerror}") from None
    if hash_source:
        raw = HashingReader(raw)
    return ImageStream(raw, compression, ref)
