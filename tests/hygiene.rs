//! Secret hygiene end to end: every command and every report format, run on a repository with
//! planted fake keys, must keep raw secrets (and any long piece of one) out of stdout, stderr,
//! report files, redacted copies, manifests, baselines and merged reports, unless
//! `--show-secrets` asks for them. A positive control per format proves the check can fail.

mod common;
mod support;

use common::Repo;
use std::io::Write;
use std::path::Path;
use std::process::Output;
use support::{GH1, GH2, GH3};

/// Fake AWS key pair, generated for these tests (random, format-valid).
const AWS_ID: &str = "AKIAH2DHZ7P75KGP7TUN";
const AWS_SECRET: &str = "AuX9AzojGyA0Z0sMNXfPRkRjwhBzNlH8SGPV4bXk";

const SECRETS: [&str; 5] = [GH1, GH2, GH3, AWS_ID, AWS_SECRET];
const FORMATS: [&str; 4] = ["text", "json", "jsonl", "sarif"];

/// Bytes of a secret that may never appear together. Redactions show at most a fifth of a
/// secret (8 bytes of a 40-byte token), so any 10-byte piece in the output is a leak.
const WINDOW: usize = 10;

/// Fails when `bytes` holds any `WINDOW`-byte piece of a planted secret.
fn assert_no_secret(what: &str, bytes: &[u8]) {
    for s in SECRETS {
        for piece in s.as_bytes().windows(WINDOW) {
            if bytes.windows(WINDOW).any(|w| w == piece) {
                panic!(
                    "{what} leaks `{}` (a piece of a planted secret):\n{}",
                    String::from_utf8_lossy(piece),
                    String::from_utf8_lossy(bytes)
                );
            }
        }
    }
}

