//! Hostile input: a tree built to hang, crash or confuse a scanner — symlink loops, a link to
//! `/dev/zero`, a FIFO, a socket, 100,000 tiny files, 1,000 nested folders, file names with
//! invalid UTF-8 and terminal escapes, a big file with no newline, empty files, NUL files —
//! must be scanned to the end, with the real keys found, every skipped entry counted and the
//! unusual ones named. Also: files that vanish or shrink between the walk and the read, and
//! readers that fail or return short reads.

mod common;
mod support;

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{Sandbox, GH1, GH2, GH3};

/// How long any one scan of the hostile tree may take before it counts as a hang.
const DEADLINE: Duration = Duration::from_secs(180);

const TINY_DIRS: usize = 100;
const TINY_PER_DIR: usize = 1000;
const DEPTH: usize = 1000;
/// Big enough to cross two 8 MiB chunk boundaries.
const BIG: usize = 18 << 20;

struct Hostile {
    sb: Sandbox,
    /// Kept open so the socket file exists during the scan.
    _socket: UnixListener,
    /// The key planted in each place: (display path, key).
    planted: Vec<(String, String)>,
}

fn write(root: &Path, rel: &OsStr, data: &[u8]) -> PathBuf {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, data).unwrap();
    p
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

/// A sandbox on tmpfs when there is one: 100,000 files on a slow shared disk take minutes to
/// create and delete, on tmpfs about two seconds.
fn fast_sandbox() -> Sandbox {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::Builder::new()
            .prefix("keysweep-hostile")
            .tempdir_in(shm)
            .or_else(|_| tempfile::tempdir())
    } else {
        tempfile::tempdir()
    };
    Sandbox { dir: dir.unwrap() }
}

