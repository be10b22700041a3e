//! The filesystem source: a parallel `ignore` walk that respects `.gitignore`/`.ignore` (unless
//! told not to), includes hidden files such as `.env` and shell history, never enters `.git/`,
//! does not follow symlinks unless asked, and applies `--exclude` globs and the config's path
//! allowlist. It yields the files to scan plus what it skipped and why.

use globset::{Glob, GlobSet, GlobSetBuilder};
use ignore::{WalkBuilder, WalkState};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Options for a walk.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Scan files that `.gitignore`/`.ignore` would hide.
    pub no_ignore: bool,
    /// Follow symbolic links (loops are detected and reported).
    pub follow_links: bool,
    /// Glob patterns of paths to skip.
    pub exclude: Vec<String>,
    /// Glob patterns from the config allowlist; matching files are skipped and counted.
    pub allow_paths: Vec<String>,
    /// Skip files larger than this many bytes.
    pub max_file_size: Option<u64>,
    /// Threads for walking.
    pub threads: usize,
    /// Files never scanned: the config file and the rule files it loads, whose examples are
    /// fake keys by design. Compared by canonical path.
    pub skip_files: Vec<PathBuf>,
}

/// A file to scan.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// Where to open it.
    pub path: PathBuf,
    /// How to show it: as reached from the command-line argument, without a leading `./`.
    pub display: String,
    /// Size from the walk's metadata.
    pub size: u64,
}

/// Something the walk could not use, with the reason.
#[derive(Debug, Clone)]
pub struct WalkWarning {
    /// The path involved (or the walk root).
    pub path: String,
    /// What went wrong.
    pub message: String,
    /// Whether content may have been missed (makes the scan incomplete).
    pub incomplete: bool,
}

/// What the walk found.
#[derive(Debug, Default)]
pub struct WalkResult {
    /// Files to scan, sorted by display path.
    pub files: Vec<FileEntry>,
    /// Files skipped by `--max-file-size`.
    pub skipped_too_large: u64,
    /// Files skipped by the config's path allowlist.
    pub skipped_allowlisted: u64,
    /// FIFOs, sockets, devices: never opened.
    pub skipped_special: u64,
    /// Symbolic links not followed (without `--follow`).
    pub skipped_symlinks: u64,
    /// Problems met on the way.
    pub warnings: Vec<WalkWarning>,
}

/// Errors that stop a walk before it starts.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    /// A glob from `--exclude` or the allowlist is malformed.
    #[error("invalid glob `{glob}`: {message}")]
    BadGlob {
        /// The glob.
        glob: String,
        /// What is wrong.
        message: String,
    },
    /// A path given on the command line does not exist.
    #[error("{0}: no such file or directory")]
    Missing(String),
}

/// True when `path`, named on the command line, is a stream to read once rather than a file
/// to walk: a named FIFO, or a process substitution (`<(cmd)`, a `/dev/fd/N` link to a pipe).
/// FIFOs met during a walk are still skipped: nobody asked for them, and one may never end.
pub fn is_stream(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo())
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Display form of a path: lossy UTF-8 without a leading `./`.
pub fn display_path(path: &Path) -> String {
    let s = path.to_string_lossy();
    let s = s.strip_prefix("./").unwrap_or(&s);
    s.to_string()
}

fn globset(globs: &[String]) -> Result<GlobSet, WalkError> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        let glob = Glob::new(g).map_err(|e| WalkError::BadGlob {
            glob: g.clone(),
            message: e.kind().to_string(),
        })?;
        b.add(glob);
    }
    b.build().map_err(|e| WalkError::BadGlob {
        glob: globs.join(","),
        message: e.to_string(),
    })
}

