#!/usr/bin/env python3
"""Score sfbflow's verdicts on a lab capture against its expected_verdicts.csv.

Usage: score_lab.py SFBFLOW CASE_DIR   (CASE_DIR holds input.pcap, topology.toml and
expected_verdicts.csv). Prints per-flow disagreements and the figures: documented/undocumented
and roles right, finding right among the undocumented, app_protocol right. Exit 0 always; the
caller decides thresholds."""
import csv
import json
import subprocess
import sys


def main(binary, case):
    out = subprocess.run([binary, "classify", "input.pcap", "--topology", "topology.toml",
                          "--jsonl", "--quiet", "--idle-timeout", "0"],
                         cwd=case, capture_output=True, text=True, check=False)
    rows = [json.loads(l) for l in out.stdout.splitlines()]
    expected = list(csv.DictReader(open(f"{case}/expected_verdicts.csv")))
    used = set()
    verdict_ok = finding_ok = undoc = proto_ok = 0
    report = {"flows": len(rows), "expected": len(expected), "misses": []}
    for e in expected:
        def fits(r):
            ends = {(r["initiator_ip"], r["initiator_port"]), (r["responder_ip"], r["responder_port"])}
            rp = int(e["responder_port"])
            ip = e["initiator_port_or_*"]
            return (r["transport"] == e["transport"] and (e["responder_ip"], rp) in ends
                    and any(a == e["initiator_ip"] and (ip == "*" or p == int(ip)) for a, p in ends))
        cands = [i for i, r in enumerate(rows) if i not in used and fits(r)]
        if not cands:
            report["misses"].append(f"no flow for {e['transport']} {e['initiator_ip']} -> {e['responder_ip']}:{e['responder_port']}")
            continue
        i = cands[0]
        used.add(i)
        r = rows[i]
        want_doc = e["documented"].lower() == "true"
        roles_ok = (r["initiator_role"] or "") == e["initiator_role"] and (r["responder_role"] or "") == e["responder_role"]
        ok = r["documented"] == want_doc and (roles_ok or e["finding_or_empty"] == "unknown_endpoint")
        verdict_ok += ok
        if not want_doc:
            undoc += 1
            finding_ok += (r["finding"] or "") == e["finding_or_empty"]
        proto_ok += r["app_protocol"] == e["app_protocol"]
        if not ok or (not want_doc and (r["finding"] or "") != e["finding_or_empty"]):
            report["misses"].append(
                f"{e['transport']} {r['initiator_ip']}:{r['initiator_port']} -> {r['responder_ip']}:{r['responder_port']}: "
                f"got documented={r['documented']} {r['initiator_role']}->{r['responder_role']} rule={r['rule_id']} finding={r['finding']}; "
                f"expected documented={want_doc} {e['initiator_role']}->{e['responder_role']} rule={e['rule_id_or_empty']} finding={e['finding_or_empty']}")
    n = len(expected)
    report.update(verdict_and_roles=verdict_ok / n, finding=finding_ok / max(undoc, 1),
                  app_protocol=proto_ok / n, undocumented_expected=undoc)
    for m in report["misses"]:
        print("MISS", m)
    print(json.dumps({k: v for k, v in report.items() if k != "misses"}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
