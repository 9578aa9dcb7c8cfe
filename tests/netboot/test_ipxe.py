"""The iPXE script and the dnsmasq proxy-DHCP config the bench server writes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from agent.errors import InputError
from agent.netboot.ipxe import boot_script, chain_script, dnsmasq_config


def test_boot_script_loads_the_live_system_from_the_bench() -> None:
    script = boot_script("http://192.168.1.5:8067", "console=ttyS0,115200")
    lines = script.splitlines()
    assert lines[0] == "#!ipxe"
    kernel = next(line for line in lines if line.startswith("kernel "))
    assert kernel.startswith("kernel http://192.168.1.5:8067/live/vmlinuz ")
    assert "digibench.netboot=http://192.168.1.5:8067" in kernel
    assert "digibench.mac=${netX/mac}" in kernel and "console=ttyS0,115200" in kernel
    assert "initrd http://192.168.1.5:8067/live/initrd.img" in lines
    assert lines[-1] == "boot"
    assert "token" not in script  # nothing secret: anyone on the network reads it


def test_kernel_arguments_that_ipxe_would_expand_are_refused() -> None:
    with pytest.raises(InputError):
        boot_script("http://10.0.0.1", "x=${root-password}")


def test_chain_script() -> None:
    assert chain_script("http://10.0.2.100") == "#!ipxe\ndhcp\nchain http://10.0.2.100/boot.ipxe\n"


def test_dnsmasq_proxy_dhcp_leaves_the_router_alone() -> None:
    conf = dnsmasq_config("192.168.1.5", 8067, interface="eno1")
    lines = conf.splitlines()
    assert "dhcp-range=192.168.1.5,proxy" in lines  # proxy: hands out no addresses
    assert "port=0" in lines and "interface=eno1" in lines
    assert 'pxe-service=tag:!ipxe,x86PC,"Digibench",undionly.kpxe' in lines
    assert 'pxe-service=tag:!ipxe,X86-64_EFI,"Digibench",ipxe.efi' in lines
    assert 'pxe-service=tag:ipxe,X86-64_EFI,"Digibench",http://192.168.1.5:8067/boot.ipxe' in lines
    assert "dhcp-boot=tag:efihttp,http://192.168.1.5:8067/ipxe/ipxe.efi" in lines
    # UEFI HTTP boot's vendor class is HTTPClient: without this, proxy mode never answers it
    assert "dhcp-pxe-vendor=PXEClient,HTTPClient" in lines


def test_dnsmasq_accepts_the_config(tmp_path: Path) -> None:
    """dnsmasq itself (Debian's dnsmasq-base) checks the file's syntax."""
    dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    if not Path(dnsmasq).exists():
        pytest.skip("dnsmasq is not installed (scripts/setup-debian.sh)")
    conf = tmp_path / "digibench.conf"
    conf.write_text(dnsmasq_config("192.168.1.5", 8067, str(tmp_path)))
    out = subprocess.run([dnsmasq, "--test", f"--conf-file={conf}"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "syntax check OK" in out.stderr


def test_dnsmasq_wants_an_address() -> None:
    with pytest.raises(InputError):
        dnsmasq_config("bench.local", 80)
