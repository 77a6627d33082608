#!/bin/sh
# Run by lava/conformance.yaml on the device under test (POSIX sh): runs the suite there, then reports each line of its
# result.txt ("CASE RESULT") with lava-test-case, and prints each counterexample and its C reproducer in the log.
#   conformance.sh SUITE OUT SEQUENCES TIME SEED SHARD OPTIONS [DEVICE...]
# TIME (seconds), when not empty, is the budget instead of SEQUENCES; OPTIONS are further words for the suite.
set -u
[ $# -ge 7 ] || { echo "usage: conformance.sh SUITE OUT SEQUENCES TIME SEED SHARD OPTIONS [DEVICE...]" >&2; exit 2; }
suite="$1" out="$2" sequences="$3" time="$4" seed="$5" shard="$6" options="$7"
shift 7
budget="--sequences $sequences"
[ -n "$time" ] && budget="--time $time"
# device paths and options have no spaces: separate words
devices=""
for d in "$@"; do devices="$devices --device $d"; done
echo "conformance: $suite/run-suite.sh --target kernel $budget --seed $seed --shard $shard --out $out --quiet${options:+ $options}$devices"
# shellcheck disable=SC2086 # the budget, options and devices are separate words
"$suite/run-suite.sh" --target kernel $budget --seed "$seed" --shard "$shard" --out "$out" --quiet $options $devices
status=$?
echo "conformance: the suite exited $status (0 certified, 1 a failure, 2 usage or environment, 3 hung driver or kernel problem)"
if [ ! -s "$out/result.txt" ]; then
	# nothing judged is never a pass
	lava-test-case conformance-run --result fail
	exit 0
fi
while read -r case result; do
	lava-test-case "$case" --result "$result"
done <"$out/result.txt"
for f in "$out"/counterexamples/*/*.replay.json; do
	[ -f "$f" ] || continue
	echo "===== counterexample $f"
	cat "$f"
	echo "===== C reproducer ${f%.replay.json}.c"
	cat "${f%.replay.json}.c"
done
lava-test-case conformance-run --result "$([ "$status" -le 1 ] && echo pass || echo fail)"
