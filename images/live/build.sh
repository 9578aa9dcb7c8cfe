#!/bin/bash
# `make live-image`: the Digibench stick. A Debian 12 rootfs (debootstrap, cached) with the
# disk tools and the agent in its own venv, packed whole into a zstd initramfs so it runs
# from RAM, and put with the kernel on a hybrid ISO (grub-mkrescue: UEFI and legacy BIOS
# from the same file) that carries a writable ext4 data partition labelled DIGIBENCH.
source "$(dirname "$0")/../lib.sh"
need_root

HERE="$REPO_ROOT/images/live"
PYTHON="${PYTHON:-$REPO_ROOT/.venv/bin/python}"
NAME=digibench-live
OUT="$BUILD/live"
WORK="$OUT/work"
TREE="$WORK/rootfs"
ISO="$WORK/iso"
IMG="$OUT/$NAME.img"
DATA_MIB="${DATA_MIB:-64}"
VENV=/opt/digibench/venv
T0=$(date +%s)

host_deps debootstrap grub-common grub-efi-amd64-bin grub-pc-bin xorriso mtools dosfstools \
    e2fsprogs zstd cpio
mkdir -p "$OUT"
exec > >(tee "$OUT/$NAME.build.log") 2>&1

cached_rootfs live "$TREE" "$HERE/packages-live.txt" "$HERE/recipe-hook.sh"

log "the agent: wheel from this checkout into $VENV"
rm -rf "$WORK/wheel"
(cd "$REPO_ROOT" && "$PYTHON" -m pip wheel -q --no-deps -w "$WORK/wheel" .) >&2
WHEEL="$(ls "$WORK"/wheel/digibench-*.whl)"
# The dependencies are fetched on the host (its pip settings, proxies and CAs apply) into
# a wheelhouse cached per pyproject.toml; the chroot installs from it without network.
VKEY="$( (sha256sum "$REPO_ROOT/pyproject.toml"; cat "$CACHE/live.key") | sha256sum | cut -c1-16)"
WH="$CACHE/wheelhouse-$VKEY"
if [ ! -d "$WH" ]; then
    rm -rf "$CACHE"/wheelhouse-*
    "$PYTHON" -m pip wheel -q -w "$WH.tmp" "$WHEEL" >&2
    mv "$WH.tmp" "$WH"
fi
rm -rf "$TREE/tmp/wheelhouse"
cp -a "$WH" "$TREE/tmp/wheelhouse"
cp "$WHEEL" "$TREE/tmp/wheelhouse/"
trap 'chroot_umount "'"$TREE"'"' EXIT
chroot_mount "$TREE"
in_chroot "$TREE" python3 -m venv "$VENV"
in_chroot "$TREE" "$VENV/bin/pip" install -q --no-index --find-links /tmp/wheelhouse \
    --disable-pip-version-check "/tmp/wheelhouse/$(basename "$WHEEL")" >&2
in_chroot "$TREE" "$VENV/bin/pip" freeze --all >"$OUT/$NAME.python-packages.txt"
chroot_umount "$TREE"
trap - EXIT
rm -rf "$TREE/tmp/wheelhouse"
ln -sfn "$VENV/bin/digibench" "$TREE/usr/local/bin/digibench"

log "live system configuration"
cp -a "$HERE/overlay/." "$TREE/"
install -D -m 644 "$REPO_ROOT/provisioning/station.example.toml" "$TREE/usr/share/digibench/station.example.toml"
echo digibench >"$TREE/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdigibench\n' >"$TREE/etc/hosts"
ln -sfn ../run/systemd/resolve/stub-resolv.conf "$TREE/etc/resolv.conf"
: >"$TREE/etc/machine-id"
: >"$TREE/etc/fstab"
printf 'KEYMAP=be-latin1\nFONT=Lat15-Fixed16\n' >"$TREE/etc/vconsole.conf"
W="$TREE/etc/systemd/system/multi-user.target.wants"
mkdir -p "$W"
ln -sfn /etc/systemd/system/digibench-station.service "$W/digibench-station.service"
ln -sfn /lib/systemd/system/systemd-networkd.service "$W/systemd-networkd.service"
chroot "$TREE" passwd -l root >/dev/null                 # no login with a password
ln -sfn /dev/null "$TREE/etc/systemd/system/getty@tty1.service"   # tty1 is the station's
ln -sfn /lib/systemd/systemd "$TREE/init"                 # the whole rootfs is the initramfs

