#!/bin/bash
# Install the Debian packages Digibench's demo and tests need (idempotent).
# Run as root on Debian 12; as another user it only says what is missing.
set -euo pipefail

PACKAGES=(
    smartmontools nvme-cli hdparm util-linux fdisk dmidecode pciutils e2fsprogs
    python3-venv tmux
    bmap-tools zstd xz-utils gdisk dosfstools mtools
    postgresql
    chromium poppler-utils fonts-dejavu-core
)
# Extra packages named in DIGIBENCH_EXTRA_PACKAGES (space separated), e.g. for CI.
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
if [ "$(id -u)" -ne 0 ]; then
    echo "digibench setup: missing Debian packages: ${missing[*]}" >&2
    echo "hint: run 'sudo make setup' (or apt-get install ${missing[*]})" >&2
    exit 1
fi
echo "digibench setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
