//! `keysweep redact`: write masked copies of logs (or check that nothing is left to mask).
//!
//! Each input is scanned, then copied with every secret replaced (see [`keysweep::redact`]).
//! Outputs are written to a temporary file beside their destination and renamed into place, so
//! a crash never leaves a half-written copy. A `.gz` input gives a `.gz` output; zip and tar
//! bundles are not rewritten (`--check` still looks inside them). stdin is spooled (in memory up
//! to 64 MiB, then a temporary file) because redaction reads its input twice.

use super::common::{self, human_bytes};
use super::{ArchiveArgs, RuleArgs};
use anyhow::{bail, Context, Result};
use clap::Args;
use flate2::read::MultiGzDecoder;
use keysweep::engine::{Engine, Scratch};
use keysweep::exit_code::ExitStatus;
use keysweep::redact::{self, ManifestEntry, Mask};
use keysweep::sanitize::escape;
use keysweep::scan::{self, BlobOptions};
use keysweep::source::archive::{self, Kind};
use keysweep::source::fs::{display_path, walk, WalkOptions};
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// stdin is kept in memory up to this size while spooling, then moved to a temporary file.
const STDIN_SPOOL_IN_MEMORY: usize = 64 << 20;

/// Flags of `keysweep redact`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    keysweep redact app.log -o app.safe.log\n  \
    keysweep redact app.log.gz -o safe/app.log.gz --manifest masked.jsonl\n  \
    keysweep redact logs/ -o safe-logs/        mirror a directory\n  \
    keysweep redact app.log --in-place\n  \
    kubectl logs pod | keysweep redact - > safe.log\n  \
    keysweep redact safe.log --check            exit 1 if anything would still be masked")]
pub struct RedactArgs {
    /// Files or directories to redact; `-` reads stdin (written to stdout unless -o is given).
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<PathBuf>,
    /// Where to write: a file (or `-` for stdout) for one file input; a directory (created if
    /// needed) for several inputs or a directory input.
    #[arg(short, long, value_name = "OUT", conflicts_with_all = ["in_place", "check"])]
    pub output: Option<PathBuf>,
    /// Replace each input with its redacted copy (atomically: temporary file, then rename).
    #[arg(long, conflicts_with = "check")]
    pub in_place: bool,
    /// Write nothing; exit 1 if anything would be redacted (and list where, without secrets).
    #[arg(long)]
    pub check: bool,
    /// Write what was masked to FILE as JSON lines: file, line, column, byte range, rule id,
    /// fingerprint and replacement — never the secret.
    #[arg(long, value_name = "FILE", conflicts_with = "check")]
    pub manifest: Option<PathBuf>,
    #[command(flatten)]
    pub archives: ArchiveArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub verify: super::VerifyArgs,
    /// No summary on stderr (warnings are still printed).
    #[arg(short, long)]
    pub quiet: bool,
}

/// Where one input's copy goes.
enum Dest {
    Stdout,
    File(PathBuf),
}

/// One input and where its copy goes.
struct Job {
    /// Path to read, `None` for stdin.
    src: Option<PathBuf>,
    /// How the input is named in messages and the manifest.
    display: String,
    dest: Option<Dest>,
}

#[derive(Default)]
struct Totals {
    files: u64,
    changed: u64,
    masked: u64,
    bytes: u64,
    warnings: u64,
}

