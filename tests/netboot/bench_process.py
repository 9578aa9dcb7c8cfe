"""The bench server (``digibench netboot serve``) as a separate process on loopback, for the
tests: its log (with the count of backing-store reads) is a file the test reads."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.uplink.server_process import LOOPBACK, free_port, start_process, stop_process


class BenchProcess:
    def __init__(
        self,
        config: Path,
        live: Path,
        work: Path,
        *,
        public_url: str | None = None,
        laptops: Path | None = None,
        kernel_args: str = "",
        allow: list[str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.public_url = public_url or self.url
        self.log = work / "bench.log"
        self.cmd = [
            sys.executable, "-m", "agent.cli", "netboot", "serve",
            "--config", str(config), "--live", str(live), "--state", str(work / "bench-state"),
            "--host", LOOPBACK, "--port", str(self.port), "--public-url", self.public_url,
            "--ipxe", str(work / "no-ipxe"),
        ]  # fmt: skip
        if laptops is not None:
            self.cmd += ["--laptops", str(laptops)]
        if kernel_args:
            self.cmd += ["--kernel-args", kernel_args]
        for net in allow or []:
            self.cmd += ["--allow", net]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = start_process(
            self.cmd, self.log, f"{self.url}/netboot/key", what="bench server"
        )

    def stop(self) -> None:
        stop_process(self.proc)

    def backing_reads(self, name: str) -> int:
        """How often the log says ``name`` was read from the backing store."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return len(re.findall(rf"netboot: {re.escape(name)} read from the backing store", text))
