//! keysweep's benchmark harness: `cargo bench --bench harness [-- SCENARIO...]`.
//!
//! Generates deterministic corpora under `target/bench-corpus/` (a ≥ 500 MB log set with planted
//! keys, a synthetic git history of 20k commits, a 10-file staged commit, a 1 GB single-line
//! file with `--huge`), uses the real crate sources in `~/.cargo/registry/src` as the source-tree
//! corpus, and runs the release `keysweep` on each: median wall time over a few runs, MB/s,
//! files/s, peak RSS (from `wait4`), findings. Peers (gitleaks, kingfisher, ripgrep) run side by
//! side when they are on PATH (`bash benches/install-peers.sh`), and each peer's time is
//! printed as a ratio to keysweep's; on the history corpus `gitleaks git`, kingfisher and
//! `git cat-file --batch-all-objects` run too.
//!
//! Scenarios: `source`, `logs`, `git`, `staged`, `redact`, `dense` (200,000 keys in one log),
//! `huge` (the 1 GB line; only when named). With no arguments all but `huge` run.

use std::ffi::OsStr;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Fake keys generated for the benchmark (format-valid, never real).
const PLANTED: &[&str] = &[
    "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",
    "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",
    "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",
];

struct Measurement {
    wall: Duration,
    peak_rss_kb: i64,
    stdout: Vec<u8>,
    status: i32,
}

/// Runs a command, returning wall time and the child's peak RSS.
///
/// Only keysweep's own (small) JSON report is kept; everything else is counted and dropped.
/// The harness must stay small: a child's peak RSS includes what it inherited at fork time.
fn measure(cmd: &mut Command) -> Measurement {
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let mut stdout = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        let is_keysweep = Path::new(cmd.get_program()).file_name() == Some(OsStr::new("keysweep"));
        if is_keysweep {
            std::io::copy(&mut out, &mut stdout).unwrap();
        } else {
            std::io::copy(&mut out, &mut std::io::sink()).unwrap();
        }
    }
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child; usage and status are valid out-pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4 failed");
    let wall = started.elapsed();
    std::mem::forget(child); // already reaped
    stdout.shrink_to_fit();
    Measurement {
        wall,
        peak_rss_kb: usage.ru_maxrss,
        stdout,
        status: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        },
    }
}

struct Row {
    scenario: String,
    tool: String,
    wall: Duration,
    bytes: u64,
    files: u64,
    rss_kb: i64,
    findings: String,
}

fn median_run(runs: usize, mut make: impl FnMut() -> Command) -> (Duration, i64, Measurement) {
    let mut walls = Vec::new();
    let mut peak = 0;
    let mut last = None;
    for _ in 0..runs {
        let m = measure(&mut make());
        walls.push(m.wall);
        peak = peak.max(m.peak_rss_kb);
        last = Some(m);
    }
    walls.sort();
    (walls[walls.len() / 2], peak, last.unwrap())
}

fn dir_size(path: &Path) -> (u64, u64) {
    let mut bytes = 0;
    let mut files = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(meta) = fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            if p.file_name() == Some(OsStr::new(".git")) {
                continue;
            }
            for e in fs::read_dir(&p).unwrap().flatten() {
                stack.push(e.path());
            }
        } else if meta.is_file() {
            bytes += meta.len();
            files += 1;
        }
    }
    (bytes, files)
}

fn findings_of(stdout: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(stdout) {
        Ok(v) => v["summary"]["findings"].to_string(),
        Err(_) => "?".into(),
    }
}

fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A tiny deterministic PRNG (xorshift), so corpora are identical on every machine.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn word(&mut self, len: usize) -> String {
        const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| A[self.below(A.len() as u64) as usize] as char)
            .collect()
    }
}

