#!/usr/bin/env bash
# Fetches a Debian kernel for the lab VM and prepares everything lab/vm.sh needs, without
# installing the kernel on this machine: the image and headers are unpacked with dpkg-deb into a
# cache, the module index is built with depmod, the headers are fixed up so out-of-tree modules
# build against them, and a busybox initramfs is built holding the virtio/9p/overlay modules and
# lab/guest-init.sh. Idempotent: each step leaves a stamp, so a second call takes a fraction of a
# second.
#
# usage: lab/fetch-kernel.sh [--kernel SERIES]
#
# Two kernel series (Debian bookworm packages):
#   6.12  linux-image-6.12.<N>+deb12-amd64-unsigned (the default): vivid, vgem, udmabuf, dma-heaps
#   6.1   linux-image-6.1.0-<N>-amd64-unsigned (bookworm's own kernel): vivid, vgem; no udmabuf and
#         no dma-heaps (not configured); virtio is modular, so the initramfs carries it too
#
# Environment:
#   CONFORMANCE_LAB_SERIES 6.12 or 6.1, as --kernel (the option wins; default: the series of
#                          CONFORMANCE_LAB_KVER if that is set, else 6.12)
#   CONFORMANCE_LAB_CACHE  cache directory (default $HOME/.cache/conformance-lab)
#   CONFORMANCE_LAB_KVER   kernel release to use, e.g. 6.12.117+deb12-amd64 or 6.1.0-57-amd64
#                          (default: the newest of the series Debian offers, looked up once and
#                          then kept in CACHE/current-SERIES)
#   CONFORMANCE_LAB_REFRESH=1  look up the newest kernel again instead of reusing CACHE/current-SERIES
#
# Output on stdout: only KEY=value lines (logs go to stderr):
#   SERIES       the kernel series (6.12 or 6.1)
#   KVER         kernel release (uname -r in the guest)
#   CACHE        the cache directory; KDIR is CACHE/KVER, where this kernel's files are
#   VMLINUZ      kernel image for qemu -kernel
#   INITRD       initramfs for qemu -initrd
#   MODULES_DIR  base directory for `modprobe -d` / `depmod -b` (holds lib/modules/KVER)
#   KBUILD       directory for `make -C KBUILD M=$PWD modules`
#   UAPI         this kernel's uapi headers (.../linux-headers-BASE-common/include/uapi)
# Exit status: 0, or non-zero with an "error:" line on stderr (2 for bad usage).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${CONFORMANCE_LAB_CACHE:-$HOME/.cache/conformance-lab}"

log() { echo "fetch-kernel: $*" >&2; }
die() { echo "fetch-kernel: error: $*" >&2; exit 1; }

# shellcheck source=lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

series=""
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel)
		[ $# -ge 2 ] || { echo "fetch-kernel: error: --kernel needs a value (6.12 or 6.1)" >&2; exit 2; }
		series="$2"; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) echo "fetch-kernel: error: unknown argument '$1' (usage: lab/fetch-kernel.sh [--kernel 6.12|6.1])" >&2; exit 2 ;;
	esac
done
[ -n "$series" ] || series="${CONFORMANCE_LAB_SERIES:-}"
if [ -z "$series" ]; then
	# A pinned release names its series; otherwise the default stays 6.12.
	case "${CONFORMANCE_LAB_KVER:-}" in
	6.1.0-*) series=6.1 ;;
	*) series=6.12 ;;
	esac
fi

# What differs between the series: package names, the release's shape and the kbuild package
# (6.12 names it after the full release, 6.1 has one linux-kbuild-6.1 for every ABI).
case "$series" in
6.12)
	image_re='^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$'
	kver_re='^6\.12\.[0-9]+\+deb12-amd64$'
	kver_example=6.12.117+deb12-amd64
	;;
6.1)
	image_re='^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$'
	kver_re='^6\.1\.0-[0-9]+-amd64$'
	kver_example=6.1.0-57-amd64
	;;
*) echo "fetch-kernel: error: unknown kernel series '$series' (want 6.12 or 6.1)" >&2; exit 2 ;;
esac
# The modules the initramfs loads before it can mount the host's root, in load order (each needs
# the ones before it). 6.1 builds virtio as modules and keeps fscache apart; 6.12 builds virtio in
# and folds fscache into netfs: what is built in or absent is left out of the initramfs.
initrd_modules="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p overlay"
# Of those, the ones that must be there one way or the other.
initrd_required="virtio_pci 9pnet 9pnet_virtio 9p overlay"

# Prints the newest linux-image-SERIES...-unsigned as a kernel release.
newest_kver() {
	apt-cache search --names-only "$image_re" 2>/dev/null |
		awk '{print $1}' | sed -e 's/^linux-image-//' -e 's/-unsigned$//' | sort -V | tail -n 1
}

# Downloads the named packages into the current directory, refreshing the lists once on failure.
download() {
	if ! apt-get download "$@" >&2; then
		log "apt-get download failed; running apt-get update and retrying"
		apt-get update >&2 || true
		apt-get download "$@" >&2 || die "apt-get download $* failed"
	fi
}

