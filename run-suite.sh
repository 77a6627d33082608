#!/usr/bin/env bash
# Runs the conformance suite. With no arguments: every property against the reference model.
# Builds first when the sources are newer than the last build. See --help.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
bin="$here/runner/bin/Release/net10.0/conformance.dll"
if ! command -v dotnet >/dev/null 2>&1; then
  echo "error: dotnet (the .NET 10 SDK) is not on PATH" >&2
  exit 2
fi
stamp="$here/runner/bin/Release/.built"
if [ ! -f "$bin" ] || [ ! -f "$stamp" ] || [ -n "$(find "$here/spec" "$here/adapters" "$here/generators" "$here/properties" "$here/reports" "$here/runner" \
      -newer "$stamp" \( -name '*.cs' -o -name '*.json' -o -name '*.csproj' \) -not -path '*/obj/*' -not -path '*/bin/*' -print -quit)" ]; then
  echo "# building (dotnet build -c Release runner)" >&2
  if ! dotnet build -c Release "$here/runner/Conformance.Runner.csproj" -nologo -v q >"$here/.build.log" 2>&1; then
    cat "$here/.build.log" >&2
    echo "error: build failed" >&2
    exit 2
  fi
  touch "$stamp"
fi

# --target vm: boot the lab kernel under QEMU and run --target kernel inside it (lab/vm.sh)
vm=0
for a in "$@"; do [ "$a" = "vm" ] && [ "${prev:-}" = "--target" ] && vm=1; prev="$a"; done
if [ "$vm" = 0 ]; then
  exec dotnet "$bin" "$@"
fi
inner=() lab=() again=() out="out" devices=0 modules=0 bench=0
while [ $# -gt 0 ]; do
  case "$1" in
    --target) inner+=(--target kernel); shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --module) lab+=(--module "$2"); again+=(--module "$2"); modules=1; shift 2 ;;
    --module-args|--vm-timeout|--vm-mem|--kernel)
      [ $# -ge 2 ] || { echo "error: $1 needs a value" >&2; exit 2; }
      # replay commands printed inside the VM name what boots the same lab, spelt as this script takes it
      again+=("$1" "$2")
      case "$1" in --module-args) lab+=(--module-args "$2") ;; --vm-timeout) lab+=(--timeout "$2") ;; --vm-mem) lab+=(--mem "$2") ;;
        --kernel)
          case "$2" in 6.12|6.1) ;; *) echo "error: --kernel must be 6.12 or 6.1 (the lab's kernel series), not '$2'" >&2; exit 2 ;; esac
          # lab/uapi-include.sh reads it too: --bench builds against the booted kernel's headers
          lab+=(--kernel "$2"); export CONFORMANCE_LAB_SERIES="$2" ;;
      esac
      shift 2 ;;
    --device) devices=1; inner+=("$1" "$2"); shift 2 ;;
    --bench) bench=1; inner+=("$1"); shift ;;
    *) inner+=("$1"); shift ;;
  esac
done
raw="$here/runner/bin/raw-loop"
if [ "$bench" = 1 ]; then
  # the raw C baseline, built here against the lab kernel's headers (the guest has no network or compiler cache)
  inc="$(mktemp -d)"; trap 'rm -rf "$inc"' EXIT
  bash "$here/lab/uapi-include.sh" "$inc" || { echo "error: cannot prepare the lab kernel's uapi headers" >&2; exit 2; }
  gcc -O2 -Wall -Wextra -Werror -I"$inc" -o "$raw" "$here/runner/bench/raw-loop.c" || { echo "error: cannot build runner/bench/raw-loop.c" >&2; exit 2; }
fi
out="$(mkdir -p "$out/vm" && cd "$out/vm" && pwd)"
# the guest writes to /lab-out; reports name the host's path for the same files, and replay commands
# that boot the same lab (with the same modules) again
prefix="./run-suite.sh --target vm"; for a in "${again[@]}"; do prefix+=" $(printf '%q' "$a")"; done
export CONFORMANCE_REPLAY_PREFIX="$prefix"
export CONFORMANCE_BIN="$bin" CONFORMANCE_RAW_LOOP="$raw" CONFORMANCE_HOST_OUT="$out" CONFORMANCE_CERTIFY_NEW=$(( modules == 1 && devices == 0 ? 1 : 0 ))
cd "$here"
exec bash "$here/lab/vm.sh" run --out "$out" "${lab[@]}" -- bash "$here/lab/guest-run.sh" "${inner[@]}"
