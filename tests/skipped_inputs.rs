//! Inputs that used to be skipped or cost without bound (issue 16, items 11–19): a FIFO or
//! process substitution named on the command line, steering files that are FIFOs or devices,
//! a reader that leaves early, absurd `-j` and regex sizes, binary files, long lines full of
//! keys, oversized git blobs, and blobs first seen at an allowlisted path.

mod common;
mod support;

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{run_json, Sandbox, GH1, GH2};

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

fn bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("keysweep")
}

/// Runs `cmd` and kills it if it outlives `limit` (a hang is a failure, not a stuck suite).
fn run_bounded(mut cmd: Command, limit: Duration) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "hung for {limit:?}: stderr {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// Item 14: a FIFO named on the command line is read as a stream.
#[test]
fn fifo_named_on_the_command_line_is_scanned() {
    let sb = Sandbox::new();
    let fifo = sb.path().join("pipe");
    mkfifo(&fifo);
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(writer_path)
            .unwrap();
        writeln!(f, "token = {GH1}").unwrap();
    });
    let (json, code, stderr) = run_json(sb.cmd().args(["scan", "pipe", "-f", "json", "-q"]));
    writer.join().unwrap();
    assert_eq!(code, 1, "{stderr}");
    let f = &json["findings"][0];
    assert_eq!(f["rule_id"], "github-pat");
    assert_eq!(f["path"], "pipe");
}

// Item 14: process substitution (`<(cmd)`, a /dev/fd link to a pipe).
#[test]
fn process_substitution_is_scanned() {
    let script = format!(
        "exec {:?} scan <(printf 'k = %s\\n' {GH2}) -f json -q",
        bin()
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("github-pat"), "{stdout}");
}

// Item 14: a FIFO met during a walk stays skipped and does not hang the walk.
#[test]
fn fifo_met_in_a_walk_is_skipped() {
    let sb = Sandbox::new();
    sb.write("a.env", format!("T={GH1}\n"));
    mkfifo(&sb.path().join("pipe"));
    let out = run_bounded(
        {
            let mut c = Command::new(bin());
            c.current_dir(sb.path())
                .args(["scan", ".", "-f", "json", "-q"]);
            c
        },
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["skipped_special"], 1);
}

// Item 14: steering files that are FIFOs or devices are refused at once, not read forever.
#[test]
fn fifo_or_device_config_files_are_refused() {
    let sb = Sandbox::new();
    sb.write("a.txt", "nothing\n");
    mkfifo(&sb.path().join("fifo"));
    let cases: Vec<Vec<&str>> = vec![
        vec!["scan", "a.txt", "--config", "fifo"],
        vec!["scan", "a.txt", "--config", "/dev/zero"],
        vec!["scan", "a.txt", "--rules", "fifo"],
        vec!["scan", "a.txt", "--rules", "/dev/zero"],
        vec!["scan", "a.txt", "--baseline", "fifo"],
        vec!["scan", "a.txt", "--baseline", "/dev/zero"],
        vec!["redact", "fifo", "-o", "out.txt"],
    ];
    for args in cases {
        let mut c = Command::new(bin());
        c.current_dir(sb.path()).args(&args);
        let out = run_bounded(c, Duration::from_secs(30));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("not a regular file"),
            "{args:?}: unclear error: {stderr}"
        );
    }
}

