"""A tiny HTTP file server on 127.0.0.1 that can drop connections, for resume tests."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Faults:
    drop_after: int | None = None  # close the connection after this many body bytes...
    drops: int = 0  # ...this many times (-1: always)
    ignore_range: bool = False
    drop_at: int | None = None  # never send bytes past this offset of the file
    log: list[tuple[str, str | None]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    files: dict[str, bytes]
    faults: Faults

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _lookup(self) -> bytes | None:
        data = self.files.get(self.path)
        if data is None:
            self.send_error(404)
        return data

    def do_HEAD(self) -> None:
        data = self._lookup()
        if data is None:
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()

    def do_GET(self) -> None:
        rng = self.headers.get("Range")
        self.faults.log.append((self.path, rng))
        data = self._lookup()
        if data is None:
            return
        start = 0
        if rng and not self.faults.ignore_range:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"v1"')
        self.end_headers()
        f = self.faults
        if f.drop_at is not None and start + len(body) > f.drop_at:
            self.wfile.write(body[: max(0, f.drop_at - start)])
            self.wfile.flush()
            self.close_connection = True
            return
        if f.drop_after is not None and f.drops != 0 and len(body) > f.drop_after:
            if f.drops > 0:
                f.drops -= 1
            self.wfile.write(body[: f.drop_after])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@contextlib.contextmanager
def serve(files: dict[str, bytes], faults: Faults) -> Iterator[str]:
    handler = type("Handler", (_Handler,), {"files": files, "faults": faults})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
