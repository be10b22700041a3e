//! Integration tests for `keysweep scan`: the real binary on temporary trees.

mod support;

use support::*;

fn t(rule: &str, path: &str, line: u64) -> (String, String, u64) {
    (rule.to_string(), path.to_string(), line)
}

#[test]
fn finds_a_token_with_exact_location_and_exits_1() {
    let sb = Sandbox::new();
    sb.write("src/app.py", format!("import os\n\nTOKEN = \"{GH1}\"\n"));
    let (json, code, _) = run_json(sb.cmd().args(["scan", ".", "-f", "json"]));
    assert_eq!(code, 1);
    assert_eq!(triples(&json), vec![t("github-pat", "src/app.py", 3)]);
    let f = &json["findings"][0];
    assert_eq!(f["column"], 10);
    assert_eq!(f["end_line"], 3);
    assert_eq!(f["end_column"], 50);
    assert_eq!(f["provider"], "GitHub");
    assert_eq!(f["redacted"], "ghp_Ky9P…");
    assert_eq!(f["fingerprint"].as_str().unwrap().len(), 64);
    assert_eq!(json["version"], 1);
    assert_eq!(json["summary"]["files_scanned"], 1);
    assert_eq!(json["summary"]["findings"], 1);
    assert!(f.get("secret").is_none());
}

#[test]
fn clean_tree_exits_0() {
    let sb = Sandbox::new();
    sb.write("a.txt", "nothing to see\n");
    sb.cmd().args(["scan", "."]).assert().code(0);
}

#[test]
fn exit_code_flag_changes_only_the_findings_code() {
    let sb = Sandbox::new();
    sb.write("a.env", format!("T={GH1}\n"));
    sb.cmd()
        .args(["scan", ".", "--exit-code", "42"])
        .assert()
        .code(42);
    let clean = Sandbox::new();
    clean.write("a.env", "T=1\n");
    clean
        .cmd()
        .args(["scan", ".", "--exit-code", "42"])
        .assert()
        .code(0);
}

#[test]
fn every_occurrence_is_a_finding() {
    let sb = Sandbox::new();
    let body: String = (0..25).map(|i| format!("line{i} {GH2}\n")).collect();
    sb.write("repeated.log", body);
    let (json, _, _) = run_json(sb.cmd().args(["scan", ".", "-f", "json"]));
    let lines: Vec<u64> = triples(&json).iter().map(|t| t.2).collect();
    assert_eq!(lines, (1..=25).collect::<Vec<u64>>());
}

#[test]
fn inline_allow_and_bad_checksum_are_not_findings() {
    let sb = Sandbox::new();
    sb.write(
        "x.rs",
        format!("let a = \"{GH1}\"; // keysweep:allow test fixture\nlet b = \"{GH_BAD}\";\n"),
    );
    let (json, code, _) = run_json(sb.cmd().args(["scan", ".", "-f", "json"]));
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["summary"]["suppressed_inline"], 1);
}

#[test]
fn gitignored_files_are_skipped_unless_no_ignore() {
    let sb = Sandbox::new();
    sb.write(".gitignore", "secret.txt\n");
    sb.write("secret.txt", format!("{GH1}\n"));
    sb.write(".env", format!("GITHUB_TOKEN={GH2}\n"));
    let (json, _, _) = run_json(sb.cmd().args(["scan", ".", "-f", "json"]));
    assert_eq!(triples(&json), vec![t("github-pat", ".env", 1)]);
    let (json, _, _) = run_json(sb.cmd().args(["scan", ".", "-f", "json", "--no-ignore"]));
    assert_eq!(
        triples(&json),
        vec![t("github-pat", ".env", 1), t("github-pat", "secret.txt", 1)]
    );
}

#[test]
fn never_enters_dot_git() {
    let sb = Sandbox::new();
    sb.write(
        ".git/config",
        format!("[remote]\n url = https://{GH1}@github.com/x\n"),
    );
    sb.write("ok.txt", "hello\n");
    sb.cmd().args(["scan", ".", "--no-ignore"]).assert().code(0);
}

#[test]
fn binary_files_are_skipped_and_counted_unless_binary_flag() {
    let sb = Sandbox::new();
    let mut data = vec![0u8, 1, 2, 3];
    data.extend_from_slice(GH1.as_bytes());
    sb.write("blob.bin", &data);
    let (json, code, _) = run_json(sb.cmd().args(["scan", ".", "-f", "json"]));
    assert_eq!(code, 0);
    assert_eq!(json["summary"]["skipped_binary"], 1);
    let (json, code, _) = run_json(sb.cmd().args(["scan", ".", "-f", "json", "--binary"]));
    assert_eq!(code, 1);
    assert_eq!(triples(&json), vec![t("github-pat", "blob.bin", 1)]);
}

