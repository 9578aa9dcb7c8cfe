"""The desktop OS image (`make os-image VARIANT=desktop`), flashed by `digibench flash` onto a
virtual NVMe disk, boots under QEMU with OVMF to LightDM's greeter (graphical.target) in
3 GiB of RAM, with the borrower's account waiting for its first login, Dutch (Belgium)
locale and keyboard, and the printing, scanning, office and update services in place.
Then the borrower's first login through the greeter (keys typed with QEMU's sendkey): a
password must be chosen, twice, and the Xfce session starts in Dutch with the welcome
window. Screen dumps of the greeter and the first desktop are kept in build/test-artifacts/.
What a borrower needs from the programmes (issue 17, item 6) is checked on the running
laptop: pcscd answers a PC/SC client (OpenSC's), Firefox run as the borrower registers
OpenSC's PKCS#11 module (pkcs11.txt) and the programme's bookmarks in the new profile, the
desktop links exist, PAM's first-login message reaches LightDM in Dutch, and the ACPI power
button shuts the laptop down through logind, with the session open and no dialog."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.images.qemu import BUILD, REPO, Machine, lit, loop_device, mounted, ovmf, require, run

pytestmark = [pytest.mark.images, pytest.mark.root, pytest.mark.slow]

MANIFEST = BUILD / "os" / "digibench-debian-desktop.img.manifest.json"
ARTIFACTS = BUILD / "test-artifacts"
EXTRA = 512 << 20
ASSET_TAG = "DB 00456/B"
#: typed into the greeter with QEMU key names; the letters sit on the same keys in the
#: Belgian (AZERTY) layout X uses, so this types "Fietsbeltje"
PASSWORD_KEYS = ["shift-f", *"ietsbeltje"]

#: a test-only unit on the flashed disk: once LightDM's greeter runs, report on ttyS1
REPORT = """#!/bin/sh
for _ in $(seq 1 300); do
    systemctl is-active -q graphical.target && pgrep -x lightdm-gtk-gre >/dev/null \\
        && pgrep -x Xorg >/dev/null && break
    sleep 2