/// 8 log files of 64 MiB: JSON lines, access logs and HTTP dumps, with `[FILTERED]`,
/// `Bearer [REDACTED]` placeholders, UUIDs, hashes, and a planted key every ~100k lines.
fn make_logs(dir: &Path) {
    if dir.join("done").exists() {
        return;
    }
    fs::create_dir_all(dir).unwrap();
    let mut rng = Rng(0x5eed);
    for i in 0..8 {
        let f = fs::File::create(dir.join(format!("app-{i}.log"))).unwrap();
        let mut w = BufWriter::with_capacity(1 << 20, f);
        let mut written = 0usize;
        let mut n = 0u64;
        while written < 64 << 20 {
            n += 1;
            let line = match rng.below(6) {
                0 => format!(
                    "{{\"ts\":\"2026-11-27T12:{:02}:{:02}Z\",\"level\":\"info\",\"msg\":\"request done\",\"request_id\":\"{}-{}-{}\",\"user\":\"{}\",\"latency_ms\":{}}}\n",
                    rng.below(60), rng.below(60), rng.word(8), rng.word(4), rng.word(12), rng.word(6), rng.below(900)
                ),
                1 => format!(
                    "10.0.{}.{} - - [27/Nov/2026:12:00:00 +0000] \"GET /api/v1/items/{}?page={} HTTP/1.1\" 200 {} \"-\" \"Mozilla/5.0\"\n",
                    rng.below(255), rng.below(255), rng.word(10), rng.below(50), rng.below(99999)
                ),
                2 => "Authorization: Bearer [REDACTED]\n".to_string(),
                3 => format!("password=[FILTERED] token=[FILTERED] session={}\n", "*".repeat(8)),
                4 => format!("commit {} sha256:{}{}\n", rng.word(40), rng.word(32), rng.word(32)),
                _ => format!("DEBUG cache miss key=user:{} ttl=300 shard={}\n", rng.word(6), rng.below(16)),
            };
            let line = if n.is_multiple_of(100_000) {
                format!(
                    "WARN leaked header Authorization: token {}\n",
                    PLANTED[(n / 100_000) as usize % 3]
                )
            } else {
                line
            };
            written += line.len();
            w.write_all(line.as_bytes()).unwrap();
        }
        w.flush().unwrap();
    }
    fs::write(dir.join("done"), "").unwrap();
}

/// One file: a single 1 GiB line of JSON-ish text with a key at the middle and the end.
fn make_huge_line(path: &Path) {
    if path.exists() {
        return;
    }
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut w = BufWriter::with_capacity(1 << 20, fs::File::create(path).unwrap());
    let chunk = "{\"k\":\"value\",\"n\":12345,\"s\":\"lorem ipsum dolor sit amet\"},".repeat(1000);
    let total = 1usize << 30;
    let mut written = 0;
    let mut planted_mid = false;
    while written < total {
        w.write_all(chunk.as_bytes()).unwrap();
        written += chunk.len();
        if !planted_mid && written >= total / 2 {
            write!(w, "\"token\":\"{}\",", PLANTED[0]).unwrap();
            planted_mid = true;
        }
    }
    write!(w, "\"token\":\"{}\"", PLANTED[1]).unwrap();
    w.flush().unwrap();
}

/// A log where every line holds two keys, one of them base64-encoded inside a `Basic` header:
/// 100,000 lines, 200,000 findings. Cost per finding must stay flat (snippets and the merge of
/// decoded matches once walked every match of the buffer per finding).
fn make_dense_log(path: &Path) {
    if path.exists() {
        return;
    }
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut w = BufWriter::with_capacity(1 << 20, fs::File::create(path).unwrap());
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("deploy:{}", PLANTED[2]));
    for i in 0..100_000 {
        writeln!(
            w,
            "{i} GET /x Authorization: Basic {basic} token={}",
            PLANTED[0]
        )
        .unwrap();
    }
    w.flush().unwrap();
}

fn git(dir: &Path, args: &[&str]) {
    let s = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(s.success(), "git {args:?} failed");
}

