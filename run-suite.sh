#!/usr/bin/env bash
# Runs the conformance suite. With no arguments: every property against the reference model.
# Builds first when the sources are newer than the last build. See --help.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# the runner is published compiled ahead of time (ReadyToRun: a default run's start-up is mostly the JIT's, 0.81x the wall
# time measured); where the compiler's package cannot be had (offline), the plain build is run instead
r2r="$here/runner/bin/Release/r2r/conformance.dll"
jit="$here/runner/bin/Release/net10.0/conformance.dll"
if ! command -v dotnet >/dev/null 2>&1; then
  echo "error: dotnet (the .NET 10 SDK) is not on PATH" >&2
  exit 2
fi
stamp="$here/runner/bin/Release/.built"
built="$(cat "$stamp" 2>/dev/null || true)"   # which of the two the last build made: r2r or jit
bin="$r2r"; [ "$built" = jit ] && bin="$jit"
if [ ! -f "$bin" ] || [ ! -f "$stamp" ] || [ -n "$(find "$here/spec" "$here/adapters" "$here/generators" "$here/properties" "$here/reports" "$here/runner" \
      -newer "$stamp" \( -name '*.cs' -o -name '*.json' -o -name '*.csproj' \) -not -path '*/obj/*' -not -path '*/bin/*' -print -quit)" ]; then
  echo "# building the runner, compiled ahead of time (ReadyToRun); about 40 s the first time, no output meanwhile" >&2
  echo "# (dotnet publish -c Release --use-current-runtime -p:PublishReadyToRun=true runner; its log: .build.log)" >&2
  rm -f "$r2r" "$stamp"
  bin="$r2r"; built=r2r
  if ! dotnet publish -c Release --use-current-runtime --self-contained false -p:PublishReadyToRun=true \
      "$here/runner/Conformance.Runner.csproj" -o "$here/runner/bin/Release/r2r" -nologo -v q >"$here/.build.log" 2>&1; then
    rm -f "$r2r"
    bin="$jit"; built=jit
    echo "# (not compiled ahead of time: $(grep -m1 -E 'error' "$here/.build.log" | sed 's/^ *//' | cut -c1-160); building for the JIT)" >&2
    if ! dotnet build -c Release "$here/runner/Conformance.Runner.csproj" -nologo -v q >"$here/.build.log" 2>&1; then
      cat "$here/.build.log" >&2
      echo "error: build failed" >&2
      exit 2
    fi
  fi
  echo "$built" >"$stamp"
fi

# everything else, --target vm included (it boots lab/vm.sh), is the runner's: one parser for every option
export CONFORMANCE_ROOT="$here"
# the collector's smallest first-generation budget: 16 MB, unless DOTNET_GCgen0size is set already (hexadecimal; the
# runtime reads it from the environment only). The runtime sizes that budget from the cache sizes the machine reports; on
# one that reports none (this development host) it stays near 2 MB, and with some 200 bytes allocated an op the collector
# ran 278-290 times a second in generation, 6.0-6.5% of its time; at 16 MB 36-38 times and 1.3% (BENCHMARKS.md). lab/vm.sh
# passes DOTNET_* variables on to the lab's guest.
export DOTNET_GCgen0size="${DOTNET_GCgen0size:-0x1000000}"
exec dotnet "$bin" "$@"
