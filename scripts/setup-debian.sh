#!/bin/bash
# Install the Debian packages Digibench needs (idempotent).
#
#   scripts/setup-debian.sh            what `make demo` and `make test` need
#   scripts/setup-debian.sh images     also what the image builds and QEMU boot proofs need
#                                      (`make test-images`, `make e2e`; CI installs both)
#
# Run as root on Debian 12; as another user, or with DIGIBENCH_NO_INSTALL=1, it installs
# nothing and fails naming what is missing (a proof must never skip for a missing tool).
set -euo pipefail

BASE=(
    smartmontools nvme-cli hdparm util-linux fdisk dmidecode pciutils e2fsprogs
    python3-venv tmux tzdata
    bmap-tools zstd xz-utils gdisk dosfstools mtools
    postgresql
    chromium poppler-utils fonts-dejavu-core zbar-tools
    # the printed pages read back as a person would (tests/ocr.py: the loan agreement)
    tesseract-ocr
    v4l-utils alsa-utils

    # the desktop image's PAM locale (images/os/pam-locale/) and its test
    gcc libc6-dev gettext locales
    # the bench server's proxy-DHCP check (agent/netboot, its tests run dnsmasq --test, and
    # dnsmasq between two network namespaces made with iproute2's ip)
    dnsmasq-base iproute2
)
# The image builds' host tools (images/os/build.sh, images/live/build.sh also install them
# when run alone) and the boot proofs: QEMU with UEFI (OVMF) and legacy BIOS (SeaBIOS).
IMAGES=(
    qemu-system-x86 qemu-utils ovmf seabios
    debootstrap syslinux syslinux-common uuid-runtime cpio
    grub-common grub-efi-amd64-bin grub-pc-bin xorriso diffutils kmod
    ipxe ipxe-qemu
)

PACKAGES=("${BASE[@]}")
for group in "$@"; do
    case "$group" in
        base) ;;
        images) PACKAGES+=("${IMAGES[@]}") ;;
        *) echo "digibench setup: unknown package group '$group' (base, images)" >&2; exit 2 ;;
    esac
done
# Extra packages named in DIGIBENCH_EXTRA_PACKAGES (space separated).
read -r -a EXTRA <<<"${DIGIBENCH_EXTRA_PACKAGES:-}"
PACKAGES+=("${EXTRA[@]}")

missing=()
for pkg in "${PACKAGES[@]}"; do
    [ -n "$pkg" ] || continue
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || [ -n "${DIGIBENCH_NO_INSTALL:-}" ]; then
    echo "digibench setup: missing Debian packages: ${missing[*]}" >&2
    if [ -n "${DIGIBENCH_NO_INSTALL:-}" ]; then
        echo "digibench setup: not installing them (DIGIBENCH_NO_INSTALL is set)" >&2
    fi
    echo "hint: run 'sudo make setup' (or apt-get install ${missing[*]})" >&2
    exit 1
fi
echo "digibench setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
