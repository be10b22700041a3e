//! Git sources: which blobs of a repository to scan, and where each one came from.
//!
//! * **History** ([`plan_history`]): walks the selected commits oldest first (parents before
//!   children) and visits each commit's tree, skipping every tree and blob already seen. So each
//!   unique blob is listed exactly once, attributed to the first commit and path that contained
//!   it — the commit that introduced it, even if a later commit deleted it. Unchanged subtrees
//!   are skipped by id, so the work is proportional to what changed, not to commits × files.
//!   When a selection leaves out a commit's parent (`A..B`, `--since`, `--max-commits`, a shallow
//!   boundary), the parent's tree is marked as seen first, so only what the selected commits
//!   introduced is listed.
//! * **Staged** ([`plan_staged`]): diffs the index against `HEAD` (the empty tree before the
//!   first commit) and lists each added or modified file's staged blob with the line numbers
//!   that were added, so only new lines are reported.
//!
//! This module only reads the repository; scanning the blobs is [`crate::scan::git`]'s job, and
//! nothing here prints.

use crate::finding::CommitInfo;
use git2::{Delta, DiffFindOptions, DiffOptions, FileMode, ObjectType, Oid, Repository, Sort};
use globset::GlobSet;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Which commits a history scan covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Selection {
    /// Every ref (branches, tags, remotes, stash, notes) and `HEAD`.
    #[default]
    AllRefs,
    /// One revision and its ancestors: a branch, tag or commit.
    Rev(String),
    /// `A..B` (commits reachable from B but not A) or `A...B` (either side, not both).
    Range(String),
}

/// Options for [`plan_history`].
#[derive(Debug, Clone, Default)]
pub struct HistoryOptions {
    /// Which commits.
    pub selection: Selection,
    /// Only commits whose committer date is at or after this Unix time.
    pub since: Option<i64>,
    /// At most this many commits, newest first (like `git log -n`).
    pub max_commits: Option<usize>,
    /// Paths never scanned (the config's path allowlist). Applied per path while walking, so
    /// a blob first met at an allowlisted path is still listed at the next path it appears at.
    pub allow_paths: Option<GlobSet>,
}

/// A problem or remark met while reading the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitNote {
    /// The object id or path involved.
    pub subject: String,
    /// What happened.
    pub message: String,
    /// Whether content may have been missed.
    pub incomplete: bool,
}

/// One blob to scan.
#[derive(Debug, Clone)]
pub struct PlannedBlob {
    /// The blob id.
    pub oid: Oid,
    /// Path of the blob in the commit that introduced it.
    pub path: String,
    /// Index into [`HistoryPlan::commits`]; lower is older.
    pub commit: usize,
}

/// What a history scan will read.
#[derive(Debug, Default)]
pub struct HistoryPlan {
    /// The selected commits, oldest first.
    pub commits: Vec<CommitInfo>,
    /// Each selected commit's full message and author and committer lines, parallel to
    /// `commits`: scanned as a source of their own, since a key pasted into a message is in
    /// every clone.
    pub messages: Vec<Vec<u8>>,
    /// Unique blobs in the order they were introduced.
    pub blobs: Vec<PlannedBlob>,
    /// For blobs at a path that a commit outside the selection already had: that older blob
    /// (its `commit` is `usize::MAX`). Secrets found in it at the same path are not new, so
    /// they are not reported (a range scan reports what the range adds).
    pub base_blobs: Vec<PlannedBlob>,
    /// Problems and remarks (submodules, shallow boundary, unreadable objects).
    pub notes: Vec<GitNote>,
    /// Blob paths skipped by the path allowlist.
    pub skipped_allowlisted: u64,
}

/// Errors that stop a git scan before it starts.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// No repository at or above the path.
    #[error("{path}: not a git repository: {message}")]
    NotARepo {
        /// The path given.
        path: String,
        /// What libgit2 said.
        message: String,
    },
    /// A revision or range did not resolve.
    #[error("`{spec}`: unknown revision or range: {message}")]
    BadRevision {
        /// The spec.
        spec: String,
        /// What libgit2 said.
        message: String,
    },
    /// A bare repository has no index to scan.
    #[error("{0}: bare repository: there is no index, so --staged has nothing to scan")]
    Bare(String),
    /// Any other libgit2 failure.
    #[error("git: {0}")]
    Git(#[from] git2::Error),
}

