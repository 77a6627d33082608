#!/usr/bin/env bash
# Writes the lab kernel's uapi headers that the suite's C programs use (the raw-loop benchmark, every
# C reproducer) to DIR, with the two rewrites `make headers_install` applies (no __user/__force/__iomem,
# no linux/compiler.h), so `gcc -I DIR` builds against Linux 6.12's ABI on any machine.
# usage: lab/uapi-include.sh DIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
uapi="${CONFORMANCE_UAPI:-}"
if [ -z "$uapi" ]; then
  uapi="$(bash "$here/fetch-kernel.sh" | sed -n 's/^UAPI=//p')"
fi
[ -d "$uapi/linux" ] || { echo "error: no uapi headers at '$uapi'" >&2; exit 2; }
mkdir -p "$1/linux" "$1/drm"
for h in linux/videodev2.h linux/v4l2-common.h linux/v4l2-controls.h linux/v4l2-subdev.h linux/v4l2-mediabus.h linux/media-bus-format.h \
         linux/media.h linux/dma-buf.h linux/dma-heap.h linux/udmabuf.h \
         linux/sync_file.h drm/drm.h drm/drm_mode.h drm/vgem_drm.h; do
  sed -E -e 's/([[:space:](])(__user|__force|__iomem)[[:space:]]/\1/g' -e 's@^#include <linux/compiler(|_types).h>@@' "$uapi/$h" >"$1/$h"
done
