//! Turning flags into library objects: the config file, the rule set and engine, the report
//! writer, and the stderr summary.

use super::{ColorChoice, FilterArgs, OutputArgs, RuleArgs, VerifyArgs};
use anyhow::{bail, Context, Result};
use keysweep::baseline::{Baseline, IgnoreFile, Suppressions};
use keysweep::config::Config;
use keysweep::engine::Engine;
use keysweep::finding::VerifyStatus;
use keysweep::report::{self, Format, ReportOptions};
use keysweep::rules::{self, RuleError};
use keysweep::sanitize::escape;
use keysweep::scan::ScanOutcome;
use keysweep::verify::{self, NetOptions, RevocationTarget, Settings};
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

/// Loads `--config`, or `keysweep.toml` in `root` when it exists.
pub fn load_config(args: &RuleArgs, root: &Path) -> Result<Option<Config>> {
    if args.no_config {
        return Ok(None);
    }
    match &args.config {
        Some(path) => Ok(Some(Config::load(path)?)),
        None => Ok(Config::discover(root)?),
    }
}

/// Builds the engine: built-in rules, the config's rules, `--rules` files, minus disabled ids.
pub fn build_engine(args: &RuleArgs, config: Option<&Config>) -> Result<Engine> {
    let mut all = rules::builtin_rules()?;
    let mut problems = Vec::new();
    let mut disabled: Vec<String> = args.disable.clone();
    let mut allow_values = Vec::new();
    if let Some(cfg) = config {
        let base = cfg.base_dir();
        let cfg_name = cfg
            .path
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "keysweep.toml".into());
        for f in &cfg.rule_files {
            let (mut r, mut p) = rules::load_rule_file(&base.join(f))?;
            all.append(&mut r);
            problems.append(&mut p);
        }
        for spec in cfg.rule.iter().cloned() {
            match rules::compile_rule(spec, &cfg_name) {
                Ok(r) => all.push(r),
                Err(mut p) => problems.append(&mut p),
            }
        }
        disabled.extend(cfg.disable_rules.iter().cloned());
        for v in &cfg.allowlist.values {
            if v.len() > rules::MAX_PATTERN_LEN {
                anyhow::bail!(
                    "{cfg_name}: an allowlist value regex is {} bytes long; the limit is {}",
                    v.len(),
                    rules::MAX_PATTERN_LEN
                );
            }
            let re = regex::bytes::RegexBuilder::new(v)
                .unicode(false)
                .size_limit(1 << 20)
                .build()
                .with_context(|| format!("{cfg_name}: allowlist value regex `{v}` is invalid"))?;
            allow_values.push(re);
        }
    }
    for f in &args.rule_files {
        let (mut r, mut p) = rules::load_rule_file(f)?;
        all.append(&mut r);
        problems.append(&mut p);
    }
    problems.extend(rules::duplicate_ids(&all));
    if !problems.is_empty() {
        return Err(RuleError::Invalid(problems).into());
    }
    for id in &disabled {
        if !all.iter().any(|r| &r.id == id) {
            return Err(RuleError::UnknownDisabled(id.clone()).into());
        }
    }
    all.retain(|r| !disabled.contains(&r.id));
    Ok(Engine::with_allowlist(all, allow_values))
}

/// Loads `--baseline` and `root/.keysweepignore`. `strip_prefix` is how `root` appears at the
/// start of finding paths (for matching ignore globs relative to the root).
pub fn suppressions(
    filter: &FilterArgs,
    root: Option<&Path>,
    strip_prefix: Option<String>,
) -> Result<Suppressions> {
    let baseline = match &filter.baseline {
        Some(p) => Some(Baseline::load(p)?),
        None => None,
    };
    let ignore = match root {
        Some(r) if !filter.no_keysweepignore => IgnoreFile::discover(r)?,
        _ => None,
    };
    Ok(Suppressions {
        baseline,
        ignore,
        strip_prefix,
    })
}

/// What the closing advice on stderr is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// A scan of files or history.
    Scan,
    /// A pre-commit check of staged changes: the commit is blocked.
    Commit,
}

/// The opt-in network checks a scan command asked for, validated.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    /// What to check and how.
    pub settings: Settings,
    /// `--only-active`.
    pub only_active: bool,
}