# Tools for: the initramfs (busybox, cpio), the module index (kmod), .ko.xz (xz), building
# out-of-tree modules (make, gcc-12 as the kernel was built with, pahole for BTF, libelf for
# the prebuilt kbuild tools).
ensure_packages busybox-static cpio kmod xz-utils make gcc-12 pahole libelf1 ||
	die "could not install busybox-static cpio kmod xz-utils make gcc-12 pahole libelf1"

mkdir -p "$cache"
# One fetch at a time per cache: parallel lab runs would otherwise unpack over each other.
exec 9>"$cache/.lock"
flock 9

# The kernel last fetched for each series. 6.12's pointer keeps its old name, `current`, as well,
# so copies of this script from before the 6.1 series still find (and never get) a 6.1 release.
current="$cache/current-$series"
if [ "$series" = 6.12 ] && [ ! -f "$current" ] && [ -f "$cache/current" ]; then current="$cache/current"; fi
kver="${CONFORMANCE_LAB_KVER:-}"
if [ -z "$kver" ] && [ -f "$current" ] && [ -f "$cache/$(cat "$current")/.stamp-ready" ] &&
	[ -z "${CONFORMANCE_LAB_REFRESH:-}" ]; then
	# Already fetched: keep it rather than ask apt every run (fast, offline, reproducible);
	# CONFORMANCE_LAB_REFRESH=1 looks for a newer kernel.
	kver="$(cat "$current")"
fi
if [ -z "$kver" ]; then
	kver="$(newest_kver)"
	if [ -z "$kver" ]; then
		log "no package matching $image_re known to apt; running apt-get update"
		apt-get update >&2 || die "apt-get update failed"
		kver="$(newest_kver)"
	fi
	[ -n "$kver" ] || die "apt knows no package matching $image_re (is bookworm-security or bookworm-backports in the sources?)"
fi
[[ "$kver" =~ $kver_re ]] || die "unexpected kernel release '$kver' for the $series series (want e.g. $kver_example)"
base="${kver%-amd64}" # 6.12.117+deb12 or 6.1.0-57: names the -common headers package
case "$series" in
6.12) kbuild_pkg="linux-kbuild-$base" ;;
6.1) kbuild_pkg="linux-kbuild-6.1" ;;
esac

kdir="$cache/$kver"
image="$kdir/image"
headers="$kdir/headers"
kbuild="$headers/usr/src/linux-headers-$kver"
common="$headers/usr/src/linux-headers-$base-common"
mkdir -p "$kdir"

# 1. Download the image, both header packages and kbuild (scripts/ and the host tools), unless
#    everything they unpack to is already there.
if [ ! -f "$kdir/.stamp-image" ] || [ ! -f "$kdir/.stamp-headers" ]; then
	if [ ! -f "$kdir/.stamp-downloaded" ]; then
		log "downloading kernel $kver"
		rm -rf "$kdir/debs"
		mkdir -p "$kdir/debs"
		kbuild_spec="$kbuild_pkg"
		if [ "$series" = 6.1 ]; then
			# linux-kbuild-6.1 serves every 6.1 ABI: take the build of the image's own version when
			# apt still offers it (the newest otherwise, which the headers accept: they depend on >=).
			version="$(apt-cache show --no-all-versions "linux-headers-$kver" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)"
			if [ -n "$version" ] && apt-cache show "$kbuild_pkg=$version" >/dev/null 2>&1; then
				kbuild_spec="$kbuild_pkg=$version"
			fi
		fi
		(cd "$kdir/debs" && download "linux-image-$kver-unsigned" "linux-headers-$kver" \
			"linux-headers-$base-common" "$kbuild_spec")
		touch "$kdir/.stamp-downloaded"
	fi
fi

# 2. Unpack the image (vmlinuz, modules); unpack into a temp dir so a failure leaves no half tree.
if [ ! -f "$kdir/.stamp-image" ]; then
	log "unpacking the image"
	rm -rf "$image" "$image.tmp"
	dpkg-deb -x "$kdir/debs/linux-image-$kver-unsigned_"*.deb "$image.tmp"
	mv "$image.tmp" "$image"
	rm -f "$kdir/.stamp-depmod" "$kdir/.stamp-initrd"
	touch "$kdir/.stamp-image"
fi

# 3. Module index, so `modprobe -d $image vivid` resolves vivid's dependencies.
if [ ! -f "$kdir/.stamp-depmod" ]; then
	log "depmod"
	depmod -b "$image" "$kver"
	# Every run loads vivid and vgem: store them and their dependencies decompressed, which saves
	# the guest's (emulated, slow) xz about 0.3 s per boot. Then index again for the new names.
	for m in vivid vgem; do
		modprobe -d "$image" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
	done | sort -u | while read -r ko; do
		case "$ko" in *.ko.xz) xz -d "$ko" ;; esac
	done
	depmod -b "$image" "$kver"
	touch "$kdir/.stamp-depmod"
