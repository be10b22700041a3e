//! Errors people can act on: bad flags, files and repositories give one line that names the
//! flag, file or object and the problem, exit 2, and never a Rust backtrace (even with
//! `RUST_BACKTRACE=1`); a reader that closes the pipe early (`| head -1`) ends keysweep quietly.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use support::{Sandbox, GH1, GH2};

/// Runs keysweep with `args`; checks exit 2, no backtrace or panic, and that the first line of
/// stderr contains every one of `expect`.
fn fails_clearly(sb: &Sandbox, args: &[&str], expect: &[&str]) {
    let out = sb
        .cmd()
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace") && !stderr.contains("  0: "),
        "{args:?}: {stderr}"
    );
    let first = stderr.lines().next().unwrap_or("");
    for e in expect {
        assert!(
            first.contains(e),
            "{args:?}: `{e}` not in the first line: {stderr}"
        );
    }
    // Clap adds a hint line after a blank line; our own errors are a single line, except a
    // list of invalid rules: one `file: rule-id: problem` line each.
    if first.starts_with("keysweep: error:") && !first.ends_with("invalid rule(s):") {
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn bad_flags_files_and_repositories_are_one_line_errors_naming_them() {
    let sb = Sandbox::new();
    sb.write("a.env", format!("T={GH1}\n"));
    sb.write("not-json.json", "{ nope");
    sb.write("bad-config.toml", "[allowlist\n");
    sb.write(
        "bad-rules.toml",
        "[[rule]]\nid = \"x\"\ntitle = \"X\"\nprovider = \"X\"\nkeywords = [\"xtk_\"]\n\
         regex = '''(?P<secret>xtk_(a+)+b{1000}{1000})'''\nseverity = \"high\"\n\
         confidence = \"high\"\nexamples = [\"xtk_aaab\"]\n",
    );
    std::fs::create_dir(sb.path().join("a-directory")).unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["scan", ".", "--max-file-size", "x"],
            &["--max-file-size", "not a size"],
        ),
        (&["scan", ".", "-j", "many"], &["--threads", "invalid"]),
        (&["scan", ".", "-f", "xml"], &["--format", "xml"]),
        (
            &["scan", ".", "--max-archive-bytes", "9Q"],
            &["--max-archive-bytes"],
        ),
        (&["scan", "missing-dir"], &["missing-dir", "no such file"]),
        (
            &["scan", ".", "--config", "nope.toml"],
            &["nope.toml", "cannot read config"],
        ),
        (
            &["scan", ".", "--config", "bad-config.toml"],
            &["bad-config.toml", "invalid config", "line 1"],
        ),
        (
            &["scan", ".", "--rules", "nope.toml"],
            &["nope.toml", "cannot read rule file"],
        ),
        (
            &["scan", ".", "--rules", "bad-rules.toml"],
            &["invalid rule"],
        ),
        (
            &["scan", ".", "--baseline", "nope.toml"],
            &["nope.toml", "cannot read"],
        ),
        (
            &["scan", ".", "--baseline", "a-directory"],
            &["a-directory", "cannot read"],
        ),
        (
            &["scan", ".", "--baseline", "not-json.json"],
            &["not-json.json", "not a keysweep baseline"],
        ),
        (&["scan", ".", "--exclude", "["], &["invalid glob `[`"]),
        (
            &["scan", ".", "--disable", "no-such-rule"],
            &["no-such-rule"],
        ),
        (
            &["scan", ".", "-o", "no/such/dir/r.json"],
            &["no/such/dir/r.json", "does not exist"],
        ),
        (&["git", "no-such-repo"], &["no-such-repo", "no such file"]),
        (
            &["git", "a-directory"],
            &["a-directory", "not a git repository"],
        ),
        (&["git", "--since", "someday"], &["--since", "not a date"]),
        (
            &["merge", "nope.json"],
            &["nope.json", "cannot read report"],
        ),
        (
            &["merge", "not-json.json"],
            &["not-json.json", "not valid JSON"],
        ),
        (&["redact", "nope.log"], &["nope.log", "no such file"]),
        (&["rules", "explain", "nope"], &["no rule with id `nope`"]),
        (
            &["revoke", "--github", "nope.json"],
            &["nope.json", "cannot read report"],
        ),
        (
            &["install-hook", "a-directory"],
            &["a-directory", "not a git repository"],
        ),
        (
            &["baseline", "check", "nope.toml"],
            &["nope.toml", "cannot read"],
        ),
    ];
    for (args, expect) in cases {
        fails_clearly(&sb, args, expect);
    }
    // The invalid rule names its file and rule on the next line, `file: rule-id: problem`.
    let out = sb
        .cmd()
        .args(["scan", ".", "--rules", "bad-rules.toml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .lines()
            .nth(1)
            .is_some_and(|l| l.trim().starts_with("bad-rules.toml: x: ")),
        "{stderr}"
    );
}

#[test]
fn terminal_escapes_in_an_error_path_are_escaped() {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .args(["scan", "gone\x1b]0;owned\x07"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("gone\\x1b]0;owned\\x07"), "{stderr}");
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
}

/// Starts keysweep with stdout on a pipe, reads one line and closes the pipe, like `| head -1`.
fn head_one(sb: &Sandbox, args: &[&str], stdin: Option<Vec<u8>>, code: i32) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("keysweep"))
        .current_dir(sb.path())
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(data) = stdin {
        let mut w = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = w.write_all(&data);
        });
    }
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(!line.is_empty(), "{args:?}: no output");
    drop(reader);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(
        !stderr.contains("error")
            && !stderr.contains("panicked")
            && !stderr.contains("Broken pipe"),
        "{args:?}: {stderr}"
    );
}

#[test]
fn a_closed_pipe_ends_keysweep_quietly() {
    // Far more output than a pipe buffer (64 KiB) holds, so writing must hit the closed pipe.
    let sb = Sandbox::new();
    let body: String = (0..2000)
        .map(|i| format!("line {i}: {} {}\n", GH1, GH2))
        .collect();
    sb.write("big.log", &body);
    for f in ["text", "json", "jsonl", "sarif"] {
        // Quiet, but the scan's status stands: the keys were found (issue 16 item 16).
        head_one(&sb, &["scan", ".", "-f", f, "-q"], None, 1);
    }
    head_one(&sb, &["git", "--help"], None, 0);
    head_one(&sb, &["rules", "list"], None, 0);
    head_one(&sb, &["redact", "-"], Some(body.repeat(4).into_bytes()), 0);
}
