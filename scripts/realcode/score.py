#!/usr/bin/env python3
"""False-positive yardstick on real third-party code (docs/accuracy.md, "Real code").

Runs the keysweep binary over the corpus that scripts/realcode/fetch.sh downloads from the
package registries (code nobody on this project wrote), and scores every finding against the
committed triage in scripts/realcode/triage.jsonl. Each triage entry names a rule id and the
finding's secret_sha256 (never the value) and a verdict:

  test-key     a credential-shaped value its authors put there on purpose (test fixture,
               documentation sample): a correct finding, worth reporting
  public       a value published by design (SDK sample keys, emulator keys): should be marked
               public, not counted as a leak
  false-alarm  not a credential at all: a defect of a rule or filter

Prints bytes scanned, findings per rule, findings and false alarms per GB, and lists findings
that are not triaged yet (with --show, their snippets, which are public third-party code).
Standard library only.

  python3 scripts/realcode/score.py [--keysweep PATH] [--dir DIR] [--show] [--json OUT]
"""
import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def load_triage(path):
    triage = {}
    if not os.path.exists(path):
        return triage
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            e = json.loads(line)
            if e.get("verdict") not in ("test-key", "public", "false-alarm"):
                sys.exit(f"{path}:{n}: verdict must be test-key, public or false-alarm")
            triage[(e["rule"], e["secret_sha256"])] = e
    return triage


def corpus_bytes(root):
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            try:
                if os.path.isfile(p) and not os.path.islink(p):
                    total += os.path.getsize(p)
            except OSError:
                pass
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keysweep", default=shutil.which("keysweep") or "target/release/keysweep")
    ap.add_argument("--dir", default=os.environ.get("REALCODE_DIR", "/tmp/keysweep-realcode"))
    ap.add_argument("--triage", default=os.path.join(HERE, "triage.jsonl"))
    ap.add_argument("--show", action="store_true", help="print untriaged findings with snippets")
    ap.add_argument("--json", help="write the findings (redacted) here for later triage")
    args = ap.parse_args()
    if not os.path.isdir(args.dir):
        sys.exit(f"{args.dir}: no corpus; run scripts/realcode/fetch.sh first")

    size = corpus_bytes(args.dir)
    t0 = time.time()
    cmd = [args.keysweep, "scan", args.dir, "-f", "jsonl", "--no-config", "--no-ignore", "-q"]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
    secs = time.time() - t0
    if out.returncode not in (0, 1, 2):
        sys.exit(f"keysweep exited {out.returncode}")
    findings = []
    for line in out.stdout.splitlines():
        rec = json.loads(line)
        if "rule_id" in rec:
            findings.append(rec)

    triage = load_triage(args.triage)
    gb = size / 1e9
    by_rule = collections.Counter(f["rule_id"] for f in findings)
    verdicts = collections.Counter()
    untriaged = []
    for f in findings:
        e = triage.get((f["rule_id"], f["secret_sha256"]))
        if e is None:
            untriaged.append(f)
        else:
            verdicts[e["verdict"]] += 1
    print(f"corpus: {args.dir}: {size / 1e6:,.0f} MB; scan {secs:.1f} s")
    print(f"findings: {len(findings)} ({len(findings) / gb:.1f} per GB), "
          f"{len({(f['rule_id'], f['secret_sha256']) for f in findings})} distinct")
    for v in ("test-key", "public", "false-alarm"):
        print(f"  {v:12} {verdicts[v]:5}  ({verdicts[v] / gb:.1f} per GB)")
    print(f"  {'untriaged':12} {len(untriaged):5}")
    print("per rule:")
    for rule, n in by_rule.most_common():
        fa = sum(1 for f in findings if f["rule_id"] == rule
                 and triage.get((rule, f["secret_sha256"]), {}).get("verdict") == "false-alarm")
        print(f"  {n:5} {fa:5} fa  {rule}")
    if args.show:
        for f in untriaged:
            rel = os.path.relpath(f["path"], args.dir)
            print(f"UNTRIAGED {f['rule_id']} {f['secret_sha256'][:12]} {rel}:{f['line']}: "
                  f"{f.get('snippet', '')[:160]}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as o:
            for f in findings:
                o.write(json.dumps(f) + "\n")


if __name__ == "__main__":
    main()
