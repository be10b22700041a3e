//! A Model Context Protocol server over stdio: newline-delimited JSON-RPC 2.0 messages in,
//! answers out. It lets an assistant check text, files and rules with keysweep without ever
//! holding a raw secret: every answer carries only redacted prefixes, fingerprints and
//! locations.
//!
//! Tools: `scan_text`, `scan_path`, `redact_text`, `explain_rule`. Methods: `initialize`,
//! `ping`, `tools/list`, `tools/call`; notifications are accepted and not answered. Unknown
//! methods answer -32601, bad parameters and unknown tools -32602, unparsable input -32700.

use crate::engine::Engine;
use crate::finding::{Finding, Provenance};
use crate::scan::{self, blob, BlobOptions, Progress};
use crate::source::fs::{walk, WalkOptions};
use serde_json::{json, Value};
use std::path::PathBuf;

/// Protocol revisions this server speaks; a client asking for another gets the newest.
const PROTOCOL_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// `scan_text` and `redact_text` inputs above this size are refused.
const MAX_TEXT_BYTES: usize = 16 << 20;
/// At most this many findings are listed in one answer (the count is always exact).
const MAX_LISTED: usize = 200;

/// The server's state: the engine it scans with.
pub struct Server {
    engine: Engine,
}

/// A JSON-RPC error.
struct RpcError {
    code: i64,
    message: String,
}

fn invalid(message: impl Into<String>) -> RpcError {
    RpcError {
        code: -32602,
        message: message.into(),
    }
}

impl Server {
    /// A server that scans with `engine`.
    pub fn new(engine: Engine) -> Self {
        Server { engine }
    }

    /// Handles one line of input; returns the line to answer with, if any.
    pub fn handle_line(&self, line: &str) -> Option<String> {
        let msg: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                return Some(error_reply(
                    Value::Null,
                    RpcError {
                        code: -32700,
                        message: format!("parse error: {e}"),
                    },
                ))
            }
        };
        let id = msg.get("id").cloned();
        let method = msg.get("method").and_then(Value::as_str);
        let (Some(id), Some(method)) = (id, method) else {
            // A notification (no id) or a response: nothing to answer.
            if msg.get("id").is_some() && method.is_none() && msg.get("result").is_none() {
                return Some(error_reply(
                    msg["id"].clone(),
                    RpcError {
                        code: -32600,
                        message: "invalid request: no method".into(),
                    },
                ));
            }
            return None;
        };
        let params = msg.get("params").cloned().unwrap_or(json!({}));
        let result = match method {
            "initialize" => Ok(self.initialize(&params)),
            "ping" => Ok(json!({})),
            "tools/list" => Ok(json!({ "tools": tool_list() })),
            "tools/call" => self.call(&params),
            other => Err(RpcError {
                code: -32601,
                message: format!("method not found: {other}"),
            }),
        };
        Some(match result {
            Ok(r) => json!({"jsonrpc": "2.0", "id": id, "result": r}).to_string(),
            Err(e) => error_reply(id, e),
        })
    }

    fn initialize(&self, params: &Value) -> Value {
        let asked = params.get("protocolVersion").and_then(Value::as_str);
        let version = asked
            .filter(|v| PROTOCOL_VERSIONS.contains(v))
            .unwrap_or(PROTOCOL_VERSIONS[0]);
        json!({
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": false}},
            "serverInfo": {"name": "keysweep", "version": env!("CARGO_PKG_VERSION")},
            "instructions": "Check text or files for leaked secrets before sharing them. \
                             Answers never contain a raw secret.",
        })
    }

    fn call(&self, params: &Value) -> Result<Value, RpcError> {
        let name = params
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("tools/call needs a tool `name`"))?;
        let args = params.get("arguments").cloned().unwrap_or(json!({}));
        if !args.is_object() {
            return Err(invalid("`arguments` must be an object"));
        }
        let text_arg = |key: &str| -> Result<&str, RpcError> {
            let s = args
                .get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("{name} needs a string argument `{key}`")))?;
            if s.len() > MAX_TEXT_BYTES {
                return Err(invalid(format!(
                    "`{key}` is larger than {} MiB",
                    MAX_TEXT_BYTES >> 20
                )));
            }
            Ok(s)
        };
        let structured = match name {
            "scan_text" => {
                let text = text_arg("text")?;
                let findings = self.scan_text(text);
                json!({"findings": listed(&findings), "count": findings.len()})
            }
            "redact_text" => {
                let text = text_arg("text")?;
                let findings = self.scan_text(text);
                json!({"text": redact(text, &findings), "redacted": findings.len()})
            }
            "scan_path" => {
                let path = PathBuf::from(text_arg("path")?);
                if !path.exists() {
                    return Err(invalid(format!(
                        "{}: no such file or directory",
                        path.display()
                    )));
                }
                let walked = walk(
                    std::slice::from_ref(&path),
                    &WalkOptions {
                        threads: 2,
                        ..WalkOptions::default()
                    },
                )
                .map_err(|e| invalid(e.to_string()))?;
                let mut outcome = scan::scan_files(
                    &self.engine,
                    walked,
                    &BlobOptions::default(),
                    &Progress::default(),
                );
                outcome.sort();
                let warnings: Vec<String> = outcome
                    .warnings
                    .iter()
                    .map(|w| format!("{}: {}", w.path, w.message))
                    .collect();
                json!({
                    "findings": listed(&outcome.findings),
                    "count": outcome.findings.len(),
                    "files_scanned": outcome.stats.files_scanned,
                    "complete": !outcome.incomplete,
                    "warnings": warnings,
                })
            }
            "explain_rule" => {
                let id = text_arg("id")?;
                let rule = self
                    .engine
                    .rules()
                    .iter()
                    .find(|r| r.id == id)
                    .ok_or_else(|| invalid(format!("no rule with id `{id}`")))?;
                json!({
                    "id": rule.id,
                    "title": rule.title,
                    "provider": rule.provider,
                    "description": rule.description,
                    "severity": rule.severity,
                    "confidence": rule.confidence,
                    "keywords": rule.keywords,
                    "references": rule.references,
                })
            }
            other => return Err(invalid(format!("unknown tool: {other}"))),
        };
        Ok(json!({
            "content": [{"type": "text", "text": structured.to_string()}],
            "structuredContent": structured,
            "isError": false,
        }))
    }

    fn scan_text(&self, text: &str) -> Vec<Finding> {
        let mut scratch = self.engine.scratch();
        blob::scan_bytes(
            &self.engine,
            &mut scratch,
            text.as_bytes(),
            &Provenance::file("text"),
            false,
        )
        .findings
    }
}

