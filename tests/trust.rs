//! Regression tests for the trust classes of docs/security.md: a secret keysweep found must not
//! reach any output raw, even where it occurs again in a shape no rule matches.

mod support;

use support::*;

/// A line holding a key twice: once where the rule matches, once glued to letters where it
/// cannot (a word boundary is missing on both sides).
fn line_with_a_copy() -> String {
    format!("GITHUB_TOKEN={GH1} # previous value was x{GH1}y\n")
}

#[test]
fn snippets_mask_an_unmatched_copy_of_a_found_secret() {
    let sb = Sandbox::new();
    sb.write("settings.env", line_with_a_copy());
    for format in ["text", "json", "jsonl", "sarif"] {
        let out = sb
            .cmd()
            .args(["scan", ".", "--no-config", "-f", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(GH1), "{format} output shows the key:\n{all}");
        assert!(all.contains("github-pat"), "{format}: {all}");
    }
    let (json, _, _) = run_json(sb.cmd().args(["scan", ".", "--no-config", "-f", "json"]));
    let snippet = json["findings"][0]["snippet"].as_str().unwrap();
    assert_eq!(snippet.matches("ghp_Ky9P…").count(), 2, "{snippet}");
}

#[test]
fn redact_masks_every_copy_and_check_passes_on_the_copy() {
    let sb = Sandbox::new();
    let log = format!("start\n{}tail x{GH1}\n", line_with_a_copy());
    sb.write("app.log", &log);
    sb.cmd()
        .args([
            "redact",
            "app.log",
            "-o",
            "safe.log",
            "--no-config",
            "--manifest",
            "m.jsonl",
        ])
        .assert()
        .code(0);
    let safe = std::fs::read_to_string(sb.path().join("safe.log")).unwrap();
    assert!(!safe.contains(GH1), "{safe}");
    assert_eq!(safe.matches("[REDACTED:github-pat:").count(), 3, "{safe}");
    assert_eq!(safe.lines().count(), log.lines().count());
    let manifest = std::fs::read_to_string(sb.path().join("m.jsonl")).unwrap();
    assert_eq!(manifest.lines().count(), 3, "{manifest}");
    assert!(
        manifest.contains("\"line\":3"),
        "the copy on line 3 is listed: {manifest}"
    );
    sb.cmd()
        .args(["redact", "--check", "safe.log", "--no-config"])
        .assert()
        .code(0);
    // Through gzip as well.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, log.as_bytes()).unwrap();
    sb.write("app.log.gz", gz.finish().unwrap());
    sb.cmd()
        .args(["redact", "app.log.gz", "-o", "safe.log.gz", "--no-config"])
        .assert()
        .code(0);
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::MultiGzDecoder::new(
            std::fs::File::open(sb.path().join("safe.log.gz")).unwrap(),
        ),
        &mut text,
    )
    .unwrap();
    assert!(!text.contains(GH1), "{text}");
    assert_eq!(text.matches("[REDACTED:github-pat:").count(), 3, "{text}");
}
