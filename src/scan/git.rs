//! Scanning the blobs a [`crate::source::git`] plan lists, in parallel. libgit2's `Repository`
//! is `Send` but not `Sync`, so every rayon worker opens its own handle (and keeps its own
//! [`Scratch`](crate::engine::Scratch)). An object that cannot be read is a warning naming it;
//! the scan goes on and the outcome is marked incomplete.

use super::{add_blob, blob, duration_ms, Progress, ScanOutcome, Warning};
use crate::engine::Engine;
use crate::finding::Provenance;
use crate::source::git::{GitNote, HistoryPlan, StagedPlan};
use git2::{Oid, Repository};
use globset::GlobSet;
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Knobs for git scans.
#[derive(Debug, Clone, Default)]
pub struct GitScanOptions {
    /// Skip blobs whose first 8 KiB contain a NUL byte.
    pub skip_binary: bool,
    /// Skip (with a warning) blobs larger than this; a git blob is read whole into memory.
    pub max_blob_size: Option<u64>,
    /// Paths never scanned (the config's path allowlist).
    pub allow_paths: Option<GlobSet>,
}

/// The default `--max-blob-size`: 64 MiB.
pub const DEFAULT_MAX_BLOB_SIZE: u64 = 64 << 20;

enum Read {
    Scanned(blob::BlobResult),
    TooLarge(u64),
    Failed(String),
}

/// Reads one blob through a worker's own repository handle and scans it.
fn read_and_scan(
    engine: &Engine,
    repo: &Result<Repository, String>,
    scratch: &mut crate::engine::Scratch,
    oid: Oid,
    provenance: &Provenance,
    opts: &GitScanOptions,
) -> Read {
    let repo = match repo {
        Ok(r) => r,
        Err(e) => return Read::Failed(format!("cannot open repository: {e}")),
    };
    let odb = match repo.odb() {
        Ok(o) => o,
        Err(e) => return Read::Failed(format!("cannot open object database: {}", e.message())),
    };
    if let Some(max) = opts.max_blob_size {
        match odb.read_header(oid) {
            Ok((size, _)) if size as u64 > max => return Read::TooLarge(size as u64),
            Ok(_) => {}
            Err(e) => return Read::Failed(format!("cannot read object: {}", e.message())),
        }
    }
    let read = match odb.read(oid) {
        Ok(obj) => Read::Scanned(blob::scan_bytes(
            engine,
            scratch,
            obj.data(),
            provenance,
            opts.skip_binary,
        )),
        Err(e) => Read::Failed(format!("cannot read object: {}", e.message())),
    };
    read
}

fn add_notes(outcome: &mut ScanOutcome, notes: Vec<GitNote>) {
    for n in notes {
        if n.incomplete {
            outcome.incomplete = true;
            outcome.stats.errors += 1;
        }
        outcome.warnings.push(Warning {
            path: n.subject,
            message: n.message,
        });
    }
}

fn fold(outcome: &mut ScanOutcome, read: Read, oid: Oid, path: &str) {
    match read {
        Read::Scanned(b) => add_blob(outcome, b),
        Read::TooLarge(size) => {
            // Not scanned, so it may hold a key: the scan is incomplete (exit 2), never a
            // silent pass for a pre-commit hook.
            outcome.stats.skipped_too_large += 1;
            outcome.stats.errors += 1;
            outcome.incomplete = true;
            outcome.warnings.push(Warning {
                path: path.to_string(),
                message: format!(
                    "blob {oid} not scanned: {size} bytes is over the --max-blob-size limit, \
                     so the scan is incomplete (raise the limit to scan such blobs)"
                ),
            });
        }
        Read::Failed(message) => {
            outcome.stats.errors += 1;
            outcome.incomplete = true;
            outcome.warnings.push(Warning {
                path: path.to_string(),
                message: format!("object {oid}: {message}"),
            });
        }
    }
}

/// Scans every blob of a history plan; `git_dir` is the repository's `.git` directory.
///
/// The same secret at the same path usually lives in many blobs (every later edit of the file
/// makes a new one); it is reported once, for the oldest commit that contained it there.
pub fn scan_history(
    engine: &Engine,
    git_dir: &Path,
    plan: HistoryPlan,
    opts: &GitScanOptions,
    progress: &Progress,
) -> ScanOutcome {
    let started = Instant::now();
    let mut outcome = ScanOutcome::default();
    outcome.stats.commits_scanned = plan.commits.len() as u64;
    add_notes(&mut outcome, plan.notes);
    let commits = plan.commits;
    let messages = plan.messages;
    // The path allowlist was applied per path by the planner.
    outcome.stats.skipped_allowlisted += plan.skipped_allowlisted;
    let mut blobs = plan.blobs;
    // Older versions (from outside the selection) come first: what they hold is not new.
    let base_count = plan.base_blobs.len();
    let mut all = plan.base_blobs;
    all.append(&mut blobs);
    let results: Vec<Read> = all
        .par_iter()
        .map_init(
            || {
                (
                    Repository::open(git_dir).map_err(|e| e.message().to_string()),
                    engine.scratch(),
                )
            },
            |(repo, scratch), b| {
                let provenance = Provenance {
                    path: b.path.clone(),
                    commit: commits.get(b.commit).cloned(),
                };
                let r = read_and_scan(engine, repo, scratch, b.oid, &provenance, opts);
                progress.files.fetch_add(1, Ordering::Relaxed);
                if let Read::Scanned(s) = &r {
                    progress.bytes.fetch_add(s.bytes, Ordering::Relaxed);
                }
                r
            },
        )
        .collect();
    // Blobs are in the order their commits were walked, oldest first.
    let mut first_commit: HashMap<(String, String), usize> = HashMap::new();
    let mut results = results.into_iter();
    for (b, r) in all[..base_count].iter().zip(results.by_ref()) {
        if let Read::Scanned(s) = r {
            for f in s.findings {
                first_commit.insert((f.fingerprint, b.path.clone()), usize::MAX);
            }
        }
    }
    for (b, r) in all[base_count..].iter().zip(results) {
        let r = match r {
            Read::Scanned(mut s) => {
                s.findings.retain(|f| {
                    let key = (f.fingerprint.clone(), b.path.clone());
                    *first_commit.entry(key).or_insert(b.commit) == b.commit
                });
                Read::Scanned(s)
            }
            other => other,
        };
        fold(&mut outcome, r, b.oid, &b.path);
    }
    scan_messages(engine, &commits, &messages, &mut outcome);
    mask_commit_metadata(&mut outcome);
    outcome.stats.duration_ms = duration_ms(started.elapsed());
    outcome
}