/// A synthetic repository: 20,000 commits over 400 files, written with `git fast-import`.
fn make_git_repo(dir: &Path, commits: usize) {
    if dir.join("done").exists() {
        return;
    }
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut w = BufWriter::new(child.stdin.take().unwrap());
    let mut rng = Rng(0xc0ffee);
    for c in 0..commits {
        let msg = format!("change {c}");
        writeln!(w, "commit refs/heads/main\ncommitter Bench <bench@example.invalid> {} +0000\ndata {}\n{msg}", 1_700_000_000 + c * 60, msg.len()).unwrap();
        for _ in 0..1 + rng.below(3) {
            let file = rng.below(400);
            let mut body = String::new();
            for l in 0..(20 + rng.below(60)) {
                body.push_str(&format!(
                    "fn f{l}_{}() -> u32 {{ let x = \"{}\"; {} }}\n",
                    rng.word(5),
                    rng.word(16),
                    rng.below(1000)
                ));
            }
            if c % 1000 == 0 {
                body.push_str(&format!(
                    "const TOKEN: &str = \"{}\";\n",
                    PLANTED[c / 1000 % 3]
                ));
            }
            writeln!(
                w,
                "M 644 inline src/m{}/f{file}.rs\ndata {}\n{body}",
                file % 20,
                body.len()
            )
            .unwrap();
        }
        writeln!(w).unwrap();
    }
    drop(w);
    assert!(child.wait().unwrap().success());
    fs::write(dir.join(".git/done"), "").unwrap();
    fs::write(dir.join("done"), "").unwrap();
}

/// A repository with one commit of 200 files and 10 modified files staged.
fn make_staged_repo(dir: &Path) {
    if dir.join(".git/staged-done").exists() {
        return;
    }
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir.join("src")).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    let mut rng = Rng(42);
    for i in 0..200 {
        let body: String = (0..200)
            .map(|l| format!("let v{l} = \"{}\";\n", rng.word(20)))
            .collect();
        fs::write(dir.join(format!("src/f{i}.rs")), body).unwrap();
    }
    git(dir, &["add", "."]);
    git(
        dir,
        &[
            "-c",
            "user.name=b",
            "-c",
            "user.email=b@example.invalid",
            "commit",
            "-q",
            "-m",
            "init",
        ],
    );
    for i in 0..10 {
        let p = dir.join(format!("src/f{i}.rs"));
        let mut body = fs::read_to_string(&p).unwrap();
        body.push_str("let added = \"a harmless new line\";\n");
        fs::write(&p, body).unwrap();
    }
    git(dir, &["add", "."]);
    fs::write(dir.join(".git/staged-done"), "").unwrap();
}

