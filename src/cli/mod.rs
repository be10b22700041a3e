//! Command-line definitions (clap derive; the doc comments are the `--help` text) and the glue
//! from flags to library objects. Raw flags stay here; [`common`] turns them into a validated
//! engine and report settings.

pub mod baseline_cmd;
pub mod common;
pub mod git_cmd;
pub mod guard_cmd;
pub mod hook_cmd;
pub mod mcp_cmd;
pub mod merge_cmd;
pub mod progress;
pub mod redact_cmd;
pub mod revoke_cmd;
pub mod rules_cmd;
pub mod scan_cmd;

use clap::{Args, Parser, Subcommand, ValueEnum};
use keysweep::report::Format;
use std::path::PathBuf;

/// Find leaked secrets (API keys, tokens, private keys, passwords in URLs) in files, stdin,
/// git history and logs.
///
/// Exit codes: 0 = clean, 1 = findings (see --exit-code), 2 = error or incomplete scan.
#[derive(Debug, Parser)]
#[command(name = "keysweep", version, about, long_about = None, propagate_version = true)]
#[command(after_help = "Examples:\n  \
    keysweep scan                       scan the current directory\n  \
    keysweep scan src .env --format json -o findings.json\n  \
    cat app.log | keysweep scan -       scan stdin\n  \
    keysweep scan . --format sarif -o keysweep.sarif   for GitHub code scanning\n  \
    keysweep git                        scan the whole git history (all refs)\n  \
    keysweep git --range origin/main..HEAD   only what a branch adds (CI)\n  \
    keysweep git --staged               what the next commit would add (pre-commit)\n  \
    keysweep install-hook               block commits that add secrets\n  \
    keysweep baseline create -o .keysweep-baseline.toml   accept today's findings\n  \
    kubectl logs pod | keysweep redact - > safe.log    mask secrets in a log\n  \
    keysweep rules list                 the built-in rules\n  \
    keysweep rules explain github-pat   what a rule finds and why\n\n\
    Exit codes: 0 clean, 1 findings (change with --exit-code N), 2 error or incomplete scan.\n\
    Secrets are redacted unless --show-secrets. No network use without --verify,\n\
    --revocation-endpoint or `revoke --yes`.")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files and directories (default `.`), or stdin with `-`.
    ///
    /// Respects .gitignore and .ignore (use --no-ignore to scan everything), scans hidden files
    /// such as .env and shell history, never enters .git/, skips binary files, and reads large
    /// files in bounded chunks. Compressed and bundled inputs (.gz, .zip, .tar, .tar.gz,
    /// recognised by content) are opened: a finding inside one is named `bundle.zip!logs/app.log`.
    Scan(Box<scan_cmd::ScanArgs>),
    /// Scan git history (all refs by default), a branch or range, or the staged changes.
    ///
    /// Each unique blob is scanned once and every finding names the commit and path that
    /// introduced it. With --staged, the index is compared with HEAD and only added lines are
    /// reported (this is what the pre-commit hook runs).
    Git(Box<git_cmd::GitArgs>),
    /// Create or check a baseline: findings accepted once and not reported again.
    #[command(subcommand)]
    Baseline(baseline_cmd::BaselineCommand),
    /// Install a plain git pre-commit hook that runs `keysweep git --staged`.
    ///
    /// For people who do not use the pre-commit framework (for that, see
    /// .pre-commit-hooks.yaml). Refuses to replace a hook keysweep did not write unless --force.
    InstallHook(hook_cmd::InstallHookArgs),
    /// Write a copy of logs with every secret masked, safe to share.
    ///
    /// Each secret becomes `[REDACTED:<rule-id>:<first 8 hex of its fingerprint>]`; every other
    /// byte (line count, line endings, encoding) is unchanged. A .gz input gives a .gz output.
    /// Exit codes: 0 = done, 1 = --check found something to redact, 2 = an input could not be
    /// redacted (no copy is written for it).
    Redact(redact_cmd::RedactArgs),
    /// Answer an AI coding assistant's hook event (JSON on stdin): block a prompt, a file read,
    /// a shell command or a tool call that would send a key to the model.
    ///
    /// Speaks Claude Code's hook protocol (UserPromptSubmit, PreToolUse for Read, Bash, Write,
    /// Edit, WebFetch and mcp__* tools, PostToolUse) and Cursor's (beforeSubmitPrompt,
    /// beforeReadFile, beforeShellExecution, beforeMCPExecution), told apart by the event's
    /// name. Local and offline; the answer never holds a secret. See docs/agents.md.
    Guard(guard_cmd::GuardArgs),
    /// Serve the Model Context Protocol on stdio: tools scan_text, scan_path, redact_text and
    /// explain_rule for an AI assistant. Answers never contain a raw secret.
    Mcp(mcp_cmd::McpArgs),
    /// Revoke leaked tokens with their provider (GitHub). Prints what it would send; sends
    /// only with --yes.
    Revoke(revoke_cmd::RevokeArgs),
    /// List, check and explain detection rules.
    #[command(subcommand)]
    Rules(rules_cmd::RulesCommand),
    /// Merge the JSON or SARIF reports of many runs (a CI matrix, a batch job) into one.
    Merge(merge_cmd::MergeArgs),
}

