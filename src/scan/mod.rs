//! Orchestration: runs the engine over every file of a walk (in parallel with `rayon`, one
//! [`Scratch`] and read buffer per worker) or over stdin, and gathers findings, counts and
//! per-file warnings. A file that cannot be read is a warning naming it; the scan goes on and
//! the outcome is marked incomplete.

pub mod blob;
pub mod decode;
pub mod git;

use crate::engine::{Engine, Scratch};
use crate::finding::{Finding, Provenance};
use crate::source::archive::{self, Limits};
use crate::source::fs::{FileEntry, WalkResult, WalkWarning};
use rayon::prelude::*;
use std::fs::File;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Counts for the summary line and the JSON `summary` object.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ScanStats {
    /// Commits walked by a history scan (0 for other sources).
    pub commits_scanned: u64,
    /// Files (or blobs) whose content was scanned.
    pub files_scanned: u64,
    /// Bytes scanned.
    pub bytes_scanned: u64,
    /// Binary files skipped.
    pub skipped_binary: u64,
    /// Files skipped by `--max-file-size`.
    pub skipped_too_large: u64,
    /// Files skipped by the config's path allowlist.
    pub skipped_allowlisted: u64,
    /// FIFOs, sockets and devices not opened.
    pub skipped_special: u64,
    /// Symbolic links not followed (without `--follow`).
    pub skipped_symlinks: u64,
    /// Matches suppressed by an inline `keysweep:allow`.
    pub suppressed_inline: u64,
    /// Findings suppressed by a baseline or `.keysweepignore`.
    pub suppressed_baseline: u64,
    /// Files that could not be read.
    pub errors: u64,
    /// Findings reported.
    pub findings: u64,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// A problem with one input that did not stop the scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The file, object or source involved.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// Everything a scan produced.
#[derive(Debug, Default)]
pub struct ScanOutcome {
    /// Findings, sorted by path, line, column, rule.
    pub findings: Vec<Finding>,
    /// Counts.
    pub stats: ScanStats,
    /// Per-input problems, in path order.
    pub warnings: Vec<Warning>,
    /// True when some input could not be scanned, so the result may miss secrets.
    pub incomplete: bool,
    /// What the opt-in network checks found (`--verify`, `--revocation-endpoint`).
    pub checks: Option<crate::verify::Summary>,
}

impl ScanOutcome {
    /// Sorts findings into report order.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (
                &a.provenance.path,
                a.location.line,
                a.location.column,
                &a.rule_id,
            )
                .cmp(&(
                    &b.provenance.path,
                    b.location.line,
                    b.location.column,
                    &b.rule_id,
                ))
        });
    }

    /// Folds in another outcome (several roots, or stdin plus files).
    pub fn merge(&mut self, other: ScanOutcome) {
        self.findings.extend(other.findings);
        self.warnings.extend(other.warnings);
        self.incomplete |= other.incomplete;
        let (a, b) = (&mut self.stats, other.stats);
        a.files_scanned += b.files_scanned;
        a.bytes_scanned += b.bytes_scanned;
        a.skipped_binary += b.skipped_binary;
        a.skipped_too_large += b.skipped_too_large;
        a.skipped_allowlisted += b.skipped_allowlisted;
        a.skipped_special += b.skipped_special;
        a.skipped_symlinks += b.skipped_symlinks;
        a.suppressed_inline += b.suppressed_inline;
        a.errors += b.errors;
        a.commits_scanned += b.commits_scanned;
        a.suppressed_baseline += b.suppressed_baseline;
    }
}

/// Knobs for scanning blobs.
#[derive(Debug, Clone)]
pub struct BlobOptions {
    /// Skip blobs whose first 8 KiB contain a NUL byte.
    pub skip_binary: bool,
    /// Chunk size for streaming reads.
    pub chunk: usize,
    /// How deep and how far compressed and bundled inputs are opened.
    pub archive: Limits,
}

impl Default for BlobOptions {
    fn default() -> Self {
        BlobOptions {
            skip_binary: true,
            chunk: blob::DEFAULT_CHUNK,
            archive: Limits::default(),
        }
    }
}

/// Live counters a progress display can read while a scan runs.
#[derive(Debug, Default)]
pub struct Progress {
    /// Files finished.
    pub files: AtomicU64,
    /// Bytes finished.
    pub bytes: AtomicU64,
}

/// Scans every file of a walk in parallel.
pub fn scan_files(
    engine: &Engine,
    walk: WalkResult,
    opts: &BlobOptions,
    progress: &Progress,
) -> ScanOutcome {
    let started = Instant::now();
    // A file holding more than a thread's share of all the bytes would leave the other cores
    // idle at the end: it is split across all threads instead.
    let threads = rayon::current_num_threads();
    let total: u64 = walk.files.iter().map(|f| f.size).sum();
    let pieces_for = |size: u64| {
        let big = size > 2 * opts.chunk as u64 && size.saturating_mul(threads as u64) > total;
        if big {
            threads
        } else {
            1
        }
    };
    let per_file: Vec<FileScan> = walk
        .files
        .par_iter()
        .map_init(
            || (engine.scratch(), Vec::new()),
            |(scratch, buf), entry| {
                let r = scan_file(engine, scratch, buf, entry, opts, pieces_for(entry.size));
                progress.files.fetch_add(1, Ordering::Relaxed);
                progress.bytes.fetch_add(entry.size, Ordering::Relaxed);
                r
            },
        )
        .collect();
    let mut outcome = ScanOutcome::default();
    outcome.stats.skipped_too_large = walk.skipped_too_large;
    outcome.stats.skipped_allowlisted = walk.skipped_allowlisted;
    outcome.stats.skipped_special = walk.skipped_special;
    outcome.stats.skipped_symlinks = walk.skipped_symlinks;
    for WalkWarning {
        path,
        message,
        incomplete,
    } in walk.warnings
    {
        outcome.incomplete |= incomplete;
        if incomplete {
            outcome.stats.errors += 1;
        }
        outcome.warnings.push(Warning { path, message });
    }
    for r in per_file {
        r.fold_into(&mut outcome);
    }
    outcome.stats.duration_ms = duration_ms(started.elapsed());
    outcome
}