/// Runs the command and returns the exit status.
pub fn run(args: RedactArgs) -> Result<ExitStatus> {
    let started = std::time::Instant::now();
    for p in &args.inputs {
        common::require_exists(p)?;
    }
    let stdin_count = args.inputs.iter().filter(|p| p.as_os_str() == "-").count();
    if stdin_count > 1 {
        bail!("`-` (stdin) can be given only once");
    }
    if args.in_place && stdin_count > 0 {
        bail!("--in-place cannot rewrite stdin; use -o FILE or redirect stdout");
    }
    let only_stdin = stdin_count == 1 && args.inputs.len() == 1;
    if args.output.is_none() && !args.in_place && !args.check && !only_stdin {
        bail!("say where the redacted copy goes: -o OUT, --in-place, or --check to only look");
    }
    let config = common::load_config(&args.rules, Path::new("."))?;
    let engine = common::build_engine(&args.rules, config.as_ref())?;
    let checks = common::check_settings(&args.verify, config.as_ref(), &engine)?;
    let opts = BlobOptions {
        skip_binary: false,
        archive: args.archives.limits(),
        ..Default::default()
    };
    if args.check {
        return check(&args, &engine, &opts, &checks, started);
    }
    let jobs = plan_jobs(&args)?;
    let mut totals = Totals::default();
    let mut scratch = engine.scratch();
    let mut buf = Vec::new();
    let mut done: Vec<(&Job, Vec<Mask>)> = Vec::new();
    let mut found = scan::ScanOutcome::default();
    for job in &jobs {
        match redact_one(&engine, &mut scratch, &mut buf, &opts, job, &args) {
            Ok((masks, bytes, findings)) => {
                totals.files += 1;
                totals.bytes += bytes;
                totals.masked += masks.len() as u64;
                totals.changed += u64::from(!masks.is_empty());
                found.findings.extend(findings);
                done.push((job, masks));
            }
            Err(e) => {
                // The reader of stdout went away (`| head`): stop quietly, as every command does.
                let broken_pipe = e.chain().any(|c| {
                    c.downcast_ref::<io::Error>()
                        .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
                });
                if broken_pipe && matches!(job.dest, Some(Dest::Stdout)) {
                    return Err(e);
                }
                totals.warnings += 1;
                eprintln!(
                    "keysweep: warning: {}: {}; no copy written",
                    escape(&job.display),
                    escape(&format!("{e:#}"))
                );
            }
        }
    }
    // Opt-in network checks of what was masked; the answers go into the manifest.
    common::apply_checks(&mut found, &engine, &checks, args.quiet);
    let by_fingerprint: std::collections::HashMap<&str, &keysweep::finding::Finding> = found
        .findings
        .iter()
        .map(|f| (f.fingerprint.as_str(), f))
        .collect();
    let mut manifest: Vec<u8> = Vec::new();
    for (job, masks) in &done {
        for m in masks {
            let f = by_fingerprint.get(m.fingerprint.as_str());
            let entry = ManifestEntry {
                file: &job.display,
                mask: m,
                replacement: m.replacement(),
                verification: f.and_then(|f| f.verification.as_ref()),
                revocation: f.and_then(|f| f.revocation.as_ref()),
            };
            serde_json::to_writer(&mut manifest, &entry)?;
            manifest.push(b'\n');
        }
    }
    if let Some(path) = &args.manifest {
        write_atomically(path, None, |w| w.write_all(&manifest))
            .with_context(|| format!("{}: cannot write manifest", path.display()))?;
    }
    if !args.quiet {
        eprintln!(
            "keysweep: redacted {} secret{} in {} of {} file{} ({}) in {} ms{}",
            totals.masked,
            if totals.masked == 1 { "" } else { "s" },
            totals.changed,
            totals.files,
            if totals.files == 1 { "" } else { "s" },
            human_bytes(totals.bytes),
            scan::duration_ms(started.elapsed()),
            if totals.warnings > 0 {
                format!("; INCOMPLETE: {} input(s) not redacted", totals.warnings)
            } else {
                String::new()
            }
        );
    }
    Ok(if totals.warnings > 0 {
        ExitStatus::Error
    } else {
        ExitStatus::Clean
    })
}

/// `--check`: scan like `scan` does (archives included), list what would be masked.
fn check(
    args: &RedactArgs,
    engine: &Engine,
    opts: &BlobOptions,
    checks: &common::Checks,
    started: std::time::Instant,
) -> Result<ExitStatus> {
    let mut outcome = scan::ScanOutcome::default();
    let (stdin, files): (Vec<&PathBuf>, Vec<&PathBuf>) =
        args.inputs.iter().partition(|p| p.as_os_str() == "-");
    if !stdin.is_empty() {
        outcome.merge(scan::scan_stream(engine, io::stdin().lock(), "-", opts));
    }
    if !files.is_empty() {
        let roots: Vec<PathBuf> = files.into_iter().cloned().collect();
        let walked = walk(&roots, &walk_options(args))?;
        let progress = scan::Progress::default();
        outcome.merge(scan::scan_files(engine, walked, opts, &progress));
    }
    outcome.sort();
    common::apply_checks(&mut outcome, engine, checks, args.quiet);
    let stdout = io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    for f in &outcome.findings {
        let status = match &f.verification {
            Some(v) => format!(" [{}: {}]", v.status.as_str(), v.reason),
            None => String::new(),
        };
        writeln!(
            w,
            "{}:{}:{}: {} {}{}",
            escape(&f.provenance.path),
            f.location.line,
            f.location.column,
            f.rule_id,
            redact::token(&f.rule_id, &f.fingerprint),
            escape(&status)
        )?;
    }
    w.flush()?;
    for warn in &outcome.warnings {
        eprintln!(
            "keysweep: warning: {}: {}",
            escape(&warn.path),
            escape(&warn.message)
        );
    }
    if !args.quiet {
        eprintln!(
            "keysweep: check: {} secret{} would be redacted in {} scanned ({}) in {} ms{}",
            outcome.findings.len(),
            if outcome.findings.len() == 1 { "" } else { "s" },
            human_bytes(outcome.stats.bytes_scanned),
            outcome.stats.files_scanned,
            scan::duration_ms(started.elapsed()),
            if outcome.incomplete {
                "; INCOMPLETE"
            } else {
                ""
            }
        );
    }
    Ok(ExitStatus::for_scan(
        outcome.findings.len(),
        outcome.incomplete,
    ))
}

