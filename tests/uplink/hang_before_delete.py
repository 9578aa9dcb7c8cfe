"""An uploader that stops dead after the server acknowledged, before deleting.

Run as a subprocess by the SIGKILL test: it announces the moment through a
marker file and then waits to be killed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from agent.uplink.client import UplinkConfig, Uploader, flush
from agent.uplink.outbox import Outbox, OutboxEntry


def main() -> None:
    outbox_dir, server, token, marker = sys.argv[1:5]

    def hang(self: Outbox, entry: OutboxEntry) -> None:
        Path(marker).write_text(entry.report_id)
        time.sleep(600)

    Outbox.acknowledge = hang  # type: ignore[method-assign]
    flush(Outbox(Path(outbox_dir)), Uploader(UplinkConfig(server_url=server, token=token)))


if __name__ == "__main__":
    main()