/// Opens the repository containing `path` (searching upwards, like git).
pub fn open_repo(path: &Path) -> Result<Repository, GitError> {
    Repository::discover(path).map_err(|e| GitError::NotARepo {
        path: path.display().to_string(),
        message: e.message().to_string(),
    })
}

/// Plans a history scan: which unique blobs to read and who introduced each.
pub fn plan_history(repo: &Repository, opts: &HistoryOptions) -> Result<HistoryPlan, GitError> {
    // Every tree is visited once, so libgit2's object cache (up to 256 MiB by default) only
    // holds objects that are never asked for again.
    git2::opts::enable_caching(false);
    let mut plan = HistoryPlan::default();
    if repo.is_shallow() {
        plan.notes.push(GitNote {
            subject: "repository".into(),
            message: "shallow clone: history before the shallow boundary is not in this \
                      repository and was not scanned (fetch with `git fetch --unshallow`, or \
                      `fetch-depth: 0` in GitHub Actions, to scan all of it)"
                .into(),
            incomplete: false,
        });
    }
    let ids = select_commits(repo, opts, &mut plan.notes)?;
    let selected: HashSet<Oid> = ids.iter().copied().collect();
    let mut seen_trees: HashSet<Oid> = HashSet::new();
    let mut seen_blobs: HashSet<Oid> = HashSet::new();
    let mut submodules: HashSet<String> = HashSet::new();
    let mut base_paths: HashMap<String, Oid> = HashMap::new();
    let mut dirty_trees: HashSet<(Oid, String)> = HashSet::new();
    let allow = opts.allow_paths.as_ref();
    for id in ids {
        let commit = match repo.find_commit(id) {
            Ok(c) => c,
            Err(e) => {
                plan.notes.push(GitNote {
                    subject: format!("commit {id}"),
                    message: format!("cannot read commit: {}", e.message()),
                    incomplete: true,
                });
                continue;
            }
        };
        // Parents outside the selection: what they already had is not "introduced" here.
        for pid in commit.parent_ids() {
            if selected.contains(&pid) {
                continue;
            }
            if let Ok(tree_id) = repo.find_commit(pid).map(|p| p.tree_id()) {
                let mut walk = TreeWalk {
                    repo,
                    seen_trees: &mut seen_trees,
                    seen_blobs: &mut seen_blobs,
                    submodules: &mut submodules,
                    notes: &mut plan.notes,
                    out: None,
                    base_paths: Some(&mut base_paths),
                    allow,
                    dirty_trees: &mut dirty_trees,
                    skipped_allowlisted: &mut plan.skipped_allowlisted,
                };
                walk.run(tree_id, usize::MAX);
            }
        }
        let index = plan.commits.len();
        plan.commits.push(commit_info(&commit));
        plan.messages.push(message_text(&commit));
        let mut walk = TreeWalk {
            repo,
            seen_trees: &mut seen_trees,
            seen_blobs: &mut seen_blobs,
            submodules: &mut submodules,
            notes: &mut plan.notes,
            out: Some(&mut plan.blobs),
            base_paths: None,
            allow,
            dirty_trees: &mut dirty_trees,
            skipped_allowlisted: &mut plan.skipped_allowlisted,
        };
        walk.run(commit.tree_id(), index);
    }
    if !base_paths.is_empty() {
        plan.base_blobs = plan
            .blobs
            .iter()
            .filter_map(|b| {
                base_paths.get(&b.path).map(|&oid| PlannedBlob {
                    oid,
                    path: b.path.clone(),
                    commit: usize::MAX,
                })
            })
            .collect();
    }
    Ok(plan)
}

