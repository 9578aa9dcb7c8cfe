# Shared helpers for the image builds (sourced by images/os/build.sh and images/live/build.sh).
# Everything here runs as root on a Debian 12 host; nothing uses device-mapper.
set -euo pipefail

MIRROR="${DIGIBENCH_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${DIGIBENCH_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
SUITE=bookworm
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${DIGIBENCH_BUILD:-$REPO_ROOT/build}"
CACHE="$BUILD/cache"

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { printf 'images: error: %s\n' "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (debootstrap and chroot need it)"; }

# Install the host tools a build needs (only what is missing).
host_deps() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing build dependencies: ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}" >&2
    fi
}

# Unmount everything at or below $1 (deepest first). Safe to call when nothing is mounted.
unmount_below() {
    local dir mnts
    dir="$(realpath -m "$1")"
    mnts="$(findmnt -rn -o TARGET | awk -v d="$dir" '$0 == d || index($0, d "/") == 1' | sort -r)"
    [ -z "$mnts" ] && return 0
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done <<<"$mnts"
}

# Remove a build tree, refusing while anything is still mounted inside it.
safe_rm_tree() {
    local dir="$1"
    [ -e "$dir" ] || return 0
    unmount_below "$dir"
    if findmnt -rn -o TARGET | awk -v d="$(realpath -m "$dir")" 'index($0, d "/") == 1 {f=1} END {exit !f}'; then
        die "$dir still has mounts inside; not removing it"
    fi
    rm -rf --one-file-system "$dir"
}

# Mount what apt and maintainer scripts need inside a chroot; chroot_umount undoes it.
chroot_mount() {
    local root="$1"
    mount -t proc proc "$root/proc"
    mount -t sysfs sysfs "$root/sys"
    mount --bind /dev "$root/dev"
    mount -t devpts devpts "$root/dev/pts" -o newinstance,ptmxmode=0666
    mount -t tmpfs tmpfs "$root/run"
}
chroot_umount() { unmount_below "$1/proc"; unmount_below "$1/sys"; unmount_below "$1/dev"; unmount_below "$1/run"; }

in_chroot() {
    local root="$1"; shift
    LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive chroot "$root" "$@"
}

write_sources() {
    local root="$1"
    cat >"$root/etc/apt/sources.list" <<SRC
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
SRC
}

# Debootstrap Debian 12 (minbase) into $2 and install the packages listed in the file $3
# from bookworm + bookworm-updates + bookworm-security. The finished tree is cached: it is
# rebuilt only when the package list, this file or the recipe's hook script changes.
# $1 = cache name; $4 (optional) = a script run inside the chroot after the packages.
cached_rootfs() {
    local name="$1" dest="$2" pkgfile="$3" hook="${4:-}" key stamp tmp
    key="$( (cat "$pkgfile" "${BASH_SOURCE[0]}"; [ -n "$hook" ] && cat "$hook") | sha256sum | cut -c1-16)"
    stamp="$CACHE/$name.key"
    if [ -d "$CACHE/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$key" ]; then
        log "using cached rootfs $CACHE/$name (key $key)"
    else
        tmp="$CACHE/$name.tmp"
        safe_rm_tree "$tmp"
        mkdir -p "$CACHE"
        log "debootstrap $SUITE (minbase) into $tmp"
        debootstrap --variant=minbase --components=main "$SUITE" "$tmp" "$MIRROR" >&2 \
            || { cat "$tmp/debootstrap/debootstrap.log" >&2 2>/dev/null; die "debootstrap failed"; }
        write_sources "$tmp"
        printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"   # no daemon starts in the chroot
        chmod 755 "$tmp/usr/sbin/policy-rc.d"
        trap 'chroot_umount "'"$tmp"'"' EXIT
        chroot_mount "$tmp"
        local pkgs
        pkgs="$(grep -v '^\s*#' "$pkgfile" | xargs)"
        log "installing packages: $pkgs"
        in_chroot "$tmp" apt-get -q update >&2
        in_chroot "$tmp" apt-get -q -y dist-upgrade >&2
        # shellcheck disable=SC2086
        in_chroot "$tmp" apt-get -q -y install --no-install-recommends $pkgs >&2
        if [ -n "$hook" ]; then
            cp "$hook" "$tmp/tmp/recipe-hook"
            in_chroot "$tmp" sh /tmp/recipe-hook >&2
            rm -f "$tmp/tmp/recipe-hook"
        fi
        in_chroot "$tmp" apt-get clean
        chroot_umount "$tmp"
        trap - EXIT
        rm -f "$tmp/usr/sbin/policy-rc.d"
        rm -rf "$tmp/var/lib/apt/lists/"*
        safe_rm_tree "$CACHE/$name"
        mv "$tmp" "$CACHE/$name"
        echo "$key" >"$stamp"
    fi
    safe_rm_tree "$dest"
    mkdir -p "$(dirname "$dest")"
    cp -a "$CACHE/$name" "$dest"
}

# The installed packages with versions (recorded in the manifest and next to the image).
package_list() { chroot "$1" dpkg-query -W -f='${Package}\t${Version}\n' | sort; }

human() { numfmt --to=iec-i --suffix=B "$1"; }
