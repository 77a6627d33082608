#!/bin/sh
# Run by lava/conformance.yaml on the device under test (POSIX sh): runs the suite there, then reports each line of its
# result.txt ("CASE RESULT") with lava-test-case, and prints each counterexample and its C reproducer in the log.
#   conformance.sh SUITE OUT SEQUENCES SEED SHARD [DEVICE...]
set -u
[ $# -ge 5 ] || { echo "usage: conformance.sh SUITE OUT SEQUENCES SEED SHARD [DEVICE...]" >&2; exit 2; }
suite="$1" out="$2" sequences="$3" seed="$4" shard="$5"
shift 5
# device paths have no spaces: one --device word pair each
devices=""
for d in "$@"; do devices="$devices --device $d"; done
echo "conformance: $suite/run-suite.sh --target kernel --sequences $sequences --seed $seed --shard $shard --out $out --quiet$devices"
# shellcheck disable=SC2086 # the devices are separate words
"$suite/run-suite.sh" --target kernel --sequences "$sequences" --seed "$seed" --shard "$shard" --out "$out" --quiet $devices
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
