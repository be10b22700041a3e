//! `keysweep git`: history scans (all refs, a branch, a range, since a date) and `--staged`.

use super::common::{self, parse_size, Hint};
use super::progress::ProgressLine;
use super::{FilterArgs, OutputArgs, RuleArgs, VerifyArgs};
use anyhow::{Context, Result};
use clap::Args;
use keysweep::config::Config;
use keysweep::engine::Engine;
use keysweep::exit_code::ExitStatus;
use keysweep::scan::git::{scan_history, scan_staged, GitScanOptions};
use keysweep::scan::{Progress, ScanOutcome};
use keysweep::source::git::{
    commit_index, open_repo, parse_since, plan_history, plan_staged, HistoryOptions, Selection,
};
use std::path::PathBuf;
use std::sync::Arc;

/// Flags of `keysweep git`.
#[derive(Debug, Args)]
pub struct GitArgs {
    /// The repository, or any directory inside it.
    #[arg(value_name = "REPO", default_value = ".")]
    pub repo: PathBuf,
    /// Scan what the next commit would add: the index against HEAD (the empty tree before the
    /// first commit). Reads the staged content, not the working tree, and reports only added
    /// lines. Honours GIT_INDEX_FILE, so `git commit -a` and `git commit FILE` are covered.
    #[arg(long, conflicts_with_all = ["branch", "range", "since", "max_commits"])]
    pub staged: bool,
    /// Only this branch (or tag, or commit) and its ancestors, instead of all refs.
    #[arg(long, value_name = "NAME", conflicts_with = "range")]
    pub branch: Option<String>,
    /// Only the commits in a range, e.g. `origin/main..HEAD` in CI: what the branch adds.
    /// Content already present at the range's base is not reported.
    #[arg(long, value_name = "A..B")]
    pub range: Option<String>,
    /// Only commits made at or after DATE (committer date): `2024-05-01`,
    /// `2024-05-01T12:00:00Z`, `"2 weeks ago"`, `@UNIX`. Content older commits already had is
    /// not reported.
    #[arg(long, value_name = "DATE", value_parser = since_arg)]
    pub since: Option<i64>,
    /// At most N commits, newest first (like `git log -n N`).
    #[arg(long, value_name = "N")]
    pub max_commits: Option<usize>,
    /// Skip (with a warning) blobs larger than SIZE (bytes, or K/M/G suffix); a git blob is
    /// read into memory whole.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "64M")]
    pub max_blob_size: u64,
    /// Scan binary blobs too (those with a NUL byte in the first 8 KiB).
    #[arg(long)]
    pub binary: bool,
    /// Worker threads (default: all cores).
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub verify: VerifyArgs,
}

fn since_arg(s: &str) -> Result<i64, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    parse_since(s, now)
}

/// Runs the scan and returns the process exit status.
pub fn run(args: GitArgs) -> Result<ExitStatus> {
    let (outcome, engine, root, config) = collect(&args)?;
    let checks = common::check_settings(&args.verify, config.as_ref(), &engine)?;
    let suppress = common::suppressions(&args.filter, root.as_deref(), None)?;
    let hint = if args.staged {
        Hint::Commit
    } else {
        Hint::Scan
    };
    common::finish(outcome, &engine, &args.output, &suppress, hint, &checks)
}

/// Scans without filtering or reporting: the outcome, the engine, the working tree root
/// (where `keysweep.toml` and `.keysweepignore` are looked for; none for a bare repository) and
/// the config found there.
pub fn collect(args: &GitArgs) -> Result<(ScanOutcome, Engine, Option<PathBuf>, Option<Config>)> {
    let started = std::time::Instant::now();
    common::require_exists(&args.repo)?;
    let repo = open_repo(&args.repo)?;
    let root = repo.workdir().map(|p| p.to_path_buf());
    let config = common::load_config(&args.rules, root.as_deref().unwrap_or_else(|| repo.path()))?;
    let engine = common::build_engine(&args.rules, config.as_ref())?;
    let allow_paths = match config.as_ref().map(|c| &c.allowlist.paths) {
        Some(globs) if !globs.is_empty() => {
            let mut b = globset::GlobSetBuilder::new();
            for g in globs {
                b.add(
                    globset::Glob::new(g)
                        .with_context(|| format!("keysweep.toml: invalid allowlist path `{g}`"))?,
                );
            }
            Some(b.build()?)
        }
        _ => None,
    };
    let opts = GitScanOptions {
        skip_binary: !args.binary,
        max_blob_size: Some(args.max_blob_size),
        allow_paths,
    };
    let git_dir = repo.path().to_path_buf();
    let mut outcome = if args.staged {
        let index = commit_index(&repo)?;
        let plan = plan_staged(&repo, &index)?;
        scan_staged(&engine, &git_dir, plan, &opts)
    } else {
        if let Some(n) = args.threads {
            let _ = rayon::ThreadPoolBuilder::new()
                .num_threads(keysweep::scan::clamp_threads(n))
                .build_global();
        }
        let selection = match (&args.branch, &args.range) {
            (Some(b), _) => Selection::Rev(b.clone()),
            (_, Some(r)) => Selection::Range(r.clone()),
            _ => Selection::AllRefs,
        };
        let hopts = HistoryOptions {
            selection,
            since: args.since,
            max_commits: args.max_commits,
            allow_paths: opts.allow_paths.clone(),
        };
        let plan = plan_history(&repo, &hopts)?;
        let progress = Arc::new(Progress::default());
        let line = ProgressLine::start(
            progress.clone(),
            plan.blobs.len() as u64,
            !args.output.quiet,
        );
        let outcome = scan_history(&engine, &git_dir, plan, &opts, &progress);
        drop(line);
        outcome
    };
    outcome.stats.duration_ms = keysweep::scan::duration_ms(started.elapsed());
    Ok((outcome, engine, root, config))
}
