"""The server announces itself on the bench's network (mDNS/DNS-SD ``_digibench._tcp``).

``digibench-server announce --url https://digibench.example.org`` runs next to the
server (digibench-announce.service); a new stick's enrolment screen then finds the
address by itself. Machines that run Avahi can use server/deploy/avahi/digibench.service
instead. The announcement carries the address the server is reached at (``url``, what
its TLS certificate names) and its port; it grants nothing: pairing still needs an admin.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import urlsplit

from agent.uplink.discover import SERVICE


def _port(url: str) -> int:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url} is not an http(s) address")
    return parts.port or (443 if parts.scheme == "https" else 80)


def host_addresses() -> list[str]:
    """This host's IPv4 addresses other than loopback: where stations can reach it."""
    import ifaddr

    return [
        ip.ip
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
        if isinstance(ip.ip, str) and not ip.ip.startswith("127.")
    ]


@contextmanager
def announced(
    url: str,
    *,
    name: str = "Digibench",
    interfaces: Sequence[str] | None = None,
    addresses: Sequence[str] | None = None,
) -> Iterator[None]:
    """Announce ``url`` while the block runs. ``interfaces`` limits where (addresses, e.g.
    ["127.0.0.1"] in tests); ``addresses`` are what is announced (default: this host's)."""
    from zeroconf import InterfaceChoice, ServiceInfo, Zeroconf

    port = _port(url)
    announce = list(addresses or interfaces or host_addresses())
    host = socket.gethostname().split(".")[0] or "digibench"
    info = ServiceInfo(
        SERVICE,
        f"{name}.{SERVICE}",
        port=port,
        parsed_addresses=announce,
        properties={"url": url.rstrip("/"), "path": urlsplit(url).path or "/"},
        server=f"{host}.local.",
    )
    zc = Zeroconf(interfaces=list(interfaces) if interfaces else InterfaceChoice.All)
    try:
        zc.register_service(info, allow_name_change=True)
        yield
    finally:
        zc.unregister_all_services()
        zc.close()
