#!/usr/bin/env bash
# Runs inside the lab VM (started by lab/roundtrip.sh): every compiled C reproducer named in LIST, with
# REPRO_TRACE=1, each under a time limit; its KTAP output and exit status go to $LAB_OUT/runs/NAME.{ktap,rc}.
set -uo pipefail
list="$1"
mkdir -p "$LAB_OUT/runs"
while read -r kind name bin replay; do
  [ -n "$name" ] || continue
  REPRO_TRACE=1 timeout 120 "$bin" >"$LAB_OUT/runs/$name.ktap" 2>&1
  echo $? >"$LAB_OUT/runs/$name.rc"
done <"$list"
echo "ran $(wc -l <"$list") reproducers"
