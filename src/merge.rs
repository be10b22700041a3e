//! Merging reports from many keysweep runs into one: the scale-out story. keysweep stays one
//! stateless process per input (a repository, a log bundle); a CI matrix or a batch job runs it
//! many times, and `keysweep merge` folds the JSON or SARIF outputs into a single report.
//!
//! JSON: findings are concatenated, exact duplicates dropped, re-sorted; summaries are summed;
//! `incomplete` is true if any input was. SARIF: one run whose rules are the union (by id) of
//! the inputs' rules, with every result's `ruleIndex` recomputed.

use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

/// Why reports could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// An input is neither a keysweep JSON report nor a SARIF log.
    #[error("{0}: not a keysweep JSON report (version 1) or a SARIF 2.1.0 log")]
    UnknownFormat(String),
    /// Inputs mix JSON and SARIF.
    #[error("cannot merge JSON reports with SARIF logs ({0} is a different format)")]
    Mixed(String),
    /// No input.
    #[error("nothing to merge")]
    Empty,
}

/// The format of a report, detected from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// keysweep's own JSON (`version: 1`).
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

/// Detects the kind of a parsed report.
pub fn kind_of(v: &Value) -> Option<ReportKind> {
    if v.get("runs").is_some_and(Value::is_array) && v["version"] == "2.1.0" {
        Some(ReportKind::Sarif)
    } else if v["version"] == 1 && v.get("findings").is_some_and(Value::is_array) {
        Some(ReportKind::Json)
    } else {
        None
    }
}

/// Merges named reports (`(name, parsed)`) of one kind.
pub fn merge(inputs: Vec<(String, Value)>) -> Result<(ReportKind, Value), MergeError> {
    let mut kind = None;
    for (name, v) in &inputs {
        let k = kind_of(v).ok_or_else(|| MergeError::UnknownFormat(name.clone()))?;
        match kind {
            None => kind = Some(k),
            Some(prev) if prev != k => return Err(MergeError::Mixed(name.clone())),
            _ => {}
        }
    }
    let kind = kind.ok_or(MergeError::Empty)?;
    let values = inputs.into_iter().map(|(_, v)| v).collect();
    Ok(match kind {
        ReportKind::Json => (kind, merge_json(values)),
        ReportKind::Sarif => (kind, merge_sarif(values)),
    })
}

fn identity(f: &Value) -> String {
    format!(
        "{}\0{}\0{}\0{}\0{}",
        f["fingerprint"], f["path"], f["line"], f["column"], f["commit"]["commit"]
    )
}

