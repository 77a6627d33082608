#!/usr/bin/env bash
# Builds the kernel's own virtual test drivers that Debian's 6.12 kernel does not ship, as out-of-tree modules
# against the lab kernel's headers, and caches them with that kernel: v4l2-mem2mem (Debian's config leaves out
# CONFIG_V4L2_MEM2MEM_DEV, which the mem2mem drivers need), vim2m (mem2mem), vicodec (stateful and stateless
# codec, mem2mem), vimc (a media-controller pipeline with capture nodes), visl (stateless decoder, request API)
# and vkms (a DRM KMS driver: another PRIME exporter and importer). The source comes from Debian's
# linux-source-6.12 package, fetched once; only the folders these drivers need are unpacked. Idempotent: a
# second call prints the cached result at once (the stamp is this script's hash and the kernel release).
#
# usage: lab/test-drivers.sh KVER KBUILD CACHE
#   KVER, KBUILD, CACHE as lab/fetch-kernel.sh prints them (6.12 series only)
# Output on stdout: TEST_DRIVERS=DIR (the .ko files) and TEST_DRIVERS_ORDER="name[:args] ..." (load order:
#   each after the ones it needs). Logs go to stderr.
# Exit status: 0, 1 with an "error:" line (download or build failed), 2 bad usage.
set -euo pipefail

log() { echo "test-drivers: $*" >&2; }
die() { echo "test-drivers: error: $*" >&2; exit 1; }

[ $# -eq 3 ] || { echo "test-drivers: error: usage: lab/test-drivers.sh KVER KBUILD CACHE" >&2; exit 2; }
kver="$1" kbuild="$2" cache="$3"
case "$kver" in 6.12.*) ;; *) echo "test-drivers: error: only the 6.12 series has them built here, not $kver" >&2; exit 2 ;; esac
[ -d "$kbuild" ] || die "no kernel build directory $kbuild"

# Load order, with the parameters the lab gives each: vicodec and vim2m as they come (single-planar M2M).
order="v4l2-mem2mem vim2m vicodec vimc visl vkms"
out="$cache/$kver/test-drivers"
stamp="$( { cat "${BASH_SOURCE[0]}"; echo "$kver"; } | sha256sum | cut -d' ' -f1)"
print() { echo "TEST_DRIVERS=$out"; echo "TEST_DRIVERS_ORDER=$order"; }
if [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ]; then print; exit 0; fi

exec 9>"$cache/.test-drivers.lock"
flock 9
if [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ]; then print; exit 0; fi

# 1. The source: Debian's linux-source-6.12, unpacked once (only what the drivers need) into CACHE/src-test-drivers.
src="$cache/src-test-drivers"
if [ ! -f "$src/.stamp" ]; then
	log "fetching linux-source-6.12 (about 150 MB, once)"
	tmp="$(mktemp -d "$cache/.linux-source.XXXXXX")"
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && { apt-get download linux-source-6.12 >&2 || { apt-get update >&2 || true; apt-get download linux-source-6.12 >&2; }; }) ||
		die "apt-get download linux-source-6.12 failed"
	dpkg-deb --fsys-tarfile "$tmp"/linux-source-6.12_*.deb | tar -x -C "$tmp" --wildcards '*/linux-source-6.12.tar.xz' ||
		die "linux-source-6.12: no linux-source-6.12.tar.xz inside the package"
	tarball="$(find "$tmp" -name linux-source-6.12.tar.xz -print -quit)"
	version="$(dpkg-deb -f "$tmp"/linux-source-6.12_*.deb Version)"
	rm -rf "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xJf "$tarball" -C "$src.tmp" --strip-components=1 linux-source-6.12/drivers/media/test-drivers \
		linux-source-6.12/drivers/media/v4l2-core/v4l2-mem2mem.c linux-source-6.12/drivers/gpu/drm/vkms ||
		die "could not unpack the test drivers from $tarball"
	echo "$version" >"$src.tmp/.version"
	rm -rf "$src"
	mv "$src.tmp" "$src"
	touch "$src/.stamp"
	rm -rf "$tmp"
	trap - EXIT
fi
log "building v4l2-mem2mem vim2m vicodec vimc visl vkms from linux-source $(cat "$src/.version") against $kver"

# 2. One build folder per module: the upstream files and a Kbuild whose $(CONFIG_...) are m.
build="$cache/$kver/test-drivers.build"
rm -rf "$build"
mkdir -p "$build"
kbuild_of() { sed -E 's/\$\(CONFIG_[A-Z0-9_]+\)/m/g' "$1"; }
mkdir "$build/v4l2-mem2mem" "$build/vim2m"
cp "$src/drivers/media/v4l2-core/v4l2-mem2mem.c" "$build/v4l2-mem2mem/"
echo 'obj-m := v4l2-mem2mem.o' >"$build/v4l2-mem2mem/Kbuild"
cp "$src/drivers/media/test-drivers/vim2m.c" "$build/vim2m/"
echo 'obj-m := vim2m.o' >"$build/vim2m/Kbuild"
for d in vicodec vimc visl; do
	cp -r "$src/drivers/media/test-drivers/$d" "$build/$d"
	kbuild_of "$src/drivers/media/test-drivers/$d/Makefile" >"$build/$d/Kbuild"
	rm -f "$build/$d/Makefile"
done
cp -r "$src/drivers/gpu/drm/vkms" "$build/vkms"
kbuild_of "$src/drivers/gpu/drm/vkms/Makefile" >"$build/vkms/Kbuild"
rm -f "$build/vkms/Makefile"
# visl's trace headers name their folder relative to the kernel tree: point them at their own.
sed -i 's|^#define TRACE_INCLUDE_PATH .*|#define TRACE_INCLUDE_PATH .|' "$build"/visl/visl-trace-*.h
echo 'CFLAGS_visl-trace-points.o := -I$(src)' >>"$build/visl/Kbuild"

make_module() { # DIR [EXTRA_SYMBOLS]
	local dir="$1" extra="${2:-}"
	make -C "$kbuild" M="$dir" ${extra:+KBUILD_EXTRA_SYMBOLS="$extra"} modules >"$dir/build.log" 2>&1 ||
		{ tail -20 "$dir/build.log" >&2; die "building $(basename "$dir") failed (log: $dir/build.log)"; }
}
make_module "$build/v4l2-mem2mem"
m2m_symvers="$build/v4l2-mem2mem/Module.symvers"
pids=()
for d in vim2m vicodec visl; do make_module "$build/$d" "$m2m_symvers" & pids+=($!); done
for d in vimc vkms; do make_module "$build/$d" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || die "a test driver failed to build"; done

rm -rf "$out.tmp"
mkdir -p "$out.tmp"
for m in $order; do
	cp "$build/$m/$m.ko" "$out.tmp/" || die "no $m.ko after the build"
	# as Debian installs its own modules (INSTALL_MOD_STRIP): without debug info a module is a sixth of the size
	# and loads in a fraction of the time under TCG
	strip --strip-debug "$out.tmp/$m.ko" || die "strip $m.ko failed"
done
cp "$src/.version" "$out.tmp/source-version"
echo "$stamp" >"$out.tmp/.stamp"
rm -rf "$out"
mv "$out.tmp" "$out"
rm -rf "$build"
print
