//! `keysweep guard` fed hook events the way Claude Code and Cursor send them (their published
//! hook documentation), through the real binary: what it allows, what it blocks and how it
//! answers, and that no answer holds the secret.

mod support;

use serde_json::{json, Value};
use support::*;

/// Runs the guard on `event` in the sandbox; returns (exit code, stdout, stderr).
fn guard(sb: &Sandbox, event: &str, extra: &[&str]) -> (i32, String, String) {
    let out = sb
        .cmd()
        .arg("guard")
        .args(extra)
        .write_stdin(event.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stdout.contains(GH1) && !stderr.contains(GH1),
        "the answer holds the secret:\n{stdout}\n{stderr}"
    );
    (out.status.code().unwrap(), stdout, stderr)
}

fn stdout_json(s: &str) -> Value {
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

fn claude(name: &str, body: Value) -> String {
    let mut v = json!({
        "session_id": "abc",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": ".",
        "hook_event_name": name,
    });
    v.as_object_mut()
        .unwrap()
        .extend(body.as_object().unwrap().clone());
    v.to_string()
}

#[test]
fn claude_prompt_with_a_key_is_blocked_and_a_clean_one_allowed() {
    let sb = Sandbox::new();
    let (code, out, _) = guard(
        &sb,
        &claude(
            "UserPromptSubmit",
            json!({"prompt": format!("deploy with {GH1} now")}),
        ),
        &[],
    );
    assert_eq!(code, 0);
    let v = stdout_json(&out);
    assert_eq!(v["decision"], "block");
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains("GitHub") && reason.contains("prompt"),
        "{reason}"
    );
    assert!(reason.contains("environment variable"), "{reason}");

    let (code, out, err) = guard(
        &sb,
        &claude(
            "UserPromptSubmit",
            json!({"prompt": "fix the failing test"}),
        ),
        &[],
    );
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
}

#[test]
fn claude_prompt_mentioning_a_file_with_a_key_is_blocked() {
    let sb = Sandbox::new();
    sb.write("config/.env", format!("GITHUB_TOKEN={GH1}\n"));
    let cwd = sb.path().display().to_string();
    let event = json!({"hook_event_name": "UserPromptSubmit", "cwd": cwd,
                       "prompt": "why does @config/.env not load?"});
    let (_, out, _) = guard(&sb, &event.to_string(), &[]);
    let reason = stdout_json(&out)["reason"].as_str().unwrap().to_string();
    assert!(reason.contains("file config/.env"), "{reason}");
}

#[test]
fn claude_tool_calls_are_denied_before_they_run() {
    let sb = Sandbox::new();
    sb.write(".env", format!("GITHUB_TOKEN={GH1}\n"));
    let env_path = sb.path().join(".env").display().to_string();
    let cases = [
        ("Read", json!({"file_path": env_path}), "file"),
        (
            "Bash",
            json!({"command": format!("curl -H 'Authorization: token {GH1}' https://api.github.com")}),
            "shell command",
        ),
        (
            "Write",
            json!({"file_path": "app.py", "content": format!("TOKEN = '{GH1}'\n")}),
            "content written to app.py",
        ),
        (
            "Edit",
            json!({"file_path": "app.py", "old_string": "x", "new_string": format!("token = \"{GH1}\"")}),
            "edit of app.py",
        ),
        (
            "WebFetch",
            json!({"url": format!("https://example.com/?token={GH1}"), "prompt": "read"}),
            "fetched URL",
        ),
        (
            "mcp__github__create_issue",
            json!({"body": format!("my token is {GH1}")}),
            "mcp__github__create_issue arguments",
        ),
    ];
    for (tool, input, place) in cases {
        let event = claude(
            "PreToolUse",
            json!({"tool_name": tool, "tool_input": input}),
        );
        let (code, out, _) = guard(&sb, &event, &[]);
        assert_eq!(code, 0, "{tool}");
        let v = stdout_json(&out);
        let h = &v["hookSpecificOutput"];
        assert_eq!(h["hookEventName"], "PreToolUse", "{tool}");
        assert_eq!(h["permissionDecision"], "deny", "{tool}: {out}");
        let reason = h["permissionDecisionReason"].as_str().unwrap();
        assert!(reason.contains(place), "{tool}: {reason}");
    }
    // A harmless read is allowed with no answer at all.
    sb.write("README.md", "hello\n");
    let readme = sb.path().join("README.md").display().to_string();
    let event = claude(
        "PreToolUse",
        json!({"tool_name": "Read", "tool_input": {"file_path": readme}}),
    );
    assert_eq!(guard(&sb, &event, &[]), (0, String::new(), String::new()));
}

#[test]
fn claude_tool_output_with_a_key_is_blocked_after_the_call() {
    let sb = Sandbox::new();
    let event = claude(
        "PostToolUse",
        json!({"tool_name": "Bash", "tool_input": {"command": "cat ~/.config/gh/hosts.yml"},
               "tool_response": {"stdout": format!("github.com:\n  oauth_token: {GH1}\n"), "stderr": ""}}),
    );
    let (_, out, _) = guard(&sb, &event, &[]);
    assert_eq!(stdout_json(&out)["decision"], "block");
}