done
sleep 5
{
echo "DBTEST hostname=$(hostname)"
echo "DBTEST default-target=$(systemctl get-default)"
echo "DBTEST graphical=$(systemctl is-active graphical.target)"
echo "DBTEST lightdm=$(systemctl is-active lightdm.service)"
echo "DBTEST greeter=$(pgrep -x lightdm-gtk-gre >/dev/null && echo running || echo missing)"
echo "DBTEST xorg=$(pgrep -x Xorg >/dev/null && echo running || echo missing)"
auto="$(lightdm --show-config 2>&1 | sed -n 's/.*autologin-user=\\(.*\\)$/\\1/p')"
echo "DBTEST autologin=$(echo "$auto" | head -n1)"
echo "DBTEST networkmanager=$(systemctl is-active NetworkManager.service)"
echo "DBTEST cups=$(systemctl is-active cups.service cups.socket | sort -u | head -n1)"
echo "DBTEST apt-daily-upgrade=$(systemctl is-enabled apt-daily-upgrade.timer)"
uu="$(apt-config dump APT::Periodic::Unattended-Upgrade)"
echo "DBTEST unattended=$(echo "$uu" | sed 's/.*"\\(.*\\)";/\\1/')"
echo "DBTEST zram=$(swapon --show=NAME --noheadings | grep -c zram)"
echo "DBTEST locale=$(. /etc/default/locale; echo "$LANG")"
echo "DBTEST xkb=$(. /etc/default/keyboard; echo "$XKBLAYOUT")"
echo "DBTEST firstboot=$(systemctl is-active digibench-firstboot.service)"
echo "DBTEST account=$(getent passwd gebruiker | cut -d: -f1,5)"
echo "DBTEST groups=$(id -nG gebruiker | tr ' ' ,)"
echo "DBTEST shadow=$(getent shadow gebruiker | cut -d: -f2,3)"
echo "DBTEST pcscd=$(systemctl is-active pcscd.socket)"
echo "DBTEST pcscd-enabled=$(systemctl is-enabled pcscd.socket)"
echo "DBTEST pcscd-listening=$([ -S /run/pcscd/pcscd.comm ] && echo yes || echo no)"
# a PC/SC client (OpenSC's tool) connects: the socket starts pcscd, which answers
readers="$(timeout 300 opensc-tool --list-readers 2>&1 | tr '\\n' ' ')"
echo "DBTEST pcscd-client=$readers"
echo "DBTEST pcscd-service=$(systemctl is-active pcscd.service)"
# PAM's first-login message as LightDM gets it: the Dutch catalogue and the locale LightDM's
# processes run with (the session child runs PAM; it has the greeter's session open now)
mo=/usr/share/locale/nl_BE/LC_MESSAGES/Linux-PAM.mo
echo "DBTEST pam-mo=$([ -e "$mo" ] && echo present || echo missing)"
lightdm_env() {
    tr '\\0' '\\n' <"/proc/$1/environ" | grep -E '^(LANG|LANGUAGE|LC_[A-Z]+|LD_PRELOAD)='
}
daemon="$(pgrep -xo lightdm)"
echo "DBTEST lightdm-env=$(lightdm_env "$daemon" | sort | tr '\\n' ' ')"
child="$(pgrep -f -- 'lightdm --session-child' | head -n1)"
echo "DBTEST session-child-env=$(lightdm_env "${child:-0}" | sort | tr '\\n' ' ')"
env -i $(lightdm_env "$daemon") /usr/bin/python3 /usr/local/sbin/dbtest-pam lightdm gebruiker
so=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
echo "DBTEST pkcs11-file=$([ -e "$so" ] && echo present || echo missing)"
echo "DBTEST pkcs11-firefox=$(grep -c 'opensc-pkcs11.so' /etc/firefox/policies/policies.json)"
echo "DBTEST bookmarks=$(grep -c '"URL"' /etc/firefox/policies/policies.json)"
echo "DBTEST desktop-links=$(ls /home/gebruiker/Bureaublad/*.desktop 2>/dev/null | wc -l)"
echo "DBTEST taxonweb=$(grep -l taxonweb /home/gebruiker/Bureaublad/*.desktop | wc -l)"
power="$(systemd-analyze cat-config systemd/logind.conf | sed -n 's/^HandlePowerKey=//p')"
echo "DBTEST powerkey=$(echo "$power" | tail -n1)"
ignore="$(systemd-analyze cat-config systemd/logind.conf | sed -n 's/^PowerKeyIgnoreInhibited=//p')"
echo "DBTEST powerkey-ignore-inhibited=$(echo "$ignore" | tail -n1)"
echo "DBTEST welcome-contact=$(grep -c 'helpdesk' /etc/digibench/welkom.txt)"
for p in firefox-esr firefox-esr-l10n-nl libreoffice-writer libreoffice-l10n-nl simple-scan cups \\
    unattended-upgrades xfce4 lightdm network-manager pcscd libccid opensc opensc-pkcs11; do
    echo "DBTEST pkg-$p=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)"
done
systemctl --failed --no-legend --plain | sed 's/^/DBTEST failed: /'
echo "DBTEST end"
} >/dev/ttyS1 2>&1
# the test logs in through the greeter (choosing a password): wait for the session
for _ in $(seq 1 300); do
    pgrep -u gebruiker -x xfce4-session >/dev/null \\
        && pgrep -u gebruiker -x zenity >/dev/null && break
    sleep 2
