//! Known findings that are not reported: baseline files and `.keysweepignore`.
//!
//! * A **baseline** is the set of findings accepted when an existing repository adopts
//!   keysweep. It is TOML with one entry per line, sorted, with no timestamps, line numbers or
//!   commit ids — so two branches that each add entries merge without conflicts — and never the
//!   raw secret: an entry is a [fingerprint](crate::finding::fingerprint) (a hash of rule id and
//!   secret), the rule id and the path where it was first recorded. A finding matches an entry
//!   by fingerprint alone, so moving the line, renaming the file, rebasing or squashing does not
//!   bring it back.
//! * **`.keysweepignore`** at the scan root: one fingerprint (64 hex digits) or path glob per
//!   line, `#` comments (whole lines, or after whitespace at the end of a line).
//!
//! Both only filter findings after the scan; the counts of what they suppressed go into
//! [`ScanStats::suppressed_baseline`](crate::scan::ScanStats::suppressed_baseline).

use crate::finding::Finding;
use crate::scan::{ScanOutcome, Warning};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The file name looked for at the scan root.
pub const IGNORE_FILE: &str = ".keysweepignore";

/// Version of the baseline file layout.
pub const BASELINE_VERSION: u32 = 1;

/// Errors reading a baseline or ignore file.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is malformed.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    /// Where it was when the baseline was made (informational; matching ignores it).
    pub path: String,
    /// The rule that found it.
    pub rule: String,
    /// `sha256(rule id + "\0" + secret)`, lowercase hex.
    pub fingerprint: String,
}

/// A baseline file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    /// Sorted by path, rule, fingerprint; no duplicates.
    pub entries: Vec<BaselineEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    version: u32,
    #[serde(default)]
    entries: Vec<BaselineEntry>,
}

impl Baseline {
    /// A baseline accepting every finding given.
    pub fn from_findings(findings: &[Finding]) -> Self {
        let set: BTreeSet<BaselineEntry> = findings
            .iter()
            .map(|f| BaselineEntry {
                path: f.provenance.path.clone(),
                rule: f.rule_id.clone(),
                fingerprint: f.fingerprint.clone(),
            })
            .collect();
        Baseline {
            entries: set.into_iter().collect(),
        }
    }

    /// Parses baseline text; `name` is used in errors.
    pub fn parse(text: &str, name: &str) -> Result<Self, BaselineError> {
        let err = |message: String| BaselineError::Parse {
            path: name.to_string(),
            message,
        };
        let file: BaselineFile = toml::from_str(text).map_err(|e| {
            err(format!(
                "not a keysweep baseline: {}",
                crate::sanitize::toml_error(&e, text)
            ))
        })?;
        if file.version != BASELINE_VERSION {
            return Err(err(format!(
                "baseline version {} is not supported (this keysweep reads version {})",
                file.version, BASELINE_VERSION
            )));
        }
        for e in &file.entries {
            if !is_fingerprint(&e.fingerprint) {
                return Err(err(format!(
                    "`{}` is not a fingerprint (64 lowercase hex digits){}",
                    shown_value(&e.fingerprint),
                    if e.fingerprint.len() >= 16 {
                        "; was a secret pasted instead of its fingerprint?"
                    } else {
                        ""
                    }
                )));
            }
        }
        let set: BTreeSet<BaselineEntry> = file.entries.into_iter().collect();
        Ok(Baseline {
            entries: set.into_iter().collect(),
        })
    }

    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Self, BaselineError> {
        let text = crate::small_file::read_to_string(path, crate::small_file::MAX_SMALL_FILE)
            .map_err(|source| BaselineError::Read {
                path: path.display().to_string(),
                source,
            })?;
        Baseline::parse(&text, &path.display().to_string())
    }

    /// The file's text: deterministic, one entry per line.
    pub fn to_text(&self) -> String {
        let mut s = String::from(
            "# keysweep baseline: findings accepted when this file was made. Scans run with\n\
             # `--baseline FILE` do not report them. One entry per line, sorted, no timestamps,\n\
             # so branches that add entries merge cleanly. Matching is by fingerprint (a hash of\n\
             # rule id and secret; the secret itself is not stored); `path` is where it was.\n\
             # Update: keysweep baseline create -o FILE    List stale: keysweep baseline check FILE\n",
        );
        let _ = writeln!(s, "version = {BASELINE_VERSION}");
        s.push_str("entries = [\n");
        for e in &self.entries {
            let _ = writeln!(
                s,
                "  {{ fingerprint = {}, rule = {}, path = {} }},",
                toml_str(&e.fingerprint),
                toml_str(&e.rule),
                toml_str(&e.path)
            );
        }
        s.push_str("]\n");
        s
    }

