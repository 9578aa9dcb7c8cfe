"""dnsmasq itself, with the config `digibench netboot dnsmasq` writes, answers a UEFI HTTP
boot client in proxy mode: two network namespaces joined by a veth pair, dnsmasq in one, a
DHCPDISCOVER such as EDK2's HTTP boot sends (vendor class HTTPClient, architecture 16)
from the other. The namespaces and the veth pair are the test's own and go at the end."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.netboot.ipxe import dnsmasq_config

pytestmark = [pytest.mark.root]

SERVER_IP = "10.231.77.1"
CLIENT_IP = "10.231.77.2"
MAC = bytes.fromhex("525400a1b2c3")

# The client: one DHCPDISCOVER out of the veth end, the first answer back as hex (or none).
CLIENT = """
import socket, sys
packet, dev = bytes.fromhex(sys.argv[1]), sys.argv[2].encode()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev)
s.bind(("", 68))
s.settimeout(1.0)
for _ in range(int(sys.argv[3])):
    s.sendto(packet, ("255.255.255.255", 67))
    try:
        print(s.recv(2048).hex())
        break
    except TimeoutError:
        pass
"""


def _discover(vendor: str, arch: int) -> bytes:
    header = struct.pack(
        "!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, 0x1234ABCD, 0, 0x8000,
        bytes(4), bytes(4), bytes(4), bytes(4), MAC.ljust(16, b"\0"), b"", b"",
    )  # fmt: skip
    options = [
        (53, b"\x01"),  # DHCPDISCOVER
        (60, vendor.encode()),
        (93, struct.pack("!H", arch)),  # client system architecture
        (94, b"\x01\x03\x10"),  # network interface identifier (UNDI 3.16)
        (97, b"\x00" + bytes(range(16))),  # the machine's UUID
        (55, bytes([1, 3, 6, 43, 60, 66, 67])),
    ]
    body = b"".join(bytes([code, len(value)]) + value for code, value in options)
    return header + b"\x63\x82\x53\x63" + body + b"\xff"


@dataclass
class Reply:
    yiaddr: str
    file: str
    options: dict[int, bytes]


def _parse(data: bytes) -> Reply:
    yiaddr = ".".join(str(b) for b in data[16:20])
    file = data[108:236].split(b"\0", 1)[0].decode()
    options: dict[int, bytes] = {}
    i = 240
    while i < len(data) and data[i] != 255:
        if data[i] == 0:
            i += 1
            continue
        code, length = data[i], data[i + 1]
        options[code] = data[i + 2 : i + 2 + length]
        i += 2 + length
    return Reply(yiaddr, file, options)


@dataclass
class Bench:
    server_ns: str
    client_ns: str
    client_dev: str
    server_dev: str


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def bench() -> Iterator[Bench]:
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 (network namespaces)")
    tag = secrets.token_hex(3)
    net = Bench(f"dbs{tag}", f"dbc{tag}", f"dbc{tag}", f"dbs{tag}")
    try:
        _ip("netns", "add", net.server_ns)
        _ip("netns", "add", net.client_ns)
        _ip("link", "add", net.server_dev, "type", "veth", "peer", "name", net.client_dev)
        _ip("link", "set", net.server_dev, "netns", net.server_ns)
        _ip("link", "set", net.client_dev, "netns", net.client_ns)
        for ns, dev, ip in ((net.server_ns, net.server_dev, SERVER_IP),
                            (net.client_ns, net.client_dev, CLIENT_IP)):  # fmt: skip
            _ip("-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield net
    finally:
        for ns in (net.server_ns, net.client_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


def _ask(net: Bench, conf_text: str, tmp_path: Path, vendor: str, arch: int, tries: int) -> str:
    """Start dnsmasq with ``conf_text`` in the server namespace, send one client's DISCOVER."""
    dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    if not Path(dnsmasq).exists():
        pytest.skip("dnsmasq is not installed (scripts/setup-debian.sh)")
    conf = tmp_path / "digibench.conf"
    conf.write_text(conf_text)
    server = subprocess.Popen(
        ["ip", "netns", "exec", net.server_ns, dnsmasq, "--keep-in-foreground",
         f"--conf-file={conf}", "--user=root", "--group=root", "--pid-file=",
         f"--dhcp-leasefile={tmp_path / 'leases'}", "--log-facility=-"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        # dnsmasq is listening once it has said so (it logs its DHCP and TFTP setup)
        deadline = time.monotonic() + 30
        seen = ""
        assert server.stdout is not None
        while "TFTP root" not in seen and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            seen += line
        assert "TFTP root" in seen, f"dnsmasq did not start:\n{seen}"
        packet = _discover(vendor, arch).hex()
        asked = subprocess.run(
            ["ip", "netns", "exec", net.client_ns, sys.executable, "-c", CLIENT,
             packet, net.client_dev, str(tries)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert asked.returncode == 0, asked.stderr
        return asked.stdout.strip()
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)


def test_a_uefi_http_boot_client_gets_ipxe_by_url_from_proxy_dhcp(
    bench: Bench, tmp_path: Path
) -> None:
    conf = dnsmasq_config(SERVER_IP, 8067, str(tmp_path), interface=bench.server_dev)
    answer = _ask(bench, conf, tmp_path, "HTTPClient:Arch:00016:UNDI:003016", 16, tries=10)
    assert answer, "dnsmasq did not answer the HTTP boot client"
    reply = _parse(bytes.fromhex(answer))
    assert reply.options[53] == b"\x02"  # DHCPOFFER
    assert reply.yiaddr == "0.0.0.0"  # a proxy offer: the router gives the address
    assert reply.options[60] == b"HTTPClient"  # what makes the firmware take it as HTTP boot
    assert reply.file == f"http://{SERVER_IP}:8067/ipxe/ipxe.efi"


def test_without_the_http_vendor_proxy_dhcp_ignores_http_boot(bench: Bench, tmp_path: Path) -> None:
    """Why the config names HTTPClient: dnsmasq's proxy mode answers PXEClient only."""
    conf = dnsmasq_config(SERVER_IP, 8067, str(tmp_path), interface=bench.server_dev)
    conf = conf.replace("dhcp-pxe-vendor=PXEClient,HTTPClient\n", "")
    assert _ask(bench, conf, tmp_path, "HTTPClient:Arch:00016:UNDI:003016", 16, tries=3) == ""


def test_uefi_pxe_still_gets_ipxe_by_tftp(bench: Bench, tmp_path: Path) -> None:
    conf = dnsmasq_config(SERVER_IP, 8067, str(tmp_path), interface=bench.server_dev)
    answer = _ask(bench, conf, tmp_path, "PXEClient:Arch:00007:UNDI:003016", 7, tries=10)
    reply = _parse(bytes.fromhex(answer))
    assert reply.options[53] == b"\x02" and reply.options[60] == b"PXEClient"
    assert reply.yiaddr == "0.0.0.0"