fn print_rows(rows: &[Row]) {
    println!(
        "\n{:<9} {:<22} {:>9} {:>9} {:>10} {:>9} {:>9} {:>8}",
        "scenario", "tool", "wall s", "MB/s", "files/s", "peak MB", "findings", "vs ks"
    );
    for r in rows {
        let secs = r.wall.as_secs_f64();
        let ks = rows
            .iter()
            .find(|k| k.scenario == r.scenario && k.tool.starts_with("keysweep"))
            .map(|k| k.wall.as_secs_f64());
        let ratio = ks.map_or("-".to_string(), |k| format!("{:.2}x", secs / k));
        println!(
            "{:<9} {:<22} {:>9.3} {:>9.1} {:>10.0} {:>9.1} {:>9} {:>8}",
            r.scenario,
            r.tool,
            secs,
            r.bytes as f64 / 1e6 / secs,
            r.files as f64 / secs,
            r.rss_kb as f64 / 1024.0,
            r.findings,
            ratio
        );
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not: then only check it runs.
    if !std::env::args().any(|a| a == "--bench") {
        println!("benchmark harness: run it with `cargo bench --bench harness`");
        return;
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_keysweep"));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-corpus");
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want = |s: &str| {
        if args.is_empty() {
            s != "huge"
        } else {
            args.iter().any(|a| a == s)
        }
    };
    let runs: usize = std::env::var("KEYSWEEP_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    println!(
        "keysweep bench: binary {}, {} runs per measurement (median wall, max peak RSS)",
        bin.display(),
        runs
    );
    println!(
        "machine: {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut rows = Vec::new();
    let ks = |args: &[&OsStr]| {
        let mut c = Command::new(&bin);
        c.args(args);
        c
    };

    if want("source") {
        let src = dirs_cargo_src();
        let (bytes, files) = dir_size(&src);
        println!(
            "source: {} ({:.0} MB, {files} files)",
            src.display(),
            bytes as f64 / 1e6
        );
        let (wall, rss, m) = median_run(runs, || {
            ks(&[
                "scan".as_ref(),
                src.as_os_str(),
                "-f".as_ref(),
                "json".as_ref(),
                "--no-config".as_ref(),
                "--no-ignore".as_ref(),
            ])
        });
        rows.push(Row {
            scenario: "source".into(),
            tool: "keysweep scan".into(),
            wall,
            bytes,
            files,
            rss_kb: rss,
            findings: findings_of(&m.stdout),
        });
        peers(&mut rows, "source", &src, bytes, files, runs);
    }
    if want("logs") {
        let dir = root.join("logs");
        make_logs(&dir);
        let (bytes, files) = dir_size(&dir);
        let (wall, rss, m) = median_run(runs, || {
            ks(&[
                "scan".as_ref(),
                dir.as_os_str(),
                "-f".as_ref(),
                "json".as_ref(),
                "--no-config".as_ref(),
            ])
        });
        rows.push(Row {
            scenario: "logs".into(),
            tool: "keysweep scan".into(),
            wall,
            bytes,
            files,
            rss_kb: rss,
            findings: findings_of(&m.stdout),
        });
        peers(&mut rows, "logs", &dir, bytes, files, runs);
    }
    let has = |sub: &str| {
        Command::new(&bin)
            .args([sub, "--help"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if want("redact") && has("redact") {
        let dir = root.join("logs");
        make_logs(&dir);
        let input = dir.join("app-0.log");
        let bytes = fs::metadata(&input).unwrap().len();
        let out = root.join("redacted.log");
        let (wall, rss, m) = median_run(runs, || {
            ks(&[
                "redact".as_ref(),
                input.as_os_str(),
                "-o".as_ref(),
                out.as_os_str(),
            ])
        });
        rows.push(Row {
            scenario: "redact".into(),
            tool: "keysweep redact".into(),
            wall,
            bytes,
            files: 1,
            rss_kb: rss,
            findings: format!("exit {}", m.status),
        });
    }
    if want("git") && has("git") {
        let dir = root.join("git-20k");
        make_git_repo(&dir, 20_000);
        let (wall, rss, m) = median_run(runs, || {
            ks(&[
                "git".as_ref(),
                dir.as_os_str(),
                "-f".as_ref(),
                "json".as_ref(),
                "--no-config".as_ref(),
            ])
        });
        let pack_bytes = dir_size(&dir.join(".git/objects")).0;
        rows.push(Row {
            scenario: "git".into(),
            tool: "keysweep git (20k)".into(),
            wall,
            bytes: pack_bytes,
            files: 20_000,
            rss_kb: rss,
            findings: findings_of(&m.stdout),
        });
        let (wall, rss, _) = median_run(runs, || {
            let mut c = Command::new("git");
            c.args([
                "-C".as_ref(),
                dir.as_os_str(),
                "cat-file".as_ref(),
                "--batch-all-objects".as_ref(),
                "--batch".as_ref(),
            ]);
            c
        });
        rows.push(Row {
            scenario: "git".into(),
            tool: "git cat-file --batch-all".into(),
            wall,
            bytes: pack_bytes,
            files: 20_000,
            rss_kb: rss,
            findings: "-".into(),
        });
        git_peers(&mut rows, &dir, pack_bytes, runs);
    }
    if want("staged") && has("git") {
        let dir = root.join("staged");
        make_staged_repo(&dir);
        let (wall, rss, m) = median_run(runs.max(10), || {
            let mut c = ks(&[
                "git".as_ref(),
                "--staged".as_ref(),
                "-f".as_ref(),
                "json".as_ref(),
            ]);
            c.current_dir(&dir);
            c
        });
        rows.push(Row {
            scenario: "staged".into(),
            tool: "keysweep git --staged".into(),
            wall,
            bytes: 0,
            files: 10,
            rss_kb: rss,
            findings: findings_of(&m.stdout),
        });
        let (wall, rss, _) = median_run(runs.max(10), || ks(&["--version".as_ref()]));
        rows.push(Row {
            scenario: "startup".into(),
            tool: "keysweep --version".into(),
            wall,
            bytes: 0,
            files: 0,
            rss_kb: rss,
            findings: "-".into(),
        });
    }
    if want("dense") {
        let path = root.join("dense/keys.log");
        make_dense_log(&path);
        let bytes = fs::metadata(&path).unwrap().len();
        let report = root.join("dense/report.jsonl");
        let (wall, rss, _) = median_run(runs, || {
            ks(&[
                "scan".as_ref(),
                path.as_os_str(),
                "-f".as_ref(),
                "jsonl".as_ref(),
                "-o".as_ref(),
                report.as_os_str(),
                "--no-config".as_ref(),
            ])
        });
        let findings = fs::read_to_string(&report).map_or(0, |r| r.lines().count());
        rows.push(Row {
            scenario: "dense".into(),
            tool: "keysweep scan (jsonl)".into(),
            wall,
            bytes,
            files: 1,
            rss_kb: rss,
            findings: findings.to_string(),
        });
    }
    if want("huge") {
        let path = root.join("huge/one-line.json");
        make_huge_line(&path);
        let bytes = fs::metadata(&path).unwrap().len();
        let (wall, rss, m) = median_run(1, || {
            ks(&[
                "scan".as_ref(),
                path.as_os_str(),
                "-f".as_ref(),
                "json".as_ref(),
                "--no-config".as_ref(),
            ])
        });
        rows.push(Row {
            scenario: "huge".into(),
            tool: "keysweep scan (1 line)".into(),
            wall,
            bytes,
            files: 1,
            rss_kb: rss,
            findings: findings_of(&m.stdout),
        });
    }
    print_rows(&rows);
}

fn dirs_cargo_src() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    home.join("registry/src")
}

/// gitleaks's arguments for `mode` (`dir` or `git`) over `target`. The report goes to a file
/// in the temp directory, not `/dev/null`: on an error gitleaks deletes its report path, and as
/// root that removes the device node.
fn gitleaks_args(mode: &str, target: &Path) -> Vec<std::ffi::OsString> {
    let report = std::env::temp_dir().join("keysweep-bench-gitleaks.json");
    let mut args: Vec<std::ffi::OsString> = vec![mode.into(), target.into()];
    for a in ["--no-banner", "--report-format", "json", "--report-path"] {
        args.push(a.into());
    }
    args.push(report.into());
    args.push("--exit-code".into());
    args.push("0".into());
    args
}

/// Runs each installed peer of `candidates` and adds its row.
fn run_peers(
    rows: &mut Vec<Row>,
    scenario: &str,
    candidates: Vec<(&str, Vec<std::ffi::OsString>)>,
    (bytes, files, runs): (u64, u64, usize),
) {
    for (tool, args) in candidates {
        if !on_path(tool) {
            println!("{scenario}: {tool} not installed; skipped (bash benches/install-peers.sh; apt-get install ripgrep)");
            continue;
        }
        let (wall, rss, _) = median_run(runs, || {
            let mut c = Command::new(tool);
            c.args(&args);
            c
        });
        rows.push(Row {
            scenario: scenario.into(),
            tool: tool.into(),
            wall,
            bytes,
            files,
            rss_kb: rss,
            findings: "-".into(),
        });
    }
}

/// History peers, when installed: `gitleaks git` and kingfisher over the full history.
fn git_peers(rows: &mut Vec<Row>, dir: &Path, pack_bytes: u64, runs: usize) {
    let kingfisher = [
        "scan".as_ref(),
        dir.as_os_str(),
        "--no-update-check".as_ref(),
        "--git-history".as_ref(),
        "full".as_ref(),
    ];
    let candidates = vec![
        ("gitleaks", gitleaks_args("git", dir)),
        (
            "kingfisher",
            kingfisher
                .iter()
                .map(|&a: &&OsStr| a.to_os_string())
                .collect(),
        ),
    ];
    run_peers(rows, "git", candidates, (pack_bytes, 20_000, runs));
}

/// Peers, when installed: gitleaks, kingfisher, and ripgrep with one literal as a floor.
fn peers(rows: &mut Vec<Row>, scenario: &str, dir: &Path, bytes: u64, files: u64, runs: usize) {
    let d = dir.as_os_str();
    let owned = |args: &[&OsStr]| args.iter().map(|a| a.to_os_string()).collect();
    let candidates = vec![
        ("gitleaks", gitleaks_args("dir", dir)),
        (
            "kingfisher",
            owned(&["scan".as_ref(), d, "--no-update-check".as_ref()]),
        ),
        (
            "rg",
            owned(&[
                "-c".as_ref(),
                "--no-ignore".as_ref(),
                "-uu".as_ref(),
                "AKIA".as_ref(),
                d,
            ]),
        ),
    ];
    run_peers(rows, scenario, candidates, (bytes, files, runs));
}
