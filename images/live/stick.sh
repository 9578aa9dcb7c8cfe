#!/bin/bash
# `make stick TARGET=/dev/sdX CONFIG=station.toml [OS_IMAGE=x.img.manifest.json] [YES=1]`:
# write the Digibench stick image to a USB stick (or an image file), let its DIGIBENCH data
# partition take the rest of the stick, and put the station config (and the files it names
# beside it: CA file, policy), and an OS image with its bmap and manifest, on it.
# Refuses a target that is mounted, holds the running system, or is not confirmed.
source "$(dirname "$0")/../lib.sh"
need_root

IMG="${IMG:-$BUILD/live/digibench-live.img}"
usage() { die "usage: stick.sh TARGET CONFIG [OS_MANIFEST] (TARGET: a whole disk or an image file)"; }
[ $# -ge 2 ] || usage
TARGET="$1"; CONFIG="$2"; OS_MANIFEST="${3:-}"
[ -r "$IMG" ] || die "$IMG is not built; run make live-image"
[ -r "$CONFIG" ] || die "cannot read the station config $CONFIG"
[ -z "$OS_MANIFEST" ] || [ -r "$OS_MANIFEST" ] || die "cannot read the OS image manifest $OS_MANIFEST"

if [ -b "$TARGET" ]; then
    dev="$(readlink -f "$TARGET")"
    [ "$(lsblk -dno TYPE "$dev")" = disk ] || [ "$(lsblk -dno TYPE "$dev")" = loop ] \
        || die "refusing $TARGET: not a whole disk"
    if lsblk -rno MOUNTPOINT "$dev" | grep -q .; then
        die "refusing $TARGET: it holds a mounted filesystem ($(lsblk -rno MOUNTPOINT "$dev" | grep . | xargs))"
    fi
    if grep -q "^$dev" /proc/swaps; then die "refusing $TARGET: it holds active swap"; fi
    rootdisk="$(lsblk -rno PKNAME "$(findmnt -no SOURCE /)" 2>/dev/null || true)"
    [ -n "$rootdisk" ] && [ "/dev/$rootdisk" = "$dev" ] && die "refusing $TARGET: it holds the running system"
    size="$(blockdev --getsize64 "$dev")"
    [ "$size" -gt $(( $(stat -c %s "$IMG") + (64 << 20) )) ] || die "refusing $TARGET: too small ($size bytes)"
    if [ "${YES:-}" != 1 ]; then
        printf 'Replace EVERYTHING on %s (%s, %s)? Type yes: ' "$TARGET" "$(lsblk -dno MODEL,SERIAL "$dev" | xargs)" "$(human "$size")"
        read -r answer
        [ "$answer" = yes ] || die "not confirmed; nothing was written"
    fi
    log "writing $IMG to $dev"
    dd if="$IMG" of="$dev" bs=4M oflag=direct conv=fsync status=none
    disk="$dev"
else
    [ ! -e "$TARGET" ] || [ -f "$TARGET" ] || die "refusing $TARGET: neither a disk nor a regular file"
    STICK_MIB="${STICK_MIB:-1024}"
    log "writing $IMG to the image file $TARGET ($STICK_MIB MiB)"
    cp --sparse=always "$IMG" "$TARGET"
    truncate -s "${STICK_MIB}M" "$TARGET"
    disk="$TARGET"
fi

# The data partition is the one after the ISO; grow it (and drop xorriso's padding entry
# behind it) to the end of the stick.
log "growing the DIGIBENCH data partition to the end of the stick"
sfdisk -q --relocate gpt-bak-std "$disk" 2>/dev/null || true
data_num=4
start="$(sfdisk --json "$disk" | "${PYTHON:-python3}" -c 'import json,sys; p=json.load(sys.stdin)["partitiontable"]["partitions"]; print(p[3]["start"])')"
sfdisk -q --delete "$disk" 5 2>/dev/null || true
echo "start=$start, size=+, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4" | sfdisk -q --no-reread -N "$data_num" "$disk"
loop=""
cleanup() {
    unmount_below "$MNT" 2>/dev/null || true
    rmdir "$MNT" 2>/dev/null || true
    if [ -n "$loop" ]; then partx -d "$loop" 2>/dev/null || true; losetup -d "$loop" 2>/dev/null || true; fi
}
MNT="$(mktemp -d /tmp/digibench-stick.XXXXXX)"
trap cleanup EXIT
if [ -b "$disk" ]; then
    partx -u "$disk" 2>/dev/null || partx -a "$disk" 2>/dev/null || true
    part="$(lsblk -rno PATH "$disk" | grep -E "p?${data_num}\$" | head -n1)"
else
    loop="$(losetup --find --show "$disk")"
    partx -a "$loop"
    part="${loop}p${data_num}"
fi
[ -b "$part" ] || die "cannot find the data partition ($part)"
[ "$(blkid -p -s LABEL -o value "$part")" = DIGIBENCH ] || die "$part is not labelled DIGIBENCH"
e2fsck -f -p "$part" >&2
resize2fs "$part" >&2
# A UUID of its own (GRUB passes it to Linux, which mounts the data partition by it): a
# partition on a bench laptop's disk cannot pose as this stick's by copying the image's.
tune2fs -U random "$part" >&2
mount "$part" "$MNT"
log "station config, keys folder and OS image onto $part"
install -m 600 "$CONFIG" "$MNT/station.toml"
for rel in $(grep -Eo '^\s*(policy|ca_file)\s*=\s*"[^"]+"' "$CONFIG" | sed -E 's/.*"(.+)"/\1/'); do
    case "$rel" in /*) src="$rel" ;; *) src="$(dirname "$CONFIG")/$rel" ;; esac
    [ -r "$src" ] && install -D -m 644 "$src" "$MNT/$rel" && log "copied $rel"
done
mkdir -p -m 700 "$MNT/keys"
if [ -n "$OS_MANIFEST" ]; then
    mkdir -p "$MNT/images"
    d="$(dirname "$OS_MANIFEST")"
    for f in $("${PYTHON:-python3}" -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["image"], m.get("bmap") or "")' "$OS_MANIFEST"); do
        cp "$d/$f" "$MNT/images/"
    done
    cp "$OS_MANIFEST" "$MNT/images/"
    log "OS image $(basename "$OS_MANIFEST") copied; set [image] source = \"images/$(basename "$OS_MANIFEST")\""
fi
sync
df -h "$MNT" | tail -n1 >&2
log "stick ready: $TARGET"
