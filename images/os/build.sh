#!/bin/bash
# `make os-image [VARIANT=minimal|desktop]`: the standard OS image as a raw GPT disk image
# (EFI System Partition with systemd-boot for UEFI and SYSLINUX for legacy BIOS + ext4 root), its bmap, .zst, sha256 list and
# the manifest `digibench flash` reads. No device-mapper and no loop device: the ESP is
# made with mkfs.vfat + mtools and the root with `mkfs.ext4 -d`, both at their offsets
# inside the image file.
# The body is one brace group: bash reads it whole before running, so editing this file
# during a (long) build does not change the running build.
{
source "$(dirname "$0")/../lib.sh"
need_root

VARIANT="${VARIANT:-minimal}"
HERE="$REPO_ROOT/images/os"
PKGS="$HERE/packages-$VARIANT.txt"
[ -r "$PKGS" ] || die "unknown VARIANT=$VARIANT (have: $(cd "$HERE" && ls packages-*.txt | sed 's/packages-//;s/.txt//' | xargs))"
PYTHON="${PYTHON:-$REPO_ROOT/.venv/bin/python}"
NAME="digibench-debian-$VARIANT"
OUT="$BUILD/os"
WORK="$OUT/$VARIANT"
TREE="$WORK/rootfs"
RAW="$OUT/$NAME.img"
ESP_MIB=256
T0=$(date +%s)

host_deps debootstrap dosfstools mtools syslinux syslinux-common e2fsprogs fdisk bmap-tools zstd uuid-runtime \
    gettext gcc libc6-dev
mkdir -p "$OUT"
exec > >(tee "$OUT/$NAME.build.log") 2>&1

# The recipe hook runs in the chroot and is part of the cache key; a variant may add its own
# steps before the common ones (recipe-hook-desktop.sh: non-free firmware).
HOOK="$HERE/recipe-hook.sh"
if [ -r "$HERE/recipe-hook-$VARIANT.sh" ]; then
    mkdir -p "$WORK"
    cat "$HERE/recipe-hook-$VARIANT.sh" "$HERE/recipe-hook.sh" >"$WORK/recipe-hook.sh"
    HOOK="$WORK/recipe-hook.sh"
fi
cached_rootfs "os-$VARIANT" "$TREE" "$PKGS" "$HOOK"

log "first-boot units, identity, locale and the borrower's first login"
cp -a "$HERE/overlay/." "$TREE/"
[ -d "$HERE/overlay-$VARIANT" ] && cp -a "$HERE/overlay-$VARIANT/." "$TREE/"
# What `digibench flash` provisions (first-boot unit and script, nl_BE locale, be keyboard,
# Brussels time, default hostname), applied with the flasher's own code, so an image
# written with dd or bmaptool behaves the same; the flasher rewrites identical copies.
(cd "$REPO_ROOT" && "$PYTHON" -c 'import sys; from pathlib import Path
from agent.flash.provision import apply, load_settings
s = load_settings(); apply(Path(sys.argv[1]), s.default_hostname, s)' "$TREE")
chroot "$TREE" locale-gen >/dev/null
# PAM's messages in Dutch at the first login: the one message Debian's nl catalogue leaves
# untranslated (nl_BE falls back to nl for the rest), and for LightDM, which never sets a
# locale for PAM, a preloaded setlocale (lightdm.service.d/50-digibench-locale.conf).
mkdir -p "$TREE/usr/share/locale/nl_BE/LC_MESSAGES"
msgfmt --check-format -o "$TREE/usr/share/locale/nl_BE/LC_MESSAGES/Linux-PAM.mo" "$HERE/pam-locale/Linux-PAM.nl_BE.po"
if [ -e "$TREE/usr/sbin/lightdm" ]; then
    mkdir -p "$TREE/usr/local/lib/digibench"
    gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$TREE/usr/local/lib/digibench/pam-locale.so" \
        "$HERE/pam-locale/digibench-pam-locale.c"
fi
LANG_DEFAULT="$(sed -n 's/^LANG=//p' "$TREE/etc/default/locale")"
chroot "$TREE" locale -a | grep -qix "$(echo "$LANG_DEFAULT" | sed 's/UTF-8/utf8/I')" \
    || die "locale $LANG_DEFAULT was not generated"
mkdir -p "$TREE/etc/systemd/system/sysinit.target.wants"
ln -sfn /etc/systemd/system/digibench-growroot.service "$TREE/etc/systemd/system/sysinit.target.wants/"
: >"$TREE/etc/machine-id"                     # systemd makes a new one at first boot
rm -f "$TREE/var/lib/dbus/machine-id" "$TREE/var/lib/systemd/random-seed" \
      "$TREE"/etc/ssh/ssh_host_*_key "$TREE"/etc/ssh/ssh_host_*_key.pub
rm -rf "$TREE/var/lib/digibench" "$TREE/var/log/"*.log "$TREE/tmp/"* "$TREE/var/cache/apt/"*.bin
mkdir -p "$TREE/boot/efi"

# Deterministic identifiers per name: every flashed laptop shares them, as with any image.
uuid() { uuidgen --sha1 --namespace @dns --name "$1.$NAME.digibench"; }
DISK_UUID="$(uuid disk)"; ESP_PARTUUID="$(uuid esp)"; ROOT_PARTUUID="$(uuid root)"; ROOT_FSUUID="$(uuid rootfs)"
ESP_VOLID="$(uuid espfs | tr -d - | cut -c1-8 | tr a-f A-F)"
ESP_FSUUID="${ESP_VOLID:0:4}-${ESP_VOLID:4:4}"
cat >"$TREE/etc/fstab" <<FSTAB
# <file system>          <mount point> <type> <options>          <dump> <pass>
PARTUUID=$ROOT_PARTUUID  /             ext4   errors=remount-ro  0      1
UUID=$ESP_FSUUID             /boot/efi     vfat   umask=0077         0      2
FSTAB

package_list "$TREE" >"$OUT/$NAME.packages.txt"
KVER="$(ls -1v "$TREE"/boot/vmlinuz-* | tail -n1)"; KVER="${KVER##*/vmlinuz-}"
DEBVER="$(cat "$TREE/etc/debian_version")"
PKGHASH="$(sha256sum "$OUT/$NAME.packages.txt" | cut -c1-8)"
VERSION="${DEBVER}-$(date -u +%Y%m%d)-$PKGHASH"

log "sizing: rootfs $(du -sh --apparent-size "$TREE" | cut -f1), kernel $KVER"
TREE_MIB=$(( $(du -s --block-size=1M "$TREE" | cut -f1) ))
ROOT_MIB=$(( TREE_MIB * 5 / 4 + 256 ))
ESP_START=2048
ROOT_START=$(( ESP_START + ESP_MIB * 2048 ))
TOTAL_MIB=$(( 1 + ESP_MIB + ROOT_MIB + 1 ))
rm -f "$RAW"
truncate -s "${TOTAL_MIB}M" "$RAW"
sfdisk -q "$RAW" <<LAYOUT
label: gpt
label-id: $DISK_UUID
start=$ESP_START, size=$(( ESP_MIB * 2048 )), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$ESP_PARTUUID, name="ESP", attrs="LegacyBIOSBootable"
start=$ROOT_START, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$ROOT_PARTUUID, name="root"
LAYOUT
ROOT_SECTORS="$(sfdisk --json "$RAW" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][1]["size"])')"

log "ESP: systemd-boot, kernel $KVER and its initramfs"
mkfs.vfat --invariant --offset "$ESP_START" -F 32 -s 1 -i "$ESP_VOLID" -n ESP "$RAW" $(( ESP_MIB * 1024 ))
M="$RAW@@$(( ESP_START * 512 ))"
BOOTEFI="$TREE/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
[ -r "$BOOTEFI" ] || die "systemd-boot is missing from the rootfs ($BOOTEFI)"
ESPDIR="$WORK/esp"
rm -rf "$ESPDIR"
mkdir -p "$ESPDIR/EFI/BOOT" "$ESPDIR/EFI/systemd" "$ESPDIR/loader/entries" "$ESPDIR/debian"
cp "$BOOTEFI" "$ESPDIR/EFI/BOOT/BOOTX64.EFI"
cp "$BOOTEFI" "$ESPDIR/EFI/systemd/systemd-bootx64.efi"
cp "$TREE/boot/vmlinuz-$KVER" "$ESPDIR/debian/vmlinuz"
cp "$TREE/boot/initrd.img-$KVER" "$ESPDIR/debian/initrd.img"
echo "$KVER" >"$ESPDIR/debian/version"
printf 'default debian.conf\ntimeout 0\neditor no\n' >"$ESPDIR/loader/loader.conf"
printf 'title   Debian GNU/Linux 12 (Digibench)\nlinux   /debian/vmlinuz\ninitrd  /debian/initrd.img\noptions root=PARTUUID=%s rw quiet\n' \
    "$ROOT_PARTUUID" >"$ESPDIR/loader/entries/debian.conf"
# Legacy BIOS: SYSLINUX on the same FAT, loading the same kernel and initramfs (which the
# kernel hooks keep current); the protective MBR gets SYSLINUX's GPT boot code, which
# boots the partition marked LegacyBIOSBootable.
mkdir -p "$ESPDIR/syslinux"
printf 'DEFAULT debian\nPROMPT 0\nTIMEOUT 0\nLABEL debian\n  LINUX /debian/vmlinuz\n  INITRD /debian/initrd.img\n  APPEND root=PARTUUID=%s rw quiet\n' \
    "$ROOT_PARTUUID" >"$ESPDIR/syslinux/syslinux.cfg"
mcopy -s -Q -m -i "$M" "$ESPDIR"/* ::/
syslinux --install --directory /syslinux --offset $(( ESP_START * 512 )) "$RAW"
dd if=/usr/lib/syslinux/mbr/gptmbr.bin of="$RAW" bs=440 count=1 conv=notrunc status=none

log "root: ext4 from the tree (${ROOT_MIB} MiB)"
mkfs.ext4 -q -F -b 4096 -L root -U "$ROOT_FSUUID" -E "offset=$(( ROOT_START * 512 ))" \
    -d "$TREE" "$RAW" $(( ROOT_SECTORS * 512 / 4096 ))

log "bmap, zstd, manifest, checksums"
bmaptool create -o "$RAW.bmap" "$RAW"
# zstd frames of 8 MiB with a seek table: any zstd reads it, digibench flash decompresses
# the frames in parallel and skips those without mapped data (agent/flash/seekable.py)
(cd "$REPO_ROOT" && "$PYTHON" -m agent.flash.seekable -l 9 "$RAW" "$RAW.zst") >/dev/null
MANIFEST="$(cd "$REPO_ROOT" && "$PYTHON" images/write_manifest.py "$RAW" "$RAW.zst" "$RAW.bmap" "$NAME" "$VERSION")"
(cd "$OUT" && sha256sum "$NAME.img" "$NAME.img.zst" "$NAME.img.bmap" "$(basename "$MANIFEST")" "$NAME.packages.txt" >"$NAME.SHA256SUMS")

log "done in $(( $(date +%s) - T0 )) s"
for f in "$RAW" "$RAW.bmap" "$RAW.zst" "$MANIFEST" "$OUT/$NAME.packages.txt" "$OUT/$NAME.SHA256SUMS" "$OUT/$NAME.build.log"; do
    printf '  %-70s %s\n' "$f" "$(human "$(stat -c %s "$f")")"
done
echo "  version $VERSION, $(wc -l <"$OUT/$NAME.packages.txt") packages, data $(human $(( $(du -s --block-size=1 "$RAW" | cut -f1) )))"
exit
}
