//! Shared helpers for the integration tests: a fresh temporary directory per test, a way to
//! write files into it, and the built `keysweep` binary.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// Fake GitHub tokens with valid CRC32 checksums, generated for these tests.
pub const GH1: &str = "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";
pub const GH2: &str = "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";
pub const GH3: &str = "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";
/// GH1 with its last character changed: the checksum fails.
pub const GH_BAD: &str = "ghp_Ky9Pf34qY6Nb3wWD25RQ4F5ZR3qa7y3gm1IM";

/// A temporary directory that lives as long as the test.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `content` at `rel`, creating parent directories.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p
    }

    /// `keysweep` with the working directory set to the sandbox.
    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("keysweep").unwrap();
        c.current_dir(self.dir.path());
        c.env_remove("NO_COLOR");
        c
    }
}

/// `keysweep` in the repository root (for fixtures).
pub fn keysweep() -> Command {
    Command::cargo_bin("keysweep").unwrap()
}

/// Runs `cmd` and parses its stdout as JSON, returning (json, exit code, stderr).
pub fn run_json(cmd: &mut Command) -> (serde_json::Value, i32, String) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (json, out.status.code().unwrap_or(-1), stderr)
}

/// `(rule_id, path, line)` of every finding in a JSON report.
pub fn triples(json: &serde_json::Value) -> Vec<(String, String, u64)> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}
