# Runs inside the OS image chroot after the packages are installed (cached with them).
set -eu
# Initramfs with what any laptop needs to find its root (NVMe, SATA, USB, ext4).
sed -i 's/^MODULES=.*/MODULES=most/' /etc/initramfs-tools/initramfs.conf
sed -i 's/^COMPRESS=.*/COMPRESS=zstd/' /etc/initramfs-tools/initramfs.conf || true
# Automatic security updates where unattended-upgrades is installed (desktop variant).
if [ -d /etc/apt/apt.conf.d ] && dpkg-query -W unattended-upgrades >/dev/null 2>&1; then
    printf 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n' \
        >/etc/apt/apt.conf.d/20auto-upgrades
fi
# fsck.ext4 in the initramfs, so root is checked at boot (the chroot's root cannot be probed).
if grep -q '^FSTYPE=' /etc/initramfs-tools/initramfs.conf; then
    sed -i 's/^FSTYPE=.*/FSTYPE=ext4/' /etc/initramfs-tools/initramfs.conf
else
    echo FSTYPE=ext4 >>/etc/initramfs-tools/initramfs.conf
fi
update-initramfs -u -k all