log "trimming what a wipe station never uses"
KVER="$(ls -1v "$TREE"/boot/vmlinuz-* | tail -n1)"; KVER="${KVER##*/vmlinuz-}"
K="$TREE/lib/modules/$KVER/kernel"
rm -rf "$K/drivers/net/wireless" "$K/net/wireless" "$K/net/mac80211" \
    "$K/drivers/bluetooth" "$K/net/bluetooth" "$K/drivers/infiniband" "$K/drivers/isdn" \
    "$K/drivers/staging" "$K/drivers/net/ethernet/mellanox" "$K/drivers/net/can" "$K/drivers/iio" \
    "$K/drivers/gpu/drm/amd" "$K/drivers/gpu/drm/nouveau" "$K/drivers/gpu/drm/radeon"
# The sound check needs the sound drivers (all kept); the camera check V4L2 and UVC webcams
# (and vivid, the kernel's virtual camera, for a VM); TV tuners, DVB and capture cards go.
M="$K/drivers/media"
find "$M" -name '*.ko' ! -path "$M/mc/*" ! -path "$M/v4l2-core/*" ! -path "$M/common/*" \
    ! -path "$M/usb/uvc/*" ! -path "$M/test-drivers/vivid/*" ! -path "$M/cec/core/*" \
    ! -name rc-core.ko -delete
chroot "$TREE" depmod "$KVER"
rm -rf "$TREE"/usr/share/doc/* "$TREE"/usr/share/man/* "$TREE"/usr/share/info/* \
    "$TREE"/var/cache/apt/* "$TREE"/var/lib/apt/lists/* "$TREE"/boot/initrd.img-* "$TREE"/tmp/*
find "$TREE/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'nl*' ! -name 'en*' ! -name 'locale.alias' \
    -exec rm -rf {} + 2>/dev/null || true
package_list "$TREE" >"$OUT/$NAME.packages.txt"

# The data partition's UUID, chosen here and recorded in the rootfs: every stick written
# from the released image starts with it, and the launcher (digibench-live) gives each
# stick a UUID of its own at its first boot (stick.sh already does so when it writes one).
DATA_UUID="$(cat /proc/sys/kernel/random/uuid)"
mkdir -p "$TREE/usr/share/digibench"
echo "$DATA_UUID" >"$TREE/usr/share/digibench/data-build-uuid"

log "initramfs (the whole rootfs, zstd) and the hybrid ISO"
rm -rf "$ISO"
mkdir -p "$ISO/live" "$ISO/boot/grub"
cp "$TREE/boot/vmlinuz-$KVER" "$ISO/live/vmlinuz"
(cd "$TREE" && find . -path ./boot -prune -o -print0 | LC_ALL=C sort -z \
    | cpio --null -o -H newc --quiet) | zstd -q -T0 -10 >"$ISO/live/initrd.img"
cp "$HERE/grub.cfg" "$ISO/boot/grub/grub.cfg"
# The data partition, appended after the ISO; `digibench`'s stick provisioning grows it.
DATA_IMG="$WORK/data.img"
rm -f "$DATA_IMG"; truncate -s "${DATA_MIB}M" "$DATA_IMG"
mkdir -p "$WORK/data"; rm -rf "$WORK/data/"*
# No station.toml: a stick written from this image pairs itself with a server at first boot
# (the launcher starts from the example config, shipped in the image).
printf '# GRUB settings for this stick (read at boot), e.g. always headless:\n# set digibench_extra="digibench.headless=1"\n' >"$WORK/data/boot.cfg"
mkfs.ext4 -q -F -L DIGIBENCH -U "$DATA_UUID" -d "$WORK/data" "$DATA_IMG"
rm -f "$IMG"
grub-mkrescue -o "$IMG" "$ISO" -- -volid DIGIBENCH_LIVE \
    -append_partition 3 0x83 "$DATA_IMG" >&2 2>"$WORK/grub-mkrescue.log" \
    || { cat "$WORK/grub-mkrescue.log" >&2; die "grub-mkrescue failed"; }
zstd -q -f -T0 "$IMG" -o "$IMG.zst"
# What a bench server serves to laptops that boot from the network (docs/netboot.md).
rm -rf "$OUT/netboot"; mkdir -p "$OUT/netboot"
ln -f "$ISO/live/vmlinuz" "$ISO/live/initrd.img" "$OUT/netboot/"
(cd "$OUT" && sha256sum "$NAME.img" "$NAME.img.zst" "$NAME.packages.txt" "$NAME.python-packages.txt" >"$NAME.SHA256SUMS")

log "done in $(( $(date +%s) - T0 )) s"
for f in "$IMG" "$IMG.zst" "$ISO/live/initrd.img" "$OUT/$NAME.packages.txt" "$OUT/$NAME.python-packages.txt" "$OUT/$NAME.SHA256SUMS" "$OUT/$NAME.build.log"; do
    printf '  %-70s %s\n' "$f" "$(human "$(stat -c %s "$f")")"
done
echo "  rootfs in RAM: $(du -sh "$TREE" | cut -f1); kernel $KVER"