/// Builds the network-check settings from flags and `[verify]` in the config (flags win).
/// Fails on a base URL for a provider no rule has, or on raw secrets over plain HTTP.
pub fn check_settings(
    args: &VerifyArgs,
    config: Option<&Config>,
    engine: &Engine,
) -> Result<Checks> {
    let cfg = config.map(|c| c.verify.clone()).unwrap_or_default();
    let mut base_urls = std::collections::BTreeMap::new();
    let known: std::collections::BTreeSet<String> = engine
        .rules()
        .iter()
        .map(|r| verify::provider_key(&r.provider))
        .collect();
    let from_config = cfg.base_urls.iter().map(|(p, u)| {
        (
            verify::provider_key(p),
            u.clone(),
            "[verify.base_urls] in the config",
        )
    });
    let from_flags = args
        .base_urls
        .iter()
        .map(|(p, u)| (p.clone(), u.clone(), "--verify-base-url"));
    for (key, url, origin) in from_config.chain(from_flags) {
        if let Err(e) = verify::check_base_url(&url) {
            bail!("{origin}: {e}");
        }
        if !known.contains(&key) {
            let with_checks: std::collections::BTreeSet<String> = engine
                .rules()
                .iter()
                .filter(|r| r.verify.is_some())
                .map(|r| verify::provider_key(&r.provider))
                .collect();
            bail!(
                "{origin}: no rule has provider `{key}`; providers with live checks: {}",
                with_checks.into_iter().collect::<Vec<_>>().join(", ")
            );
        }
        base_urls.insert(key, url);
    }
    let endpoint = args
        .revocation_endpoint
        .clone()
        .or(cfg.revocation_endpoint.clone());
    if args.revocation_send_secrets && endpoint.is_none() {
        bail!("--revocation-send-secrets needs --revocation-endpoint (or [verify] revocation_endpoint)");
    }
    let revocation = match endpoint {
        None => None,
        Some(url) => {
            let Some(host) = verify::http::host_of(&url) else {
                bail!("revocation endpoint `{url}` is not an http:// or https:// URL");
            };
            if args.revocation_send_secrets
                && url.starts_with("http://")
                && !verify::http::is_loopback_host(host)
            {
                bail!("refusing to send raw secrets over plain http:// to {host}; use https://");
            }
            let token = std::env::var("KEYSWEEP_REVOCATION_TOKEN")
                .ok()
                .filter(|t| !t.is_empty())
                .map(|t| keysweep::finding::Secret::new(t.as_bytes()));
            Some(RevocationTarget {
                url,
                token,
                send_secrets: args.revocation_send_secrets,
            })
        }
    };
    let d = NetOptions::default();
    let secs = |flag: Option<f64>, conf: Option<f64>, default: Duration| {
        flag.or(conf).map_or(default, Duration::from_secs_f64)
    };
    let net = NetOptions {
        timeouts: verify::http::Timeouts {
            connect: secs(
                args.verify_connect_timeout,
                cfg.connect_timeout,
                d.timeouts.connect,
            ),
            read: secs(args.verify_timeout, cfg.timeout, d.timeouts.read),
        },
        retry: verify::http::RetryPolicy {
            max_retries: args
                .verify_retries
                .or(cfg.retries)
                .unwrap_or(d.retry.max_retries),
            backoff: d.retry.backoff,
            max_retry_after: secs(
                args.verify_max_retry_after,
                cfg.max_retry_after,
                d.retry.max_retry_after,
            ),
        },
        per_host_concurrency: args
            .verify_concurrency
            .or(cfg.concurrency)
            .unwrap_or(d.per_host_concurrency)
            .max(1),
        per_host_rate: args.verify_rate.or(cfg.rate).unwrap_or(d.per_host_rate),
        budget: secs(args.verify_budget, cfg.budget, d.budget),
        workers: d.workers,
    };
    Ok(Checks {
        settings: Settings {
            verify: args.verify,
            base_urls,
            revocation,
            net,
        },
        only_active: args.only_active,
    })
}

/// The end of every scan command: drop baseline and `.keysweepignore` matches, sort, run the
/// opt-in network checks, report, print warnings and summary, pick the exit status.
pub fn finish(
    mut outcome: ScanOutcome,
    engine: &Engine,
    out: &OutputArgs,
    suppress: &Suppressions,
    hint: Hint,
    checks: &Checks,
) -> Result<keysweep::exit_code::ExitStatus> {
    suppress.apply(&mut outcome);
    if let Some(ignore) = &suppress.ignore {
        outcome.warnings.extend(ignore.secrets_pasted_in(engine));
    }
    outcome.sort();
    apply_checks(&mut outcome, engine, checks, out.quiet);
    outcome.stats.findings = outcome.findings.len() as u64;
    // `scan … | head`: the reader left, which is no failure of the scan; its status stands.
    if let Err(e) = emit_report(&outcome, engine, out) {
        if !is_broken_pipe(&e) {
            return Err(e);
        }
    }
    print_warnings_and_summary(&outcome, out, hint);
    Ok(keysweep::exit_code::ExitStatus::for_scan(
        outcome.findings.len(),
        outcome.incomplete,
    ))
}

