//! Human output: findings grouped by file, each with its line (secrets masked), the rule, and
//! how to allow it if it is a false positive. Colour only when asked or on a terminal. Every
//! piece of scanned text is escaped first.

use super::ReportOptions;
use crate::finding::{Finding, RevocationStatus, Severity, VerifyStatus};
use crate::sanitize::escape;
use crate::scan::ScanOutcome;
use std::io;

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

fn severity_code(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
    }
}

/// Writes findings grouped by path.
pub fn write(
    outcome: &ScanOutcome,
    opts: ReportOptions<'_>,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let style = Style { on: opts.color };
    let mut current: Option<&str> = None;
    for f in &outcome.findings {
        if current != Some(f.provenance.path.as_str()) {
            if current.is_some() {
                writeln!(out)?;
            }
            current = Some(&f.provenance.path);
            writeln!(out, "{}", style.paint("1;35", &escape(&f.provenance.path)))?;
        }
        write_finding(f, &style, opts.show_secrets, out)?;
    }
    Ok(())
}

fn write_finding(
    f: &Finding,
    style: &Style,
    show: bool,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let shown = if show {
        escape(&String::from_utf8_lossy(f.secret.expose()))
    } else {
        escape(&f.secret.redacted())
    };
    writeln!(
        out,
        "  {}:{}  {}  {}  {} ({}, {} confidence){}",
        f.location.line,
        f.location.column,
        style.paint(severity_code(f.severity), f.severity.as_str()),
        style.paint("1", &f.rule_id),
        escape(&f.title),
        escape(&f.provider),
        f.confidence.as_str(),
        badges(f, style),
    )?;
    if let Some(v) = &f.verification {
        if v.status != VerifyStatus::Active {
            writeln!(out, "      live check: {}", escape(&v.reason))?;
        }
    }
    if let Some(r) = f.revocation.as_ref().and_then(|r| r.reason.as_ref()) {
        writeln!(out, "      revocation list: {}", escape(r))?;
    }
    if let Some(c) = &f.provenance.commit {
        writeln!(
            out,
            "      commit {} by {} <{}> on {}: {}",
            &c.commit[..c.commit.len().min(12)],
            escape(&c.author_name),
            escape(&c.author_email),
            escape(&c.date),
            escape(&c.summary)
        )?;
    }
    writeln!(out, "      {}", style.paint("2", &escape(f.snippet.trim())))?;
    writeln!(out, "      secret {shown}  fingerprint {}", f.fingerprint)?;
    Ok(())
}

/// `[ACTIVE]`, `[inactive]`, `[unverified]`, and the revocation list's answer.
fn badges(f: &Finding, style: &Style) -> String {
    let mut s = String::new();
    if let Some(v) = &f.verification {
        let (code, text) = match v.status {
            VerifyStatus::Active => ("1;41;97", "[ACTIVE]"),
            VerifyStatus::Inactive => ("32", "[inactive]"),
            VerifyStatus::Unknown => ("33", "[unverified]"),
        };
        s.push_str("  ");
        s.push_str(&style.paint(code, text));
    }
    if let Some(r) = &f.revocation {
        let (code, text) = match r.status {
            RevocationStatus::Active => ("1;31", "[not revoked]"),
            RevocationStatus::Revoked => ("32", "[revoked]"),
            RevocationStatus::Unknown => ("33", "[revocation unknown]"),
        };
        s.push_str("  ");
        s.push_str(&style.paint(code, text));
    }
    s
}
