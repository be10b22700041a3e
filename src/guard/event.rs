//! Reading an AI coding assistant's hook event: which assistant and event it is, and what it
//! carries that could hold a key — the prompt, files mentioned in it or about to be read, a
//! shell command, content about to be written, an MCP tool's arguments, a tool's output.
//!
//! Field names follow each assistant's published hook documentation (docs/agents.md):
//! Claude Code (`hook_event_name`: `UserPromptSubmit`, `PreToolUse`, `PostToolUse`, with
//! `prompt`, `tool_name`, `tool_input`, `tool_response`), and Cursor (`beforeSubmitPrompt`,
//! `beforeReadFile`, `beforeShellExecution`, `beforeMCPExecution`, with `prompt`,
//! `attachments`, `file_path`, `content`, `command`, `tool_input`). Files are read here, not by
//! the caller, with a size cap and only when they are regular files.

use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The assistant whose hook protocol an event uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assistant {
    /// Anthropic's Claude Code.
    ClaudeCode,
    /// Cursor's agent.
    Cursor,
}

/// The stage of the assistant's loop an event comes from, as far as the answer differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The user's prompt, before the model sees it.
    Prompt,
    /// A tool call (read, shell, write, fetch, MCP), before it runs.
    BeforeTool,
    /// A file read, before the file's content reaches the model (Cursor `beforeReadFile`).
    BeforeRead,
    /// A tool's output, after it ran (Claude Code `PostToolUse`).
    AfterTool,
    /// An event keysweep has nothing to check in.
    Other,
}

/// One piece of text to scan and where it came from (shown in the answer).
#[derive(Debug)]
pub struct Item {
    /// Where the text is: `prompt`, `file .env`, `shell command`, `Write content`...
    pub place: String,
    /// The bytes.
    pub text: Vec<u8>,
}

/// A parsed event.
#[derive(Debug)]
pub struct Event {
    /// Whose protocol to answer in.
    pub assistant: Assistant,
    /// The event's name as sent.
    pub name: String,
    /// What kind of answer it takes.
    pub stage: Stage,
    /// The texts to scan.
    pub items: Vec<Item>,
    /// Files that should have been scanned but could not be (unreadable, not a regular file,
    /// too large): keysweep cannot vouch for them.
    pub unreadable: Vec<String>,
}

/// Why an event could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not JSON.
    #[error("the hook event is not valid JSON ({0})")]
    Json(String),
    /// JSON without the field that names the event.
    #[error("the hook event has no `hook_event_name`")]
    NoEventName,
}

/// Files larger than this are not read in full by the guard (it answers in milliseconds).
pub const MAX_FILE_BYTES: u64 = 8 << 20;

/// Parses `input` (one hook event) and gathers what to scan. `cwd` resolves relative paths
/// when the event does not carry its own working directory.
pub fn parse(input: &[u8], cwd: &Path) -> Result<Event, EventError> {
    let v: Value = serde_json::from_slice(input).map_err(|e| EventError::Json(e.to_string()))?;
    let name = v
        .get("hook_event_name")
        .and_then(Value::as_str)
        .ok_or(EventError::NoEventName)?
        .to_string();
    let base = v
        .get("cwd")
        .and_then(Value::as_str)
        .map(PathBuf::from)
        .or_else(|| {
            v.get("workspace_roots")
                .and_then(|r| r.get(0))
                .and_then(Value::as_str)
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| cwd.to_path_buf());
    let mut ev = Event {
        assistant: Assistant::ClaudeCode,
        name: name.clone(),
        stage: Stage::Other,
        items: Vec::new(),
        unreadable: Vec::new(),
    };
    let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    match name.as_str() {
        "UserPromptSubmit" => {
            ev.stage = Stage::Prompt;
            if let Some(p) = text("prompt") {
                mentioned_files(&p, &base, &mut ev);
                ev.push("prompt", p.into_bytes());
            }
        }
        "PreToolUse" => {
            ev.stage = Stage::BeforeTool;
            let tool = text("tool_name").unwrap_or_default();
            claude_tool_input(&tool, v.get("tool_input"), &base, &mut ev);
        }
        "PostToolUse" => {
            ev.stage = Stage::AfterTool;
            let tool = text("tool_name").unwrap_or_default();
            if let Some(r) = v.get("tool_response") {
                ev.push(&format!("{tool} output"), value_text(r));
            }
        }
        "beforeSubmitPrompt" => {
            ev.assistant = Assistant::Cursor;
            ev.stage = Stage::Prompt;
            if let Some(p) = text("prompt") {
                ev.push("prompt", p.into_bytes());
            }
            cursor_attachments(v.get("attachments"), &base, &mut ev);
        }
        "beforeReadFile" => {
            ev.assistant = Assistant::Cursor;
            ev.stage = Stage::BeforeRead;
            let path = text("file_path").unwrap_or_default();
            match text("content") {
                Some(c) => ev.push(&format!("file {path}"), c.into_bytes()),
                None if !path.is_empty() => ev.read_file(&path, &base),
                None => {}
            }
            cursor_attachments(v.get("attachments"), &base, &mut ev);
        }
        "beforeShellExecution" => {
            ev.assistant = Assistant::Cursor;
            ev.stage = Stage::BeforeTool;
            if let Some(c) = text("command") {
                ev.push("shell command", c.into_bytes());
            }
        }
        "beforeMCPExecution" => {
            ev.assistant = Assistant::Cursor;
            ev.stage = Stage::BeforeTool;
            let tool = text("tool_name").unwrap_or_default();
            if let Some(i) = v.get("tool_input") {
                ev.push(&format!("MCP tool {tool} arguments"), value_text(i));
            }
        }
        _ => {
            // Cursor's event names start lower-case, Claude Code's upper-case.
            if name.starts_with(|c: char| c.is_ascii_lowercase()) {
                ev.assistant = Assistant::Cursor;
            }
        }
    }
    Ok(ev)
}

impl Event {
    fn push(&mut self, place: &str, text: Vec<u8>) {
        if !text.is_empty() {
            self.items.push(Item {
                place: place.to_string(),
                text,
            });
        }
    }

    /// Reads a file the event names (regular files only, at most [`MAX_FILE_BYTES`]).
    fn read_file(&mut self, path: &str, base: &Path) {
        let full = base.join(path);
        let problem = match std::fs::metadata(&full) {
            Ok(m) if !m.is_file() => Some("not a regular file".to_string()),
            Ok(m) if m.len() > MAX_FILE_BYTES => {
                Some(format!("larger than {} MiB", MAX_FILE_BYTES >> 20))
            }
            Ok(_) => None,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => Some(e.to_string()),
        };
        if let Some(p) = problem {
            self.unreadable.push(format!("{path}: {p}"));
            return;
        }
        let mut data = Vec::new();
        match std::fs::File::open(&full)
            .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut data))
        {
            Ok(_) if data.len() as u64 > MAX_FILE_BYTES => {
                self.unreadable
                    .push(format!("{path}: grew past the size cap"));
            }
            Ok(_) => self.push(&format!("file {path}"), data),
            Err(e) => self.unreadable.push(format!("{path}: {e}")),
        }
    }
}