/// The selected commit ids, oldest first (parents before children).
fn select_commits(
    repo: &Repository,
    opts: &HistoryOptions,
    notes: &mut Vec<GitNote>,
) -> Result<Vec<Oid>, GitError> {
    let mut walk = repo.revwalk()?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)?;
    let bad = |spec: &str, e: git2::Error| GitError::BadRevision {
        spec: spec.to_string(),
        message: e.message().to_string(),
    };
    match &opts.selection {
        Selection::AllRefs => {
            if repo.is_empty()? {
                return Ok(Vec::new());
            }
            walk.push_glob("*")?;
            // A detached HEAD is not under refs/; an unborn HEAD has nothing to push.
            let _ = walk.push_head();
        }
        Selection::Rev(spec) => {
            let obj = repo.revparse_single(spec).map_err(|e| bad(spec, e))?;
            let commit = obj.peel_to_commit().map_err(|e| bad(spec, e))?;
            walk.push(commit.id())?;
        }
        Selection::Range(spec) => {
            if !spec.contains("..") {
                return Err(GitError::BadRevision {
                    spec: spec.clone(),
                    message: "a range looks like `A..B` (e.g. origin/main..HEAD)".into(),
                });
            }
            let rs = repo.revparse(spec).map_err(|e| bad(spec, e))?;
            let (Some(from), Some(to)) = (rs.from(), rs.to()) else {
                return Err(GitError::BadRevision {
                    spec: spec.clone(),
                    message: "both ends of the range are needed".into(),
                });
            };
            let from = from.peel_to_commit().map_err(|e| bad(spec, e))?.id();
            let to = to.peel_to_commit().map_err(|e| bad(spec, e))?.id();
            if rs.mode().contains(git2::RevparseMode::MERGE_BASE) {
                walk.push(from)?;
                walk.push(to)?;
                if let Ok(base) = repo.merge_base(from, to) {
                    walk.hide(base)?;
                }
            } else {
                walk.push(to)?;
                walk.hide(from)?;
            }
        }
    }
    let mut ids = Vec::new();
    for item in walk {
        match item {
            Ok(id) => {
                if let Some(since) = opts.since {
                    match repo.find_commit(id) {
                        Ok(c) if c.time().seconds() < since => continue,
                        _ => {}
                    }
                }
                ids.push(id);
                if opts.max_commits.is_some_and(|n| ids.len() >= n) {
                    break;
                }
            }
            Err(e) => {
                notes.push(GitNote {
                    subject: "history".into(),
                    message: format!("the commit walk stopped early: {}", e.message()),
                    incomplete: true,
                });
                break;
            }
        }
    }
    ids.reverse();
    Ok(ids)
}

/// Visits a tree, skipping trees and blobs seen before, and lists new blobs when `out` is set.
struct TreeWalk<'a> {
    repo: &'a Repository,
    seen_trees: &'a mut HashSet<Oid>,
    seen_blobs: &'a mut HashSet<Oid>,
    submodules: &'a mut HashSet<String>,
    notes: &'a mut Vec<GitNote>,
    out: Option<&'a mut Vec<PlannedBlob>>,
    /// Records path → blob for trees outside the selection.
    base_paths: Option<&'a mut HashMap<String, Oid>>,
    /// The path allowlist: blobs at matching paths are skipped but not marked seen.
    allow: Option<&'a GlobSet>,
    /// Trees that held an allowlisted path, by id and the path they were visited at: the same
    /// tree at another path may hold paths the allowlist does not cover, so only the same
    /// (tree, path) pair is skipped as seen.
    dirty_trees: &'a mut HashSet<(Oid, String)>,
    /// Counts blobs skipped by the allowlist.
    skipped_allowlisted: &'a mut u64,
}

