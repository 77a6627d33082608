#!/usr/bin/env bash
# Runs inside the lab VM (started by ./run-suite.sh --target vm): the suite's kernel target against the
# guest's devices, results into the shared /lab-out. After --module with no --device, it certifies the
# char devices the module created. When the lab loaded modules, it tells the suite how to reload them
# (CONFORMANCE_RELOAD) and which devices they made (CONFORMANCE_MODULE_DEVICES): a counterexample on such
# a device is then re-run from a freshly loaded driver, not only from closed fds.
set -euo pipefail
args=("$@")
new=""
if [ -r "$LAB_OUT/devices-before.txt" ] && [ -r "$LAB_OUT/devices-after.txt" ]; then
  # (no process substitution: the guest has no /dev/fd)
  new=$(comm -13 "$LAB_OUT/devices-before.txt" "$LAB_OUT/devices-after.txt")
fi
if [ "${CONFORMANCE_CERTIFY_NEW:-0}" = 1 ]; then
  if [ -z "$new" ]; then
    echo "error: the loaded module created no character device to certify; name one with --device" >&2
    exit 2
  fi
  for d in $new; do args+=(--device "$d"); done
fi
# the modules lab/vm.sh loaded, from its job file: unload newest first, load again in order with the same arguments
count=$(sed -n 's/^LAB_MODULE_COUNT=//p' "$LAB_OUT/job.env" 2>/dev/null || true)
if [ -n "$count" ] && [ "$count" -gt 0 ]; then
  unload="" load=""
  for i in $(seq 1 "$count"); do
    path=$(sed -n "s/^LAB_MODULE_${i}_PATH=//p" "$LAB_OUT/job.env")
    margs=$(sed -n "s/^LAB_MODULE_${i}_ARGS=//p" "$LAB_OUT/job.env")
    # job.env values are shell-quoted by lab/vm.sh: evaluate them once to get the words back
    eval "path=$path margs=$margs"
    name=$(basename "$path" .ko)
    unload="rmmod $(printf '%q' "$name") && $unload"
    load+="insmod $(printf '%q' "$path")${margs:+ $(printf '%q' "$margs")} && "
  done
  export CONFORMANCE_RELOAD="${unload}${load}true"
  export CONFORMANCE_MODULE_DEVICES="$(echo $new)"
fi
exec dotnet "$CONFORMANCE_BIN" --out "$LAB_OUT" "${args[@]}"
