#!/usr/bin/env bash
# Runs inside the lab VM (started by ./run-suite.sh --target vm): the suite's kernel target against the
# guest's devices, results into the shared /lab-out. After --module with no --device, it certifies the
# char devices the module created.
set -euo pipefail
args=("$@")
if [ "${CONFORMANCE_CERTIFY_NEW:-0}" = 1 ]; then
  # (no process substitution: the guest has no /dev/fd)
  new=$(comm -13 "$LAB_OUT/devices-before.txt" "$LAB_OUT/devices-after.txt")
  if [ -z "$new" ]; then
    echo "error: the loaded module created no character device to certify; name one with --device" >&2
    exit 2
  fi
  for d in $new; do args+=(--device "$d"); done
fi
exec dotnet "$CONFORMANCE_BIN" --out "$LAB_OUT" "${args[@]}"