fn assert_streams_clean(what: &str, out: &Output) {
    assert_no_secret(&format!("{what} stdout"), &out.stdout);
    assert_no_secret(&format!("{what} stderr"), &out.stderr);
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn read(p: impl AsRef<Path>) -> Vec<u8> {
    std::fs::read(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

fn log_text() -> String {
    format!(
        "2024-05-02T10:00:00Z GET /repos HTTP/1.1 Authorization: token {GH1}\n\
         2024-05-02T10:00:01Z env aws_access_key_id={AWS_ID}\n\
         2024-05-02T10:00:01Z env aws_secret_access_key={AWS_SECRET}\n\
         2024-05-02T10:00:02Z {{\"token\":\"{GH2}\"}}\n"
    )
}

/// A repository with committed keys in a few files and one more key staged but not committed.
fn planted_repo() -> Repo {
    let r = Repo::new();
    r.write(
        "config/.env",
        format!("GITHUB_TOKEN={GH1}\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n"),
    );
    r.write("app.py", format!("TOKEN = \"{GH2}\"\n"));
    r.write("logs/app.log", log_text());
    r.commit_all("add config");
    r.write("staged.txt", format!("token {GH3}\n"));
    r.git(&["add", "staged.txt"]);
    r
}

fn run(r: &Repo, args: &[&str]) -> Output {
    r.keysweep()
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap()
}

#[test]
fn scan_and_git_keep_secrets_out_of_every_format_stream_and_file() {
    let r = planted_repo();
    for f in FORMATS {
        let cases: Vec<(String, Vec<&str>)> = vec![
            (
                "scan".into(),
                vec!["scan", ".", "-f", f, "--color", "always"],
            ),
            (
                "git history".into(),
                vec!["git", "-f", f, "--color", "always"],
            ),
            ("git --staged".into(), vec!["git", "--staged", "-f", f]),
        ];
        for (label, args) in cases {
            let out = run(&r, &args);
            assert_eq!(out.status.code(), Some(1), "{label} {f}: {out:?}");
            assert_streams_clean(&format!("{label} -f {f}"), &out);
            // The same to a report file: nothing on stdout, nothing secret in the file.
            let file = r
                .path()
                .join(format!("report-{}.{f}", label.replace(' ', "_")));
            let mut with_o = args.clone();
            let file_arg = file.to_str().unwrap().to_string();
            with_o.extend(["-o", &file_arg]);
            let out = run(&r, &with_o);
            assert_eq!(out.status.code(), Some(1), "{label} {f} -o: {out:?}");
            assert_streams_clean(&format!("{label} -f {f} -o"), &out);
            assert_no_secret(&format!("{label} -f {f} report file"), &read(&file));
            std::fs::remove_file(&file).unwrap();
        }
        let out = r
            .keysweep()
            .args(["scan", "-", "-f", f])
            .write_stdin(log_text())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_streams_clean(&format!("scan - -f {f}"), &out);
    }
}

#[test]
fn show_secrets_is_the_only_way_to_see_them_in_every_format() {
    // Positive control: the leak check above would notice a secret, because here it is present.
    let r = planted_repo();
    for f in FORMATS {
        for args in [
            vec!["scan", ".", "-f", f, "--show-secrets"],
            vec!["git", "-f", f, "--show-secrets"],
        ] {
            let out = run(&r, &args);
            for s in [GH1, GH2, AWS_ID, AWS_SECRET] {
                assert!(contains(&out.stdout, s), "{args:?} does not show {s}");
            }
            // Even then, stderr (summary, warnings, advice) carries no secret.
            assert_no_secret(&format!("{args:?} stderr"), &out.stderr);
        }
    }
}

#[test]
fn opt_in_network_checks_that_fail_do_not_leak() {
    // Port 1 on loopback refuses connections: every check ends `unknown` with a reason.
    let r = planted_repo();
    for f in FORMATS {
        let out = run(
            &r,
            &[
                "scan",
                ".",
                "-f",
                f,
                "--verify",
                "--verify-base-url",
                "github=http://127.0.0.1:1",
                "--revocation-endpoint",
                "http://127.0.0.1:1/check",
                "--verify-budget",
                "5",
                "--verify-retries",
                "0",
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert_streams_clean(&format!("scan --verify -f {f}"), &out);
    }
}

#[test]
fn redact_copies_manifests_and_check_keep_secrets_out() {
    let r = planted_repo();
    let log = log_text();
    r.write("in/app.log.gz", gz(log.as_bytes()));
    r.write("in/plain.log", &log);

    let out = run(
        &r,
        &[
            "redact",
            "logs/app.log",
            "-o",
            "safe.log",
            "--manifest",
            "masked.jsonl",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_streams_clean("redact -o", &out);
    assert_no_secret("redacted copy", &read(r.path().join("safe.log")));
    let manifest = read(r.path().join("masked.jsonl"));
    assert_no_secret("manifest", &manifest);
    assert_eq!(manifest.iter().filter(|&&b| b == b'\n').count(), 4);

    let out = run(
        &r,
        &["redact", "in", "-o", "safe-dir", "--manifest", "dir.jsonl"],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_streams_clean("redact dir", &out);
    assert_no_secret(
        "redacted .gz",
        &gunzip(&read(r.path().join("safe-dir/app.log.gz"))),
    );
    assert_no_secret(
        "redacted dir copy",
        &read(r.path().join("safe-dir/plain.log")),
    );
    assert_no_secret("dir manifest", &read(r.path().join("dir.jsonl")));

    let out = r
        .keysweep()
        .args(["redact", "-"])
        .write_stdin(log.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_streams_clean("redact - (stdout is the copy)", &out);
    assert!(contains(&out.stdout, "[REDACTED:github-pat:"));

    let out = run(&r, &["redact", "--check", "logs/app.log", "in"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_streams_clean("redact --check", &out);

    std::fs::copy(r.path().join("logs/app.log"), r.path().join("inplace.log")).unwrap();
    let out = run(&r, &["redact", "--in-place", "inplace.log"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_streams_clean("redact --in-place", &out);
    assert_no_secret("in-place copy", &read(r.path().join("inplace.log")));
}

#[test]
fn baselines_merges_revoke_and_hooks_keep_secrets_out() {
    let r = planted_repo();
    for (label, args) in [
        (
            "baseline create",
            vec!["baseline", "create", "-o", "b1.toml"],
        ),
        (
            "baseline create --git",
            vec!["baseline", "create", "--git", "-o", "b2.toml"],
        ),
    ] {
        let out = run(&r, &args);
        assert_eq!(out.status.code(), Some(0), "{label}: {out:?}");
        assert_streams_clean(label, &out);
    }
    for b in ["b1.toml", "b2.toml"] {
        let text = read(r.path().join(b));
        assert_no_secret(b, &text);
        assert!(
            contains(&text, "github-pat"),
            "{}",
            String::from_utf8_lossy(&text)
        );
    }
    // A stale entry: remove one key and check / prune the baseline.
    r.write("app.py", "TOKEN = None\n");
    for args in [
        vec!["baseline", "check", "b1.toml"],
        vec!["baseline", "check", "b1.toml", "--prune"],
    ] {
        let out = run(&r, &args);
        assert_streams_clean(&format!("{args:?}"), &out);
    }
    assert_no_secret("pruned baseline", &read(r.path().join("b1.toml")));
    let out = run(&r, &["scan", ".", "--baseline", "b2.toml", "-f", "json"]);
    assert_streams_clean("scan --baseline", &out);

    // merge: of JSON reports and of SARIF reports.
    for f in ["json", "sarif"] {
        for (i, path) in [".", "logs"].iter().enumerate() {
            let o = format!("m{i}.{f}");
            let out = run(&r, &["scan", path, "-f", f, "-o", &o]);
            assert_eq!(out.status.code(), Some(1), "{out:?}");
        }
        let merged = format!("merged.{f}");
        let out = run(&r, &["merge", &format!("m0.{f}"), &format!("m1.{f}")]);
        assert_eq!(out.status.code(), Some(1), "merge {f}: {out:?}");
        assert_streams_clean(&format!("merge {f}"), &out);
        let out = run(
            &r,
            &[
                "merge",
                &format!("m0.{f}"),
                &format!("m1.{f}"),
                "-o",
                &merged,
            ],
        );
        assert_streams_clean(&format!("merge {f} -o"), &out);
        assert_no_secret(&format!("merged {f}"), &read(r.path().join(&merged)));
    }

    // revoke reads a --show-secrets report but its dry run shows only redactions.
    let out = run(
        &r,
        &[
            "scan",
            ".",
            "-f",
            "json",
            "--show-secrets",
            "-o",
            "raw.json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(contains(&read(r.path().join("raw.json")), GH1));
    let out = run(&r, &["revoke", "--github", "raw.json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(contains(&out.stdout, "dry run"), "{out:?}");
    assert_streams_clean("revoke --github (dry run)", &out);

    // A blocked commit through the installed hook.
    let out = run(&r, &["install-hook"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_streams_clean("install-hook", &out);
    let mut commit = r.git_cmd(&["commit", "-q", "-m", "add staged key"]);
    let path = format!(
        "{}:{}",
        common::bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = commit.env("PATH", path).output().unwrap();
    assert!(!out.status.success(), "the hook should block the commit");
    assert!(contains(&out.stderr, "commit blocked"), "{out:?}");
    assert_streams_clean("pre-commit hook", &out);
}

#[test]
fn bad_input_errors_do_not_echo_secrets() {
    // A config, rule file and baseline that contain a key where a value is malformed: the
    // error names the file and the problem, never the key.
    let r = planted_repo();
    r.write(
        "bad-config.toml",
        format!("[allowlist]\npaths = \"{GH1}\"\n"),
    );
    r.write(
        "bad-rules.toml",
        format!(
            "[[rule]]\nid = \"x-token\"\ntitle = \"X\"\nprovider = \"X\"\nkeywords = [\"xtk_\"]\n\
             regex = '''xtk_(?P<secret>[a-z]{{10}})'''\nseverity = \"high\"\nconfidence = \"high\"\n\
             examples = [\"{GH2}\"]\n"
        ),
    );
    r.write(
        "bad-baseline.toml",
        format!("[[finding]]\nfingerprint = \"{GH3}\"\n"),
    );
    for args in [
        vec!["scan", ".", "--config", "bad-config.toml"],
        vec!["scan", ".", "--rules", "bad-rules.toml"],
        vec!["scan", ".", "--baseline", "bad-baseline.toml"],
        vec!["rules", "check", "bad-config.toml"],
    ] {
        let out = run(&r, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            all.contains("bad-") && !all.contains("stack backtrace"),
            "{args:?}: {all}"
        );
        assert_streams_clean(&format!("{args:?}"), &out);
    }
}

#[test]
fn secret_debug_and_display_never_show_the_value() {
    use keysweep::finding::Secret;
    let s = Secret::new(GH1.as_bytes());
    for shown in [
        format!("{s}"),
        format!("{s:?}"),
        format!("{s:#?}"),
        format!("{:?}", Some(&s)),
        format!("{:?}", vec![s.clone()]),
    ] {
        assert!(!shown.contains(&GH1[..WINDOW]), "{shown}");
        assert_no_secret("Secret formatting", shown.as_bytes());
    }
    assert_eq!(format!("{s}"), "ghp_Ky9P…");
    // Short secrets show at most a fifth.
    assert_eq!(format!("{}", Secret::new(b"hunter2")), "h…");
    // A finding's Debug (what an `unwrap` or `dbg!` would print) holds no secret either.
    let engine = keysweep::engine::Engine::new(keysweep::rules::builtin_rules().unwrap());
    let mut scratch = engine.scratch();
    let data = log_text();
    let res = keysweep::scan::blob::scan_bytes(
        &engine,
        &mut scratch,
        data.as_bytes(),
        &keysweep::finding::Provenance::file("x.log"),
        true,
    );
    assert_eq!(res.findings.len(), 4);
    assert_no_secret("Finding Debug", format!("{:#?}", res.findings).as_bytes());
}

#[test]
fn decoded_matches_debug_without_the_secret() {
    // Regression: DecodedMatch derived Debug over the raw decoded bytes.
    use base64::Engine as _;
    let engine = keysweep::engine::Engine::new(keysweep::rules::builtin_rules().unwrap());
    let mut scratch = engine.scratch();
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("token={GH1}"));
    let data = format!("blob = {encoded}\n");
    let found = keysweep::scan::decode::find(
        &engine,
        &mut scratch,
        data.as_bytes(),
        &mut Default::default(),
    );
    assert_eq!(found.len(), 1, "{data}");
    let shown = format!("{found:?}");
    assert!(shown.contains("ghp_Ky9P…"), "{shown}");
    assert_no_secret("DecodedMatch Debug", shown.as_bytes());
}

/// Reads every `.rs` file under `dir`.
fn rust_sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
}

#[test]
fn raw_secret_bytes_reach_only_reviewed_places() {
    // A panic message can only carry a secret if code formats the exposed bytes. Every use of
    // `Secret::expose` is listed here with why it is safe; a new one must be reviewed and added.
    const REVIEWED: &[(&str, usize, &str)] = &[
        ("src/report/text.rs", 1, "--show-secrets only"),
        ("src/report/json.rs", 1, "--show-secrets only"),
        ("src/report/sarif.rs", 1, "--show-secrets only"),
        (
            "src/verify/mod.rs",
            1,
            "builds the HTTP request; errors never include it",
        ),
        (
            "src/verify/revocation.rs",
            2,
            "--revocation-send-secrets; bearer token header",
        ),
        (
            "src/redact.rs",
            1,
            "patterns of the automaton that finds copies to mask",
        ),
        (
            "src/scan/git.rs",
            1,
            "patterns of the automaton that masks commit metadata",
        ),
        (
            "src/mcp.rs",
            1,
            "finds copies to replace in redact_text; never put in an answer",
        ),
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_sources(&root.join("src"), &mut files);
    for (path, text) in &files {
        let rel = path
            .strip_prefix(&format!("{}/", root.display()))
            .unwrap_or(path);
        let is_test_module = rel.ends_with("tests.rs");
        let n = text.matches(".expose()").count();
        let allowed = REVIEWED
            .iter()
            .find(|(p, _, _)| *p == rel)
            .map_or(0, |r| r.1);
        if !is_test_module {
            assert_eq!(n, allowed, "{rel}: unreviewed use of Secret::expose()");
        }
        // No panic, assertion or expect outside tests formats a secret or its raw bytes.
        let code = text.split("#[cfg(test)]").next().unwrap();
        if is_test_module {
            continue;
        }
        for (i, line) in code.lines().enumerate() {
            let t = line.trim_start();
            let panicky = [
                "panic!(",
                "expect(",
                "unreachable!(",
                "assert!(",
                "assert_eq!(",
            ]
            .iter()
            .any(|p| t.contains(p));
            assert!(
                !(panicky && (t.contains("expose()") || t.contains(".secret"))),
                "{rel}:{}: a panic message may carry a secret: {t}",
                i + 1
            );
        }
    }
}
