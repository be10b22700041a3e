//! `keysweep baseline create|check`: accept today's findings once, and find entries that are
//! no longer needed.

use super::common;
use super::git_cmd::{self, GitArgs};
use super::scan_cmd::{self, ScanArgs};
use super::{ColorChoice, FilterArgs, OutputArgs, RuleArgs};
use anyhow::Result;
use clap::{Args, Subcommand};
use keysweep::baseline::{Baseline, Suppressions};
use keysweep::engine::Engine;
use keysweep::exit_code::ExitStatus;
use keysweep::report::Format;
use keysweep::sanitize::escape;
use keysweep::scan::ScanOutcome;
use keysweep::source::fs::display_path;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `keysweep baseline` subcommands.
#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Scan, and write every finding to a baseline file. Scans given `--baseline FILE` then
    /// report only findings that are not in it. Findings matched by `.keysweepignore` are left
    /// out.
    Create(CreateArgs),
    /// Scan, and list baseline entries whose secret is no longer found (stale). Exits 1 when
    /// some are stale, 0 when none are.
    Check(CheckArgs),
}

/// What to scan for a baseline.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Files or directories to scan (default `.`); with --git, the repository.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Scan the whole git history (all refs) of the repository instead of files.
    #[arg(long)]
    pub git: bool,
    /// Scan files that .gitignore / .ignore would skip.
    #[arg(long, conflicts_with = "git")]
    pub no_ignore: bool,
    /// Skip paths matching this glob (repeatable).
    #[arg(long, value_name = "GLOB", conflicts_with = "git")]
    pub exclude: Vec<String>,
    /// Do not read `.keysweepignore`.
    #[arg(long)]
    pub no_keysweepignore: bool,
    #[command(flatten)]
    pub rules: RuleArgs,
}

/// Flags of `keysweep baseline create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The baseline file to write (replaced if it exists).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub source: SourceArgs,
}

/// Flags of `keysweep baseline check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The baseline file.
    #[arg(value_name = "FILE")]
    pub baseline: PathBuf,
    /// Rewrite FILE without the stale entries.
    #[arg(long)]
    pub prune: bool,
    #[command(flatten)]
    pub source: SourceArgs,
}

/// Runs a baseline subcommand.
pub fn run(cmd: BaselineCommand) -> Result<ExitStatus> {
    match cmd {
        BaselineCommand::Create(a) => create(a),
        BaselineCommand::Check(a) => check(a),
    }
}

fn quiet_output() -> OutputArgs {
    OutputArgs {
        format: Format::Text,
        output: None,
        show_secrets: false,
        exit_code: 1,
        color: ColorChoice::Never,
        quiet: true,
    }
}

/// Scans as `keysweep scan` or `keysweep git` would, applying `.keysweepignore` only.
fn scan(src: &SourceArgs) -> Result<(ScanOutcome, Engine)> {
    let filter = FilterArgs {
        baseline: None,
        no_keysweepignore: src.no_keysweepignore,
    };
    let (mut outcome, engine, suppress) = if src.git {
        let repo = match src.paths.as_slice() {
            [] => PathBuf::from("."),
            [one] => one.clone(),
            _ => anyhow::bail!("--git takes one repository path"),
        };
        let args = GitArgs {
            repo,
            staged: false,
            branch: None,
            range: None,
            since: None,
            max_commits: None,
            max_blob_size: 64 << 20,
            binary: false,
            threads: None,
            rules: src.rules.clone(),
            filter: filter.clone(),
            output: quiet_output(),
            verify: super::VerifyArgs::default(),
        };
        let (o, e, root, _) = git_cmd::collect(&args)?;
        let s = common::suppressions(&filter, root.as_deref(), None)?;
        (o, e, s)
    } else {
        let paths = if src.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            src.paths.clone()
        };
        let args = ScanArgs {
            paths,
            no_ignore: src.no_ignore,
            follow: false,
            exclude: src.exclude.clone(),
            max_file_size: None,
            binary: false,
            threads: None,
            rules: src.rules.clone(),
            filter: filter.clone(),
            archives: super::ArchiveArgs::default(),
            output: quiet_output(),
            verify: super::VerifyArgs::default(),
        };
        let (o, e, root, _) = scan_cmd::collect(&args)?;
        let shown = display_path(&root);
        let prefix = (!shown.is_empty() && shown != ".").then(|| format!("{shown}/"));
        let s = common::suppressions(&filter, Some(&root), prefix)?;
        (o, e, s)
    };
    let only_ignore = Suppressions {
        baseline: None,
        ..suppress
    };
    only_ignore.apply(&mut outcome);
    for w in &outcome.warnings {
        eprintln!(
            "keysweep: warning: {}: {}",
            escape(&w.path),
            escape(&w.message)
        );
    }
    if outcome.incomplete {
        anyhow::bail!("the scan was incomplete (see the warnings above); no baseline written");
    }
    Ok((outcome, engine))
}

fn write_baseline(path: &Path, baseline: &Baseline) -> Result<()> {
    super::common::write_output_file(path, |w| w.write_all(baseline.to_text().as_bytes()))
}

fn create(args: CreateArgs) -> Result<ExitStatus> {
    let (outcome, _) = scan(&args.source)?;
    let baseline = Baseline::from_findings(&outcome.findings);
    write_baseline(&args.output, &baseline)?;
    eprintln!(
        "keysweep: wrote {} baseline entr{} ({} finding{}) to {}",
        baseline.entries.len(),
        if baseline.entries.len() == 1 {
            "y"
        } else {
            "ies"
        },
        outcome.findings.len(),
        if outcome.findings.len() == 1 { "" } else { "s" },
        escape(&args.output.display().to_string())
    );
    Ok(ExitStatus::Clean)
}

fn check(args: CheckArgs) -> Result<ExitStatus> {
    let baseline = Baseline::load(&args.baseline)?;
    let (outcome, _) = scan(&args.source)?;
    let stale: Vec<_> = baseline.stale(&outcome.findings);
    let known = baseline.fingerprints();
    let new = outcome
        .findings
        .iter()
        .filter(|f| !known.contains(f.fingerprint.as_str()))
        .count();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for e in &stale {
        writeln!(
            out,
            "stale: {}  {}  {}",
            e.fingerprint,
            escape(&e.rule),
            escape(&e.path)
        )?;
    }
    out.flush()?;
    eprintln!(
        "keysweep: {} of {} baseline entries stale; {} finding{} not in the baseline",
        stale.len(),
        baseline.entries.len(),
        new,
        if new == 1 { "" } else { "s" }
    );
    if args.prune && !stale.is_empty() {
        let gone: std::collections::HashSet<&str> =
            stale.iter().map(|e| e.fingerprint.as_str()).collect();
        let kept = Baseline {
            entries: baseline
                .entries
                .iter()
                .filter(|e| !gone.contains(e.fingerprint.as_str()))
                .cloned()
                .collect(),
        };
        write_baseline(&args.baseline, &kept)?;
        eprintln!(
            "keysweep: removed {} stale entr{} from {}",
            stale.len(),
            if stale.len() == 1 { "y" } else { "ies" },
            escape(&args.baseline.display().to_string())
        );
        return Ok(ExitStatus::Clean);
    }
    Ok(if stale.is_empty() {
        ExitStatus::Clean
    } else {
        ExitStatus::Findings
    })
}