done
session="$(pgrep -u gebruiker -x xfce4-session | head -n1)"
{
echo "DBTEST session=$([ -n "$session" ] && echo running || echo missing)"
echo "DBTEST welcome=$(pgrep -u gebruiker -x zenity >/dev/null && echo shown || echo missing)"
echo "DBTEST session-lang=$(tr '\\0' '\\n' <"/proc/${session:-0}/environ" | sed -n 's/^LANG=//p')"
echo "DBTEST hash=$(getent shadow gebruiker | cut -d: -f2 | cut -c1-3)"
echo "DBTEST lastchg=$(getent shadow gebruiker | cut -d: -f3)"
preload="$(tr '\\0' '\\n' <"/proc/${session:-0}/environ" | grep -c '^LD_PRELOAD=')"
echo "DBTEST session-preload=$preload"
# nobody keeps the power key from logind (Xfce's power manager leaves it to logind)
locks="$(systemd-inhibit --list --no-legend --no-pager)"
echo "DBTEST power-key-locks=$(echo "$locks" | grep -c handle-power-key)"
echo "$locks" | sed 's/^/DBTEST inhibitor: /'
loginctl list-sessions --no-legend --no-pager | sed 's/^/DBTEST logind-session: /'
# Firefox as the borrower (headless, a new profile): the policy's eID module and bookmarks
# land in the profile (NSS's pkcs11.txt, places.sqlite)
setpriv --reuid=gebruiker --regid=gebruiker --init-groups \\
    env -i HOME=/home/gebruiker USER=gebruiker LANG=nl_BE.UTF-8 PATH=/usr/bin:/bin \\
    firefox-esr --headless --no-remote about:blank >/tmp/dbtest-firefox.log 2>&1 &
firefox=$!
# the profile's place: ~/.mozilla, or ~/.config/mozilla (XDG) in newer releases
profile_files() {
    find /home/gebruiker/.mozilla /home/gebruiker/.config/mozilla -name "$1" 2>/dev/null
}
for _ in $(seq 1 300); do
    grep -qs opensc-pkcs11 $(profile_files pkcs11.txt) && break
    sleep 2
done
for _ in $(seq 1 90); do
    grep -aqs taxonweb $(profile_files 'places.sqlite*') && break
    sleep 2
done
sleep 5
echo "DBTEST profile-dir=$(profile_files pkcs11.txt | head -n1)"
echo "DBTEST profile-pkcs11=$(grep -ls opensc-pkcs11 $(profile_files pkcs11.txt) | wc -l)"
echo "DBTEST profile-pkcs11-name=$(grep -hs '^name=' $(profile_files pkcs11.txt) | tr '\\n' ' ')"
echo "DBTEST profile-taxonweb=$(grep -als taxonweb $(profile_files 'places.sqlite*') | wc -l)"
kill "$firefox" 2>/dev/null; wait "$firefox" 2>/dev/null
tail -n 5 /tmp/dbtest-firefox.log | sed 's/^/DBTEST firefox-log: /'
echo "DBTEST login-end"
} >/dev/ttyS1 2>&1
"""
#: PAM's conversation as LightDM holds it: pam_start with LightDM's service and the account
#: management step, which tells an expired account to choose a password (Python, like
#: LightDM, sets no message locale of its own: only the preloaded library can)
PAM_PROBE = """import ctypes, sys
pam = ctypes.CDLL("libpam.so.0")
libc = ctypes.CDLL(None)
libc.calloc.restype = ctypes.c_void_p
class Msg(ctypes.Structure):
    _fields_ = [("style", ctypes.c_int), ("msg", ctypes.c_char_p)]
class Resp(ctypes.Structure):
    _fields_ = [("resp", ctypes.c_char_p), ("code", ctypes.c_int)]
CONV = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.POINTER(Msg)),
                        ctypes.POINTER(ctypes.POINTER(Resp)), ctypes.c_void_p)
class Conv(ctypes.Structure):
    _fields_ = [("conv", CONV), ("data", ctypes.c_void_p)]
def talk(n, msgs, resp, _data):
    for i in range(n):
        print("DBTEST pam-message=" + msgs[i].contents.msg.decode("utf-8", "replace"), flush=True)
    resp[0] = ctypes.cast(libc.calloc(n, ctypes.sizeof(Resp)), ctypes.POINTER(Resp))
    return 0
conv = Conv(CONV(talk), None)
handle = ctypes.c_void_p()
assert pam.pam_start(sys.argv[1].encode(), sys.argv[2].encode(), ctypes.byref(conv),
                     ctypes.byref(handle)) == 0
