"""The key a station signs with: its own, or, on a network-booted laptop, the bench
server's signing on its behalf (signer.py)."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.config import StationConfig
from agent.errors import InputError
from agent.signing import load_or_create_key


def station_key(config: StationConfig) -> Ed25519PrivateKey:
    if config.netboot.bench:
        from agent.netboot.signer import RemoteStationKey

        if not config.server.token:
            raise InputError("a network-booted laptop needs its session token ([server] token)")
        return RemoteStationKey(config.netboot.bench, config.server.token)
    return load_or_create_key(config.key_dir)