fn merge_json(reports: Vec<Value>) -> Value {
    let mut findings: Vec<Value> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut warnings = Vec::new();
    let mut summary = Map::new();
    let mut incomplete = false;
    let tool = reports[0]["tool"].clone();
    for mut r in reports {
        if let Some(fs) = r["findings"].as_array_mut() {
            for f in fs.drain(..) {
                if seen.insert(identity(&f)) {
                    findings.push(f);
                }
            }
        }
        if let Some(ws) = r["warnings"].as_array_mut() {
            warnings.append(ws);
        }
        if let Some(s) = r["summary"].as_object() {
            for (k, v) in s {
                if k == "incomplete" {
                    incomplete |= v.as_bool().unwrap_or(false);
                } else if let Some(n) = v.as_u64() {
                    let total = summary.get(k).and_then(Value::as_u64).unwrap_or(0) + n;
                    summary.insert(k.clone(), Value::from(total));
                }
            }
        }
    }
    findings.sort_by(|a, b| {
        let key = |f: &Value| {
            (
                f["path"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap_or(0),
                f["column"].as_u64().unwrap_or(0),
                f["rule_id"].as_str().unwrap_or("").to_string(),
            )
        };
        key(a).cmp(&key(b))
    });
    summary.insert("findings".into(), Value::from(findings.len() as u64));
    summary.insert("incomplete".into(), Value::from(incomplete));
    serde_json::json!({
        "version": 1,
        "tool": tool,
        "findings": findings,
        "warnings": warnings,
        "summary": summary,
    })
}

fn merge_sarif(logs: Vec<Value>) -> Value {
    let mut rules: Vec<Value> = Vec::new();
    let mut rule_index: HashMap<String, usize> = HashMap::new();
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    let mut successful = true;
    let mut driver = Value::Null;
    for log in logs {
        for run in log["runs"].as_array().into_iter().flatten() {
            if driver.is_null() {
                driver = run["tool"]["driver"].clone();
            }
            let run_rules = run["tool"]["driver"]["rules"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for r in &run_rules {
                let id = r["id"].as_str().unwrap_or("").to_string();
                if let std::collections::hash_map::Entry::Vacant(e) = rule_index.entry(id) {
                    e.insert(rules.len());
                    rules.push(r.clone());
                }
            }
            for res in run["results"].as_array().into_iter().flatten() {
                let mut res = res.clone();
                let id = res["ruleId"].as_str().unwrap_or("").to_string();
                if let Some(i) = rule_index.get(&id) {
                    res["ruleIndex"] = Value::from(*i as u64);
                } else if let Some(m) = res.as_object_mut() {
                    m.remove("ruleIndex");
                }
                results.push(res);
            }
            for inv in run["invocations"].as_array().into_iter().flatten() {
                successful &= inv["executionSuccessful"].as_bool().unwrap_or(true);
                if let Some(ns) = inv["toolExecutionNotifications"].as_array() {
                    notifications.extend(ns.iter().cloned());
                }
            }
        }
    }
    if driver.is_null() {
        driver = serde_json::json!({"name": "keysweep"});
    }
    driver["rules"] = Value::from(rules);
    serde_json::json!({
        "$schema": serde_sarif::sarif::SCHEMA_URL,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "columnKind": "unicodeCodePoints",
            "invocations": [{
                "executionSuccessful": successful,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn finding(path: &str, line: u64, fp: &str) -> Value {
        json!({"rule_id": "r", "path": path, "line": line, "column": 1, "fingerprint": fp})
    }

    #[test]
    fn json_reports_concatenate_dedupe_and_sum() {
        let a = json!({"version": 1, "tool": {"name": "keysweep"}, "warnings": [],
            "findings": [finding("b", 2, "x"), finding("a", 1, "y")],
            "summary": {"files_scanned": 3, "findings": 2, "incomplete": false}});
        let b = json!({"version": 1, "tool": {"name": "keysweep"}, "warnings": [{"path": "z", "message": "m"}],
            "findings": [finding("a", 1, "y"), finding("c", 9, "z")],
            "summary": {"files_scanned": 4, "findings": 2, "incomplete": true}});
        let (kind, m) = merge(vec![("a".into(), a), ("b".into(), b)]).unwrap();
        assert_eq!(kind, ReportKind::Json);
        let paths: Vec<&str> = m["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert_eq!(paths, ["a", "b", "c"]);
        assert_eq!(m["summary"]["files_scanned"], 7);
        assert_eq!(m["summary"]["findings"], 3);
        assert_eq!(m["summary"]["incomplete"], true);
        assert_eq!(m["warnings"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn sarif_rules_are_unioned_and_indices_recomputed() {
        let log = |rules: &[&str], result_rule: &str| {
            let rs: Vec<Value> = rules.iter().map(|r| json!({"id": r})).collect();
            let idx = rules.iter().position(|r| *r == result_rule).unwrap();
            json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "keysweep", "rules": rs}},
                "results": [{"ruleId": result_rule, "ruleIndex": idx, "message": {"text": "m"}}],
                "invocations": [{"executionSuccessful": true}]}]})
        };
        let (kind, m) = merge(vec![
            ("a".into(), log(&["x", "y"], "y")),
            ("b".into(), log(&["z", "y"], "z")),
        ])
        .unwrap();
        assert_eq!(kind, ReportKind::Sarif);
        let run = &m["runs"][0];
        let ids: Vec<&str> = run["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["x", "y", "z"]);
        assert_eq!(run["results"][0]["ruleIndex"], 1);
        assert_eq!(run["results"][1]["ruleIndex"], 2);
    }

    #[test]
    fn mixed_and_unknown_inputs_are_errors() {
        let j = json!({"version": 1, "findings": []});
        let s = json!({"version": "2.1.0", "runs": []});
        assert!(
            matches!(merge(vec![("j".into(), j), ("s".into(), s)]), Err(MergeError::Mixed(n)) if n == "s")
        );
        assert!(matches!(
            merge(vec![("x".into(), json!({}))]),
            Err(MergeError::UnknownFormat(_))
        ));
        assert!(matches!(merge(vec![]), Err(MergeError::Empty)));
    }
}