/// True when `err` comes from writing to a pipe whose reader has gone.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Runs `--verify` / the revocation endpoint on the findings and applies `--only-active`.
/// A no-op (and no network) when neither was asked for.
pub fn apply_checks(outcome: &mut ScanOutcome, engine: &Engine, checks: &Checks, quiet: bool) {
    if !checks.settings.any() || outcome.findings.is_empty() {
        if checks.settings.any() {
            outcome.checks = Some(verify::Summary::default());
        }
        return;
    }
    if !quiet {
        eprintln!(
            "keysweep: checking {} finding(s) over the network (budget {} s)...",
            outcome.findings.len(),
            checks.settings.net.budget.as_secs_f64()
        );
    }
    let mut summary = verify::run(&mut outcome.findings, engine.rules(), &checks.settings);
    if checks.only_active {
        let before = outcome.findings.len();
        outcome.findings.retain(|f| {
            f.verification
                .as_ref()
                .is_some_and(|v| v.status == VerifyStatus::Active)
        });
        summary.hidden_not_active = (before - outcome.findings.len()) as u64;
    }
    outcome.checks = Some(summary);
}

/// Whether to colour output going to a stream that is (or is not) a terminal.
pub fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_terminal && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// Writes the report to `-o FILE` (atomically, via a temporary file) or stdout.
pub fn emit_report(outcome: &ScanOutcome, engine: &Engine, out: &OutputArgs) -> Result<()> {
    let to_terminal = out.output.is_none() && io::stdout().is_terminal();
    let opts = ReportOptions {
        show_secrets: out.show_secrets,
        color: out.format == Format::Text && use_color(out.color, to_terminal),
        rules: engine.rules(),
    };
    match &out.output {
        Some(path) => write_output_file(path, |w| report::write(out.format, outcome, opts, w))?,
        None => {
            let stdout = io::stdout();
            let mut w = io::BufWriter::new(stdout.lock());
            report::write(out.format, outcome, opts, &mut w)?;
            w.flush()?;
        }
    }
    Ok(())
}

/// True when `path` exists and is not a regular file (`/dev/null`, `/dev/stdout`, a FIFO):
/// such a target must be written in place, never replaced by renaming a file over it.
pub fn is_existing_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file())
}

/// Opens an existing (special) file and writes to it directly.
pub fn write_in_place(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("{}: cannot open for writing", path.display()))?;
    let mut w = io::BufWriter::new(f);
    write(&mut w)
        .and_then(|_| w.flush())
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