/// Everything given is redacted: log directories are often git-ignored, and a copy meant for
/// sharing must not silently leave files out.
fn walk_options(_args: &RedactArgs) -> WalkOptions {
    WalkOptions {
        no_ignore: true,
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        ..Default::default()
    }
}

/// Expands the inputs into jobs with destinations.
fn plan_jobs(args: &RedactArgs) -> Result<Vec<Job>> {
    let mut jobs = Vec::new();
    let out_is_dir = args.inputs.len() > 1
        || args.inputs.iter().any(|p| p.is_dir())
        || args.output.as_ref().is_some_and(|o| o.is_dir());
    if out_is_dir && args.output.as_deref() == Some(Path::new("-")) {
        bail!("-o - (stdout) takes a single file input");
    }
    for input in &args.inputs {
        if input.as_os_str() == "-" {
            let dest = match &args.output {
                None => Dest::Stdout,
                Some(o) if o.as_os_str() == "-" => Dest::Stdout,
                Some(o) if out_is_dir => Dest::File(o.join("stdin")),
                Some(o) => Dest::File(o.clone()),
            };
            jobs.push(Job {
                src: None,
                display: "-".into(),
                dest: Some(dest),
            });
            continue;
        }
        let files: Vec<(PathBuf, String, PathBuf)> = if input.is_dir() {
            let walked = walk(std::slice::from_ref(input), &walk_options(args))?;
            for w in &walked.warnings {
                eprintln!(
                    "keysweep: warning: {}: {}",
                    escape(&w.path),
                    escape(&w.message)
                );
            }
            walked
                .files
                .into_iter()
                .map(|f| {
                    let rel = f
                        .path
                        .strip_prefix(input)
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|_| PathBuf::from(&f.display));
                    (f.path, f.display, rel)
                })
                .collect()
        } else {
            let name = input
                .file_name()
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("input"));
            vec![(input.clone(), display_path(input), name)]
        };
        for (path, display, rel) in files {
            let dest = if args.in_place {
                Dest::File(path.clone())
            } else {
                match &args.output {
                    Some(o) if o.as_os_str() == "-" => Dest::Stdout,
                    Some(o) if out_is_dir => Dest::File(o.join(rel)),
                    Some(o) => Dest::File(o.clone()),
                    None => unreachable!("checked in run"),
                }
            };
            jobs.push(Job {
                src: Some(path),
                display,
                dest: Some(dest),
            });
        }
    }
    // Two inputs must never write the same copy, and a copy must never overwrite its input
    // unless --in-place said so.
    let mut seen = std::collections::HashSet::new();
    for j in &jobs {
        if let Some(Dest::File(d)) = &j.dest {
            if !seen.insert(d.clone()) {
                bail!(
                    "{}: two inputs would be written to the same output; give them distinct names",
                    d.display()
                );
            }
            if !args.in_place {
                if let (Some(src), Ok(dc)) = (&j.src, d.canonicalize()) {
                    if src.canonicalize().is_ok_and(|s| s == dc) {
                        bail!(
                            "{}: the output is the input; use --in-place to replace it",
                            d.display()
                        );
                    }
                }
            }
        }
    }
    Ok(jobs)
}