#[test]
fn cursor_events_get_cursor_answers() {
    let sb = Sandbox::new();
    sb.write("secrets.env", format!("GITHUB_TOKEN={GH1}\n"));
    let root = sb.path().display().to_string();
    let common = |name: &str, body: Value| {
        let mut v = json!({"hook_event_name": name, "conversation_id": "c1",
                           "generation_id": "g1", "workspace_roots": [root]});
        v.as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        v.to_string()
    };
    let (_, out, _) = guard(
        &sb,
        &common(
            "beforeSubmitPrompt",
            json!({"prompt": format!("use {GH1}")}),
        ),
        &[],
    );
    let v = stdout_json(&out);
    assert_eq!(v["continue"], false);
    assert!(v["user_message"].as_str().unwrap().contains("GitHub"));
    let (_, out, _) = guard(
        &sb,
        &common(
            "beforeSubmitPrompt",
            json!({"prompt": "hello",
        "attachments": [{"type": "file", "file_path": "secrets.env"}]}),
        ),
        &[],
    );
    assert_eq!(
        stdout_json(&out)["continue"],
        false,
        "an attached file is checked"
    );
    let (_, out, _) = guard(
        &sb,
        &common("beforeSubmitPrompt", json!({"prompt": "hello"})),
        &[],
    );
    assert_eq!(stdout_json(&out)["continue"], true);

    let (_, out, _) = guard(
        &sb,
        &common(
            "beforeReadFile",
            json!({"file_path": "secrets.env",
        "content": format!("GITHUB_TOKEN={GH1}\n")}),
        ),
        &[],
    );
    assert_eq!(stdout_json(&out)["permission"], "deny");
    let (_, out, _) = guard(
        &sb,
        &common(
            "beforeShellExecution",
            json!({"command": format!("export GITHUB_TOKEN={GH1}"), "cwd": root}),
        ),
        &[],
    );
    let v = stdout_json(&out);
    assert_eq!(v["permission"], "deny");
    assert!(v["agent_message"]
        .as_str()
        .unwrap()
        .contains("shell command"));
    let (_, out, _) = guard(
        &sb,
        &common("beforeShellExecution", json!({"command": "ls -la"})),
        &[],
    );
    assert_eq!(stdout_json(&out)["permission"], "allow");
    let (_, out, _) = guard(
        &sb,
        &common(
            "beforeMCPExecution",
            json!({"tool_name": "create_issue",
        "tool_input": {"body": format!("token {GH1}")}}),
        ),
        &[],
    );
    assert_eq!(stdout_json(&out)["permission"], "deny");
}

#[test]
fn malformed_events_fail_open_with_a_warning_or_closed_when_asked() {
    let sb = Sandbox::new();
    for bad in ["not json", "{\"prompt\": \"no event name\"}", ""] {
        let (code, out, err) = guard(&sb, bad, &[]);
        assert_eq!((code, out.as_str()), (0, ""), "{bad}");
        assert!(
            err.contains("could not read the hook event") && err.contains("allowed"),
            "{err}"
        );
        let (code, _, err) = guard(&sb, bad, &["--fail-closed"]);
        assert_eq!(code, 2, "{bad}: exit 2 blocks in the hook protocols");
        assert!(err.contains("--fail-closed"), "{err}");
    }
}

#[test]
fn files_that_are_not_regular_are_not_read_and_fail_closed_when_asked() {
    let sb = Sandbox::new();
    std::os::unix::fs::symlink("/dev/zero", sb.path().join("zero")).unwrap();
    let fifo = sb.path().join("pipe");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for name in ["zero", "pipe"] {
        let p = sb.path().join(name).display().to_string();
        let event = claude(
            "PreToolUse",
            json!({"tool_name": "Read", "tool_input": {"file_path": p}}),
        );
        let (code, out, err) = guard(&sb, &event, &[]);
        assert_eq!((code, out.as_str()), (0, ""), "{name}");
        assert!(err.contains("not a regular file"), "{name}: {err}");
        let (_, out, _) = guard(&sb, &event, &["--fail-closed"]);
        assert_eq!(
            stdout_json(&out)["hookSpecificOutput"]["permissionDecision"],
            "deny",
            "{name}"
        );
    }
}