    /// The set of fingerprints.
    pub fn fingerprints(&self) -> HashSet<&str> {
        self.entries
            .iter()
            .map(|e| e.fingerprint.as_str())
            .collect()
    }

    /// Entries whose fingerprint no findings have (the secret is gone).
    pub fn stale<'a>(&'a self, findings: &[Finding]) -> Vec<&'a BaselineEntry> {
        let found: HashSet<&str> = findings.iter().map(|f| f.fingerprint.as_str()).collect();
        self.entries
            .iter()
            .filter(|e| !found.contains(e.fingerprint.as_str()))
            .collect()
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// How a bad baseline value is shown in an error: in full when short, else a redacted preview
/// (people paste the secret itself where its fingerprint belongs).
fn shown_value(v: &str) -> String {
    if v.len() < 16 {
        crate::sanitize::escape(v)
    } else {
        crate::sanitize::escape(&crate::finding::Secret::new(v.as_bytes()).redacted())
    }
}

/// True for 64 lowercase hex digits.
pub fn is_fingerprint(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A parsed `.keysweepignore`.
#[derive(Debug, Clone)]
pub struct IgnoreFile {
    /// Where it was read from.
    pub path: PathBuf,
    fingerprints: HashSet<String>,
    globs: GlobSet,
    glob_count: usize,
    /// The glob lines as written, with their line numbers, to catch a pasted secret.
    glob_lines: Vec<(usize, String)>,
}

impl IgnoreFile {
    /// Parses ignore-file text. Globs follow `.gitignore` habits: `name` matches at any depth,
    /// a pattern with a `/` is anchored at the root, a trailing `/` means a directory, `*`
    /// stays within one path component and `**` crosses them.
    pub fn parse(text: &str, path: &Path) -> Result<Self, BaselineError> {
        let mut fingerprints = HashSet::new();
        let mut builder = GlobSetBuilder::new();
        let mut glob_count = 0;
        let mut glob_lines = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            let lower = line.to_ascii_lowercase();
            if is_fingerprint(&lower) {
                fingerprints.insert(lower);
                continue;
            }
            for pattern in glob_patterns(line) {
                let glob = GlobBuilder::new(&pattern)
                    .literal_separator(true)
                    .build()
                    .map_err(|e| BaselineError::Parse {
                        path: path.display().to_string(),
                        message: format!("line {}: invalid glob `{line}`: {}", n + 1, e.kind()),
                    })?;
                builder.add(glob);
            }
            glob_count += 1;
            glob_lines.push((n + 1, line.to_string()));
        }
        let globs = builder.build().map_err(|e| BaselineError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(IgnoreFile {
            path: path.to_path_buf(),
            fingerprints,
            globs,
            glob_count,
            glob_lines,
        })
    }

    /// Reads `dir/.keysweepignore` when it exists.
    pub fn discover(dir: &Path) -> Result<Option<Self>, BaselineError> {
        let path = dir.join(IGNORE_FILE);
        match crate::small_file::read_to_string(&path, crate::small_file::MAX_SMALL_FILE) {
            Ok(text) => IgnoreFile::parse(&text, &path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(BaselineError::Read {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Warnings for lines that hold a secret instead of a fingerprint or a path: such a line
    /// is matched as a path glob, so it suppresses nothing, and the key now sits in the file.
    /// The warning names the line and the rule, never the value.
    pub fn secrets_pasted_in(&self, engine: &crate::engine::Engine) -> Vec<Warning> {
        let mut scratch = engine.scratch();
        let mut warnings = Vec::new();
        for (n, line) in &self.glob_lines {
            if let Some(m) = engine.scan(line.as_bytes(), &mut scratch).first() {
                warnings.push(Warning {
                    path: self.path.display().to_string(),
                    message: format!(
                        "line {n} holds a {} key, not a fingerprint or a path, so it ignores \
                         nothing; list the finding's fingerprint instead, remove the line and \
                         rotate the key",
                        engine.rules()[m.rule as usize].id
                    ),
                });
            }
        }
        warnings
    }

    /// Number of fingerprints and globs.
    pub fn len(&self) -> usize {
        self.fingerprints.len() + self.glob_count
    }

    /// True when the file has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when the finding's fingerprint is listed or its path (relative to the root)
    /// matches a glob.
    pub fn matches(&self, fingerprint: &str, rel_path: &str) -> bool {
        self.fingerprints.contains(fingerprint) || self.globs.is_match(rel_path)
    }
}

fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    let b = line.as_bytes();
    for i in 1..b.len() {
        if b[i] == b'#' && b[i - 1].is_ascii_whitespace() {
            return &line[..i];
        }
    }
    line
}

fn glob_patterns(line: &str) -> Vec<String> {
    let (dir_only, p) = match line.strip_suffix('/') {
        Some(p) => (true, p),
        None => (false, line),
    };
    let anchored = p.starts_with('/') || p.contains('/');
    let p = p.trim_start_matches('/');
    let base = if anchored || p.starts_with("**") {
        p.to_string()
    } else {
        format!("**/{p}")
    };
    if dir_only {
        vec![format!("{base}/**")]
    } else {
        vec![base.clone(), format!("{base}/**")]
    }
}

/// What filters findings after a scan.
#[derive(Debug, Default)]
pub struct Suppressions {
    /// `--baseline FILE`.
    pub baseline: Option<Baseline>,
    /// `.keysweepignore` at the root.
    pub ignore: Option<IgnoreFile>,
    /// Prefix (the scan root as shown in paths, with a trailing `/`) removed from finding paths
    /// before matching ignore globs.
    pub strip_prefix: Option<String>,
}

impl Suppressions {
    /// Removes suppressed findings from `outcome` and counts them.
    pub fn apply(&self, outcome: &mut ScanOutcome) {
        let baseline = self.baseline.as_ref().map(Baseline::fingerprints);
        let before = outcome.findings.len();
        outcome.findings.retain(|f| {
            if baseline
                .as_ref()
                .is_some_and(|b| b.contains(f.fingerprint.as_str()))
            {
                return false;
            }
            if let Some(ig) = &self.ignore {
                let p = f.provenance.path.as_str();
                let rel = self
                    .strip_prefix
                    .as_deref()
                    .and_then(|pre| p.strip_prefix(pre))
                    .unwrap_or(p);
                if ig.matches(&f.fingerprint, rel) {
                    return false;
                }
            }
            true
        });
        outcome.stats.suppressed_baseline += (before - outcome.findings.len()) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "3f1c0e0d9b1b2a4e5f60718293a4b5c6d7e8f90112233445566778899aabbccd";

    #[test]
    fn baseline_text_round_trips_sorted() {
        let b = Baseline {
            entries: vec![
                BaselineEntry {
                    path: "z \"quoted\".txt".into(),
                    rule: "github-pat".into(),
                    fingerprint: FP.into(),
                },
                BaselineEntry {
                    path: "a.txt".into(),
                    rule: "github-pat".into(),
                    fingerprint: FP.into(),
                },
            ],
        };
        let parsed = Baseline::parse(&b.to_text(), "b").unwrap();
        assert_eq!(parsed.entries[0].path, "a.txt");
        assert_eq!(parsed.entries[1].path, "z \"quoted\".txt");
        assert_eq!(
            parsed.to_text(),
            Baseline::parse(&parsed.to_text(), "b").unwrap().to_text()
        );
        for line in parsed
            .to_text()
            .lines()
            .filter(|l| l.contains("fingerprint ="))
        {
            assert!(
                line.ends_with("},"),
                "one self-contained entry per line: {line}"
            );
        }
    }

    #[test]
    fn baseline_rejects_bad_input() {
        assert!(Baseline::parse("version = 2\nentries = []\n", "b").is_err());
        assert!(Baseline::parse(
            "version = 1\nentries = [{ fingerprint = \"abc\", rule = \"r\", path = \"p\" }]\n",
            "b"
        )
        .is_err());
        assert!(Baseline::parse("not toml", "b").is_err());
        assert!(Baseline::parse("version = 1\n", "b")
            .unwrap()
            .entries
            .is_empty());
    }

    #[test]
    fn ignore_file_fingerprints_and_globs() {
        let text = format!(
            "# comment\n{}  # github-pat in a.txt\nfixtures/\n*.lock\n/top.env\ndocs/**/*.md\n",
            FP.to_uppercase()
        );
        let ig = IgnoreFile::parse(&text, Path::new(".keysweepignore")).unwrap();
        assert_eq!(ig.len(), 5);
        assert!(ig.matches(FP, "src/a.txt"));
        assert!(ig.matches("x", "fixtures/keys/a.pem"));
        assert!(ig.matches("x", "sub/fixtures/a"));
        assert!(ig.matches("x", "deep/Cargo.lock"));
        assert!(ig.matches("x", "top.env"));
        assert!(!ig.matches("x", "sub/top.env"));
        assert!(ig.matches("x", "docs/a/b/c.md"));
        assert!(!ig.matches("x", "src/main.rs"));
        assert!(!ig.matches("x", "fixtures"));
        assert!(IgnoreFile::parse("a[\n", Path::new("i")).is_err());
    }
}
