//! SARIF 2.1.0 output through `serde-sarif`, shaped for GitHub code scanning: every active
//! rule with a stable id, descriptions, help and `security-severity`; results with
//! repo-relative URIs, regions and `partialFingerprints`; never a raw secret.

use super::ReportOptions;
use crate::finding::{Finding, Severity};
use crate::rules::Rule;
use crate::scan::ScanOutcome;
use serde_json::json;
use serde_sarif::sarif;
use std::collections::{BTreeMap, HashMap};
use std::io;

/// GitHub's limit for help and description texts.
const TEXT_LIMIT: usize = 1024;

fn clip(s: &str) -> String {
    if s.len() <= TEXT_LIMIT {
        return s.to_string();
    }
    let mut end = TEXT_LIMIT - 3;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

fn level(sev: Severity) -> sarif::ResultLevel {
    match sev {
        Severity::Critical | Severity::High => sarif::ResultLevel::Error,
        Severity::Medium => sarif::ResultLevel::Warning,
        Severity::Low => sarif::ResultLevel::Note,
    }
}

fn rule_descriptor(rule: &Rule) -> sarif::ReportingDescriptor {
    let full = if rule.description.is_empty() {
        format!("{} ({}).", rule.title, rule.provider)
    } else {
        rule.description.clone()
    };
    let help = format!(
        "{full}\n\nRotate the credential with {provider}, then remove it from the code and its \
         history. If this is a false positive, add `keysweep:allow` to the line or the \
         finding's fingerprint to .keysweepignore.",
        provider = rule.provider
    );
    let mut tags = vec!["security".to_string(), "secret".to_string()];
    // SARIF wants unique tags; a rule may carry `security` itself.
    for t in &rule.tags {
        if !tags.contains(t) {
            tags.push(t.clone());
        }
    }
    tags.truncate(20);
    let mut extra = BTreeMap::new();
    extra.insert(
        "security-severity".to_string(),
        json!(rule.severity.security_severity()),
    );
    extra.insert(
        "precision".to_string(),
        json!(match rule.confidence {
            crate::finding::Confidence::High => "very-high",
            crate::finding::Confidence::Medium => "high",
            crate::finding::Confidence::Low => "medium",
        }),
    );
    extra.insert("provider".to_string(), json!(rule.provider));
    let mut d = sarif::ReportingDescriptor::builder()
        .id(rule.id.clone())
        .name(rule.id.clone())
        .short_description(
            sarif::MultiformatMessageString::builder()
                .text(clip(&rule.title))
                .build(),
        )
        .full_description(
            sarif::MultiformatMessageString::builder()
                .text(clip(&full))
                .build(),
        )
        .help(
            sarif::MultiformatMessageString::builder()
                .text(clip(&help))
                .build(),
        )
        .default_configuration(
            sarif::ReportingConfiguration::builder()
                .level(json!(level(rule.severity)))
                .build(),
        )
        .properties(
            sarif::PropertyBag::builder()
                .tags(tags)
                .additional_properties(extra)
                .build(),
        )
        .build();
    if let Some(url) = rule.references.first() {
        d.help_uri = Some(url.clone());
    }
    d
}

fn result(
    f: &Finding,
    index: Option<usize>,
    occurrence: usize,
    show_secrets: bool,
) -> sarif::Result {
    let loc = &f.location;
    let region = sarif::Region::builder()
        .start_line(loc.line as i64)
        .start_column(loc.char_column as i64)
        .end_line(loc.end_line as i64)
        .end_column(loc.char_end_column as i64)
        .snippet(
            sarif::ArtifactContent::builder()
                .text(f.snippet.clone())
                .build(),
        )
        .build();
    let physical = sarif::PhysicalLocation::builder()
        .artifact_location(
            sarif::ArtifactLocation::builder()
                .uri(uri(&f.provenance.path))
                .build(),
        )
        .region(region)
        .build();
    let mut props = BTreeMap::new();
    props.insert("provider".to_string(), json!(f.provider));
    props.insert("confidence".to_string(), json!(f.confidence.as_str()));
    props.insert("severity".to_string(), json!(f.severity.as_str()));
    props.insert("redacted".to_string(), json!(f.secret.redacted()));
    props.insert("secret_sha256".to_string(), json!(f.secret.sha256_hex()));
    if show_secrets {
        props.insert(
            "secret".to_string(),
            json!(String::from_utf8_lossy(f.secret.expose())),
        );
    }
    if let Some(c) = &f.provenance.commit {
        props.insert("commit".to_string(), json!(c.commit));
        props.insert("author".to_string(), json!(c.author_name));
        props.insert("author_email".to_string(), json!(c.author_email));
        props.insert("date".to_string(), json!(c.date));
        props.insert("commit_summary".to_string(), json!(c.summary));
    }
    if let Some(v) = &f.verification {
        props.insert("verification".to_string(), json!(v));
    }
    if let Some(r) = &f.revocation {
        props.insert("revocation".to_string(), json!(r));
    }
    let mut partial = BTreeMap::new();
    partial.insert("keysweep/v1".to_string(), f.fingerprint.clone());
    partial.insert(
        "primaryLocationLineHash".to_string(),
        format!("{}:{occurrence}", &f.fingerprint[..16]),
    );
    let mut message = format!(
        "{} found ({}, {} confidence): {}",
        f.title,
        f.provider,
        f.confidence.as_str(),
        f.secret.redacted()
    );
    if let Some(v) = &f.verification {
        message.push_str(&format!("; live check: {}", v.status.as_str()));
    }
    if let Some(r) = &f.revocation {
        message.push_str(&format!("; revocation list: {}", r.status.as_str()));
    }
    let mut r = sarif::Result::builder()
        .rule_id(f.rule_id.clone())
        .level(level(f.severity))
        .message(sarif::Message::builder().text(message).build())
        .locations(vec![sarif::Location::builder()
            .physical_location(physical)
            .build()])
        .partial_fingerprints(partial)
        .properties(
            sarif::PropertyBag::builder()
                .additional_properties(props)
                .build(),
        )
        .build();
    r.rule_index = index.map(|i| i as i64);
    r
}

/// A relative, forward-slash, percent-encoded URI for a display path.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Writes a SARIF 2.1.0 log.
pub fn write(
    outcome: &ScanOutcome,
    opts: ReportOptions<'_>,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let index: HashMap<&str, usize> = opts
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let driver = sarif::ToolComponent::builder()
        .name("keysweep")
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri("https://github.com/keysweep/keysweep")
        .rules(opts.rules.iter().map(rule_descriptor).collect::<Vec<_>>())
        .build();
    // Same secret several times in one file: number the occurrences so each keeps its alert.
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    let results: Vec<sarif::Result> = outcome
        .findings
        .iter()
        .map(|f| {
            let n = seen
                .entry((f.provenance.path.as_str(), f.fingerprint.as_str()))
                .or_insert(0);
            *n += 1;
            result(
                f,
                index.get(f.rule_id.as_str()).copied(),
                *n,
                opts.show_secrets,
            )
        })
        .collect();
    let notifications: Vec<sarif::Notification> = outcome
        .warnings
        .iter()
        .map(|w| {
            sarif::Notification::builder()
                .message(
                    sarif::Message::builder()
                        .text(format!("{}: {}", w.path, w.message))
                        .build(),
                )
                .level(json!("warning"))
                .build()
        })
        .collect();
    let invocation = sarif::Invocation::builder()
        .execution_successful(!outcome.incomplete)
        .tool_execution_notifications(notifications)
        .build();
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation])
        .column_kind(json!("unicodeCodePoints"))
        .build();
    let log = sarif::Sarif::builder()
        .version(json!(sarif::Version::V2_1_0.to_string()))
        .schema(sarif::SCHEMA_URL)
        .runs(vec![run])
        .build();
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}
