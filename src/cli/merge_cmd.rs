//! `keysweep merge`: fold the JSON or SARIF reports of many runs into one.

use anyhow::{Context, Result};
use clap::Args;
use keysweep::exit_code::ExitStatus;
use keysweep::merge::{self, ReportKind};
use std::io::Write;
use std::path::PathBuf;

/// Flags of `keysweep merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Reports to merge: all keysweep JSON (`-f json`) or all SARIF (`-f sarif`).
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,
    /// Write the merged report to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Merges the reports; exits like a scan: 1 when the merged report has findings, 2 when any
/// input scan was incomplete.
pub fn run(args: MergeArgs) -> Result<ExitStatus> {
    let mut inputs = Vec::new();
    for p in &args.reports {
        let text =
            std::fs::read(p).with_context(|| format!("{}: cannot read report", p.display()))?;
        let v: serde_json::Value = serde_json::from_slice(&text)
            .with_context(|| format!("{}: not valid JSON", p.display()))?;
        inputs.push((p.display().to_string(), v));
    }
    let (kind, merged) = merge::merge(inputs)?;
    let mut body = serde_json::to_vec_pretty(&merged)?;
    body.push(b'\n');
    match &args.output {
        Some(p) => {
            std::fs::write(p, &body).with_context(|| format!("{}: cannot write", p.display()))?
        }
        None => std::io::stdout().lock().write_all(&body)?,
    }
    let (findings, incomplete) = match kind {
        ReportKind::Json => (
            merged["findings"].as_array().map_or(0, Vec::len),
            merged["summary"]["incomplete"].as_bool().unwrap_or(false),
        ),
        ReportKind::Sarif => (
            merged["runs"][0]["results"].as_array().map_or(0, Vec::len),
            !merged["runs"][0]["invocations"][0]["executionSuccessful"]
                .as_bool()
                .unwrap_or(true),
        ),
    };
    Ok(ExitStatus::for_scan(findings, incomplete))
}
