# Desktop variant, before the common recipe hook (cached with the rootfs): laptops need
# non-free firmware for Wi-Fi, sound and graphics, and CPU microcode. Debian 12 ships it
# in the non-free-firmware component (its own installer and live images include it).
set -eu
sed -i 's/ main$/ main non-free-firmware/' /etc/apt/sources.list
apt-get -q update
apt-get -q -y install --no-install-recommends \
    firmware-linux-nonfree firmware-misc-nonfree firmware-amd-graphics \
    firmware-iwlwifi firmware-realtek firmware-atheros firmware-brcm80211 firmware-libertas \
    firmware-sof-signed firmware-intel-sound intel-microcode amd64-microcode
# zram swap (zstd, half the RAM): 4 GB laptops with Firefox and LibreOffice open stay usable.
if [ -f /etc/default/zramswap ]; then
    sed -i 's/^#\?ALGO=.*/ALGO=zstd/; s/^#\?PERCENT=.*/PERCENT=50/' /etc/default/zramswap
fi