#[test]
fn invalid_utf8_is_scanned_as_bytes() {
    let sb = Sandbox::new();
    let mut data = b"\xff\xfe garbage \xc3\x28\n".to_vec();
    data.extend_from_slice(format!("key {GH3}\n").as_bytes());
    sb.write("latin1.txt", &data);
    let (json, _, _) = run_json(sb.cmd().args(["scan", ".", "-f", "json"]));
    assert_eq!(triples(&json), vec![t("github-pat", "latin1.txt", 2)]);
}

#[test]
fn stdin_is_scanned_with_dash() {
    let sb = Sandbox::new();
    let (json, code, _) = run_json(
        sb.cmd()
            .args(["scan", "-", "-f", "json"])
            .write_stdin(format!("a\nb\nAuthorization: token {GH1}\n")),
    );
    assert_eq!(code, 1);
    assert_eq!(triples(&json), vec![t("github-pat", "-", 3)]);
}

#[test]
fn exclude_and_max_file_size() {
    let sb = Sandbox::new();
    sb.write("vendor/lib.js", format!("x='{GH1}'\n"));
    sb.write("big.txt", format!("{}{GH2}\n", "a ".repeat(4096)));
    sb.write("small.txt", format!("{GH3}\n"));
    let (json, _, _) = run_json(sb.cmd().args([
        "scan",
        ".",
        "-f",
        "json",
        "--exclude",
        "vendor/**",
        "--max-file-size",
        "1K",
    ]));
    assert_eq!(triples(&json), vec![t("github-pat", "small.txt", 1)]);
    assert_eq!(json["summary"]["skipped_too_large"], 1);
    sb.cmd()
        .args(["scan", ".", "--max-file-size", "lots"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a size"));
}

#[test]
fn missing_path_is_an_error_naming_it() {
    let sb = Sandbox::new();
    sb.cmd()
        .args(["scan", "does-not-exist"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "does-not-exist: no such file or directory",
        ));
}

#[test]
fn unreadable_input_is_a_warning_and_makes_the_scan_incomplete() {
    // /proc/self/mem opens but fails to read at offset 0 (EIO), even for root.
    let sb = Sandbox::new();
    sb.write("a.env", format!("T={GH1}\n"));
    let (json, code, stderr) =
        run_json(sb.cmd().args(["scan", ".", "/proc/self/mem", "-f", "json"]));
    assert_eq!(code, 2, "an incomplete scan exits 2");
    assert_eq!(triples(&json), vec![t("github-pat", "a.env", 1)]);
    assert_eq!(json["summary"]["incomplete"], true);
    assert_eq!(json["summary"]["errors"], 1);
    assert!(
        stderr.contains("warning: /proc/self/mem: read error"),
        "{stderr}"
    );
}

#[test]
fn big_file_is_streamed_and_keys_on_chunk_boundaries_are_found_once() {
    // 8 MiB chunks: plant keys around the first two boundaries and at the very end.
    let sb = Sandbox::new();
    let mut data = Vec::new();
    let mut expected = Vec::new();
    let line = b"0123 filler text that is not a secret at all, padding padding padding.\n";
    let mut n_line = 0u64;
    let targets = [8usize << 20, 16 << 20];
    let mut ti = 0;
    while data.len() < (17 << 20) {
        if ti < targets.len() && data.len() + 120 >= targets[ti] {
            // A line whose key straddles the boundary.
            let pad = targets[ti] - data.len() - 10;
            data.extend(std::iter::repeat_n(b'.', pad));
            data.extend_from_slice(b" ");
            data.extend_from_slice(GH1.as_bytes());
            data.push(b'\n');
            n_line += 1;
            expected.push(n_line);
            ti += 1;
            continue;
        }
        data.extend_from_slice(line);
        n_line += 1;
    }
    data.extend_from_slice(format!("last {GH2}").as_bytes());
    expected.push(n_line + 1);
    sb.write("huge.log", &data);
    let (json, _, _) = run_json(sb.cmd().args(["scan", ".", "-f", "json"]));
    let lines: Vec<u64> = triples(&json).iter().map(|t| t.2).collect();
    assert_eq!(lines, expected);
    assert_eq!(json["summary"]["bytes_scanned"], data.len() as u64);
}

#[test]
fn terminal_escapes_in_file_names_are_escaped_in_text_output() {
    let sb = Sandbox::new();
    sb.write("evil\x1b[2Jname.env", format!("T={GH1}\n"));
    let out = sb
        .cmd()
        .args(["scan", ".", "--color", "never"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("evil\\x1b[2Jname.env"), "{stdout}");
    assert!(!stdout.contains('\x1b'));
}

#[test]
fn no_raw_secret_in_any_format_without_show_secrets() {
    let sb = Sandbox::new();
    sb.write("a.env", format!("A={GH1}\nB={GH2} {GH3}\n"));
    for format in ["text", "json", "jsonl", "sarif"] {
        let out = sb
            .cmd()
            .args(["scan", ".", "-f", format, "--color", "always"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        for secret in [GH1, GH2, GH3] {
            let body = &secret[8..];
            for stream in [&out.stdout, &out.stderr] {
                let s = String::from_utf8_lossy(stream);
                assert!(!s.contains(body), "{format} leaked a secret:\n{s}");
            }
        }
    }
    let out = sb
        .cmd()
        .args(["scan", ".", "-f", "json", "--show-secrets"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains(GH1) && s.contains(GH2) && s.contains(GH3));
}

#[test]
fn report_file_is_written_with_output_flag() {
    let sb = Sandbox::new();
    sb.write("a.env", format!("A={GH1}\n"));
    sb.cmd()
        .args(["scan", "a.env", "-f", "jsonl", "-o", "out/findings.jsonl"])
        .assert()
        .failure();
    // The directory must exist: a clear error, exit 2.
    sb.cmd()
        .args(["scan", "a.env", "-f", "jsonl", "-o", "out/findings.jsonl"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("out/findings.jsonl"));
    sb.cmd()
        .args(["scan", "a.env", "-f", "jsonl", "-o", "findings.jsonl"])
        .assert()
        .code(1)
        .stdout("");
    let text = std::fs::read_to_string(sb.path().join("findings.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(line["rule_id"], "github-pat");
    assert_eq!(line["path"], "a.env");
}

#[test]
fn sarif_is_valid_against_the_oasis_schema() {
    let sb = Sandbox::new();
    sb.write("dir with space/a.env", format!("A={GH1}\n"));
    let (sarif, code, _) = run_json(sb.cmd().args(["scan", ".", "-f", "sarif"]));
    assert_eq!(code, 1);
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("data/sarif-schema-2.1.0.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "SARIF schema errors: {errors:#?}");
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "github-pat");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "dir%20with%20space/a.env"
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        1
    );
    assert!(result["partialFingerprints"]["primaryLocationLineHash"].is_string());
    let rule_index = result["ruleIndex"].as_u64().unwrap() as usize;
    let rule = &run["tool"]["driver"]["rules"][rule_index];
    assert_eq!(rule["id"], "github-pat");
    assert!(rule["properties"]["security-severity"].is_string());
    assert!(rule["shortDescription"]["text"].is_string());
    assert!(rule["help"]["text"].as_str().unwrap().len() <= 1024);
}

#[test]
fn output_to_a_device_writes_in_place_and_leaves_it_a_device() {
    // Regression: the atomic write renamed a temporary file over `-o /dev/null`, replacing the
    // device with a regular file.
    use std::os::unix::fs::FileTypeExt;
    let sb = Sandbox::new();
    sb.write("a.env", format!("A={GH1}\n"));
    sb.cmd()
        .args(["scan", ".", "-f", "json", "-o", "/dev/null"])
        .assert()
        .code(1);
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(meta.file_type().is_char_device(), "/dev/null was replaced");
}

/// SARIF says `columnKind: unicodeCodePoints`, so its columns count code points while JSON's
/// count bytes: on a line with multi-byte text before the key they differ.
#[test]
fn sarif_columns_count_code_points_json_columns_count_bytes() {
    let sb = Sandbox::new();
    // "clé « " is 6 code points in 8 bytes.
    sb.write("notes.txt", format!("clé « {GH1}\n"));
    let (json, _, _) = run_json(sb.cmd().args(["scan", ".", "-f", "json"]));
    let f = &json["findings"][0];
    assert_eq!(
        (f["column"].as_u64(), f["end_column"].as_u64()),
        (Some(9), Some(49))
    );
    let (sarif, _, _) = run_json(sb.cmd().args(["scan", ".", "-f", "sarif"]));
    let run = &sarif["runs"][0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let region = &run["results"][0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startColumn"], 7);
    assert_eq!(region["endColumn"], 47);
}

/// A key pasted into `.keysweepignore` instead of its fingerprint is read as a path glob and
/// ignores nothing: the scan says so, naming the line and the rule but not the key.
#[test]
fn a_key_pasted_into_keysweepignore_is_a_warning_without_the_key() {
    let sb = Sandbox::new();
    sb.write(".keysweepignore", format!("# keys\n{GH1}\n"));
    sb.write("app.env", format!("TOKEN={GH1}\n"));
    let (json, code, stderr) = run_json(sb.cmd().args(["scan", ".", "-f", "json"]));
    assert_eq!(code, 1, "the key is still reported");
    assert!(
        stderr.contains(".keysweepignore: line 2 holds a github-pat key"),
        "{stderr}"
    );
    let warnings = json["warnings"].to_string();
    assert!(
        warnings.contains("line 2 holds a github-pat key"),
        "{warnings}"
    );
    assert!(!stderr.contains(GH1) && !warnings.contains(GH1));
}
