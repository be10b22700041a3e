//! Integration tests for rules: the built-in pack's self-check, `rules list|check|explain`,
//! user rule files, and `keysweep.toml`.

mod support;

use predicates::str::contains;
use support::*;

const GOOD_RULE: &str = r#"
[[rule]]
id = "acme-token"
title = "ACME internal token"
provider = "ACME"
keywords = ["acme_"]
regex = '''\b(?P<secret>acme_[a-z0-9]{24})\b'''
min_entropy = 3.0
severity = "high"
confidence = "high"
examples = ["ACME_TOKEN=acme_q8zr2lxt0vkp9wmy3nb7cd4e"]
negative_examples = ["acme_short"]
"#;

#[test]
fn builtin_pack_checks_clean() {
    keysweep()
        .args(["rules", "check"])
        .assert()
        .code(0)
        .stderr(contains("rule(s) OK"));
}

#[test]
fn builtin_pack_loads_in_the_library_and_every_rule_has_examples() {
    let rules = keysweep::rules::builtin_rules_checked()
        .expect("built-in rules load and pass their examples");
    assert!(!rules.is_empty());
    for r in &rules {
        assert!(!r.examples.is_empty(), "{} has no examples", r.id);
        assert!(!r.keywords.is_empty(), "{} has no keywords", r.id);
    }
}

