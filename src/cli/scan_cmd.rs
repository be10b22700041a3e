//! `keysweep scan`: the filesystem and stdin scan.

use super::common::Hint;
use super::common::{self, parse_size};
use super::progress::ProgressLine;
use super::{ArchiveArgs, FilterArgs, OutputArgs, RuleArgs, VerifyArgs};
use anyhow::Result;
use clap::Args;
use keysweep::config::Config;
use keysweep::engine::Engine;
use keysweep::exit_code::ExitStatus;
use keysweep::scan::{self, BlobOptions, Progress, ScanOutcome};
use keysweep::source::fs::{display_path, is_stream, walk, WalkOptions};
use std::path::PathBuf;
use std::sync::Arc;

/// Flags of `keysweep scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan; `-` reads stdin.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Scan files that .gitignore / .ignore would skip.
    #[arg(long)]
    pub no_ignore: bool,
    /// Follow symbolic links (loops are detected and reported).
    #[arg(short = 'L', long)]
    pub follow: bool,
    /// Skip paths matching this glob (repeatable), e.g. `--exclude 'vendor/**'`.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Skip files larger than SIZE (bytes, or with K/M/G suffix). Default: no limit; big files
    /// are streamed in bounded memory.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,
    /// Scan binary files too (those with a NUL byte in the first 8 KiB).
    #[arg(long)]
    pub binary: bool,
    /// Worker threads (default: all cores).
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub archives: ArchiveArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub verify: VerifyArgs,
}

/// Runs the scan and returns the process exit status.
pub fn run(args: ScanArgs) -> Result<ExitStatus> {
    let (outcome, engine, root, config) = collect(&args)?;
    let checks = common::check_settings(&args.verify, config.as_ref(), &engine)?;
    let shown = display_path(&root);
    let prefix = (!shown.is_empty() && shown != ".").then(|| format!("{shown}/"));
    let suppress = common::suppressions(&args.filter, Some(&root), prefix)?;
    common::finish(
        outcome,
        &engine,
        &args.output,
        &suppress,
        Hint::Scan,
        &checks,
    )
}

/// Scans without filtering or reporting: the outcome, the engine, the scan root (where
/// `keysweep.toml` and `.keysweepignore` are looked for) and the config found there.
pub fn collect(args: &ScanArgs) -> Result<(ScanOutcome, Engine, PathBuf, Option<Config>)> {
    let started = std::time::Instant::now();
    for p in &args.paths {
        common::require_exists(p)?;
    }
    if let Some(n) = args.threads {
        // Ignore the error if a pool already exists (tests calling run twice).
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(scan::clamp_threads(n))
            .build_global();
    }
    let config_root = args
        .paths
        .iter()
        .find(|p| p.is_dir())
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let config = common::load_config(&args.rules, &config_root)?;
    let engine = common::build_engine(&args.rules, config.as_ref())?;
    // Validate the network-check flags before spending time on the scan.
    common::check_settings(&args.verify, config.as_ref(), &engine)?;
    let blob_opts = BlobOptions {
        skip_binary: !args.binary,
        archive: args.archives.limits(),
        ..Default::default()
    };
    let mut outcome = ScanOutcome::default();
    let (stdin, files): (Vec<&PathBuf>, Vec<&PathBuf>) =
        args.paths.iter().partition(|p| p.as_os_str() == "-");
    if !stdin.is_empty() {
        let locked = std::io::stdin().lock();
        outcome.merge(scan::scan_stream(&engine, locked, "-", &blob_opts));
    }
    // A FIFO or `<(cmd)` named here is read as a stream, like stdin.
    let (streams, files): (Vec<&PathBuf>, Vec<&PathBuf>) =
        files.into_iter().partition(|p| is_stream(p));
    for p in streams {
        outcome.merge(scan::scan_path_stream(
            &engine,
            p,
            &display_path(p),
            &blob_opts,
        ));
    }
    if !files.is_empty() {
        let roots: Vec<PathBuf> = files.into_iter().cloned().collect();
        let walk_opts = WalkOptions {
            no_ignore: args.no_ignore,
            follow_links: args.follow,
            exclude: args.exclude.clone(),
            allow_paths: config
                .as_ref()
                .map(|c| c.allowlist.paths.clone())
                .unwrap_or_default(),
            max_file_size: args.max_file_size,
            threads: args
                .threads
                .map(scan::clamp_threads)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
            skip_files: config.as_ref().map(|c| c.own_files()).unwrap_or_default(),
        };
        let walked = walk(&roots, &walk_opts)?;
        let progress = Arc::new(Progress::default());
        let line = ProgressLine::start(
            progress.clone(),
            walked.files.len() as u64,
            !args.output.quiet,
        );
        let files_outcome = scan::scan_files(&engine, walked, &blob_opts, &progress);
        drop(line);
        outcome.merge(files_outcome);
    }
    outcome.stats.duration_ms = scan::duration_ms(started.elapsed());
    Ok((outcome, engine, config_root, config))
}
