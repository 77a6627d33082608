#!/usr/bin/env bash
# The lab's own test for a driver that crashes the kernel (issue 12): conformance_vcap with
# bug=stopleak makes vb2 WARN at the first STREAMOFF/close with buffers queued, then BUG on the
# corrupted list. The run must end with exit 3 well before the lab's --timeout, and bring back
# what the guest wrote before the crash.
#
#   bash lab/selftest-crash.sh [--out DIR] [RUN-SUITE OPTIONS...]    e.g. --vm-mem 2048
#
# Builds lab/modules/conformance_vcap for the lab's 6.12 kernel, runs
#   ./run-suite.sh --target vm --module lab/modules/conformance_vcap/conformance_vcap.ko \
#       --module-args bug=stopleak --sequences 200 --out DIR [OPTIONS]
# and checks: exit 3; QEMU exited within 15 s of the kernel's first fatal complaint and ran under
# 60 s from its start to its exit (boot included: 5-20 s under TCG); DIR/vm holds console.log,
# current-sequence and dmesg-problems.txt; the summary names the kernel's complaint and the
# sequence that was running; the replay commands name --kernel, --module and --module-args; no
# QEMU of this run is left. Prints the times (boot, first fatal complaint to QEMU's exit, QEMU's
# run, the whole run) and ends with "N passed, N failed"; exit 0 only if every check passed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
out=out/selftest-crash
if [ "${1:-}" = --out ]; then
	[ $# -ge 2 ] || { echo "error: --out needs a value" >&2; exit 2; }
	out="$2"; shift 2
fi
limit=60   # seconds from QEMU's start to its exit (boot under TCG is 10-20 s of it)
mod=lab/modules/conformance_vcap/conformance_vcap.ko
passed=0 failed=0
check() { # description, then a command that succeeds when the check holds
	local what="$1"; shift
	if "$@"; then passed=$((passed + 1)); echo "ok - $what"; else failed=$((failed + 1)); echo "not ok - $what"; fi
}

kbuild="$(bash lab/fetch-kernel.sh 2>/dev/null | sed -n 's/^KBUILD=//p')"
if [ -z "$kbuild" ] || ! make -C lab/modules/conformance_vcap KDIR="$kbuild" >/dev/null 2>&1; then
	echo "not ok - build conformance_vcap against the lab kernel's headers (${kbuild:-lab/fetch-kernel.sh gave no KBUILD})"
	echo "0 passed, 1 failed"
	exit 1
fi

mkdir -p "$out"
log="$out/run.log"
# the kernel's test drivers have nothing to do with this check and cost boot time: without them it is what it measures
export CONFORMANCE_LAB_TEST_DRIVERS=0
cmd=(./run-suite.sh --target vm --module "$mod" --module-args bug=stopleak --sequences 200 --out "$out" "$@")
echo "# ${cmd[*]}"
t0=$EPOCHREALTIME
"${cmd[@]}" >"$log" 2>&1
rc=$?
t1=$EPOCHREALTIME
vm="$out/vm"
grep -E '^(lab:|HANG)' "$log" | grep -v '^lab: insmod' | cut -c 1-400

summary="$(grep -E '^lab: kernel .*, exit [0-9]+' "$log" | tail -n 1)"
timeline="$(grep -E "^lab: timeline from QEMU's start:" "$log" | tail -n 1)"
# "boot 16.3 s", "first fatal complaint +39.0 s", "QEMU exited +42.5 s"
field() { sed -nE "s/.*$1 \+?([0-9]+\.[0-9]+) s.*/\1/p" <<<"$2"; }
boot="$(field boot "$summary")"
fatal_at="$(field 'first fatal complaint' "$timeline")"
qemu_s="$(field 'QEMU exited' "$timeline")"
after="-"
[ -n "$fatal_at" ] && [ -n "$qemu_s" ] && after="$(awk -v a="$fatal_at" -v b="$qemu_s" 'BEGIN { printf "%.1f", b - a }')"
echo "# times: boot ${boot:-?} s, first fatal complaint +${fatal_at:-?} s, QEMU exited +${qemu_s:-?} s (${after} s after the complaint), whole run $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

check "exit 3, a kernel problem (got $rc)" [ "$rc" -eq 3 ]
check "the kernel's fatal complaint was seen on the console" [ -n "$fatal_at" ]
check "QEMU exited within 15 s of the fatal complaint (${after} s)" \
	awk -v a="${after/-/999999}" 'BEGIN { exit !(a < 15) }'
check "QEMU ran under $limit s, start to exit (${qemu_s:-?} s)" \
	awk -v q="${qemu_s:-999999}" -v l="$limit" 'BEGIN { exit !(q < l) }'
check "DIR/vm/console.log holds the kernel's BUG or Oops" grep -qE 'kernel BUG at|BUG:|Oops' "$vm/console.log"
check "DIR/vm/current-sequence names the device and batch" grep -qE '^device /dev/video[0-9]+, property .*batch seed' "$vm/current-sequence"
check "DIR/vm/dmesg-problems.txt holds the complaint" grep -qE 'kernel BUG at|BUG:|Oops' "$vm/dmesg-problems.txt"
check "the summary names the kernel problem and what was running" \
	grep -qE 'exit 3 \(kernel problem: (kernel BUG at|BUG:|Oops|general protection fault).*; running: device /dev/video' <<<"$summary"
# every replay command the lab printed boots the same lab: kernel, module and its arguments
replays_complete() {
	local replays
	replays="$(grep -E '^lab: .*replay with ' "$log")" || return 1
	! grep -vE -- '--kernel [0-9.]+ .*--module [^ ]+conformance_vcap\.ko --module-args bug=stopleak' <<<"$replays"
}
check "the lab's replay commands name --kernel, --module and --module-args" replays_complete
# QEMU processes whose command line names this run's results folder (pgrep -x: at most 15 characters)
ours() {
	local p
	for p in $(pgrep -x qemu-system-x86); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$(realpath "$out")" && echo "$p"
	done
	return 0
}
check "no QEMU of this run is left" [ -z "$(ours)" ]

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