/// A seekable copy of the input: the file itself, or stdin spooled.
enum Input {
    File(File),
    Spooled(tempfile::SpooledTempFile),
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::File(f) => f.read(buf),
            Input::Spooled(s) => s.read(buf),
        }
    }
}

impl Input {
    fn rewind(&mut self) -> io::Result<()> {
        match self {
            Input::File(f) => f.seek(SeekFrom::Start(0)).map(|_| ()),
            Input::Spooled(s) => s.seek(SeekFrom::Start(0)).map(|_| ()),
        }
    }
}

/// Scans and copies one input; returns its masks and byte count.
fn redact_one(
    engine: &Engine,
    scratch: &mut Scratch,
    buf: &mut Vec<u8>,
    opts: &BlobOptions,
    job: &Job,
    args: &RedactArgs,
) -> Result<(Vec<Mask>, u64, Vec<keysweep::finding::Finding>)> {
    let mut input = match &job.src {
        Some(p) => Input::File(keysweep::small_file::open_regular(p).context("cannot open")?),
        None => {
            let mut spool = tempfile::spooled_tempfile(STDIN_SPOOL_IN_MEMORY);
            io::copy(&mut io::stdin().lock(), &mut spool).context("cannot read stdin")?;
            Input::Spooled(spool)
        }
    };
    // The spool is positioned at its end after the copy: sniff from the start.
    input.rewind()?;
    let (kind, _) = archive::peek(&mut input).context("read error")?;
    input.rewind()?;
    let gzip = match kind {
        Kind::Plain => false,
        Kind::Gzip => {
            let (inner, _) = archive::peek(&mut MultiGzDecoder::new(&mut input))
                .context("corrupt gzip data")?;
            input.rewind()?;
            if inner != Kind::Plain {
                bail!("a compressed archive (.tar.gz and the like) cannot be rewritten; extract it and redact the files, or use --check");
            }
            true
        }
        Kind::Zip | Kind::Tar => bail!(
            "zip and tar bundles cannot be rewritten; extract them and redact the files, or use --check"
        ),
    };
    let plan = if gzip {
        redact::plan(
            engine,
            scratch,
            MultiGzDecoder::new(&mut input),
            &job.display,
            opts.chunk,
            buf,
        )
    } else {
        redact::plan(engine, scratch, &mut input, &job.display, opts.chunk, buf)
    }
    .context("cannot read the whole input (truncated or corrupt?)")?;
    input.rewind()?;
    let masks = if gzip {
        redact::add_copies(plan.masks, &plan.findings, MultiGzDecoder::new(&mut input))
    } else {
        redact::add_copies(plan.masks, &plan.findings, &mut input)
    }
    .context("cannot read the input again")?;
    input.rewind()?;
    let copy = |w: &mut dyn Write, input: &mut Input| -> io::Result<()> {
        if gzip {
            let mut enc = flate2::write::GzEncoder::new(w, flate2::Compression::default());
            redact::write_masked(MultiGzDecoder::new(input), &mut enc, &masks)?;
            enc.finish()?.flush()
        } else {
            redact::write_masked(input, w, &masks)?;
            w.flush()
        }
    };
    match job.dest.as_ref().expect("every job has a destination") {
        Dest::Stdout => {
            let stdout = io::stdout();
            let mut w = BufWriter::new(stdout.lock());
            copy(&mut w, &mut input)?;
        }
        Dest::File(path) => {
            let keep_mode = if args.in_place {
                std::fs::metadata(path).ok().map(|m| m.permissions())
            } else {
                None
            };
            write_atomically(path, keep_mode, |w| copy(w, &mut input))
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok((masks, plan.bytes, plan.findings))
}

/// Writes through a temporary file in the destination's directory, then renames it over `path`.
fn write_atomically(
    path: &Path,
    mode: Option<std::fs::Permissions>,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    // `-o /dev/null` or `/dev/stdout`: renaming over it would replace the device.
    if common::is_existing_special(path) {
        return common::write_in_place(path, write);
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".keysweep-redact-")
        .tempfile_in(dir)?;
    {
        let mut w = BufWriter::new(tmp.as_file_mut());
        write(&mut w)?;
        w.flush()?;
    }
    tmp.as_file().sync_all()?;
    if let Some(m) = mode {
        std::fs::set_permissions(tmp.path(), m)?;
    }
    tmp.persist(path)?;
    Ok(())
}