// Item 14: a `.keysweepignore` that is a FIFO is refused, not waited on.
#[test]
fn fifo_keysweepignore_is_refused() {
    let sb = Sandbox::new();
    sb.write("a.txt", "nothing\n");
    mkfifo(&sb.path().join(".keysweepignore"));
    let mut c = Command::new(bin());
    c.current_dir(sb.path()).args(["scan", "a.txt"]);
    let out = run_bounded(c, Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
}

// Item 16: `scan … | head` keeps the scan's status.
#[test]
fn broken_pipe_keeps_the_findings_status() {
    let sb = Sandbox::new();
    let mut text = String::new();
    for i in 0..4000 {
        text.push_str(&format!(
            "line {i} token={}\n",
            common::fake_token(&i.to_string())
        ));
    }
    sb.write("many.log", text);
    let mut child = Command::new(bin())
        .current_dir(sb.path())
        .args(["scan", "many.log", "-f", "json", "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader leaves before the report is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("error"), "not quiet: {stderr}");
}

// Item 19: a 10 MB regex is refused before it is parsed.
#[test]
fn huge_regex_is_refused_fast() {
    let sb = Sandbox::new();
    let pattern = format!("(?P<secret>{})", "a".repeat(10 << 20));
    let rules = format!(
        "[[rule]]\nid = \"huge\"\ntitle = \"t\"\nprovider = \"p\"\nseverity = \"low\"\nconfidence = \"low\"\nkeywords = [\"aaaa\"]\n\
         regex = '''{pattern}'''\nexamples = [\"aaaa\"]\n"
    );
    sb.write("huge.toml", rules);
    sb.write("a.txt", "x\n");
    let out = Command::new("/usr/bin/time")
        .current_dir(sb.path())
        .args(["-f", "maxrss=%M"])
        .arg(bin())
        .args(["scan", "a.txt", "--rules", "huge.toml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the limit is"), "{stderr}");
    let rss: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("maxrss="))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The rule file itself is 10 MB; parsing the pattern took over a gigabyte.
    assert!(rss < 300_000, "peak RSS {rss} KiB");
    assert!(!stderr.contains(&"a".repeat(100)), "the pattern is echoed");
}

// Item 19: `-j 1000` on a small machine is clamped, not obeyed.
#[test]
fn absurd_thread_count_is_clamped() {
    let sb = Sandbox::new();
    sb.write("big.log", format!("{}\nt={GH1}\n", "x".repeat(40 << 20)));
    let mut c = Command::new(bin());
    c.current_dir(sb.path())
        .args(["scan", "big.log", "-j", "1000", "-f", "json", "-q"]);
    let out = run_bounded(c, Duration::from_secs(120));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// Item 19: a binary file is not read past the probe.
#[test]
fn binary_file_is_not_read_to_its_end() {
    let sb = Sandbox::new();
    let mut data = vec![0u8; 16];
    data.extend(std::iter::repeat_n(b'x', 20 << 20));
    sb.write("disk.img", data);
    let (json, code, _) = run_json(sb.cmd().args(["scan", "disk.img", "-f", "json", "-q"]));
    assert_eq!(code, 0);
    assert_eq!(json["summary"]["skipped_binary"], 1);
    assert!(
        json["summary"]["bytes_scanned"].as_u64().unwrap() < 1 << 20,
        "read {} bytes of a skipped binary file",
        json["summary"]["bytes_scanned"]
    );
}

// Item 18: many keys on one long line; columns counted right with a running count.
#[test]
fn many_keys_on_one_long_line_have_right_columns() {
    let sb = Sandbox::new();
    let mut line = String::new();
    let mut expect = Vec::new();
    for i in 0..2000 {
        // A multi-byte character before each key checks code-point columns.
        line.push_str("é k=");
        expect.push(line.chars().count() as u64 + 1);
        line.push_str(&common::fake_token(&format!("long{i}")));
        line.push_str(&" ".repeat(40));
    }
    sb.write("line.txt", format!("{line}\n"));
    let (json, code, _) = run_json(sb.cmd().args(["scan", "line.txt", "-f", "sarif", "-q"]));
    assert_eq!(code, 1);
    let cols: Vec<u64> = json["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["region"]["startColumn"]
                .as_u64()
                .unwrap()
        })
        .collect();
    let mut sorted = cols.clone();
    sorted.sort();
    assert_eq!(sorted, expect);
}

// Item 13: a file over --max-file-size is named and makes the scan incomplete.
#[test]
fn file_over_max_file_size_makes_the_scan_incomplete() {
    let sb = Sandbox::new();
    sb.write("big.txt", format!("{}\nt={GH1}\n", "a ".repeat(4096)));
    let (json, code, _) =
        run_json(
            sb.cmd()
                .args(["scan", ".", "--max-file-size", "1K", "-f", "json", "-q"]),
        );
    assert_eq!(code, 2);
    assert_eq!(json["summary"]["skipped_too_large"], 1);
    assert_eq!(json["warnings"][0]["path"], "big.txt");
}

// Item 13: a staged blob over --max-blob-size fails the pre-commit check (exit 2), and so does
// one in history; the default limit takes the same path.
#[test]
fn oversized_staged_and_history_blobs_make_the_scan_incomplete() {
    let repo = common::Repo::new();
    repo.write("README", "hello\n");
    repo.commit_all("first");
    repo.write("dump.sql", format!("{}\nt={GH2}\n", "a ".repeat(4096)));
    repo.git(&["add", "dump.sql"]);
    let (code, _, stderr) = repo.json(&["git", "--staged", "--max-blob-size", "1K"]);
    assert_eq!(code, 2, "{stderr}");
    repo.commit("dump");
    let (code, json, stderr) = repo.json(&["git", "--max-blob-size", "1K"]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(json["summary"]["skipped_too_large"], 1);
}

// Item 12: a blob first seen at an allowlisted path is reported at the path it is copied to,
// whether as a file of its own or inside a copy of the whole (allowlisted) directory.
#[test]
fn blob_first_seen_at_allowlisted_path_is_reported_where_copied() {
    for copy in ["deploy/prod.env", "copy/fixtures/sample.env"] {
        let repo = common::Repo::new();
        repo.write("keysweep.toml", "[allowlist]\npaths = [\"fixtures/**\"]\n");
        let body = format!("TOKEN={GH1}\n");
        repo.write("fixtures/sample.env", &body);
        repo.commit_all("fixtures");
        // The same bytes, so the same blob (and for the directory copy, the same tree).
        repo.write(copy, &body);
        repo.commit_all("copy");
        let (code, json, stderr) = repo.json(&["git"]);
        assert_eq!(code, 1, "{copy}: {stderr}");
        let paths: Vec<String> = common::findings(&json)
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(paths, vec![copy.to_string()]);
        assert_eq!(json["summary"]["skipped_allowlisted"], 1, "{copy}");
    }
}
