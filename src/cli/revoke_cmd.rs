//! `keysweep revoke --github FINDINGS.json`: hands the GitHub tokens of a report to GitHub's
//! credential revocation API. Without `--yes` it only prints what it would send. Revocation
//! cannot be undone and GitHub notifies each token's owner.

use super::parse_secs;
use anyhow::{bail, Context, Result};
use clap::Args;
use keysweep::exit_code::ExitStatus;
use keysweep::finding::Secret;
use keysweep::sanitize::escape;
use keysweep::verify::github_revoke::{self, BATCH, GITHUB_API};
use keysweep::verify::http::{Client, HostLimiter};
use keysweep::verify::NetOptions;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Flags of `keysweep revoke`.
#[derive(Debug, Args)]
#[command(after_help = "The report must carry raw secrets:\n  \
    keysweep scan . --show-secrets -f json -o findings.json\n  \
    keysweep revoke --github findings.json          show what would be revoked\n  \
    keysweep revoke --github findings.json --yes    revoke them")]
pub struct RevokeArgs {
    /// A keysweep JSON or JSONL report made with --show-secrets (`-` reads stdin). Its GitHub
    /// tokens (ghp_, gho_, ghu_, ghr_, github_pat_) are sent to GitHub's
    /// /credentials/revoke API, at most 1000 per request.
    #[arg(long, value_name = "FINDINGS.json", required = true)]
    pub github: PathBuf,
    /// Really send them. Without it, only prints what would be sent.
    #[arg(long)]
    pub yes: bool,
    /// GitHub API base URL (for tests and proxies).
    #[arg(long, value_name = "URL", default_value = GITHUB_API)]
    pub github_api_url: String,
    /// Seconds to wait for each answer.
    #[arg(long, value_name = "SECS", value_parser = parse_secs, default_value_t = 30.0)]
    pub timeout: f64,
}

/// A token to revoke and where it was found.
struct Found {
    token: String,
    places: Vec<String>,
}

/// Runs `keysweep revoke`.
pub fn run(args: RevokeArgs) -> Result<ExitStatus> {
    keysweep::verify::check_base_url(&args.github_api_url)
        .map_err(|e| anyhow::anyhow!("--github-api-url: {e}"))?;
    let text = if args.github.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s
    } else {
        std::fs::read_to_string(&args.github)
            .with_context(|| format!("{}: cannot read report", args.github.display()))?
    };
    let findings = parse_report(&text).with_context(|| {
        format!(
            "{}: not a keysweep JSON or JSONL report",
            args.github.display()
        )
    })?;
    if !findings.is_empty() && findings.iter().all(|f| f.get("secret").is_none()) {
        bail!(
            "{}: the report has no raw secrets; make it with `keysweep scan --show-secrets -f json -o FILE`",
            args.github.display()
        );
    }
    let mut tokens: Vec<Found> = Vec::new();
    let mut skipped = 0usize;
    for f in &findings {
        let Some(secret) = f.get("secret").and_then(|s| s.as_str()) else {
            continue;
        };
        let looks_github = secret.starts_with("gh") || secret.starts_with("github_pat_");
        if !github_revoke::is_revocable(secret) {
            skipped += usize::from(looks_github);
            continue;
        }
        let place = format!(
            "{}:{}",
            f.get("path").and_then(|p| p.as_str()).unwrap_or("?"),
            f.get("line").and_then(|l| l.as_u64()).unwrap_or(0)
        );
        match tokens.iter_mut().find(|t| t.token == secret) {
            Some(t) => t.places.push(place),
            None => tokens.push(Found {
                token: secret.to_string(),
                places: vec![place],
            }),
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if skipped > 0 {
        writeln!(
            out,
            "{skipped} GitHub-looking secret(s) skipped: GitHub's API revokes only ghp_, gho_, ghu_, ghr_ and github_pat_ tokens"
        )?;
    }
    if tokens.is_empty() {
        writeln!(out, "no GitHub tokens to revoke")?;
        return Ok(ExitStatus::Clean);
    }
    let endpoint = github_revoke::endpoint(&args.github_api_url);
    let batches: Vec<Vec<String>> = tokens
        .chunks(BATCH)
        .map(|c| c.iter().map(|t| t.token.clone()).collect())
        .collect();
    writeln!(
        out,
        "{} {} GitHub token(s) to POST {} in {} request(s):",
        if args.yes { "revoking" } else { "would send" },
        tokens.len(),
        escape(&endpoint),
        batches.len()
    )?;
    for t in &tokens {
        writeln!(
            out,
            "  {}  found at {}",
            escape(&Secret::new(t.token.as_bytes()).redacted()),
            escape(&t.places.join(", "))
        )?;
    }
    if !args.yes {
        writeln!(
            out,
            "dry run: nothing was sent. Revocation cannot be undone and GitHub notifies each token's owner; run again with --yes to revoke."
        )?;
        return Ok(ExitStatus::Clean);
    }
    out.flush()?;
    let mut net = NetOptions::default();
    net.timeouts.read = Duration::from_secs_f64(args.timeout);
    let client = Client::new(net.timeouts);
    let limiter = HostLimiter::new(1, 0.0);
    let deadline = Instant::now() + Duration::from_secs(3600);
    let mut failed = 0usize;
    for (i, batch) in batches.iter().enumerate() {
        match github_revoke::revoke_batch(
            &client,
            &limiter,
            net.retry,
            &args.github_api_url,
            batch,
            deadline,
        ) {
            Ok(status) => writeln!(
                out,
                "request {}/{}: {} token(s) accepted (HTTP {status})",
                i + 1,
                batches.len(),
                batch.len()
            )?,
            Err(reason) => {
                failed += batch.len();
                writeln!(
                    out,
                    "request {}/{}: {} token(s) NOT revoked: {reason}",
                    i + 1,
                    batches.len(),
                    batch.len()
                )?;
            }
        }
    }
    if failed > 0 {
        eprintln!("keysweep: {failed} token(s) could not be submitted for revocation");
        Ok(ExitStatus::Error)
    } else {
        Ok(ExitStatus::Clean)
    }
}

/// The findings of a JSON report (`{"findings": [...]}`) or a JSONL stream.
fn parse_report(text: &str) -> Result<Vec<serde_json::Value>> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        if let Some(f) = v.get("findings").and_then(|f| f.as_array()) {
            return Ok(f.clone());
        }
        if v.get("rule_id").is_some() {
            return Ok(vec![v]);
        }
        bail!("no `findings` array");
    }
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str::<serde_json::Value>(l)
                .map_err(|_| anyhow::anyhow!("line {} is not JSON", i + 1))
        })
        .collect()
}
