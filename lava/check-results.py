#!/usr/bin/python3
"""Compares a LAVA job's per-case results with the suite's own results.json.

    check-results.py LAVA_LOG RESULTS_JSON DEFINITION

LAVA_LOG is what `lava-run` printed on stderr: one YAML record a line (its tags, as in `! "577"`, are YAML, not JSON). The test
cases of DEFINITION (LAVA names it "N_NAME", e.g. "0_conformance") are compared with what results.json says of each unit
and invariant, mapped as reports/LavaReport.cs maps them: pass, fail (a failure or a known kernel issue), skip (skipped
or not exercised), and each unit's hygiene; the definition's own conformance-run case (the suite ran and wrote its
results) is the one more. lava-run exits 0 when a case fails, so this is what tells. Exit 0 when every case agrees and
every invariant has its case, 1 otherwise, 2 when a file cannot be read or the log holds no case of DEFINITION.
"""
import json
import re
import sys

import yaml


def lava_cases(path, definition):
    cases = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                record = yaml.safe_load(line)
            except yaml.YAMLError:
                continue
            if not isinstance(record, dict) or record.get("lvl") != "results":
                continue
            msg = record.get("msg") or {}
            if re.fullmatch(r"\d+_" + re.escape(definition), str(msg.get("definition", ""))):
                cases[msg["case"]] = msg["result"]
    return cases


def unit_id(unit):
    device = unit.get("device")
    if device:
        name = device[5:] if device.startswith("/dev/") else device.lstrip("/")
    elif unit.get("target"):
        name = f'{unit["target"]}.{unit["profile"]}'
    else:
        name = unit["name"]
    return "".join(c if (c.isascii() and c.isalnum()) or c in "-_" else "." for c in name)


def expected_cases(results):
    want = {}
    status = {"pass": "pass", "fail": "fail", "known": "fail", "skip": "skip", "not_exercised": "skip"}
    for unit in results["units"]:
        uid = unit_id(unit)
        if not unit.get("target"):
            want[f"{uid}_run"] = "skip"
            continue
        for inv in unit["invariants"]:
            want[f'{uid}_{inv["id"]}'] = status[inv["status"]]
        judged = {inv["id"] for inv in unit["invariants"]}
        for prop in unit["properties"]:
            for failure in prop["failures"]:
                if failure["invariant"] not in judged:
                    want[f'{uid}_{failure["invariant"]}'] = "fail"
        want[f"{uid}_hygiene"] = "pass" if unit.get("leak") is None else "fail"
    return want


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    log, results_path, definition = sys.argv[1:]
    try:
        got = lava_cases(log, definition)
        with open(results_path, encoding="utf-8") as f:
            want = expected_cases(json.load(f))
    except (OSError, ValueError, KeyError) as e:
        print(f"check-results: {e}", file=sys.stderr)
        return 2
    if not got:
        print(f"check-results: {log} holds no LAVA test case of {definition} (is it lava-run's log? lava-run writes it to stderr: 2>LOG)",
              file=sys.stderr)
        return 2
    bad = 0
    for case, result in sorted(want.items()):
        if got.get(case) != result:
            print(f"DISAGREE {case}: results.json says {result}, LAVA recorded {got.get(case, 'nothing')}")
            bad += 1
    for case in sorted(set(got) - set(want) - {"conformance-run"}):
        print(f"DISAGREE {case}: LAVA recorded {got[case]}, results.json has no such case")
        bad += 1
    print(f"check-results: {len(want)} cases in results.json, {len(got)} in LAVA's results, {bad} disagreeing; "
          f"LAVA: {sum(1 for r in got.values() if r == 'pass')} pass, {sum(1 for r in got.values() if r == 'fail')} fail, "
          f"{sum(1 for r in got.values() if r == 'skip')} skip")
    return 1 if bad or not want else 0


if __name__ == "__main__":
    sys.exit(main())
