//! The real binary on the committed `fixtures/` trees: exact findings (rule, path, line) for
//! keys planted in code, `.env`, JSON, YAML, a minified bundle, a log and shell history, plus a
//! binary file, invalid UTF-8 and a `.gitignore`d secret; and keysweep's own dogfood scan.

mod support;

use support::*;

fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn expected(list: &[(&str, &str, u64)]) -> Vec<(String, String, u64)> {
    list.iter()
        .map(|(r, p, l)| (r.to_string(), format!("fixtures/scan/{p}"), *l))
        .collect()
}

#[test]
fn scan_fixture_gives_exactly_the_planted_findings() {
    let (json, code, _) =
        run_json(
            keysweep()
                .current_dir(repo())
                .args(["scan", "fixtures/scan", "-f", "json"]),
        );
    assert_eq!(code, 1);
    assert_eq!(
        triples(&json),
        expected(&[
            ("deepseek-api-key", ".env", 2),
            ("groq-api-key", ".env", 3),
            ("unknown-sk-api-key", ".env", 4),
            ("google-api-key", "config/settings.json", 4),
            ("github-pat", "deploy/values.yaml", 4),
            ("github-pat", "home/.bash_history", 2),
            ("github-pat", "legacy/latin1.txt", 2),
            ("github-pat", "logs/app.log", 2),
            ("openai-project-key", "src/client.py", 5),
            ("anthropic-api-key", "src/client.py", 7),
            ("google-api-key", "web/bundle.min.js", 1),
        ])
    );
    let s = &json["summary"];
    assert_eq!(s["skipped_binary"], 1, "assets/logo.bin");
    assert_eq!(s["files_scanned"], 10);
    // Confidence: the unattributed sk- key is reported, at low confidence, never dropped.
    let unknown = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "unknown-sk-api-key")
        .unwrap();
    assert_eq!(unknown["provider"], "unknown");
    assert_eq!(unknown["confidence"], "low");
}

#[test]
fn gitignored_fixture_secret_appears_with_no_ignore() {
    let (json, _, _) = run_json(keysweep().current_dir(repo()).args([
        "scan",
        "fixtures/scan",
        "-f",
        "json",
        "--no-ignore",
    ]));
    assert!(triples(&json).contains(&(
        "github-pat".to_string(),
        "fixtures/scan/ignored/secret.env".to_string(),
        1
    )));
}

#[test]
fn demo_fixture_has_findings() {
    let (json, code, _) =
        run_json(
            keysweep()
                .current_dir(repo())
                .args(["scan", "fixtures/demo", "-f", "json"]),
        );
    assert_eq!(code, 1);
    let got: Vec<(String, u64)> = triples(&json)
        .into_iter()
        .map(|(rule, _, line)| (rule, line))
        .collect();
    let want: Vec<(String, u64)> = [
        ("github-pat", 2),
        ("openai-project-key", 3),
        ("anthropic-api-key", 4),
        ("deepseek-api-key", 5),
        ("github-pat", 3),
    ]
    .iter()
    .map(|(r, l)| (r.to_string(), *l))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn dogfood_keysweep_scans_its_own_repository_clean() {
    let out = keysweep()
        .current_dir(repo())
        .args(["scan", ".", "-f", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "keysweep finds secrets in its own repository outside the allowlisted paths: {:#}",
        json["findings"]
    );
    assert!(json["summary"]["skipped_allowlisted"].as_u64().unwrap() > 0);
}