#[test]
fn rules_list_json_has_every_rule() {
    let out = keysweep()
        .args(["rules", "list", "-f", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let n = keysweep::rules::builtin_rules().unwrap().len();
    assert_eq!(list.len(), n);
    assert!(list.iter().any(|r| r["id"] == "github-pat"));
    let text = keysweep().args(["rules", "list"]).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.starts_with("ID"));
    assert!(text.contains(&format!("{n} rules")));
}

#[test]
fn rules_explain_shows_a_rule_and_rejects_unknown_ids() {
    keysweep()
        .args(["rules", "explain", "github-pat"])
        .assert()
        .code(0)
        .stdout(contains("validator:  github-crc32"))
        .stdout(contains("regex:"));
    keysweep()
        .args(["rules", "explain", "github"])
        .assert()
        .code(2)
        .stderr(contains("did you mean: github-pat"));
}

#[test]
fn rules_check_accepts_a_good_file() {
    let sb = Sandbox::new();
    sb.write("good.toml", GOOD_RULE);
    sb.cmd()
        .args(["rules", "check", "good.toml"])
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn rules_check_reports_every_problem_as_file_rule_problem() {
    let sb = Sandbox::new();
    sb.write(
        "bad.toml",
        r#"
[[rule]]
id = "No Caps"
title = "t"
provider = "p"
keywords = ["ab"]
regex = '''(?P<secret>[a-z]{10})'''
severity = "high"
confidence = "low"
examples = ["nothing here"]

[[rule]]
id = "no-group"
title = "t"
provider = "p"
keywords = ["tok_"]
regex = '''tok_[a-z]{10}'''
severity = "high"
confidence = "low"
examples = ["tok_abcdqwerty"]

[[rule]]
id = "bad-regex"
title = "t"
provider = "p"
keywords = ["tok_"]
regex = '''(?P<secret>tok_[a-z'''
severity = "high"
confidence = "low"
examples = ["tok_a"]

[[rule]]
id = "example-misses"
title = "t"
provider = "p"
keywords = ["zz_"]
regex = '''(?P<secret>zz_[0-9]{8})'''
severity = "low"
confidence = "low"
examples = ["zz_12ab"]
negative_examples = ["zz_84019273"]

[[rule]]
id = "bad-validator"
title = "t"
provider = "p"
keywords = ["qq_"]
regex = '''(?P<secret>qq_[0-9]{8})'''
validator = "crc64"
severity = "low"
confidence = "low"
examples = ["qq_84019273"]

[[rule]]
id = "no-keywords"
title = "t"
provider = "p"
keywords = []
regex = '''(?P<secret>[0-9]{8})'''
severity = "low"
confidence = "low"
examples = ["84019273"]
"#,
    );
    sb.write("dup.toml", format!("{GOOD_RULE}\n{GOOD_RULE}"));
    sb.write("typo.toml", "[[rule]]\nid = \"x\"\ntitel = \"t\"\n");
    let out = sb
        .cmd()
        .args([
            "rules",
            "check",
            "bad.toml",
            "dup.toml",
            "typo.toml",
            "missing.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "bad.toml: No Caps: id `No Caps` must be 1-64 chars",
        "bad.toml: No Caps: keyword `ab` is shorter than 3 bytes",
        "bad.toml: No Caps: example 1 contains none of the keywords",
        "bad.toml: no-group: regex has no named group `secret`",
        "bad.toml: bad-regex: regex does not compile",
        "bad.toml: example-misses: example 1 does not match",
        "bad.toml: example-misses: negative example 1 matches but must not",
        "bad.toml: bad-validator: unknown validator `crc64`",
        "bad.toml: no-keywords: no keywords",
        "dup.toml: acme-token: duplicate rule id",
        "typo.toml: -: invalid TOML",
        "missing.toml: -: missing.toml: cannot read rule file",
    ] {
        assert!(
            stdout.contains(expected),
            "missing `{expected}` in:\n{stdout}"
        );
    }
}

#[test]
fn rules_flag_adds_rules_to_a_scan_and_bad_rules_stop_it() {
    let sb = Sandbox::new();
    sb.write("good.toml", GOOD_RULE);
    sb.write("bad.toml", "[[rule]]\nid = \"x\"\n");
    sb.write("src/a.txt", "token: acme_k3j9x0q2m8v7b6n5c4l1z0pq\n");
    let (json, code, _) =
        run_json(
            sb.cmd()
                .args(["scan", "src", "--rules", "good.toml", "-f", "json"]),
        );
    assert_eq!(code, 1);
    assert_eq!(
        triples(&json),
        vec![("acme-token".into(), "src/a.txt".into(), 1)]
    );
    sb.cmd()
        .args(["scan", "src", "--rules", "bad.toml"])
        .assert()
        .code(2)
        .stderr(contains("bad.toml"));
}

#[test]
fn config_disables_rules_allowlists_paths_and_values_and_adds_rules() {
    let sb = Sandbox::new();
    sb.write("fixtures/a.env", format!("T={GH1}\n"));
    sb.write("src/b.env", format!("T={GH2}\nU={GH3}\n"));
    // Not a `token: value` line, so only the custom rule can see it.
    sb.write("src/c.txt", "ref acme_k3j9x0q2m8v7b6n5c4l1z0pq\n");
    sb.write(
        "keysweep.toml",
        format!(
            "[allowlist]\npaths = [\"fixtures/**\"]\nvalues = [\"^{GH3}$\"]\n\n{}",
            GOOD_RULE
        ),
    );
    let (json, _, _) = run_json(sb.cmd().args(["scan", "-f", "json"]));
    assert_eq!(
        triples(&json),
        vec![
            ("github-pat".into(), "src/b.env".into(), 1),
            ("acme-token".into(), "src/c.txt".into(), 1),
        ]
    );
    assert_eq!(
        json["summary"]["skipped_allowlisted"], 2,
        "fixtures/a.env and keysweep.toml itself"
    );
    // --disable and disable_rules remove a rule; an unknown id is an error.
    let (json, _, _) = run_json(
        sb.cmd()
            .args(["scan", "-f", "json", "--disable", "github-pat"]),
    );
    assert_eq!(
        triples(&json),
        vec![("acme-token".into(), "src/c.txt".into(), 1)]
    );
    sb.cmd()
        .args(["scan", "--disable", "no-such-rule"])
        .assert()
        .code(2)
        .stderr(contains("no-such-rule"));
    // --no-config ignores the file; --config names another.
    let (json, _, _) = run_json(sb.cmd().args(["scan", "-f", "json", "--no-config"]));
    // Without it: no allowlist, no inline rule, and keysweep.toml itself is scanned (the
    // rule's example `"ACME_TOKEN=acme_…"` is an env line inside a string, which the generic
    // grammar reads as one).
    assert_eq!(
        triples(&json),
        vec![
            ("github-pat".into(), "fixtures/a.env".into(), 1),
            ("github-pat".into(), "keysweep.toml".into(), 3),
            (
                "generic-secret-env-inline".into(),
                "keysweep.toml".into(),
                15
            ),
            ("github-pat".into(), "src/b.env".into(), 1),
            ("github-pat".into(), "src/b.env".into(), 2),
        ]
    );
    sb.write("other.toml", "disable_rules = [\"github-pat\"]\n");
    let (json, code, _) =
        run_json(
            sb.cmd()
                .args(["scan", "src", "-f", "json", "--config", "other.toml"]),
        );
    assert_eq!(code, 0, "{json}");
}

#[test]
fn invalid_config_is_an_error_naming_the_file() {
    let sb = Sandbox::new();
    sb.write("keysweep.toml", "[allowlist]\npath = [\"x\"]\n");
    sb.cmd()
        .args(["scan"])
        .assert()
        .code(2)
        .stderr(contains("keysweep.toml: invalid config"));
    sb.write("keysweep.toml", "[allowlist]\nvalues = [\"(\"]\n");
    sb.cmd()
        .args(["scan"])
        .assert()
        .code(2)
        .stderr(contains("allowlist value regex `(` is invalid"));
}

/// Floors for the pack's breadth: raise them as the pack grows, never lower them. Issue 12 asks
/// for 500 rules over 400 providers; the pack has 568 rules over 391 named providers, so the
/// provider floor is what the pack holds, not yet the goal.
const MIN_RULES: usize = 500;
const MIN_PROVIDERS: usize = 391;

#[test]
fn the_pack_is_broad_and_every_rule_is_tested_in_several_settings() {
    let rules = keysweep::rules::builtin_rules().unwrap();
    assert!(
        rules.len() >= MIN_RULES,
        "only {} rules (floor {MIN_RULES})",
        rules.len()
    );
    let providers: std::collections::BTreeSet<&str> = rules
        .iter()
        .map(|r| r.provider.as_str())
        .filter(|p| *p != "unknown")
        .collect();
    assert!(
        providers.len() >= MIN_PROVIDERS,
        "only {} providers (floor {MIN_PROVIDERS})",
        providers.len()
    );
    let thin: Vec<String> = rules
        .iter()
        .filter(|r| r.examples.len() < 3 || r.negative_examples.len() < 2)
        .map(|r| {
            format!(
                "{} ({} examples, {} negatives)",
                r.id,
                r.examples.len(),
                r.negative_examples.len()
            )
        })
        .collect();
    assert!(
        thin.is_empty(),
        "rules need >= 3 examples and >= 2 negatives: {thin:#?}"
    );
    let ai = rules
        .iter()
        .filter(|r| r.tags.iter().any(|t| t == "ai"))
        .count();
    assert!(ai >= 40, "AI/LLM providers come first: only {ai} AI rules");
}

/// The binary embeds the rule files as JSON converted at build time; every rule must read
/// back exactly as its TOML source says.
#[test]
fn embedded_pack_equals_the_toml_sources() {
    use keysweep::rules::{builtin_rules, parse_rule_text};
    let embedded = builtin_rules().unwrap();
    let mut from_toml = Vec::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    for f in files {
        let name = format!("rules/{}", f.file_name().unwrap().to_string_lossy());
        let (rules, problems) = parse_rule_text(&name, &std::fs::read_to_string(&f).unwrap());
        assert!(problems.is_empty(), "{problems:?}");
        from_toml.extend(rules);
    }
    let view = |r: &keysweep::rules::Rule| {
        format!(
            "{} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {} {} {:?} {:?} {:?}",
            r.source,
            r.id,
            r.pattern,
            r.keywords,
            r.context,
            r.min_entropy,
            r.validator,
            r.severity,
            r.confidence,
            r.tags,
            r.generic,
            r.multiline,
            r.examples,
            r.negative_examples,
            r.verify.is_some(),
        )
    };
    assert_eq!(embedded.len(), from_toml.len());
    for (a, b) in embedded.iter().zip(&from_toml) {
        assert_eq!(view(a), view(b));
    }
}