/// The path reported for a finding in a commit message.
pub const COMMIT_MESSAGE_PATH: &str = "(commit message)";

/// Scans every commit's message and signatures; a key is reported for the oldest commit whose
/// message holds it.
fn scan_messages(
    engine: &Engine,
    commits: &[crate::finding::CommitInfo],
    messages: &[Vec<u8>],
    outcome: &mut ScanOutcome,
) {
    let found: Vec<Vec<crate::finding::Finding>> = messages
        .par_iter()
        .zip(commits.par_iter())
        .map_init(
            || engine.scratch(),
            |scratch, (msg, info)| {
                let provenance = Provenance {
                    path: COMMIT_MESSAGE_PATH.to_string(),
                    commit: Some(info.clone()),
                };
                blob::scan_bytes(engine, scratch, msg, &provenance, false).findings
            },
        )
        .collect();
    let mut seen = std::collections::HashSet::new();
    for f in found.into_iter().flatten() {
        if seen.insert(f.fingerprint.clone()) {
            outcome.findings.push(f);
        }
    }
}

/// Replaces every detected secret that occurs in a finding's commit summary or author fields
/// by its redaction: commit metadata is printed in text, JSON and SARIF reports.
fn mask_commit_metadata(outcome: &mut ScanOutcome) {
    let mut secrets: Vec<Vec<u8>> = outcome
        .findings
        .iter()
        .map(|f| f.secret.expose().to_vec())
        .filter(|s| s.len() >= 8)
        .collect();
    secrets.sort_unstable();
    secrets.dedup();
    if secrets.is_empty() {
        return;
    }
    let Ok(ac) = aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .build(&secrets)
    else {
        return;
    };
    let mask = |s: &mut String| {
        if ac.is_match(s.as_bytes()) {
            let bytes = s.as_bytes();
            let mut out = Vec::with_capacity(bytes.len());
            let mut pos = 0;
            for hit in ac.find_iter(bytes) {
                out.extend_from_slice(&bytes[pos..hit.start()]);
                let secret = crate::finding::Secret::new(&bytes[hit.start()..hit.end()]);
                out.extend_from_slice(secret.redacted().as_bytes());
                pos = hit.end();
            }
            out.extend_from_slice(&bytes[pos..]);
            *s = String::from_utf8_lossy(&out).into_owned();
        }
    };
    for f in &mut outcome.findings {
        if let Some(c) = f.provenance.commit.as_mut() {
            mask(&mut c.summary);
            mask(&mut c.author_name);
            mask(&mut c.author_email);
        }
    }
}

/// Scans the staged blobs of a plan, keeping only findings on added lines.
pub fn scan_staged(
    engine: &Engine,
    git_dir: &Path,
    plan: StagedPlan,
    opts: &GitScanOptions,
) -> ScanOutcome {
    let started = Instant::now();
    let mut outcome = ScanOutcome::default();
    add_notes(&mut outcome, plan.notes);
    let mut files = plan.files;
    if let Some(allow) = &opts.allow_paths {
        let before = files.len();
        files.retain(|f| !allow.is_match(&f.path));
        outcome.stats.skipped_allowlisted += (before - files.len()) as u64;
    }
    let scan_one = |repo: &Result<Repository, String>,
                    scratch: &mut crate::engine::Scratch,
                    f: &crate::source::git::StagedFile| {
        let provenance = Provenance::file(f.path.clone());
        match read_and_scan(engine, repo, scratch, f.oid, &provenance, opts) {
            Read::Scanned(mut s) => {
                s.findings
                    .retain(|x| f.added.touches(x.location.line, x.location.end_line));
                Read::Scanned(s)
            }
            other => other,
        }
    };
    let open = || Repository::open(git_dir).map_err(|e| e.message().to_string());
    // A typical commit touches a few files: no threads for those.
    let results: Vec<Read> = if files.len() <= 8 {
        let repo = open();
        let mut scratch = engine.scratch();
        files
            .iter()
            .map(|f| scan_one(&repo, &mut scratch, f))
            .collect()
    } else {
        files
            .par_iter()
            .map_init(
                || (open(), engine.scratch()),
                |(repo, scratch), f| scan_one(repo, scratch, f),
            )
            .collect()
    };
    for (f, r) in files.iter().zip(results) {
        fold(&mut outcome, r, f.oid, &f.path);
    }
    outcome.stats.duration_ms = duration_ms(started.elapsed());
    outcome
}
