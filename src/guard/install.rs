//! Writing `keysweep guard` into an assistant's hook settings, and taking it out again.
//!
//! The settings file is merged, never replaced: other hooks and settings stay as they are, in
//! their order, and an entry keysweep already wrote is not added twice. Uninstalling removes
//! exactly the entries whose command is [`GUARD_COMMAND`], then the event lists and `hooks`
//! objects that this left empty; a file left holding nothing else is deleted.

use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// The command the hooks run.
pub const GUARD_COMMAND: &str = "keysweep guard";

/// Assistants whose settings keysweep can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Claude Code: `.claude/settings.json`.
    ClaudeCode,
    /// Cursor: `.cursor/hooks.json`.
    Cursor,
}

/// Where the settings live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The project's settings (committed with the repository).
    Project,
    /// The user's own settings (every project).
    User,
}

/// Why the settings could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The file exists but is not JSON, or not an object where one is needed.
    #[error("{path}: {problem}; fix or move it, keysweep will not overwrite it")]
    Malformed {
        /// The settings file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The settings file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// The settings file for `target` in `scope`; `project` is the project root, `home` the
/// user's home directory.
pub fn settings_path(target: Target, scope: Scope, project: &Path, home: &Path) -> PathBuf {
    let base = match scope {
        Scope::Project => project,
        Scope::User => home,
    };
    match target {
        Target::ClaudeCode => base.join(".claude/settings.json"),
        Target::Cursor => base.join(".cursor/hooks.json"),
    }
}

/// The events keysweep hooks, with the matcher each needs (Claude Code tool events).
fn events(target: Target) -> &'static [(&'static str, Option<&'static str>)] {
    match target {
        Target::ClaudeCode => &[
            ("UserPromptSubmit", None),
            ("PreToolUse", Some("*")),
            ("PostToolUse", Some("*")),
        ],
        Target::Cursor => &[
            ("beforeSubmitPrompt", None),
            ("beforeReadFile", None),
            ("beforeShellExecution", None),
            ("beforeMCPExecution", None),
        ],
    }
}

/// A planned change: the file's text before (None: no file) and after (None: delete it).
#[derive(Debug)]
pub struct Change {
    /// The settings file.
    pub path: PathBuf,
    /// Its text now.
    pub before: Option<String>,
    /// Its text after the change.
    pub after: Option<String>,
}

impl Change {
    /// True when the change does nothing.
    pub fn is_noop(&self) -> bool {
        self.before == self.after
    }

