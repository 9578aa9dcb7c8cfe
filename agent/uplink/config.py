"""Where the uplink settings come from: command line, then environment, then station config.

The station config is the one TOML file every station command reads
(:mod:`agent.config`): ``[server] url / token / ca_file / timeout_s`` and
the outbox under ``[station] data_dir``. The environment (``DIGIBENCH_SERVER``,
``DIGIBENCH_TOKEN``, ``DIGIBENCH_CA_FILE``, ``DIGIBENCH_OUTBOX``) overrides it,
and the command line overrides both.
"""

from __future__ import annotations

import os
from pathlib import Path

from agent.config import StationConfig
from agent.errors import InputError
from agent.uplink.client import UplinkConfig


def outbox_dir(cli_value: Path | None, config: StationConfig) -> Path:
    if cli_value is not None:
        return cli_value
    if os.environ.get("DIGIBENCH_OUTBOX"):
        return Path(os.environ["DIGIBENCH_OUTBOX"])
    return config.outbox_dir


def uplink_config(
    config: StationConfig,
    *,
    server: str | None = None,
    token: str | None = None,
    ca_file: Path | None = None,
) -> UplinkConfig:
    server = server or os.environ.get("DIGIBENCH_SERVER") or config.server.url
    if not server:
        raise InputError(
            "no server URL",
            hint="give --server, DIGIBENCH_SERVER or [server] url in the station config",
        )
    ca = ca_file or os.environ.get("DIGIBENCH_CA_FILE") or config.server.ca_file
    return UplinkConfig(
        server_url=str(server),
        token=str(token or os.environ.get("DIGIBENCH_TOKEN") or config.server.token or ""),
        ca_file=Path(str(ca)) if ca else None,
        timeout_s=config.server.timeout_s,
    )
