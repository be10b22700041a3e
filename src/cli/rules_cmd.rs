//! `keysweep rules list|check|explain`.

use anyhow::{bail, Result};
use clap::{Subcommand, ValueEnum};
use keysweep::exit_code::ExitStatus;
use keysweep::rules::{self, Rule};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

/// `rules` subcommands.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the built-in rules.
    List {
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Validate rule files: syntax, regexes, keywords, examples and negative examples.
    ///
    /// Prints `file: rule-id: problem` for each problem and exits 2 if there is any.
    Check {
        /// Rule files to check. With none, checks the built-in pack.
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Show everything about one rule: what it finds, its pattern, examples and checks.
    Explain {
        /// The rule id (see `keysweep rules list`).
        id: String,
    },
    /// Print every host keysweep can contact, as Markdown (this is docs/network.md:
    /// regenerate it with `cargo run -q -- rules hosts > docs/network.md`).
    Hosts,
}

/// Formats for `rules list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// An aligned table.
    Text,
    /// A JSON array.
    Json,
}

#[derive(Serialize)]
struct RuleSummary<'a> {
    id: &'a str,
    title: &'a str,
    provider: &'a str,
    severity: &'static str,
    confidence: &'static str,
    keywords: &'a [String],
    validator: Option<String>,
    context: &'a [String],
    tags: &'a [String],
    /// `--verify-base-url` key of the provider.
    provider_key: String,
    verify: bool,
    /// `METHOD URL` of the live check, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    verify_request: Option<String>,
}

fn summary(r: &Rule) -> RuleSummary<'_> {
    RuleSummary {
        id: &r.id,
        title: &r.title,
        provider: &r.provider,
        severity: r.severity.as_str(),
        confidence: r.confidence.as_str(),
        keywords: &r.keywords,
        validator: r.validator.map(|v| v.to_string()),
        context: &r.context,
        tags: &r.tags,
        provider_key: keysweep::verify::provider_key(&r.provider),
        verify: r.verify.is_some(),
        verify_request: r.verify.as_ref().map(|v| format!("{} {}", v.method, v.url)),
    }
}

/// Runs a `rules` subcommand.
pub fn run(cmd: RulesCommand) -> Result<ExitStatus> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cmd {
        RulesCommand::List { format } => {
            let all = rules::builtin_rules()?;
            match format {
                ListFormat::Json => {
                    let list: Vec<_> = all.iter().map(summary).collect();
                    serde_json::to_writer_pretty(&mut out, &list)?;
                    writeln!(out)?;
                }
                ListFormat::Text => {
                    let w = all.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
                    let pw = all
                        .iter()
                        .map(|r| r.provider.len())
                        .max()
                        .unwrap_or(8)
                        .max(8);
                    writeln!(
                        out,
                        "{:w$}  {:pw$}  {:8}  {:10}  TITLE",
                        "ID", "PROVIDER", "SEVERITY", "CONFIDENCE"
                    )?;
                    for r in &all {
                        writeln!(
                            out,
                            "{:w$}  {:pw$}  {:8}  {:10}  {}",
                            r.id,
                            r.provider,
                            r.severity.as_str(),
                            r.confidence.as_str(),
                            r.title
                        )?;
                    }
                    writeln!(out, "{} rules", all.len())?;
                }
            }
            Ok(ExitStatus::Clean)
        }
        RulesCommand::Check { files } => {
            let mut problems = Vec::new();
            let mut count = 0;
            if files.is_empty() {
                match rules::builtin_rules_checked() {
                    Ok(r) => count += r.len(),
                    Err(rules::RuleError::Invalid(p)) => problems.extend(p),
                    Err(e) => return Err(e.into()),
                }
            }
            let mut loaded = Vec::new();
            for f in &files {
                match rules::load_rule_file(f) {
                    Ok((mut r, mut p)) => {
                        count += r.len();
                        loaded.append(&mut r);
                        problems.append(&mut p);
                    }
                    Err(e) => problems.push(rules::RuleProblem {
                        file: f.display().to_string(),
                        rule_id: "-".into(),
                        message: e.to_string(),
                    }),
                }
            }
            problems.extend(rules::duplicate_ids(&loaded));
            for p in &problems {
                writeln!(out, "{p}")?;
            }
            if problems.is_empty() {
                eprintln!("keysweep: {count} rule(s) OK");
                Ok(ExitStatus::Clean)
            } else {
                eprintln!("keysweep: {} problem(s)", problems.len());
                Ok(ExitStatus::Error)
            }
        }
        RulesCommand::Hosts => {
            let all = rules::builtin_rules()?;
            out.write_all(network_doc(&all).as_bytes())?;
            Ok(ExitStatus::Clean)
        }
        RulesCommand::Explain { id } => {
            let all = rules::builtin_rules()?;
            let Some(r) = all.iter().find(|r| r.id == id) else {
                let close: Vec<&str> = all
                    .iter()
                    .map(|r| r.id.as_str())
                    .filter(|c| c.contains(&id) || id.contains(*c))
                    .take(5)
                    .collect();
                if close.is_empty() {
                    bail!("no rule with id `{id}` (see `keysweep rules list`)");
                }
                bail!(
                    "no rule with id `{id}`; did you mean: {}?",
                    close.join(", ")
                );
            };
            writeln!(out, "{} — {}", r.id, r.title)?;
            writeln!(out, "provider:   {}", r.provider)?;
            writeln!(out, "severity:   {}", r.severity.as_str())?;
            writeln!(out, "confidence: {}", r.confidence.as_str())?;
            if !r.description.is_empty() {
                writeln!(out, "\n{}\n", r.description.trim())?;
            }
            writeln!(out, "keywords:   {}", r.keywords.join(", "))?;
            writeln!(out, "regex:      {}", r.pattern)?;
            if let Some(e) = r.min_entropy {
                writeln!(out, "entropy:    at least {e} bits per byte")?;
            }
            if let Some(v) = r.validator {
                writeln!(out, "validator:  {v}")?;
            }
            if !r.context.is_empty() {
                writeln!(
                    out,
                    "context:    one of {} within 1 KiB",
                    r.context.join(", ")
                )?;
            }
            if r.generic {
                writeln!(
                    out,
                    "generic:    yes (any provider-specific rule on the same text wins)"
                )?;
            }
            if let Some(v) = &r.verify {
                writeln!(
                    out,
                    "verify:     {} {} (only with --verify; base URL key `{}`)",
                    v.method,
                    v.url,
                    keysweep::verify::provider_key(&r.provider)
                )?;
            }
            for u in &r.references {
                writeln!(out, "reference:  {u}")?;
            }
            writeln!(out, "source:     {}", r.source)?;
            writeln!(out, "\nexamples (fake keys, generated for the tests):")?;
            for e in &r.examples {
                writeln!(out, "  + {}", keysweep::sanitize::escape(e))?;
            }
            for e in &r.negative_examples {
                writeln!(out, "  - {}", keysweep::sanitize::escape(e))?;
            }
            Ok(ExitStatus::Clean)
        }
    }
}