fi

# 4. Unpack the headers and kbuild together, so their relative symlinks (scripts -> ../../lib/
#    linux-kbuild-*/scripts) resolve inside the cache, then repoint the absolute ones.
if [ ! -f "$kdir/.stamp-headers" ]; then
	log "unpacking the headers"
	rm -rf "$headers" "$headers.tmp"
	for deb in "$kdir/debs/linux-headers-$kver"_*.deb "$kdir/debs/linux-headers-$base-common"_*.deb \
		"$kdir/debs/$kbuild_pkg"_*.deb; do
		dpkg-deb -x "$deb" "$headers.tmp"
	done
	mv "$headers.tmp" "$headers"
	# The arch Makefile is one line, `include /usr/src/linux-headers-BASE-common/Makefile`.
	sed -i "s|^include /usr/src/linux-headers-$base-common/Makefile\$|include $common/Makefile|" "$kbuild/Makefile"
	grep -qxF "include $common/Makefile" "$kbuild/Makefile" ||
		die "unexpected $kbuild/Makefile: $(head -n 1 "$kbuild/Makefile")"
	ln -sfn "$kbuild" "$headers/lib/modules/$kver/build"
	ln -sfn "$common" "$headers/lib/modules/$kver/source"
	touch "$kdir/.stamp-headers"
fi
[ -d "$common/include/uapi" ] || die "no uapi headers at $common/include/uapi"
[ -e "$kbuild/scripts/Makefile.modpost" ] || die "kbuild scripts missing under $kbuild/scripts"

# 5. The initramfs: static busybox, the decompressed virtio/9p/overlay modules with the order to
#    load them in (/modules/order) and the guest init. It is rebuilt when guest-init.sh or the
#    module list changes (their hash is the stamp).
initrd="$kdir/initrd.gz"
init_src="$here/guest-init.sh"
[ -f "$init_src" ] || die "missing $init_src"
want="$({ cat "$init_src"; echo "$initrd_modules"; } | sha256sum | cut -d' ' -f1)"
if [ ! -f "$initrd" ] || [ "$(cat "$kdir/.stamp-initrd" 2>/dev/null)" != "$want" ]; then
	log "building the initramfs"
	busybox=/bin/busybox
	[ -x "$busybox" ] || die "$busybox not found (package busybox-static)"
	# The initramfs has no libc: busybox must be the static build.
	[[ "$(ldd "$busybox" 2>&1 || true)" == *"not a dynamic executable"* ]] ||
		die "$busybox is not statically linked (install busybox-static instead of busybox)"
	root="$kdir/initrd.root"
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/modules" "$root/dev" "$root/proc" "$root/sys"
	cp "$busybox" "$root/bin/busybox"
	install -m 0755 "$init_src" "$root/init"
	# The kernel opens /dev/console for init before anything is mounted.
	mknod -m 0600 "$root/dev/console" c 5 1
	: >"$root/modules/order"
	for m in $initrd_modules; do
		if grep -q "/$m\.ko\$" "$image/lib/modules/$kver/modules.builtin"; then continue; fi
		ko="$(find "$image/lib/modules/$kver/kernel" \( -name "$m.ko.xz" -o -name "$m.ko" \) -print -quit)"
		if [ -z "$ko" ]; then
			case " $initrd_required " in
			*" $m "*) die "module $m is neither built into $kver nor found under $image/lib/modules/$kver" ;;
			esac
			continue
		fi
		case "$ko" in
		*.xz) xz -dc "$ko" >"$root/modules/$m.ko" ;;
		*) cp "$ko" "$root/modules/$m.ko" ;;
		esac
		echo "$m" >>"$root/modules/order"
	done
	log "initramfs modules: $(tr '\n' ' ' <"$root/modules/order")"
	(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
	rm -rf "$root"
	echo "$want" >"$kdir/.stamp-initrd"
fi

# The .debs are unpacked: drop them (about 125 MB).
if [ -d "$kdir/debs" ]; then rm -rf "$kdir/debs" "$kdir/.stamp-downloaded"; fi
touch "$kdir/.stamp-ready"
# Written whole then renamed: a parallel reader outside the lock never sees a half-written name.
echo "$kver" >"$cache/current-$series.tmp" && mv "$cache/current-$series.tmp" "$cache/current-$series"
if [ "$series" = 6.12 ]; then echo "$kver" >"$cache/current.tmp" && mv "$cache/current.tmp" "$cache/current"; fi

vmlinuz="$image/boot/vmlinuz-$kver"
[ -f "$vmlinuz" ] || die "no $vmlinuz"
echo "SERIES=$series"
echo "KVER=$kver"
echo "CACHE=$cache"
echo "KDIR=$kdir"
echo "VMLINUZ=$vmlinuz"
echo "INITRD=$initrd"
echo "MODULES_DIR=$image"
echo "KBUILD=$kbuild"
echo "UAPI=$common/include/uapi"