#[test]
fn a_large_prompt_and_a_private_key_over_several_lines_are_checked() {
    let sb = Sandbox::new();
    let mut prompt = "lorem ipsum dolor sit amet\n".repeat(40_000);
    prompt.push_str(&format!("and finally {GH1}\n"));
    let (_, out, _) = guard(
        &sb,
        &claude("UserPromptSubmit", json!({"prompt": prompt})),
        &[],
    );
    assert_eq!(stdout_json(&out)["decision"], "block");
    // A fake PKCS#1 key: a DER SEQUENCE header, then pseudo-random bytes, in 64-column PEM.
    use base64::Engine as _;
    let mut der = vec![
        0x30, 0x82, 0x03, 0x84, 0x02, 0x01, 0x00, 0x02, 0x81, 0x81, 0x00,
    ];
    der.extend((0..889u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let body = base64::engine::general_purpose::STANDARD.encode(&der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
        lines.join("\n")
    );
    let (_, out, _) = guard(
        &sb,
        &claude(
            "UserPromptSubmit",
            json!({"prompt": format!("what is this?\n{pem}")}),
        ),
        &[],
    );
    let v = stdout_json(&out);
    assert_eq!(v["decision"], "block");
    assert!(
        !v["reason"].as_str().unwrap().contains(lines[3]),
        "no body line in the answer"
    );
}

#[test]
fn a_bad_timeout_is_a_usage_error() {
    let sb = Sandbox::new();
    for t in ["0", "-1", "NaN", "inf", "1e9"] {
        sb.cmd()
            .args(["guard", "--timeout", t])
            .write_stdin("{}")
            .assert()
            .code(2);
    }
}

/// A project settings file that already holds another hook and other settings.
const CLAUDE_SETTINGS: &str = r#"{
  "model": "opus",
  "permissions": {"allow": ["Bash(npm test)"]},
  "hooks": {
    "PreToolUse": [
      {"matcher": "Bash", "hooks": [{"type": "command", "command": "./scripts/lint-command.sh"}]}
    ],
    "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]
  }
}
"#;

#[test]
fn guard_install_merges_with_other_hooks_and_uninstall_reverses_it() {
    let sb = Sandbox::new();
    assert!(std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(sb.path())
        .status()
        .unwrap()
        .success());
    sb.write(".claude/settings.json", CLAUDE_SETTINGS);
    let path = sb.path().join(".claude/settings.json");
    let read =
        || -> Value { serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap() };
    let original = read();

    // --dry-run prints the diff and writes nothing.
    let out = sb
        .cmd()
        .args(["guard", "install", "claude-code", "--dry-run"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(
        diff.contains("+") && diff.contains("keysweep guard"),
        "{diff}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), CLAUDE_SETTINGS);

    sb.cmd()
        .args(["guard", "install", "claude-code"])
        .assert()
        .code(0);
    let v = read();
    assert_eq!(v["model"], "opus");
    assert_eq!(v["permissions"], original["permissions"]);
    assert_eq!(v["hooks"]["Stop"], original["hooks"]["Stop"]);
    let pre = v["hooks"]["PreToolUse"].as_array().unwrap();
    assert_eq!(
        pre[0], original["hooks"]["PreToolUse"][0],
        "the other hook stays first"
    );
    assert_eq!(pre[1]["matcher"], "*");
    assert_eq!(pre[1]["hooks"][0]["command"], "keysweep guard");
    assert_eq!(
        v["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"],
        "keysweep guard"
    );
    assert_eq!(
        v["hooks"]["PostToolUse"][0]["hooks"][0]["command"],
        "keysweep guard"
    );
    // Installing twice adds nothing.
    let before = std::fs::read_to_string(&path).unwrap();
    sb.cmd()
        .args(["guard", "install", "claude-code"])
        .assert()
        .code(0);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);

    sb.cmd()
        .args(["guard", "uninstall", "claude-code"])
        .assert()
        .code(0);
    assert_eq!(read(), original, "uninstall leaves exactly what was there");

    // A fresh project: Cursor's file is created, and removed again on uninstall.
    sb.cmd()
        .args(["guard", "install", "cursor"])
        .assert()
        .code(0);
    let cursor: Value = serde_json::from_str(
        &std::fs::read_to_string(sb.path().join(".cursor/hooks.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(cursor["version"], 1);
    for e in [
        "beforeSubmitPrompt",
        "beforeReadFile",
        "beforeShellExecution",
        "beforeMCPExecution",
    ] {
        assert_eq!(cursor["hooks"][e][0]["command"], "keysweep guard", "{e}");
    }
    sb.cmd()
        .args(["guard", "uninstall", "cursor"])
        .assert()
        .code(0);
    assert!(!sb.path().join(".cursor/hooks.json").exists());
}

#[test]
fn guard_install_refuses_a_malformed_settings_file_and_user_scope_uses_home() {
    let sb = Sandbox::new();
    sb.write(".claude/settings.json", "{ \"model\": \"opus\", oops");
    let out = sb
        .cmd()
        .args(["guard", "install", "claude-code"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("settings.json") && err.contains("not valid JSON"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(sb.path().join(".claude/settings.json")).unwrap(),
        "{ \"model\": \"opus\", oops"
    );
    let home = tempfile::tempdir().unwrap();
    sb.cmd()
        .env("HOME", home.path())
        .args(["guard", "install", "claude-code", "--user"])
        .assert()
        .code(0);
    assert!(home.path().join(".claude/settings.json").is_file());
}
