//! Reporters: one module per output format. Each takes the finished [`ScanOutcome`] and the
//! rules, and writes to any `io::Write`. Secrets are redacted unless `show_secrets` is set.

pub mod json;
pub mod sarif;
pub mod text;

use crate::rules::Rule;
use crate::scan::ScanOutcome;
use std::io;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable, grouped by file.
    Text,
    /// One JSON document (schema: docs/json-schema.md).
    Json,
    /// One JSON finding per line.
    Jsonl,
    /// SARIF 2.1.0 for GitHub code scanning.
    Sarif,
}

/// What every reporter needs besides the outcome.
#[derive(Debug, Clone, Copy)]
pub struct ReportOptions<'a> {
    /// Print raw secrets.
    pub show_secrets: bool,
    /// Use ANSI colour (text only).
    pub color: bool,
    /// All rules that were active, for SARIF metadata.
    pub rules: &'a [Rule],
}

/// Writes `outcome` in `format`.
pub fn write(
    format: Format,
    outcome: &ScanOutcome,
    opts: ReportOptions<'_>,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::write(outcome, opts, out),
        Format::Json => json::write(outcome, opts, out),
        Format::Jsonl => json::write_lines(outcome, opts, out),
        Format::Sarif => sarif::write(outcome, opts, out),
    }
}
