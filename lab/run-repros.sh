#!/usr/bin/env bash
# Runs inside the lab VM (started by lab/roundtrip.sh): every compiled C reproducer named in LIST (kind, name, binary,
# replay file, then NAME=PATH arguments if any), with
# REPRO_TRACE=1, each under a time limit; its KTAP output and exit status go to $LAB_OUT/runs/NAME.{ktap,rc}.
set -uo pipefail
list="$1"
mkdir -p "$LAB_OUT/runs"
while read -r kind name bin replay args; do
  [ -n "$name" ] || continue
  # args: NAME=PATH pairs that put a symbolic device on another node (a multi-planar or mem2mem variant's)
  # shellcheck disable=SC2086
  REPRO_TRACE=1 timeout 120 "$bin" $args >"$LAB_OUT/runs/$name.ktap" 2>&1
  echo $? >"$LAB_OUT/runs/$name.rc"
done <"$list"
echo "ran $(wc -l <"$list") reproducers"