fn error_reply(id: Value, e: RpcError) -> String {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": e.code, "message": e.message}}).to_string()
}

/// A finding as a tool answer shows it: no snippet, no secret.
fn listed(findings: &[Finding]) -> Vec<Value> {
    findings
        .iter()
        .take(MAX_LISTED)
        .map(|f| {
            json!({
                "rule_id": f.rule_id,
                "title": f.title,
                "provider": f.provider,
                "severity": f.severity,
                "confidence": f.confidence,
                "path": f.provenance.path,
                "line": f.location.line,
                "column": f.location.column,
                "redacted": f.secret.redacted(),
                "fingerprint": f.fingerprint,
            })
        })
        .collect()
}

/// `text` with each finding's bytes (and every other copy of them) replaced by its token.
fn redact(text: &str, findings: &[Finding]) -> String {
    let mut spans: Vec<(usize, usize, String)> = findings
        .iter()
        .map(|f| {
            (
                f.location.byte_start as usize,
                f.location.byte_end as usize,
                crate::redact::token(&f.rule_id, &f.fingerprint),
            )
        })
        .collect();
    for f in findings {
        let secret = f.secret.expose();
        if secret.len() < 8 {
            continue;
        }
        for i in memchr::memmem::find_iter(text.as_bytes(), secret) {
            spans.push((
                i,
                i + secret.len(),
                crate::redact::token(&f.rule_id, &f.fingerprint),
            ));
        }
    }
    spans.sort_by_key(|s| (s.0, std::cmp::Reverse(s.1)));
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut pos = 0;
    for (s, e, token) in spans {
        if s < pos {
            continue;
        }
        out.extend_from_slice(&bytes[pos..s]);
        out.extend_from_slice(token.as_bytes());
        pos = e;
    }
    out.extend_from_slice(&bytes[pos..]);
    String::from_utf8_lossy(&out).into_owned()
}

fn tool_list() -> Value {
    let text_schema = |desc: &str| {
        json!({"type": "object", "properties": {"text": {"type": "string", "description": desc}},
               "required": ["text"]})
    };
    json!([
        {
            "name": "scan_text",
            "description": "Find secrets (API keys, tokens, private keys, passwords) in a text. \
                            Returns each finding's rule, provider, line, redacted prefix and \
                            fingerprint, never the secret.",
            "inputSchema": text_schema("The text to check."),
        },
        {
            "name": "scan_path",
            "description": "Find secrets in a file or directory on this machine (respects \
                            .gitignore). Returns findings with paths and lines, never the secret.",
            "inputSchema": {"type": "object",
                            "properties": {"path": {"type": "string", "description": "File or directory."}},
                            "required": ["path"]},
        },
        {
            "name": "redact_text",
            "description": "Return the text with every secret replaced by \
                            [REDACTED:<rule>:<fingerprint prefix>], safe to share.",
            "inputSchema": text_schema("The text to redact."),
        },
        {
            "name": "explain_rule",
            "description": "What a keysweep rule finds, who issues that credential and how to \
                            rotate it.",
            "inputSchema": {"type": "object",
                            "properties": {"id": {"type": "string", "description": "Rule id, e.g. github-pat."}},
                            "required": ["id"]},
        },
    ])
}