    /// Carries the change out.
    pub fn apply(&self) -> Result<(), InstallError> {
        let io = |source| InstallError::Io {
            path: self.path.display().to_string(),
            source,
        };
        match &self.after {
            None if self.before.is_some() => std::fs::remove_file(&self.path).map_err(io),
            None => Ok(()),
            Some(text) => {
                if let Some(dir) = self.path.parent() {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                std::fs::write(&self.path, text).map_err(io)
            }
        }
    }

    /// A line diff of the change (`-` removed, `+` added, two spaces unchanged).
    pub fn diff(&self) -> String {
        let a: Vec<&str> = self.before.as_deref().unwrap_or("").lines().collect();
        let b: Vec<&str> = self.after.as_deref().unwrap_or("").lines().collect();
        let mut out = format!(
            "--- {}{}\n+++ {}{}\n",
            self.path.display(),
            if self.before.is_none() { " (new)" } else { "" },
            self.path.display(),
            if self.after.is_none() {
                " (deleted)"
            } else {
                ""
            }
        );
        for line in line_diff(&a, &b) {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

/// A settings file's text and its top-level object.
type Settings = (String, Map<String, Value>);

fn read(path: &Path) -> Result<Option<Settings>, InstallError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(InstallError::Io {
                path: path.display().to_string(),
                source,
            })
        }
    };
    let malformed = |problem: String| InstallError::Malformed {
        path: path.display().to_string(),
        problem,
    };
    if text.trim().is_empty() {
        return Ok(Some((text, Map::new())));
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(Some((text, m))),
        Ok(_) => Err(malformed("not a JSON object".into())),
        // serde_json's message names line and column, never the file's content.
        Err(e) => Err(malformed(format!("not valid JSON ({e})"))),
    }
}

fn render(m: &Map<String, Value>) -> String {
    let mut s = serde_json::to_string_pretty(m).expect("a JSON map serialises");
    s.push('\n');
    s
}

fn is_ours(entry: &Value, target: Target) -> bool {
    let cmd = |v: &Value| v.get("command").and_then(Value::as_str) == Some(GUARD_COMMAND);
    match target {
        Target::ClaudeCode => entry
            .get("hooks")
            .and_then(Value::as_array)
            .is_some_and(|hs| !hs.is_empty() && hs.iter().all(cmd)),
        Target::Cursor => cmd(entry),
    }
}

fn our_entry(target: Target, matcher: Option<&str>) -> Value {
    match target {
        Target::ClaudeCode => {
            let mut e = Map::new();
            if let Some(m) = matcher {
                e.insert("matcher".into(), json!(m));
            }
            e.insert(
                "hooks".into(),
                json!([{"type": "command", "command": GUARD_COMMAND}]),
            );
            Value::Object(e)
        }
        Target::Cursor => json!({"command": GUARD_COMMAND}),
    }
}

/// Plans adding keysweep's hooks to the settings at `path`.
pub fn plan_install(target: Target, path: &Path) -> Result<Change, InstallError> {
    let existing = read(path)?;
    let before = existing.as_ref().map(|(t, _)| t.clone());
    let mut m = existing.map(|(_, m)| m).unwrap_or_default();
    let malformed = |problem: &str| InstallError::Malformed {
        path: path.display().to_string(),
        problem: problem.to_string(),
    };
    if target == Target::Cursor && !m.contains_key("version") {
        m.insert("version".into(), json!(1));
    }
    let hooks = m
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| malformed("`hooks` is not an object"))?;
    let mut added = false;
    for (event, matcher) in events(target) {
        let list = hooks
            .entry(*event)
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .ok_or_else(|| malformed(&format!("`hooks.{event}` is not a list")))?;
        if !list.iter().any(|e| is_ours(e, target)) {
            list.push(our_entry(target, *matcher));
            added = true;
        }
    }
    // Already installed: leave the file, formatting included, as it is.
    let after = if added {
        Some(render(&m))
    } else {
        before.clone()
    };
    Ok(Change {
        path: path.to_path_buf(),
        before,
        after,
    })
}

/// Plans removing keysweep's hooks from the settings at `path`.
pub fn plan_uninstall(target: Target, path: &Path) -> Result<Change, InstallError> {
    let Some((text, mut m)) = read(path)? else {
        return Ok(Change {
            path: path.to_path_buf(),
            before: None,
            after: None,
        });
    };
    let mut changed = false;
    if let Some(hooks) = m.get_mut("hooks").and_then(Value::as_object_mut) {
        for (event, _) in events(target) {
            if let Some(list) = hooks.get_mut(*event).and_then(Value::as_array_mut) {
                let n = list.len();
                list.retain(|e| !is_ours(e, target));
                if list.len() != n {
                    changed = true;
                    if list.is_empty() {
                        hooks.remove(*event);
                    }
                }
            }
        }
        if changed && hooks.is_empty() {
            m.remove("hooks");
        }
    }
    if !changed {
        return Ok(Change {
            path: path.to_path_buf(),
            before: Some(text.clone()),
            after: Some(text),
        });
    }
    let only_version =
        target == Target::Cursor && m.len() == 1 && m.get("version") == Some(&json!(1));
    let after = if m.is_empty() || only_version {
        None
    } else {
        Some(render(&m))
    };
    Ok(Change {
        path: path.to_path_buf(),
        before: Some(text),
        after,
    })
}

/// A minimal line diff (longest common subsequence; settings files are small).
fn line_diff(a: &[&str], b: &[&str]) -> Vec<String> {
    let (n, m) = (a.len(), b.len());
    if n * m > 4_000_000 {
        let mut out: Vec<String> = a.iter().map(|l| format!("-{l}")).collect();
        out.extend(b.iter().map(|l| format!("+{l}")));
        return out;
    }
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(format!("  {}", a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("+ {}", b[j]));
            j += 1;
        } else {
            out.push(format!("- {}", a[i]));
            i += 1;
        }
    }
    out
}