print("DBTEST pam-acct=%d" % pam.pam_acct_mgmt(handle, 0), flush=True)
pam.pam_end(handle, 0)
"""
#: test-only: the journal on the serial console, so logind's handling of the power button
#: (and whatever a shutdown waits for) shows on ttyS0
JOURNAL_TO_CONSOLE = "[Journal]\nForwardToConsole=yes\n"
#: PAM's message at the first login, in Dutch (images/os/pam-locale/Linux-PAM.nl_BE.po)
PAM_DUTCH = "U moet nu meteen een nieuw wachtwoord kiezen."
UNIT = """[Unit]
Description=Digibench image test: report on ttyS1 once the greeter runs
After=digibench-firstboot.service
[Service]
# simple, not oneshot: graphical.target waits for the oneshot units it wants
Type=simple
ExecStart=/usr/local/sbin/dbtest-report
[Install]
WantedBy=graphical.target
"""


def _prepare_guest(dev: str, tmp: Path) -> None:
    with mounted(f"{dev}p2", tmp / "root") as root:
        assert (root / "etc/hostname").read_text().strip() == "db-00456-b"
        (root / "usr/local/sbin/dbtest-report").write_text(REPORT)
        (root / "usr/local/sbin/dbtest-report").chmod(0o755)
        units = root / "etc/systemd/system"
        (units / "dbtest-report.service").write_text(UNIT)
        wants = units / "graphical.target.wants"
        wants.mkdir(parents=True, exist_ok=True)
        (wants / "dbtest-report.service").symlink_to("/etc/systemd/system/dbtest-report.service")
        (units / "serial-getty@ttyS0.service").symlink_to("/dev/null")
        (root / "usr/local/sbin/dbtest-pam").write_text(PAM_PROBE)
        journald = root / "etc/systemd/journald.conf.d"
        journald.mkdir(parents=True, exist_ok=True)
        (journald / "dbtest-console.conf").write_text(JOURNAL_TO_CONSOLE)


def _console_on_serial(disk: Path, tmp: Path) -> None:
    table = json.loads(run("sfdisk", "--json", str(disk)).stdout)["partitiontable"]
    esp = f"{disk}@@{int(table['partitions'][0]['start']) * 512}"
    entry = "::/loader/entries/debian.conf"
    text = run("mtype", "-i", esp, entry).stdout
    assert "root=PARTUUID=" in text, text
    local = tmp / "debian.conf"
    # no_timer_check: under software emulation on a loaded host the kernel's early IO-APIC
    # timer check can miss its ticks and panic ("IO-APIC + timer doesn't work!"; seen here)
    options = " console=ttyS0,115200 no_timer_check\n"
    local.write_text(text.replace(" quiet", "").rstrip("\n") + options)
    run("mcopy", "-o", "-i", esp, str(local), entry)


@contextmanager
def _keep_serial_logs(tmp: Path) -> Iterator[None]:
    """Both serial lines end up in build/test-artifacts/, passed or failed (pytest's own
    temporary directories are rotated away by the next runs)."""
    try:
        yield
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for name in ("ttyS0.log", "ttyS1.log"):
            if (tmp / name).exists():
                shutil.copyfile(tmp / name, ARTIFACTS / f"desktop-{name}")


def test_desktop_image_greeter_and_first_login(tmp_path: Path) -> None:
    require(MANIFEST, "os-image")
    manifest = json.loads(MANIFEST.read_text())
    disk = tmp_path / "nvme.raw"
    with disk.open("wb") as fh:
        fh.truncate(manifest["size"] + EXTRA)
    with loop_device(disk) as dev:
        flashed = run(
            str(REPO / ".venv/bin/digibench"), "flash", str(MANIFEST), dev, "--yes", "--quiet",
            "--asset-tag", ASSET_TAG, "--stamp-dir", str(tmp_path / "stamps"),
            timeout=1800,
        )  # fmt: skip
        assert json.loads(flashed.stdout)["verified"] is True
        run("partx", "-u", dev, check=False)
        run("partx", "-a", dev, check=False)
        _prepare_guest(dev, tmp_path)
    _console_on_serial(disk, tmp_path)

    args = [
        *ovmf(tmp_path),
        "-device", "VGA",
        "-drive", f"file={disk},if=none,id=nvm,format=raw",
        "-device", "nvme,serial=DBTEST0002,drive=nvm",
    ]  # fmt: skip
    timings: dict[str, float] = {}
    started = time.monotonic()
    with _keep_serial_logs(tmp_path), Machine(args, tmp_path, memory=3072) as vm:
        vm.expect(r"^DBTEST end", timeout=1800)
        timings["boot to greeter report"] = time.monotonic() - started
        out = vm.output
        # the greeter is drawn: a wallpaper and a login box, not a black or text screen
        deadline = time.monotonic() + 300
        while (shown := lit(vm.screen(ARTIFACTS / "desktop-greeter.ppm"))) < 0.5:
            assert time.monotonic() < deadline, (
                f"the greeter is not on the screen ({shown:.1%} lit)"
            )
            time.sleep(10)
        # the borrower's first login: pick the password (twice), the desktop and welcome follow
        for _ in range(2):
            vm.keys(*PASSWORD_KEYS, "ret")
            time.sleep(15)
        typed = time.monotonic()
        vm.expect(r"^DBTEST login-end", timeout=1800)
        timings["first login and Firefox probe"] = time.monotonic() - typed
        after = vm.output[len(out) :]
        time.sleep(10)
        vm.screendump(ARTIFACTS / "desktop-first-login.ppm")
        pressed = time.monotonic()
        # a safety net for software emulation on a loaded machine, not a claim about speed
        vm.power_off(timeout=900)
        timings["power button to off"] = time.monotonic() - pressed
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "desktop-timings.txt").write_text(
        "".join(f"{name}: {seconds:.0f} s\n" for name, seconds in timings.items())
    )
    console = vm.serial0.read_text(errors="replace")
    # the press reached logind, which powered off; nothing refused or asked
    assert "Power key pressed" in console, console[-5000:]
    assert re.search(r"System is powering down|Powering off", console), console[-5000:]
    assert "inhibited" not in console.split("Power key pressed", 1)[1], console[-5000:]
    assert "reboot: Power down" in console, console[-5000:]
    login = dict(re.findall(r"^DBTEST ([a-z0-9-]+)=(.*?)\r?$", after, re.M))
    assert login["session"] == "running", after
    assert login["welcome"] == "shown", after
    assert login["session-lang"] == "nl_BE.UTF-8", after
    assert login["hash"] == "$y$", after  # the chosen password, yescrypt
    assert int(login["lastchg"]) > 0, after  # no longer expired
    assert login["session-preload"] == "0", after  # the PAM locale stays in LightDM
    assert login["power-key-locks"] == "0", after  # logind gets the power button
    # Firefox, run as the borrower, registered the eID module and the bookmarks
    assert login["profile-pkcs11"] == "1", after
    assert "Belgische eID" in login["profile-pkcs11-name"], after
    assert login["profile-taxonweb"] != "0", after
    facts = dict(re.findall(r"^DBTEST ([a-z0-9-]+)=(.*?)\r?$", out, re.M))

    assert facts["hostname"] == "db-00456-b", out
    assert facts["default-target"] == "graphical.target", out
    assert facts["graphical"] == "active" and facts["lightdm"] == "active", out
    assert facts["greeter"] == "running" and facts["xorg"] == "running", out
    assert facts["autologin"] == "", out
    assert facts["networkmanager"] == "active", out
    assert facts["cups"] == "active", out
    assert facts["apt-daily-upgrade"] == "enabled" and facts["unattended"] == "1", out
    assert facts["locale"] == "nl_BE.UTF-8" and facts["xkb"] == "be", out
    assert facts["firstboot"] == "active", out
    assert facts["account"] == "gebruiker:Gebruiker", out
    assert facts["shadow"] == ":0", out  # no password yet, to be chosen at the first login
    groups = set(facts["groups"].split(","))
    assert {"lpadmin", "scanner", "netdev", "audio", "video"} <= groups and "sudo" not in groups
    for key, value in facts.items():
        if key.startswith("pkg-"):
            assert value == "installed", f"{key}: {value}"
    assert int(facts["zram"]) >= 1, out
    # Belgian eID in Firefox, the bookmarks from provisioning/, a clean power button
    assert facts["pcscd"] == "active" and facts["pcscd-enabled"] == "enabled", out
    assert facts["pcscd-listening"] == "yes", out
    assert "No smart card readers found" in facts["pcscd-client"], out  # pcscd answered
    assert facts["pcscd-service"] == "active", out
    # PAM's first-login message reaches LightDM in Dutch
    assert facts["pam-mo"] == "present", out
    assert "LANG=nl_BE.UTF-8" in facts["lightdm-env"], out
    assert "LD_PRELOAD=/usr/local/lib/digibench/pam-locale.so" in facts["session-child-env"], out
    assert "LANG=nl_BE.UTF-8" in facts["session-child-env"], out
    assert facts["pam-acct"] == "12", out  # PAM_NEW_AUTHTOK_REQD: choose a password
    assert facts["pam-message"] == PAM_DUTCH, out
    assert facts["pkcs11-file"] == "present" and facts["pkcs11-firefox"] == "1", out
    bookmarks = sum(
        1
        for line in (REPO / "provisioning/files/etc/digibench/bladwijzers.tsv")
        .read_text()
        .splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert int(facts["bookmarks"]) == bookmarks == int(facts["desktop-links"]), out
    assert facts["taxonweb"] == "1", out
    assert facts["powerkey"] == "poweroff", out
    assert facts["powerkey-ignore-inhibited"] == "yes", out
    assert int(facts["welcome-contact"]) >= 1, out