/// docs/network.md: every host keysweep can contact and why, from the rules' verify blocks.
pub fn network_doc(all: &[Rule]) -> String {
    use keysweep::verify::http::host_of;
    use std::collections::BTreeMap;
    let mut hosts: BTreeMap<String, Vec<&Rule>> = BTreeMap::new();
    for r in all {
        if let Some(v) = &r.verify {
            let host = host_of(&v.url).unwrap_or("?").to_ascii_lowercase();
            hosts.entry(host).or_default().push(r);
        }
    }
    let mut s = String::new();
    s.push_str(
        "# Hosts keysweep can contact\n\n\
         <!-- Generated from the built-in rules by `cargo run -q -- rules hosts > docs/network.md`.\n     \
         tests/verify.rs fails when this file is stale. Do not edit by hand. -->\n\n\
         keysweep opens **no network connection** unless a command asks for one:\n\n\
         | when | hosts |\n|---|---|\n\
         | `--verify` (scan and other scanning commands) | the live-check hosts below, only for rules whose findings occur, or the base URL given for that provider with `--verify-base-url PROVIDER=URL` / `[verify.base_urls]` |\n\
         | `--revocation-endpoint URL` / `[verify] revocation_endpoint` | the host of that URL, chosen by you |\n\
         | `keysweep revoke --github FILE --yes` | `api.github.com` (or `--github-api-url`) |\n\n\
         Proxies set in `HTTPS_PROXY`, `HTTP_PROXY` or `ALL_PROXY` (minus `NO_PROXY`) are used \
         for all of these except loopback addresses. All built-in checks use HTTPS on port 443. \
         Redirects are never followed.\n\n\
         ## Live-check hosts (`--verify`)\n\n\
         | host | provider key | rule | request |\n|---|---|---|---|\n",
    );
    for (host, rules) in &hosts {
        for r in rules {
            let v = r.verify.as_ref().expect("grouped by verify");
            let path = v
                .url
                .split_once(host.as_str())
                .map_or(v.url.as_str(), |(_, p)| p);
            s.push_str(&format!(
                "| `{host}` | `{}` | `{}` | `{} {}` |\n",
                keysweep::verify::provider_key(&r.provider),
                r.id,
                v.method,
                if path.is_empty() { "/" } else { path }
            ));
        }
    }
    if hosts.is_empty() {
        s.push_str("| (none: no built-in rule has a live check yet) | | | |\n");
    }
    s.push_str("\n## Revocation (`keysweep revoke --github FILE --yes`)\n\n");
    s.push_str(
        "| host | request |\n|---|---|\n| `api.github.com` | `POST /credentials/revoke` |\n",
    );
    s.push_str(&format!(
        "\nIn all: {} live-check host(s) for {} rule(s), plus `api.github.com` for `revoke`.\n",
        hosts.len(),
        hosts.values().map(Vec::len).sum::<usize>()
    ));
    s
}
