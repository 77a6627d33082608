#!/usr/bin/env bash
# CI's LAVA step (.ci/run): jobs that --emit-lava-job writes, run for real by Debian's lava-dispatcher (lava-run, no
# server) on the lab's 6.12 kernel, and judged by what LAVA itself recorded, not by lava-run's exit status (0 even when a
# case fails):
#   1. every job written (the lab machine's, and a board's from lava/examples/rpi4-nfs.yaml) passes LAVA's own job schema
#      (lava_common.schemas.validate, strict, as a server checks a submission) and lava-run --validate;
#   2. the unsharded job runs, and its per-case results agree with the suite's results.json (lava/check-results.py);
#   3. two shards' jobs run, each agreeing likewise, and their results folders merged (--merge) give every invariant the
#      unsharded job's verdict.
#   lava/ci-job.sh OUT [DEVICE [SEQUENCES [SEED]]]
# Exit 0 when all holds; 1 when a check fails; 5 when lava-dispatcher cannot be installed.
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
log() { echo "lab: lava: $*" >&2; }
# shellcheck source=lab/lib.sh
. "$here/lab/lib.sh"
[ $# -ge 1 ] || { echo "usage: lava/ci-job.sh OUT [DEVICE [SEQUENCES [SEED]]]" >&2; exit 2; }
out="$1" device="${2:-/dev/udmabuf}" sequences="${3:-30}" seed="${4:-1}"
ensure_packages lava-dispatcher qemu-system-x86 || { echo "lab: lava: lava-dispatcher could not be installed"; exit 5; }
rm -rf "$out"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
suite=("$here/run-suite.sh" --target vm --device "$device" --sequences "$sequences" --seed "$seed")
# LAVA fetches the test definition with git: from this tree at its commit, or (a tree that is not a git checkout, as an
# unpacked archive) from a repository made here of its lava/ folder
if ! git -C "$here" rev-parse -q --verify HEAD >/dev/null 2>&1; then
	mkdir -p "$out/definition" && cp -r "$here/lava" "$out/definition/" && git -C "$out/definition" init -q \
		&& git -C "$out/definition" add lava && git -C "$out/definition" -c user.name=ci -c user.email=ci@localhost commit -qm "lava/ of the suite's tree" \
		|| { echo "lab: lava: cannot make a git repository of lava/ for LAVA to fetch"; exit 1; }
	suite+=(--lava-repository "$out/definition")
fi
bad=0
fail() { echo "lab: lava: FAILED: $*"; bad=$((bad + 1)); }

# 1. the jobs, written and validated
"${suite[@]}" --emit-lava-job "$out/whole" || fail "--emit-lava-job (1 shard) exited $?"
"${suite[@]}" --emit-lava-job "$out/sharded" --shards 2 || fail "--emit-lava-job --shards 2 exited $?"
"$here/run-suite.sh" --target kernel --device /dev/video0 --emit-lava-job "$out/board" --shards 2 --lava-device-type bcm2711-rpi-4-b \
	--lava-actions "$here/lava/examples/rpi4-nfs.yaml" --lava-repository https://git.example.org/conformance.git || fail "--emit-lava-job for a board exited $?"
jobs=("$out"/whole/shard-1/job.yaml "$out"/sharded/shard-{1,2}/job.yaml "$out"/board/shard-{1,2}/job.yaml)
if /usr/bin/python3 - "${jobs[@]}" <<'EOF'; then echo "lab: lava: ${#jobs[@]} jobs pass LAVA's job schema (strict)"; else fail "LAVA's job schema"; fi
import sys, yaml
from lava_common.schemas import validate
for f in sys.argv[1:]:
    with open(f, encoding="utf-8") as fh:
        validate(yaml.safe_load(fh), strict=True)
EOF
for d in whole/shard-1 sharded/shard-1 sharded/shard-2; do
	dir="$out/$d"
	lava-run --validate --job-id "$$" --output-dir "$out/validate" --device "$dir/device.yaml" "$dir/job.yaml" >"$out/validate.log" 2>&1 \
		|| fail "lava-run --validate $dir/job.yaml: $(tail -3 "$out/validate.log")"
done

# 2 and 3: the jobs run; each job's cases against its own results.json
run_job() {  # folder of one shard's job and device dictionary, job id
	local dir="$1" id="$2" start=$SECONDS
	timeout 1200 lava-run --job-id "$id" --output-dir "$dir/lava" --device "$dir/device.yaml" "$dir/job.yaml" >"$dir/lava-run.log" 2>&1
	local rc=$?
	echo "lab: lava: job $id ($dir/job.yaml): lava-run exited $rc in $((SECONDS - start)) s"
	[ "$rc" -eq 0 ] || { fail "lava-run exited $rc: $(grep -o '"msg": "[^"]*' "$dir/lava-run.log" | tail -3 | tr '\n' ' ')"; return; }
	if [ ! -s "$dir/conformance/results.json" ]; then fail "job $id wrote no results.json"; return; fi
	local check
	check="$(/usr/bin/python3 "$here/lava/check-results.py" "$dir/lava-run.log" "$dir/conformance/results.json" conformance)" \
		|| fail "job $id's LAVA results disagree with its results.json"
	echo "$check" | sed 's/^/lab: lava: /'
}
run_job "$out/whole/shard-1" "$((100000 + $$ % 100000))"
run_job "$out/sharded/shard-1" "$((200000 + $$ % 100000))"
run_job "$out/sharded/shard-2" "$((300000 + $$ % 100000))"

# the shards merged: every invariant's verdict as the unsharded job gave it
"$here/run-suite.sh" --merge "$out/sharded/shard-1/conformance" "$out/sharded/shard-2/conformance" --out "$out/merged" >"$out/merge.log" 2>&1
rc=$?
[ "$rc" -le 1 ] || fail "--merge exited $rc: $(tail -1 "$out/merge.log")"
if /usr/bin/python3 - "$out/whole/shard-1/conformance/results.json" "$out/merged/results.json" <<'EOF'; then :; else fail "the merged shards' verdicts differ from the unsharded job's"; fi
import json, sys
def verdicts(path):
    with open(path, encoding="utf-8") as f:
        run = json.load(f)
    return {(u.get("device") or u["name"], i["id"]): i["status"] for u in run["units"] for i in u.get("invariants", [])}, run
whole, w = verdicts(sys.argv[1])
merged, m = verdicts(sys.argv[2])
def counts(run):  # sequences run and checks made: equal where no race decides a check
    return (sum(p["sequences"] for u in run["units"] for p in u.get("properties", [])),
            sum(i.get("checked") or 0 for u in run["units"] for i in u.get("invariants", [])))
differ = sorted(k for k in whole.keys() | merged.keys() if whole.get(k) != merged.get(k))
for k in differ:
    print(f"lab: lava: DISAGREE {k[0]} {k[1]}: unsharded {whole.get(k)}, two shards merged {merged.get(k)}")
print(f"lab: lava: two shards merged (shards {m['run']['merged']['merged']} of {m['run']['merged']['shards']}): "
      f"{len(whole)} verdicts, {len(differ)} differing from the unsharded job's; sequences and checks "
      f"{counts(m)[0]} and {counts(m)[1]}, the unsharded job's {counts(w)[0]} and {counts(w)[1]}")
sys.exit(1 if differ or not whole else 0)
EOF
[ "$bad" -eq 0 ] && echo "lab: lava: every check held" || echo "lab: lava: $bad check(s) failed"
[ "$bad" -eq 0 ]