fn build() -> Hostile {
    let sb = fast_sandbox();
    let root = sb.path().to_path_buf();
    let mut planted = Vec::new();
    let mut plant = |rel: &[u8], shown: &str, key: String, before: &str| {
        write(
            &root,
            OsStr::from_bytes(rel),
            format!("{before}GITHUB_TOKEN={key}\n").as_bytes(),
        );
        planted.push((shown.to_string(), key));
    };
    plant(b"keys/plain.env", "keys/plain.env", GH1.into(), "");
    // Invalid UTF-8 in a name: shown lossily, still scanned.
    plant(
        b"names/bad\xff\xfe.env",
        "names/bad\u{fffd}\u{fffd}.env",
        common::fake_token("invalid-utf8"),
        "",
    );
    // A name that would retitle the terminal, ring the bell and reverse the text.
    plant(
        b"names/evil\x1b]0;owned\x07\xe2\x80\xaetxt.env",
        "names/evil\x1b]0;owned\x07\u{202e}txt.env",
        common::fake_token("escape-name"),
        "",
    );
    // 1,000 nested folders with a key at the bottom.
    let deep = "d/".repeat(DEPTH) + "deep.env";
    plant(deep.as_bytes(), &deep, GH2.into(), "# deep\n");
    // 100,000 tiny files, one of which holds a key.
    for d in 0..TINY_DIRS {
        let dir = root.join(format!("many/{d:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..TINY_PER_DIR {
            std::fs::write(dir.join(format!("f{f:04}.txt")), b"ok\n").unwrap();
        }
    }
    plant(
        b"many/057/f0123.txt",
        "many/057/f0123.txt",
        GH3.into(),
        "ok\n",
    );
    // A big file with no newline at all: keys near the start, across the 8 MiB boundary,
    // and at the very end.
    let mut big = Vec::with_capacity(BIG);
    let k1 = common::fake_token("big-1");
    let k2 = common::fake_token("big-2");
    let k3 = common::fake_token("big-3");
    for (at, key) in [(1000usize, &k1), ((8 << 20) - 20, &k2)] {
        while big.len() < at {
            big.extend_from_slice(b"lorem ipsum dolor ");
        }
        big.truncate(at);
        big.extend_from_slice(format!(" token={key} ").as_bytes());
    }
    while big.len() < BIG {
        big.extend_from_slice(b"lorem ipsum dolor ");
    }
    big.extend_from_slice(format!(" token={k3}").as_bytes());
    assert!(!big.contains(&b'\n'));
    write(&root, OsStr::new("big/no-newline.log"), &big);
    for k in [k1, k2, k3] {
        planted.push(("big/no-newline.log".into(), k));
    }
    // Empty files and NUL files.
    write(&root, OsStr::new("empty/a"), b"");
    write(&root, OsStr::new("empty/.env"), b"");
    write(&root, OsStr::new("nul/zeros.bin"), &vec![0u8; 1 << 20]);
    // Special files: a FIFO (opening it would block forever) and a socket.
    std::fs::create_dir_all(root.join("special")).unwrap();
    mkfifo(&root.join(OsStr::from_bytes(b"special/pipe\x1b[2J.fifo")));
    let socket = UnixListener::bind(root.join("special/app.sock")).unwrap();
    // Symbolic links: a loop to the root, a link to itself, to /dev/zero, to nothing, and to a
    // file with a key.
    let link = |target: &str, at: &str| std::os::unix::fs::symlink(target, root.join(at)).unwrap();
    std::fs::create_dir_all(root.join("links")).unwrap();
    link("..", "links/loop");
    link("self", "links/self");
    link("/dev/zero", "links/zero");
    link("nowhere", "links/dangling");
    link("../keys/plain.env", "links/key.env");
    Hostile {
        sb,
        _socket: socket,
        planted,
    }
}

/// Runs `cmd`, failing the test if it does not finish within `DEADLINE`.
fn run_bounded(mut cmd: Command) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("RUST_BACKTRACE", "1")
        .spawn()
        .unwrap();
    // Drain the pipes on threads so a full pipe cannot stall the child.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t1 = std::thread::spawn(move || {
        let mut v = Vec::new();
        so.read_to_end(&mut v).unwrap();
        v
    });
    let t2 = std::thread::spawn(move || {
        let mut v = Vec::new();
        se.read_to_end(&mut v).unwrap();
        v
    });
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > DEADLINE {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("keysweep did not finish within {DEADLINE:?}: a hang");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let out = Output {
        status,
        stdout: t1.join().unwrap(),
        stderr: t2.join().unwrap(),
    };
    (out, elapsed)
}

fn keysweep(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("keysweep"));
    c.current_dir(dir).args(args).env("NO_COLOR", "1");
    c
}