/// Flags that drop known findings before they are reported and counted.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Do not report findings listed in this baseline file (see `keysweep baseline create`);
    /// they do not count for the exit code either.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Do not read `.keysweepignore` at the scan root.
    #[arg(long)]
    pub no_keysweepignore: bool,
}

/// When to colour text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Flags that choose the rules.
#[derive(Debug, Clone, Args)]
pub struct RuleArgs {
    /// Add the rules in this TOML file (repeatable). See docs/rules.md.
    #[arg(long = "rules", value_name = "FILE")]
    pub rule_files: Vec<PathBuf>,
    /// Read this config instead of `keysweep.toml` at the scan root.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore any `keysweep.toml`.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Turn off a rule by id (repeatable).
    #[arg(long = "disable", value_name = "RULE_ID")]
    pub disable: Vec<String>,
}

/// Flags that shape the report.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Report format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print raw secrets in the report. Off by default: reports show a short prefix and `…`.
    #[arg(long)]
    pub show_secrets: bool,
    /// Exit code to use when findings are reported (default 1).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub exit_code: u8,
    /// Colour for text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// No summary or progress on stderr (warnings are still printed).
    #[arg(short, long)]
    pub quiet: bool,
}

/// Limits on opening compressed and bundled inputs (see docs/logs.md).
#[derive(Debug, Clone, Args)]
pub struct ArchiveArgs {
    /// Open archives nested up to N levels (a .tar.gz is one level); 0 scans archives as raw
    /// bytes without opening them.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub max_archive_depth: u32,
    /// Stop reading an input's archive members after SIZE uncompressed bytes in all (K/M/G
    /// suffixes). A single top-level .gz log is not counted against this.
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = common::parse_size)]
    pub max_archive_bytes: u64,
    /// Stop a decompressor that expands more than N:1 (a decompression bomb).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_archive_ratio: u64,
}

impl Default for ArchiveArgs {
    fn default() -> Self {
        let l = keysweep::source::archive::Limits::default();
        ArchiveArgs {
            max_archive_depth: l.max_depth,
            max_archive_bytes: l.max_member_bytes,
            max_archive_ratio: l.max_ratio,
        }
    }
}

impl ArchiveArgs {
    /// The library's limits.
    pub fn limits(&self) -> keysweep::source::archive::Limits {
        keysweep::source::archive::Limits {
            max_depth: self.max_archive_depth,
            max_member_bytes: self.max_archive_bytes,
            max_ratio: self.max_archive_ratio.max(1),
        }
    }
}

/// Opt-in network checks of findings, shared by every scanning command. Without `--verify` or
/// a revocation endpoint, keysweep opens no network connection. See docs/verification.md.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Verification (opt-in, uses the network)")]
pub struct VerifyArgs {
    /// Check each finding with its provider's cheapest read-only API call and report
    /// `active`, `inactive` (invalid or revoked) or `unknown`. Hosts: docs/network.md.
    #[arg(long)]
    pub verify: bool,
    /// Report only findings whose key the live check found active (needs --verify). The exit
    /// code then follows the findings reported.
    #[arg(long, requires = "verify")]
    pub only_active: bool,
    /// Send PROVIDER's live checks to URL instead (a proxy, a test server), keeping the path:
    /// `openai=http://127.0.0.1:8080` checks `GET http://127.0.0.1:8080/v1/models`. PROVIDER is
    /// the provider key from `keysweep rules list -f json`. Repeatable.
    #[arg(long = "verify-base-url", value_name = "PROVIDER=URL", value_parser = parse_base_url)]
    pub base_urls: Vec<(String, String)>,
    /// Ask this revocation endpoint which found keys are still active (sends SHA-256 hashes,
    /// not keys). Protocol: docs/revocation-endpoint.md. Token: $KEYSWEEP_REVOCATION_TOKEN.
    #[arg(long, value_name = "URL")]
    pub revocation_endpoint: Option<String>,
    /// Also send each raw secret to the revocation endpoint.
    #[arg(long)]
    pub revocation_send_secrets: bool,
    /// Seconds to connect to a host [default: 5].
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub verify_connect_timeout: Option<f64>,
    /// Seconds to wait for an answer [default: 10].
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub verify_timeout: Option<f64>,
    /// Seconds for all network checks of the run; checks not done by then are `unknown`
    /// [default: 60].
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub verify_budget: Option<f64>,
    /// Retries after a 5xx or 429 answer, with backoff [default: 2].
    #[arg(long, value_name = "N")]
    pub verify_retries: Option<u32>,
    /// Longest Retry-After to wait for, in seconds [default: 10].
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub verify_max_retry_after: Option<f64>,
    /// Requests in flight per host [default: 4].
    #[arg(long, value_name = "N")]
    pub verify_concurrency: Option<usize>,
    /// Requests started per second per host, 0 for no limit [default: 10].
    #[arg(long, value_name = "N", value_parser = parse_secs)]
    pub verify_rate: Option<f64>,
}

fn parse_base_url(s: &str) -> Result<(String, String), String> {
    let (provider, url) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not PROVIDER=URL"))?;
    let key = keysweep::verify::provider_key(provider);
    if key.is_empty() {
        return Err(format!("`{s}` names no provider"));
    }
    keysweep::verify::check_base_url(url)?;
    Ok((key, url.to_string()))
}

/// Parses a non-negative number of seconds (`2`, `0.5`).
pub fn parse_secs(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..1e7).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a number of seconds")),
    }
}