/// Walks `roots` and returns the files to scan.
pub fn walk(roots: &[PathBuf], opts: &WalkOptions) -> Result<WalkResult, WalkError> {
    let allow = globset(&opts.allow_paths)?;
    let exclude = globset(&opts.exclude)?;
    for r in roots {
        if std::fs::symlink_metadata(r).is_err() {
            return Err(WalkError::Missing(r.display().to_string()));
        }
    }
    let skip: Vec<PathBuf> = opts
        .skip_files
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .collect();
    let out = Mutex::new(WalkResult::default());
    for root in roots {
        let mut builder = WalkBuilder::new(root);
        builder
            .hidden(false)
            .git_ignore(!opts.no_ignore)
            .git_global(!opts.no_ignore)
            .git_exclude(!opts.no_ignore)
            .ignore(!opts.no_ignore)
            .parents(!opts.no_ignore)
            .require_git(false)
            .follow_links(opts.follow_links)
            .threads(opts.threads.max(1))
            .filter_entry(|e| e.file_name() != ".git");
        let root_is_dir = root.is_dir();
        builder.build_parallel().run(|| {
            let out = &out;
            let allow = &allow;
            let exclude = &exclude;
            let skip = &skip;
            Box::new(move |entry| {
                let entry = match entry {
                    Ok(e) => e,
                    Err(err) => {
                        let (path, message, link) = describe_walk_error(&err);
                        let mut o = out.lock().unwrap();
                        // A loop or a broken link holds no content: named, counted as a
                        // skipped link, and the scan stays complete.
                        let incomplete = !link;
                        if link {
                            o.skipped_symlinks += 1;
                        }
                        o.warnings.push(WalkWarning {
                            path,
                            message,
                            incomplete,
                        });
                        return WalkState::Continue;
                    }
                };
                let Some(ft) = entry.file_type() else {
                    return WalkState::Continue;
                };
                if ft.is_dir() {
                    return WalkState::Continue;
                }
                let path = entry.path();
                let display = display_path(path);
                let rel = if root_is_dir {
                    path.strip_prefix(root)
                        .map(display_path)
                        .unwrap_or_else(|_| display.clone())
                } else {
                    display.clone()
                };
                if exclude.is_match(&rel) || exclude.is_match(&display) {
                    return WalkState::Continue;
                }
                if is_skipped_file(skip, path) || allow.is_match(&rel) || allow.is_match(&display) {
                    out.lock().unwrap().skipped_allowlisted += 1;
                    return WalkState::Continue;
                }
                if ft.is_symlink() {
                    // Not following links: a link is not content, but it is counted.
                    out.lock().unwrap().skipped_symlinks += 1;
                    return WalkState::Continue;
                }
                if !ft.is_file() {
                    let mut o = out.lock().unwrap();
                    o.skipped_special += 1;
                    o.warnings.push(WalkWarning {
                        path: display,
                        message: "not a regular file (FIFO, socket or device); skipped".into(),
                        incomplete: false,
                    });
                    return WalkState::Continue;
                }
                let size = match entry.metadata() {
                    Ok(m) => m.len(),
                    Err(e) => {
                        out.lock().unwrap().warnings.push(WalkWarning {
                            path: display,
                            message: format!("cannot read metadata: {e}"),
                            incomplete: true,
                        });
                        return WalkState::Continue;
                    }
                };
                if let Some(max) = opts.max_file_size.filter(|&max| size > max) {
                    // Not scanned, so it may hold a key: named, and the scan is incomplete
                    // (a pre-commit hook must not pass a 200 MB file unread).
                    let mut o = out.lock().unwrap();
                    o.skipped_too_large += 1;
                    o.warnings.push(WalkWarning {
                        path: display,
                        message: format!(
                            "not scanned: {size} bytes is over --max-file-size ({max}); \
                             the scan is incomplete (big files are streamed without the flag)"
                        ),
                        incomplete: true,
                    });
                    return WalkState::Continue;
                }
                out.lock().unwrap().files.push(FileEntry {
                    path: path.to_path_buf(),
                    display,
                    size,
                });
                WalkState::Continue
            })
        });
    }
    let mut result = out.into_inner().unwrap();
    result.files.sort_by(|a, b| a.display.cmp(&b.display));
    result.files.dedup_by(|a, b| a.path == b.path);
    result.warnings.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(result)
}

/// True when `path` is one of `skip` (canonical paths); only canonicalises on a name match.
fn is_skipped_file(skip: &[PathBuf], path: &Path) -> bool {
    let Some(name) = path.file_name() else {
        return false;
    };
    skip.iter().any(|s| s.file_name() == Some(name))
        && path.canonicalize().is_ok_and(|c| skip.contains(&c))
}

/// The path, the message, and whether the problem is a link that leads nowhere (a loop or a
/// missing target) rather than content that could not be read.
fn describe_walk_error(err: &ignore::Error) -> (String, String, bool) {
    match err {
        ignore::Error::WithPath { path, err } => {
            let (_, message, link) = describe_walk_error(err);
            let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink());
            let io_kind = err.io_error().map(|e| (e.kind(), e.raw_os_error()));
            match io_kind {
                Some((std::io::ErrorKind::NotFound, _)) if is_link => (
                    display_path(path),
                    "broken symbolic link (its target does not exist); skipped".into(),
                    true,
                ),
                Some((_, Some(libc_eloop))) if is_link && libc_eloop == ELOOP => (
                    display_path(path),
                    "symbolic link loop (too many levels of links); skipped".into(),
                    true,
                ),
                _ => (display_path(path), message, link),
            }
        }
        ignore::Error::WithDepth { err, .. } => describe_walk_error(err),
        ignore::Error::Loop { child, ancestor } => (
            display_path(child),
            format!(
                "symbolic link loop back to {}; not followed again",
                display_path(ancestor)
            ),
            true,
        ),
        other => ("-".to_string(), other.to_string(), false),
    }
}

/// `ELOOP` on Linux and the BSDs/macOS: too many levels of symbolic links.
#[cfg(any(target_os = "linux", target_os = "android"))]
const ELOOP: i32 = 40;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const ELOOP: i32 = 62;
