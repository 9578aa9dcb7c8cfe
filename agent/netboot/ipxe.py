"""What the firmware reads: the iPXE boot script and the dnsmasq proxy-DHCP config.

The script carries no secret: anyone on the bench's network may read it (docs/netboot.md).
``${netX/mac}`` is expanded by iPXE to the network card it booted from, so the bench
server can tell laptops apart (its laptops.toml).
"""

from __future__ import annotations

import ipaddress
import re

from agent.errors import InputError

#: what the kernel command line always carries; the bench adds its own (e.g. a console)
KERNEL_ARGS = "quiet loglevel=3"
_SAFE_ARGS = re.compile(r"^[A-Za-z0-9_.,:=/@+ -]*$")


def boot_script(bench_url: str, extra_args: str = "") -> str:
    """The iPXE script: the live kernel and initramfs from the bench server."""
    if not _SAFE_ARGS.match(extra_args):
        raise InputError(f"kernel arguments {extra_args!r} hold characters iPXE would expand")
    args = " ".join(
        a
        for a in (
            "initrd=initrd.img",  # UEFI: the kernel's EFI stub finds the initramfs by name
            KERNEL_ARGS,
            f"digibench.netboot={bench_url}",
            "digibench.mac=${netX/mac}",
            extra_args,
        )
        if a
    )
    return (
        "#!ipxe\n"
        "echo Digibench: de werkbank laden / loading the bench station\n"
        f"kernel {bench_url}/live/vmlinuz {args}\n"
        f"initrd {bench_url}/live/initrd.img\n"
        "boot\n"
    )


def chain_script(bench_url: str) -> str:
    """A script for a TFTP server (or QEMU's): hand over to the bench server's script."""
    return f"#!ipxe\ndhcp\nchain {bench_url}/boot.ipxe\n"


def dnsmasq_config(
    server_ip: str, port: int, tftp_root: str = "/usr/lib/ipxe", interface: str | None = None
) -> str:
    """dnsmasq in proxy-DHCP mode: the router keeps giving out addresses; dnsmasq only tells
    PXE firmware where to boot. BIOS PXE gets undionly.kpxe, UEFI PXE ipxe.efi (both from
    Debian's ipxe package, by TFTP); iPXE itself (the second DHCP request) gets the bench
    server's script over HTTP; UEFI HTTP boot (vendor class HTTPClient, which dnsmasq
    answers only when ``dhcp-pxe-vendor`` names it) gets iPXE over HTTP directly."""
    try:
        ip = ipaddress.IPv4Address(server_ip)
    except ValueError:
        raise InputError(f"{server_ip!r} is not an IPv4 address of this bench server") from None
    url = f"http://{ip}:{port}" if port != 80 else f"http://{ip}"
    lines = [
        "# Digibench bench server: network boot by proxy-DHCP (written by",
        "# `digibench netboot dnsmasq`). The router's DHCP is left alone: this only",
        "# answers PXE clients. Put it in /etc/dnsmasq.d/digibench.conf.",
        "# no DNS service",
        "port=0",
        *([f"interface={interface}", "bind-interfaces"] if interface else []),
        f"dhcp-range={ip},proxy",
        "log-dhcp",
        "# iPXE from Debian's ipxe package (undionly.kpxe for BIOS, ipxe.efi for UEFI)",
        "enable-tftp",
        f"tftp-root={tftp_root}",
        "# iPXE itself asks again (user class iPXE): give it the bench's script over HTTP",
        "dhcp-userclass=set:ipxe,iPXE",
        'pxe-service=tag:!ipxe,x86PC,"Digibench",undionly.kpxe',
        'pxe-service=tag:!ipxe,X86-64_EFI,"Digibench",ipxe.efi',
        f'pxe-service=tag:ipxe,x86PC,"Digibench",{url}/boot.ipxe',
        f'pxe-service=tag:ipxe,X86-64_EFI,"Digibench",{url}/boot.ipxe',
        "# UEFI HTTP boot (client architecture 16) says HTTPClient, not PXEClient: answer it",
        "# too. Its proxy offer echoes HTTPClient (option 60) and carries ipxe.efi's URL in",
        "# the file field, which UEFI firmware takes as the boot URI (docs/netboot.md)",
        "dhcp-pxe-vendor=PXEClient,HTTPClient",
        "dhcp-match=set:efihttp,option:client-arch,16",
        f"dhcp-boot=tag:efihttp,{url}/ipxe/ipxe.efi",
        "",
    ]
    return "\n".join(lines)
