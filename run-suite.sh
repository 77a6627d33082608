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

# everything else, --target vm included (it boots lab/vm.sh), is the runner's: one parser for every option
export CONFORMANCE_ROOT="$here"
exec dotnet "$bin" "$@"
