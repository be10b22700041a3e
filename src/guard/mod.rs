//! The agent guard: given one hook event from an AI coding assistant, decide whether what it
//! carries may reach the model, and answer in that assistant's hook protocol.
//!
//! [`event`] reads the event and gathers the texts to scan; [`decide`] scans them with the
//! engine; [`Verdict::reply`] renders the answer (exit code, stdout JSON, stderr text). The
//! answer never contains a secret: only the rule, provider, where it was, and the redacted
//! prefix. Offline, local, no network.

pub mod event;
pub mod install;

use crate::engine::Engine;
use crate::finding::{Finding, Provenance};
use crate::scan::blob;
use event::{Assistant, Event, Stage};
use serde_json::json;

/// What the guard decided.
#[derive(Debug)]
pub struct Verdict {
    /// Whose protocol to answer in (Claude Code when the event could not be read).
    pub assistant: Assistant,
    /// The event's stage (decides the reply's shape).
    pub stage: Stage,
    /// Why the guard blocks; `None` allows.
    pub block: Option<String>,
    /// A warning for the person (shown on stderr), when the guard allowed something it could
    /// not check.
    pub warning: Option<String>,
}

/// How the guard behaves when it cannot decide.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuardOptions {
    /// Block when the event cannot be read or a file it names cannot be checked.
    pub fail_closed: bool,
}

/// Scans what `ev` carries and decides.
pub fn decide(engine: &Engine, ev: &Event, opts: GuardOptions) -> Verdict {
    let mut scratch = engine.scratch();
    let mut found: Vec<(String, Finding)> = Vec::new();
    for item in &ev.items {
        let prov = Provenance::file(item.place.clone());
        let r = blob::scan_bytes(engine, &mut scratch, &item.text, &prov, false);
        found.extend(r.findings.into_iter().map(|f| (item.place.clone(), f)));
    }
    let mut verdict = Verdict {
        assistant: ev.assistant,
        stage: ev.stage,
        block: None,
        warning: None,
    };
    if !found.is_empty() {
        verdict.block = Some(block_message(&found));
    } else if !ev.unreadable.is_empty() {
        let what = format!("keysweep could not check {}", ev.unreadable.join("; "));
        if opts.fail_closed {
            verdict.block = Some(format!(
                "{what} (--fail-closed blocks what it cannot check)"
            ));
        } else {
            verdict.warning = Some(format!("{what}; allowed"));
        }
    }
    verdict
}

/// The verdict for an event that could not be read at all.
pub fn undecidable(problem: &str, opts: GuardOptions) -> Verdict {
    let what = format!("keysweep could not read the hook event: {problem}");
    Verdict {
        assistant: Assistant::ClaudeCode,
        stage: Stage::Other,
        block: opts
            .fail_closed
            .then(|| format!("{what} (--fail-closed blocks what it cannot check)")),
        warning: (!opts.fail_closed).then(|| format!("{what}; allowed")),
    }
}

fn block_message(found: &[(String, Finding)]) -> String {
    let mut lines = vec![format!(
        "keysweep blocked this: {} secret{} would be sent to the model.",
        found.len(),
        if found.len() == 1 { "" } else { "s" }
    )];
    for (place, f) in found.iter().take(5) {
        lines.push(format!(
            "- {} ({}) in {}, line {}: {}",
            f.title,
            f.provider,
            place,
            f.location.line,
            f.secret.redacted()
        ));
    }
    if found.len() > 5 {
        lines.push(format!("- and {} more", found.len() - 5));
    }
    lines.push(
        "Keep keys out of prompts and files the assistant reads: put the key in an environment \
         variable or a secrets manager and refer to it by name. If the key was already shared, \
         rotate it."
            .to_string(),
    );
    lines.join("\n")
}

/// The answer to write: exit code, stdout and stderr.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    /// The process exit code.
    pub code: u8,
    /// What to print on stdout (JSON, or empty).
    pub stdout: String,
    /// What to print on stderr (for the person; empty for none).
    pub stderr: String,
}

impl Verdict {
    /// Renders the verdict in the assistant's hook protocol.
    pub fn reply(&self) -> Reply {
        let stderr = self.warning.clone().unwrap_or_default();
        let Some(reason) = &self.block else {
            let stdout = match (self.assistant, self.stage) {
                (Assistant::Cursor, Stage::Prompt) => json!({"continue": true}).to_string(),
                (Assistant::Cursor, Stage::BeforeTool | Stage::BeforeRead) => {
                    json!({"permission": "allow"}).to_string()
                }
                _ => String::new(),
            };
            return Reply {
                code: 0,
                stdout,
                stderr,
            };
        };
        let stdout = match (self.assistant, self.stage) {
            (Assistant::ClaudeCode, Stage::BeforeTool) => json!({
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": "deny",
                    "permissionDecisionReason": reason,
                }
            }),
            (Assistant::ClaudeCode, Stage::Prompt | Stage::AfterTool) => {
                json!({"decision": "block", "reason": reason})
            }
            (Assistant::Cursor, Stage::Prompt) => {
                json!({"continue": false, "user_message": reason})
            }
            (Assistant::Cursor, Stage::BeforeRead) => json!({"permission": "deny"}),
            (Assistant::Cursor, _) => json!({
                "permission": "deny",
                "user_message": reason,
                "agent_message": reason,
            }),
            // An event we could not place: exit 2 blocks in both assistants' protocols, with
            // the reason on stderr.
            (Assistant::ClaudeCode, Stage::BeforeRead | Stage::Other) => {
                return Reply {
                    code: 2,
                    stdout: String::new(),
                    stderr: reason.clone(),
                }
            }
        };
        Reply {
            code: 0,
            stdout: stdout.to_string(),
            stderr: if stderr.is_empty() {
                reason.clone()
            } else {
                stderr
            },
        }
    }
}