/// What a Claude Code tool call carries, by tool.
fn claude_tool_input(tool: &str, input: Option<&Value>, base: &Path, ev: &mut Event) {
    let Some(input) = input else { return };
    let s = |k: &str| input.get(k).and_then(Value::as_str);
    match tool {
        "Read" | "NotebookRead" => {
            if let Some(p) = s("file_path").or_else(|| s("notebook_path")) {
                ev.read_file(p, base);
            }
        }
        "Bash" => {
            if let Some(c) = s("command") {
                ev.push("shell command", c.as_bytes().to_vec());
            }
        }
        "Write" => {
            if let Some(c) = s("content") {
                let path = s("file_path").unwrap_or("?");
                ev.push(&format!("content written to {path}"), c.as_bytes().to_vec());
            }
        }
        "Edit" | "MultiEdit" | "NotebookEdit" => {
            let path = s("file_path").unwrap_or("?").to_string();
            let mut new_text = Vec::new();
            for key in ["new_string", "new_source"] {
                if let Some(t) = s(key) {
                    new_text.extend_from_slice(t.as_bytes());
                    new_text.push(b'\n');
                }
            }
            for e in input
                .get("edits")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(t) = e.get("new_string").and_then(Value::as_str) {
                    new_text.extend_from_slice(t.as_bytes());
                    new_text.push(b'\n');
                }
            }
            ev.push(&format!("edit of {path}"), new_text);
        }
        "WebFetch" => {
            if let Some(u) = s("url") {
                ev.push("fetched URL", u.as_bytes().to_vec());
            }
            if let Some(p) = s("prompt") {
                ev.push("fetch prompt", p.as_bytes().to_vec());
            }
        }
        _ => ev.push(&format!("{tool} arguments"), value_text(input)),
    }
}

/// Cursor's prompt and read events list attached files.
fn cursor_attachments(att: Option<&Value>, base: &Path, ev: &mut Event) {
    for a in att.and_then(Value::as_array).into_iter().flatten() {
        let path = a
            .get("file_path")
            .or_else(|| a.get("filePath"))
            .and_then(Value::as_str);
        if let Some(p) = path {
            ev.read_file(p, base);
        }
    }
}

/// `@path` mentions in a Claude Code prompt: the file's content goes to the model too.
fn mentioned_files(prompt: &str, base: &Path, ev: &mut Event) {
    for word in prompt.split_whitespace() {
        let Some(path) = word.strip_prefix('@') else {
            continue;
        };
        let path = path.trim_end_matches([',', '.', ';', ':', ')', '!', '?']);
        if !path.is_empty() && base.join(path).is_file() {
            ev.read_file(path, base);
        }
    }
}

/// A JSON value as text to scan: strings as they are, anything else as its JSON.
fn value_text(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        other => {
            // Strings inside are scanned unescaped: a key in `{"stdout": "TOKEN=ghp_…\n"}` must
            // look as it did on the terminal.
            let mut out = Vec::new();
            collect_strings(other, &mut out);
            out
        }
    }
}

fn collect_strings(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::String(s) => {
            out.extend_from_slice(s.as_bytes());
            out.push(b'\n');
        }
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => {
            for (k, x) in o {
                if let Value::String(s) = x {
                    // `"api_key": "…"` keeps its name, so assignment rules still see it.
                    out.extend_from_slice(format!("{k}: {s}\n").as_bytes());
                } else {
                    collect_strings(x, out);
                }
            }
        }
        Value::Number(n) => {
            out.extend_from_slice(n.to_string().as_bytes());
            out.push(b'\n');
        }
        _ => {}
    }
}