impl TreeWalk<'_> {
    fn run(&mut self, root: Oid, commit: usize) {
        // Each entry carries its ancestors (tree id, path) when an allowlist is set, so a
        // skipped blob can mark every tree above it as not fully seen.
        type Ancestors = std::rc::Rc<Vec<(Oid, String)>>;
        let mut stack: Vec<(Oid, String, Ancestors)> =
            vec![(root, String::new(), Ancestors::default())];
        while let Some((oid, prefix, ancestors)) = stack.pop() {
            if self.seen_trees.contains(&oid)
                || (self.allow.is_some() && self.dirty_trees.contains(&(oid, prefix.clone())))
            {
                continue;
            }
            self.seen_trees.insert(oid);
            let mut marked = false;
            let inner: Ancestors = if self.allow.is_some() {
                let mut a = (*ancestors).clone();
                a.push((oid, prefix.clone()));
                std::rc::Rc::new(a)
            } else {
                ancestors
            };
            let tree = match self.repo.find_tree(oid) {
                Ok(t) => t,
                Err(e) => {
                    let at = if prefix.is_empty() { "/" } else { &prefix };
                    self.notes.push(GitNote {
                        subject: format!("tree {oid}"),
                        message: format!("cannot read tree at `{at}`: {}", e.message()),
                        incomplete: true,
                    });
                    continue;
                }
            };
            for entry in tree.iter() {
                let name = String::from_utf8_lossy(entry.name_bytes());
                let path = if prefix.is_empty() {
                    name.into_owned()
                } else {
                    format!("{prefix}/{name}")
                };
                match entry.kind() {
                    Some(ObjectType::Tree) => stack.push((entry.id(), path, inner.clone())),
                    Some(ObjectType::Blob) if self.allow.is_some_and(|a| a.is_match(&path)) => {
                        // Not marked seen: the same blob at another path is still listed.
                        *self.skipped_allowlisted += 1;
                        if !marked {
                            marked = true;
                            for (tree, at) in inner.iter() {
                                self.seen_trees.remove(tree);
                                self.dirty_trees.insert((*tree, at.clone()));
                            }
                        }
                    }
                    Some(ObjectType::Blob) if self.seen_blobs.insert(entry.id()) => {
                        if let Some(paths) = self.base_paths.as_deref_mut() {
                            paths.entry(path.clone()).or_insert(entry.id());
                        }
                        if let Some(out) = self.out.as_deref_mut() {
                            out.push(PlannedBlob {
                                oid: entry.id(),
                                path,
                                commit,
                            });
                        }
                    }
                    Some(ObjectType::Commit)
                        if self.out.is_some() && self.submodules.insert(path.clone()) =>
                    {
                        self.notes.push(GitNote {
                            subject: path,
                            message: format!(
                                "submodule (commit {}) not entered; scan its repository \
                                 separately",
                                entry.id()
                            ),
                            incomplete: false,
                        });
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The text of a commit that is not in its tree: the message, then author and committer.
fn message_text(c: &git2::Commit<'_>) -> Vec<u8> {
    let mut out = c.message_bytes().to_vec();
    for sig in [c.author(), c.committer()] {
        out.push(b'\n');
        out.extend_from_slice(sig.name_bytes());
        out.extend_from_slice(b" <");
        out.extend_from_slice(sig.email_bytes());
        out.push(b'>');
    }
    out.push(b'\n');
    out
}

/// Metadata of a commit for reports.
pub fn commit_info(c: &git2::Commit<'_>) -> CommitInfo {
    let author = c.author();
    let when = author.when();
    CommitInfo {
        commit: c.id().to_string(),
        author_name: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        author_email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        date: rfc3339(when.seconds(), when.offset_minutes()),
        summary: c
            .summary_bytes()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default(),
    }
}

/// Lines of a staged file that the commit would add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddedLines {
    /// A new file (or one git cannot diff as text): every line is new.
    All,
    /// Sorted, 1-based line numbers.
    Lines(Vec<u32>),
}

impl AddedLines {
    /// True when any line in `first..=last` was added.
    pub fn touches(&self, first: u64, last: u64) -> bool {
        match self {
            AddedLines::All => true,
            AddedLines::Lines(lines) => {
                let i = lines.partition_point(|&l| (l as u64) < first);
                lines.get(i).is_some_and(|&l| l as u64 <= last)
            }
        }
    }
}

/// One staged file to scan.
#[derive(Debug, Clone)]
pub struct StagedFile {
    /// Path in the repository.
    pub path: String,
    /// The staged blob.
    pub oid: Oid,
    /// Which of its lines are new.
    pub added: AddedLines,
}

/// What a staged scan will read.
#[derive(Debug, Default)]
pub struct StagedPlan {
    /// Added, modified, renamed-and-changed and type-changed files.
    pub files: Vec<StagedFile>,
    /// Remarks.
    pub notes: Vec<GitNote>,
}

/// Plans a scan of the changes staged in `index` (the repository's index unless the caller
/// opened another, e.g. from `GIT_INDEX_FILE`) against `HEAD`.
pub fn plan_staged(repo: &Repository, index: &git2::Index) -> Result<StagedPlan, GitError> {
    let head_tree = match repo.head() {
        Ok(h) => Some(h.peel_to_tree()?),
        Err(e)
            if e.code() == git2::ErrorCode::UnbornBranch
                || e.code() == git2::ErrorCode::NotFound =>
        {
            None
        }
        Err(e) => return Err(e.into()),
    };
    let mut dopts = DiffOptions::new();
    dopts.context_lines(0).ignore_submodules(true);
    let mut diff = repo.diff_tree_to_index(head_tree.as_ref(), Some(index), Some(&mut dopts))?;
    // A file that was only moved adds no lines.
    diff.find_similar(Some(DiffFindOptions::new().renames(true)))?;
    let mut plan = StagedPlan::default();
    for (i, delta) in diff.deltas().enumerate() {
        let new = delta.new_file();
        if !matches!(
            new.mode(),
            FileMode::Blob | FileMode::BlobExecutable | FileMode::Link
        ) {
            continue;
        }
        let path = new
            .path_bytes()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default();
        let added = match delta.status() {
            Delta::Added | Delta::Copied | Delta::Typechange | Delta::Untracked => AddedLines::All,
            Delta::Modified | Delta::Renamed => {
                if delta.status() == Delta::Renamed && delta.old_file().id() == new.id() {
                    continue;
                }
                match git2::Patch::from_diff(&diff, i)? {
                    Some(patch) if !delta.flags().is_binary() => {
                        let mut lines = Vec::new();
                        for h in 0..patch.num_hunks() {
                            for l in 0..patch.num_lines_in_hunk(h)? {
                                let line = patch.line_in_hunk(h, l)?;
                                if line.origin() == '+' {
                                    if let Some(n) = line.new_lineno() {
                                        lines.push(n);
                                    }
                                }
                            }
                        }
                        lines.sort_unstable();
                        AddedLines::Lines(lines)
                    }
                    _ => AddedLines::All,
                }
            }
            _ => continue,
        };
        if matches!(&added, AddedLines::Lines(l) if l.is_empty()) {
            continue;
        }
        plan.files.push(StagedFile {
            path,
            oid: new.id(),
            added,
        });
    }
    Ok(plan)
}

/// Opens the index a commit would use: `GIT_INDEX_FILE` when git set it for a hook (as it does
/// for `git commit -a` and `git commit PATH`), otherwise the repository's own.
pub fn commit_index(repo: &Repository) -> Result<git2::Index, GitError> {
    if repo.is_bare() {
        return Err(GitError::Bare(repo.path().display().to_string()));
    }
    if let Some(f) = std::env::var_os("GIT_INDEX_FILE").filter(|f| !f.is_empty()) {
        let p = std::path::PathBuf::from(f);
        let p = if p.is_relative() {
            std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
        } else {
            p
        };
        return Ok(git2::Index::open(&p)?);
    }
    Ok(repo.index()?)
}

/// `2024-05-01T12:30:00+02:00` from Unix seconds and an offset in minutes.
pub fn rfc3339(secs: i64, offset_minutes: i32) -> String {
    let local = secs + offset_minutes as i64 * 60;
    let days = local.div_euclid(86_400);
    let rem = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.unsigned_abs();
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        off / 60,
        off % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) to days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `--since`: `2024-05-01`, `2024-05-01T12:00:00Z`, `2024-05-01 12:00:00+02:00`,
/// `@1714521600`, or `3 weeks ago` (seconds, minutes, hours, days, weeks, months = 30 days,
/// years = 365 days). Dates without an offset are UTC.
pub fn parse_since(s: &str, now: i64) -> Result<i64, String> {
    let t = s.trim();
    let err = || {
        format!(
            "`{s}` is not a date (examples: 2024-05-01, 2024-05-01T12:00:00Z, \"2 weeks ago\", \
             @1714521600)"
        )
    };
    if let Some(n) = t.strip_prefix('@') {
        return n.parse().map_err(|_| err());
    }
    if let Some(rest) = t.strip_suffix("ago") {
        let mut parts = rest.split_whitespace();
        let n: i64 = parts.next().and_then(|n| n.parse().ok()).ok_or_else(err)?;
        let unit = parts.next().ok_or_else(err)?.trim_end_matches('s');
        if parts.next().is_some() {
            return Err(err());
        }
        let secs = match unit {
            "second" | "sec" => 1,
            "minute" | "min" => 60,
            "hour" => 3600,
            "day" => 86_400,
            "week" => 7 * 86_400,
            "month" => 30 * 86_400,
            "year" => 365 * 86_400,
            _ => return Err(err()),
        };
        return Ok(now - n * secs);
    }
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = t.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(err());
    }
    let (y, mo, d) = (
        num(0..4).ok_or_else(err)?,
        num(5..7).ok_or_else(err)?,
        num(8..10).ok_or_else(err)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return Err(err());
    }
    let mut secs = days_from_civil(y, mo as u32, d as u32) * 86_400;
    if b.len() == 10 {
        return Ok(secs);
    }
    if !(b[10] == b'T' || b[10] == b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return Err(err());
    }
    let (h, mi, se) = (
        num(11..13).ok_or_else(err)?,
        num(14..16).ok_or_else(err)?,
        num(17..19).ok_or_else(err)?,
    );
    secs += h * 3600 + mi * 60 + se;
    let zone = &t[19..];
    match zone {
        "" | "Z" | "z" => Ok(secs),
        z if z.len() == 6 && (z.starts_with('+') || z.starts_with('-')) && &z[3..4] == ":" => {
            let oh = num(20..22).ok_or_else(err)?;
            let om = num(23..25).ok_or_else(err)?;
            let off = (oh * 60 + om) * 60;
            Ok(if z.starts_with('+') {
                secs - off
            } else {
                secs + off
            })
        }
        _ => Err(err()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(rfc3339(1_714_521_600, 120), "2024-05-01T02:00:00+02:00");
        assert_eq!(rfc3339(1_714_521_600, -330), "2024-04-30T18:30:00-05:30");
        assert_eq!(rfc3339(951_782_400, 0), "2000-02-29T00:00:00+00:00");
        for days in [-800_000i64, -1, 0, 59, 60, 11_016, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn since_formats() {
        let now = 1_714_521_600;
        assert_eq!(parse_since("2024-05-01", now), Ok(1_714_521_600));
        assert_eq!(parse_since("2024-05-01T01:00:00Z", now), Ok(1_714_525_200));
        assert_eq!(
            parse_since("2024-05-01 02:00:00+02:00", now),
            Ok(1_714_521_600)
        );
        assert_eq!(
            parse_since("2024-04-30T19:00:00-05:00", now),
            Ok(1_714_521_600)
        );
        assert_eq!(parse_since("@1714521600", now), Ok(1_714_521_600));
        assert_eq!(parse_since("2 weeks ago", now), Ok(now - 14 * 86_400));
        assert_eq!(parse_since("1 day ago", now), Ok(now - 86_400));
        for bad in [
            "yesterday",
            "2024-13-01",
            "2024/05/01",
            "2024-05-01T1:00",
            "3 fortnights ago",
        ] {
            assert!(parse_since(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn added_lines_touch() {
        let l = AddedLines::Lines(vec![3, 7, 8]);
        assert!(l.touches(3, 3));
        assert!(!l.touches(4, 6));
        assert!(l.touches(5, 7));
        assert!(!l.touches(9, 100));
        assert!(AddedLines::All.touches(1, 1));
    }
}