/// (path, redacted key) of every finding.
fn found(json: &serde_json::Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["rule_id"], "github-pat", "{f}");
            (
                f["path"].as_str().unwrap().to_string(),
                f["fingerprint"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn expected(planted: &[(String, String)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = planted
        .iter()
        .map(|(p, k)| {
            (
                p.clone(),
                keysweep::finding::fingerprint("github-pat", k.as_bytes()),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn hostile_tree_is_scanned_to_the_end_with_every_skip_counted_and_named() {
    let t0 = Instant::now();
    let h = build();
    let built = t0.elapsed();
    let root = h.sb.path();
    // The tiny files, plain.env, two odd names, deep.env, the big file, two empty files and
    // zeros.bin.
    let files = TINY_DIRS * TINY_PER_DIR + 8;

    // Default: links are not followed, special files not opened.
    let (out, took) = run_bounded(keysweep(root, &["scan", ".", "-f", "json"]));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("built the tree in {built:?}; scanned in {took:?}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"));
    assert_eq!(found(&json), expected(&h.planted));
    let s = &json["summary"];
    assert_eq!(s["incomplete"], false, "{stderr}");
    assert_eq!(s["errors"], 0);
    assert_eq!(s["skipped_binary"], 1, "zeros.bin");
    assert_eq!(s["skipped_special"], 2, "the FIFO and the socket");
    assert_eq!(s["skipped_symlinks"], 5);
    assert_eq!(s["files_scanned"], files as u64 - 1);
    // The unusual entries are named, with their names escaped for the terminal.
    let text = stderr.to_string();
    assert!(
        text.contains("warning: special/pipe\\x1b[2J.fifo: not a regular file"),
        "{text}"
    );
    assert!(
        text.contains("warning: special/app.sock: not a regular file"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "raw escape on stderr: {text:?}");
    assert!(text.contains("2 special, 5 symlinks"), "{text}");

    // Text output names the odd files with every control and bidi character escaped.
    let (out, _) = run_bounded(keysweep(root, &["scan", "names", "--color", "never"]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("evil\\x1b]0;owned\\x07\\u{202e}txt.env"),
        "{stdout}"
    );
    assert!(stdout.contains("bad\u{fffd}\u{fffd}.env"), "{stdout}");
    assert!(!stdout.contains(['\x1b', '\x07', '\u{202e}']), "{stdout:?}");

    // --follow: the loop is detected and named, /dev/zero is a device that is never opened,
    // the dangling and self links are named, and the link to a key file is scanned.
    let (out, took) = run_bounded(keysweep(root, &["scan", ".", "-f", "json", "--follow"]));
    eprintln!("--follow scan in {took:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let mut with_link = h.planted.clone();
    with_link.push(("links/key.env".into(), GH1.into()));
    assert_eq!(found(&json), expected(&with_link), "{stderr}");
    let s = &json["summary"];
    assert_eq!(s["skipped_special"], 3, "FIFO, socket, /dev/zero: {stderr}");
    assert_eq!(
        s["skipped_symlinks"], 3,
        "the loop, the self link, the dangling link"
    );
    assert!(
        stderr.contains("warning: links/loop: symbolic link loop"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: links/zero: not a regular file"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: links/dangling: broken symbolic link"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: links/self: symbolic link loop"),
        "{stderr}"
    );
    // A broken or looping link holds no content: named, but the scan is still complete.
    assert_eq!(s["incomplete"], false, "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
}

#[test]
fn a_file_that_vanishes_or_shrinks_after_the_walk_is_named_and_the_rest_scanned() {
    use keysweep::scan::{scan_files, BlobOptions, Progress};
    use keysweep::source::fs::{walk, WalkOptions};
    let sb = Sandbox::new();
    sb.write("gone.env", format!("T={GH1}\n"));
    let shrink = sb.write(
        "shrinks.log",
        format!(
            "{}\nT={GH2}\n{}\nT={GH3}\n",
            "a".repeat(5000),
            "b".repeat(5000)
        ),
    );
    sb.write("stays.env", format!("T={GH3}\n"));
    let walked = walk(
        &[sb.path().to_path_buf()],
        &WalkOptions {
            threads: 1,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(walked.files.len(), 3);
    // Between the walk and the read: one file is deleted, another cut short.
    std::fs::remove_file(sb.path().join("gone.env")).unwrap();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&shrink)
        .unwrap();
    f.set_len(5010).unwrap();
    let engine = keysweep::engine::Engine::new(keysweep::rules::builtin_rules().unwrap());
    let out = scan_files(
        &engine,
        walked,
        &BlobOptions::default(),
        &Progress::default(),
    );
    let names: Vec<String> = out
        .findings
        .iter()
        .map(|f| f.provenance.path.rsplit('/').next().unwrap().to_string())
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, ["stays.env"], "{:?}", out.findings);
    assert!(out.incomplete);
    assert_eq!(out.stats.errors, 1);
    assert_eq!(out.warnings.len(), 1);
    assert!(out.warnings[0].path.ends_with("gone.env"));
    assert!(
        out.warnings[0].message.starts_with("cannot open:"),
        "{:?}",
        out.warnings
    );
    // The shrunk file counts what was really read.
    assert_eq!(
        out.stats.bytes_scanned,
        5010 + format!("T={GH3}\n").len() as u64
    );
}

/// A reader that hands out at most `step` bytes per call and fails after `fail_at` bytes.
struct Flaky<'a> {
    data: &'a [u8],
    pos: usize,
    step: usize,
    fail_at: Option<usize>,
}

impl Read for Flaky<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.fail_at.is_some_and(|f| self.pos >= f) {
            return Err(std::io::Error::other("device went away"));
        }
        let end = (self.pos + self.step)
            .min(self.data.len())
            .min(self.pos + buf.len());
        let n = end - self.pos;
        buf[..n].copy_from_slice(&self.data[self.pos..end]);
        self.pos = end;
        Ok(n)
    }
}

#[test]
fn short_reads_find_the_same_and_a_failing_reader_is_an_error_not_a_panic() {
    use keysweep::finding::Provenance;
    use keysweep::scan::blob::{scan_bytes, scan_reader};
    let engine = keysweep::engine::Engine::new(keysweep::rules::builtin_rules().unwrap());
    let mut scratch = engine.scratch();
    let data = format!(
        "{}T={GH1}\n{}T={GH2}\n",
        "x".repeat(3000),
        "y".repeat(70_000)
    );
    let whole = scan_bytes(
        &engine,
        &mut scratch,
        data.as_bytes(),
        &Provenance::file("f"),
        true,
    );
    assert_eq!(whole.findings.len(), 2);
    for step in [1, 7, 4096] {
        let r = Flaky {
            data: data.as_bytes(),
            pos: 0,
            step,
            fail_at: None,
        };
        let got = scan_reader(
            &engine,
            &mut scratch,
            r,
            &Provenance::file("f"),
            true,
            1 << 10,
            1 + step % 3,
            &mut Vec::new(),
        )
        .unwrap();
        let a: Vec<_> = got.findings.iter().map(|f| f.location.clone()).collect();
        let b: Vec<_> = whole.findings.iter().map(|f| f.location.clone()).collect();
        assert_eq!(a, b, "step {step}");
    }
    let r = Flaky {
        data: data.as_bytes(),
        pos: 0,
        step: 100,
        fail_at: Some(2000),
    };
    let err = scan_reader(
        &engine,
        &mut scratch,
        r,
        &Provenance::file("f"),
        true,
        1 << 10,
        2,
        &mut Vec::new(),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "device went away");
}

/// Threads of a running process (Linux).
fn task_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn threads_flag_sets_the_worker_count_and_j1_gives_the_same_result() {
    let sb = Sandbox::new();
    for i in 0..40 {
        sb.write(
            &format!("d{}/f{i}.env", i % 4),
            format!("T={}\n", common::fake_token(&i.to_string())),
        );
    }
    // Same findings with one worker as with the default.
    let a = sb
        .cmd()
        .args(["scan", ".", "-f", "json", "-j", "1"])
        .output()
        .unwrap();
    let b = sb.cmd().args(["scan", ".", "-f", "json"]).output().unwrap();
    let ja: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    let jb: serde_json::Value = serde_json::from_slice(&b.stdout).unwrap();
    assert_eq!(ja["findings"], jb["findings"]);
    assert_eq!(ja["findings"].as_array().unwrap().len(), 40);
    // While keysweep waits on stdin, its worker pool already exists: main thread + N workers.
    for n in [1usize, 3] {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("keysweep"))
            .current_dir(sb.path())
            .args(["scan", "-", ".", "-q", "-j", &n.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = 0;
        while Instant::now() < deadline {
            seen = task_count(child.id());
            if seen == n + 1 {
                // Stable for a while: no more threads appear.
                std::thread::sleep(Duration::from_millis(300));
                seen = task_count(child.id());
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(child.stdin.take());
        let status = child.wait().unwrap();
        assert_eq!(seen, n + 1, "-j {n}: threads while reading stdin");
        assert_eq!(status.code(), Some(1));
    }
}