/// Adds one blob's result to an outcome.
pub fn add_blob(outcome: &mut ScanOutcome, b: blob::BlobResult) {
    if b.binary {
        outcome.stats.skipped_binary += 1;
    } else {
        outcome.stats.files_scanned += 1;
    }
    outcome.stats.bytes_scanned += b.bytes;
    outcome.stats.suppressed_inline += b.suppressed_inline as u64;
    outcome.findings.extend(b.findings);
}

/// The thread count to use for `-j N`: at least 1, and at most four per core (64 at the
/// very most). Each scan thread may hold a chunk buffer of its own, so `-j 1000` on two cores
/// would ask for gigabytes and spend its time switching, not scanning.
pub fn clamp_threads(requested: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    requested.clamp(1, (cores * 4).min(64))
}

/// Milliseconds, saturating.
pub fn duration_ms(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

/// What scanning one input (a file, or stdin, with any archive members) produced.
#[derive(Debug, Default)]
struct FileScan {
    blobs: Vec<blob::BlobResult>,
    warnings: Vec<Warning>,
}

impl FileScan {
    fn fold_into(self, outcome: &mut ScanOutcome) {
        for b in self.blobs {
            add_blob(outcome, b);
        }
        if !self.warnings.is_empty() {
            outcome.stats.errors += 1;
            outcome.incomplete = true;
        }
        outcome.warnings.extend(self.warnings);
    }
}

/// Scans the plain streams an input expands to.
struct ScanSink<'a> {
    engine: &'a Engine,
    scratch: &'a mut Scratch,
    buf: &'a mut Vec<u8>,
    opts: &'a BlobOptions,
    /// Chunks scanned side by side per step (see [`blob::Chunking`]).
    pieces: usize,
    out: FileScan,
}

impl archive::Sink for ScanSink<'_> {
    fn plain(&mut self, path: &str, reader: &mut dyn Read) {
        match blob::scan_reader(
            self.engine,
            self.scratch,
            reader,
            &Provenance::file(path),
            self.opts.skip_binary,
            self.opts.chunk,
            self.pieces,
            self.buf,
        ) {
            Ok(b) => self.out.blobs.push(b),
            Err(e) => self.warning(path, format!("read error: {e}")),
        }
    }

    fn warning(&mut self, path: &str, message: String) {
        self.out.warnings.push(Warning {
            path: path.to_string(),
            message,
        });
    }
}

fn scan_file(
    engine: &Engine,
    scratch: &mut Scratch,
    buf: &mut Vec<u8>,
    entry: &FileEntry,
    opts: &BlobOptions,
    pieces: usize,
) -> FileScan {
    let mut sink = ScanSink {
        engine,
        scratch,
        buf,
        opts,
        pieces,
        out: FileScan::default(),
    };
    match File::open(&entry.path) {
        Ok(file) => archive::expand_file(file, &entry.display, &opts.archive, &mut sink),
        Err(e) => archive::Sink::warning(&mut sink, &entry.display, format!("cannot open: {e}")),
    }
    sink.out
}

/// Opens `path` (a FIFO or process substitution named on the command line) and scans it as
/// one stream; a failure to open it is a warning and makes the outcome incomplete.
pub fn scan_path_stream(
    engine: &Engine,
    path: &std::path::Path,
    name: &str,
    opts: &BlobOptions,
) -> ScanOutcome {
    match File::open(path) {
        Ok(f) => scan_stream(engine, f, name, opts),
        Err(e) => {
            let mut outcome = ScanOutcome::default();
            FileScan {
                blobs: Vec::new(),
                warnings: vec![Warning {
                    path: name.to_string(),
                    message: format!("cannot open: {e}"),
                }],
            }
            .fold_into(&mut outcome);
            outcome
        }
    }
}

/// Scans any reader (stdin) as one input named `name`; compressed and bundled input is expanded.
pub fn scan_stream<R: Read>(
    engine: &Engine,
    reader: R,
    name: &str,
    opts: &BlobOptions,
) -> ScanOutcome {
    let started = Instant::now();
    let mut scratch = engine.scratch();
    let mut buf = Vec::new();
    let mut outcome = ScanOutcome::default();
    let mut sink = ScanSink {
        engine,
        scratch: &mut scratch,
        buf: &mut buf,
        opts,
        // One input: every thread can help.
        pieces: rayon::current_num_threads(),
        out: FileScan::default(),
    };
    archive::expand_reader(reader, name, &opts.archive, &mut sink);
    sink.out.fold_into(&mut outcome);
    outcome.stats.duration_ms = duration_ms(started.elapsed());
    outcome
}
