//! JSON and JSON Lines output. The wire types here are the documented, versioned schema
//! (`docs/json-schema.md`); bump [`SCHEMA_VERSION`] on any incompatible change.

use super::ReportOptions;
use crate::finding::{CommitInfo, Finding, Revocation, Verification};
use crate::scan::{ScanOutcome, ScanStats};
use serde::Serialize;
use std::io;

/// Version of the JSON document layout.
pub const SCHEMA_VERSION: u32 = 1;

/// One finding on the wire.
#[derive(Debug, Serialize)]
pub struct JsonFinding<'a> {
    /// Rule id.
    pub rule_id: &'a str,
    /// Rule title.
    pub title: &'a str,
    /// Provider.
    pub provider: &'a str,
    /// `low`…`critical`.
    pub severity: &'static str,
    /// `low`, `medium`, `high`.
    pub confidence: &'static str,
    /// Path as reached from the scan root.
    pub path: &'a str,
    /// 1-based line.
    pub line: u64,
    /// 1-based byte column.
    pub column: u64,
    /// 1-based end line.
    pub end_line: u64,
    /// 1-based byte column just past the secret.
    pub end_column: u64,
    /// Byte offset of the secret.
    pub byte_start: u64,
    /// Byte offset just past the secret.
    pub byte_end: u64,
    /// Short prefix of the secret and `…`.
    pub redacted: String,
    /// The line, with every secret on it redacted.
    pub snippet: &'a str,
    /// Hex SHA-256 of the secret.
    pub secret_sha256: String,
    /// Stable identity for baselines.
    pub fingerprint: &'a str,
    /// The raw secret, only with `--show-secrets`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Git provenance, for history scans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<&'a CommitInfo>,
    /// The live check's answer, with `--verify`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<&'a Verification>,
    /// The revocation endpoint's answer, with `--revocation-endpoint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<&'a Revocation>,
}

impl<'a> JsonFinding<'a> {
    /// The wire form of `f`.
    pub fn new(f: &'a Finding, show_secrets: bool) -> Self {
        JsonFinding {
            rule_id: &f.rule_id,
            title: &f.title,
            provider: &f.provider,
            severity: f.severity.as_str(),
            confidence: f.confidence.as_str(),
            path: &f.provenance.path,
            line: f.location.line,
            column: f.location.column,
            end_line: f.location.end_line,
            end_column: f.location.end_column,
            byte_start: f.location.byte_start,
            byte_end: f.location.byte_end,
            redacted: f.secret.redacted(),
            snippet: &f.snippet,
            secret_sha256: f.secret.sha256_hex(),
            fingerprint: &f.fingerprint,
            secret: show_secrets.then(|| String::from_utf8_lossy(f.secret.expose()).into_owned()),
            commit: f.provenance.commit.as_ref(),
            verification: f.verification.as_ref(),
            revocation: f.revocation.as_ref(),
        }
    }
}

#[derive(Serialize)]
struct JsonWarning<'a> {
    path: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    #[serde(flatten)]
    stats: &'a ScanStats,
    incomplete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    checks: Option<&'a crate::verify::Summary>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    tool: Tool,
    findings: Vec<JsonFinding<'a>>,
    warnings: Vec<JsonWarning<'a>>,
    summary: JsonSummary<'a>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

/// Writes one JSON document.
pub fn write(
    outcome: &ScanOutcome,
    opts: ReportOptions<'_>,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let report = JsonReport {
        version: SCHEMA_VERSION,
        tool: Tool {
            name: "keysweep",
            version: env!("CARGO_PKG_VERSION"),
        },
        findings: outcome
            .findings
            .iter()
            .map(|f| JsonFinding::new(f, opts.show_secrets))
            .collect(),
        warnings: outcome
            .warnings
            .iter()
            .map(|w| JsonWarning {
                path: &w.path,
                message: &w.message,
            })
            .collect(),
        summary: JsonSummary {
            stats: &outcome.stats,
            incomplete: outcome.incomplete,
            checks: outcome.checks.as_ref(),
        },
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}

/// Writes one finding per line.
pub fn write_lines(
    outcome: &ScanOutcome,
    opts: ReportOptions<'_>,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    for f in &outcome.findings {
        serde_json::to_writer(&mut *out, &JsonFinding::new(f, opts.show_secrets))?;
        writeln!(out)?;
    }
    Ok(())
}
