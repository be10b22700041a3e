//! Helpers for integration tests: temporary git repositories driven by the git CLI, isolated
//! from the user's git configuration, and format-valid fake GitHub tokens.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A fake, checksum-valid GitHub classic token derived from `seed` (the same seed always gives
/// the same token; different seeds give different ones).
pub fn fake_token(seed: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut state: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        state = (state ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    let mut body = String::new();
    while body.len() < 30 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let c = ALPHABET[((state >> 33) % 62) as usize] as char;
        // Stay clear of the placeholder filter's runs and sequences.
        if body.ends_with(c) {
            continue;
        }
        body.push(c);
    }
    let crc = crc32fast::hash(body.as_bytes());
    let check = keysweep::engine::validators::base62_6(crc);
    format!("ghp_{body}{}", std::str::from_utf8(&check).unwrap())
}

/// Environment that keeps git away from the user's and system's configuration.
pub const GIT_ENV: &[(&str, &str)] = &[
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_AUTHOR_NAME", "Ada Tester"),
    ("GIT_AUTHOR_EMAIL", "ada@example.test"),
    ("GIT_COMMITTER_NAME", "Ada Tester"),
    ("GIT_COMMITTER_EMAIL", "ada@example.test"),
];

/// Variables a surrounding git hook could leak into the tests.
pub const GIT_ENV_REMOVE: &[&str] = &["GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE", "GIT_PREFIX"];

/// A temporary repository.
pub struct Repo {
    pub dir: TempDir,
    /// Seconds added to the fixed base date for each commit, so dates are deterministic.
    clock: std::cell::Cell<i64>,
}

pub const BASE_DATE: i64 = 1_700_000_000;

impl Repo {
    /// `git init` on branch `main`.
    pub fn new() -> Repo {
        let r = Repo::empty_dir();
        r.git(&["init", "-q", "-b", "main"]);
        r
    }

    /// A temp dir with no repository yet.
    pub fn empty_dir() -> Repo {
        Repo {
            dir: tempfile::tempdir().unwrap(),
            clock: std::cell::Cell::new(0),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs git here; panics with its output when it fails. Returns stdout, trimmed.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.git_cmd(args).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A git command with the isolated environment, not yet run.
    pub fn git_cmd(&self, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new("git");
        c.args(args).current_dir(self.path());
        for (k, v) in GIT_ENV {
            c.env(k, v);
        }
        for k in GIT_ENV_REMOVE {
            c.env_remove(k);
        }
        let t = (BASE_DATE + self.clock.get()).to_string() + " +0000";
        c.env("GIT_AUTHOR_DATE", &t).env("GIT_COMMITTER_DATE", &t);
        c
    }

    /// Writes a file (creating directories).
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    /// Stages everything and commits; returns the new commit id. Each commit is one hour later.
    pub fn commit_all(&self, msg: &str) -> String {
        self.git(&["add", "-A"]);
        self.commit(msg)
    }

    /// Commits what is staged.
    pub fn commit(&self, msg: &str) -> String {
        self.clock.set(self.clock.get() + 3600);
        self.git(&["commit", "-q", "--no-verify", "--allow-empty", "-m", msg]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// The keysweep binary, run in this repository.
    pub fn keysweep(&self) -> Command {
        let mut c = Command::cargo_bin("keysweep").unwrap();
        c.current_dir(self.path()).env("NO_COLOR", "1");
        for (k, v) in GIT_ENV {
            c.env(k, v);
        }
        for k in GIT_ENV_REMOVE {
            c.env_remove(k);
        }
        c
    }

    /// `keysweep ARGS --format json`: (exit code, report, stderr).
    pub fn json(&self, args: &[&str]) -> (i32, serde_json::Value, String) {
        let out = self
            .keysweep()
            .args(args)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (
            out.status.code().unwrap_or(-1),
            report,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// The findings array of a JSON report.
pub fn findings(report: &serde_json::Value) -> Vec<serde_json::Value> {
    report["findings"].as_array().unwrap().clone()
}

/// The directory holding the keysweep binary under test.
pub fn bin_dir() -> PathBuf {
    assert_cmd::cargo::cargo_bin("keysweep")
        .parent()
        .unwrap()
        .to_path_buf()
}
