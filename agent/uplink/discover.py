"""Finding the Digibench server on the bench's network: mDNS/DNS-SD ``_digibench._tcp``.

The server announces itself (``digibench-server announce``, or Avahi's service file in
server/deploy/avahi/); a new station that was given no address looks for it and offers
what it found, and the volunteer confirms. Nothing is trusted because it was announced:
the admin still approves the pairing code, comparing the key fingerprint, in the web UI.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Sequence
from dataclasses import dataclass

SERVICE = "_digibench._tcp.local."


@dataclass(frozen=True)
class Found:
    """One announced server: the instance name people see and the address to pair with."""

    name: str
    url: str


def service_url(
    addresses: Sequence[str], port: int, properties: dict[str, str], server: str = ""
) -> str | None:
    """The address to offer: the announced ``url`` (what its TLS certificate names), else
    ``scheme://address:port/path`` built from the first address (IPv4 first)."""
    announced = properties.get("url", "")
    if announced.startswith(("https://", "http://")):
        return announced.rstrip("/")
    scheme = "https" if properties.get("scheme") == "https" else "http"
    path = properties.get("path", "").strip("/")
    ordered = sorted(addresses, key=lambda a: ipaddress.ip_address(a).version)
    host = ordered[0] if ordered else server.rstrip(".")
    if not host or port <= 0:
        return None
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}" + (f"/{path}" if path else "")


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


def discover(timeout: float = 3.0, *, interfaces: Sequence[str] | None = None) -> list[Found]:
    """Browse for ``timeout`` seconds; every server that answered, by name.

    ``interfaces`` (addresses) limits where to ask, e.g. ``["127.0.0.1"]`` in tests; by
    default every interface. No network at all is not an error: nothing is found."""
    from zeroconf import InterfaceChoice, ServiceBrowser, ServiceStateChange, Zeroconf

    names: set[str] = set()
    lock = threading.Lock()

    def changed(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is not ServiceStateChange.Removed:
            with lock:
                names.add(name)

    try:
        zc = Zeroconf(interfaces=list(interfaces) if interfaces else InterfaceChoice.All)
    except OSError:
        return []
    try:
        browser = ServiceBrowser(zc, SERVICE, handlers=[changed])
        threading.Event().wait(timeout)
        browser.cancel()
        found: dict[str, Found] = {}
        with lock:
            seen = sorted(names)
        for name in seen:
            info = zc.get_service_info(SERVICE, name, timeout=int(timeout * 1000))
            if info is None:
                continue
            properties = {_text(k): _text(v) for k, v in info.properties.items()}
            url = service_url(
                info.parsed_addresses(), info.port or 0, properties, info.server or ""
            )
            if url:
                label = name.removesuffix("." + SERVICE)
                found[url] = Found(label, url)
        return sorted(found.values(), key=lambda f: (f.name, f.url))
    finally:
        zc.close()