/// Writes an output file. A regular file (or a new one) is replaced atomically through a
/// temporary file in the same directory, so readers never see half a report. Anything else —
/// `/dev/null`, `/dev/stdout`, a FIFO — is opened and written in place: renaming over it would
/// replace the device with a plain file.
pub fn write_output_file(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    if is_existing_special(path) {
        return write_in_place(path, write);
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        bail!(
            "{}: cannot create file: directory {} does not exist",
            path.display(),
            dir.display()
        );
    }
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                e.to_string()
                    .split(" at path")
                    .next()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .with_context(|| format!("{}: cannot create file", path.display()))?;
    {
        let mut w = io::BufWriter::new(tmp.as_file_mut());
        write(&mut w)
            .and_then(|_| w.flush())
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    tmp.persist(path)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

/// Prints per-input warnings (always) and the summary (unless quiet) on stderr.
pub fn print_warnings_and_summary(outcome: &ScanOutcome, out: &OutputArgs, hint: Hint) {
    let stderr = io::stderr();
    let mut e = stderr.lock();
    for w in &outcome.warnings {
        let _ = writeln!(
            e,
            "keysweep: warning: {}: {}",
            escape(&w.path),
            escape(&w.message)
        );
    }
    if out.quiet {
        return;
    }
    let s = &outcome.stats;
    let mut skipped = Vec::new();
    for (n, what) in [
        (s.skipped_binary, "binary"),
        (s.skipped_too_large, "too large"),
        (s.skipped_allowlisted, "allowlisted"),
        (s.skipped_special, "special"),
        (s.skipped_symlinks, "symlinks"),
    ] {
        if n > 0 {
            skipped.push(format!("{n} {what}"));
        }
    }
    let skipped = if skipped.is_empty() {
        String::new()
    } else {
        format!(", skipped {}", skipped.join(", "))
    };
    let suppressed = if s.suppressed_inline + s.suppressed_baseline > 0 {
        format!(
            " ({} suppressed: {} inline, {} baseline/ignore)",
            s.suppressed_inline + s.suppressed_baseline,
            s.suppressed_inline,
            s.suppressed_baseline
        )
    } else {
        String::new()
    };
    let commits = if s.commits_scanned > 0 {
        format!("{} commits, ", s.commits_scanned)
    } else {
        String::new()
    };
    let _ = writeln!(
        e,
        "keysweep: {commits}{} {}, {} scanned in {} ms{skipped}; {} finding{}{suppressed}{}",
        s.files_scanned,
        if s.commits_scanned > 0 {
            "blobs"
        } else {
            "files"
        },
        human_bytes(s.bytes_scanned),
        s.duration_ms,
        outcome.findings.len(),
        if outcome.findings.len() == 1 { "" } else { "s" },
        if outcome.incomplete {
            format!("; INCOMPLETE: {} input(s) could not be read", s.errors)
        } else {
            String::new()
        }
    );
    if let Some(c) = &outcome.checks {
        if let Some(v) = &c.verification {
            let _ = writeln!(
                e,
                "keysweep: live checks: {} active, {} inactive, {} unknown ({} distinct key(s) checked in {} ms)",
                v.active, v.inactive_or_revoked, v.unknown, v.checked, c.duration_ms
            );
        }
        if let Some(r) = &c.revocation {
            let _ = writeln!(
                e,
                "keysweep: revocation endpoint: {} active, {} revoked, {} unknown ({} distinct key(s) asked)",
                r.active, r.inactive_or_revoked, r.unknown, r.checked
            );
        }
        if c.hidden_not_active > 0 {
            let _ = writeln!(
                e,
                "keysweep: --only-active: {} finding(s) not reported because their key was not found active",
                c.hidden_not_active
            );
        }
    }
    if !outcome.findings.is_empty() && out.format == Format::Text {
        let _ = e.write_all(advice(outcome, hint).as_bytes());
    }
}

/// How many findings get their own copy-paste `.keysweepignore` line.
const ADVICE_LINES: usize = 10;

/// The "what now" text after findings: remove, allow inline, or ignore by fingerprint.
pub fn advice(outcome: &ScanOutcome, hint: Hint) -> String {
    let n = outcome.findings.len();
    let mut s = String::new();
    if hint == Hint::Commit {
        s.push_str(&format!(
            "keysweep: commit blocked: {n} secret{} in the staged changes (above).\n",
            if n == 1 { "" } else { "s" }
        ));
    }
    s.push_str(
        "keysweep: to proceed, for each finding either\n  \
         1. remove the secret (then `git add` the file again) and rotate it: treat it as leaked;\n  \
         2. or, if it is not a real secret, add a comment containing `keysweep:allow` on its line;\n  \
         3. or add its fingerprint to .keysweepignore:\n",
    );
    for f in outcome.findings.iter().take(ADVICE_LINES) {
        let line = format!(
            "{}  # {} in {}",
            f.fingerprint, f.rule_id, f.provenance.path
        );
        s.push_str(&format!(
            "       echo {} >> .keysweepignore\n",
            escape(&shell_quote(&line))
        ));
    }
    if n > ADVICE_LINES {
        s.push_str(&format!(
            "       ({} more; or accept them all at once: keysweep baseline create -o FILE, then \
             scan with --baseline FILE)\n",
            n - ADVICE_LINES
        ));
    }
    s
}

/// Single-quotes `s` for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `1.2 MB` style sizes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Parses `--max-file-size` values: `1048576`, `500K`, `10M`, `2G` (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m' | 'M') => (&t[..t.len() - 1], 1 << 20),
        Some('g' | 'G') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("`{s}` is not a size (examples: 1048576, 500K, 10M, 2G)"))
}

/// Fails with a clear message when a path argument does not exist.
pub fn require_exists(path: &Path) -> Result<()> {
    if path.as_os_str() != "-" && std::fs::symlink_metadata(path).is_err() {
        bail!("{}: no such file or directory", path.display());
    }
    Ok(())
}
