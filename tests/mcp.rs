//! `keysweep mcp` against the official MCP Python SDK client (`pip install mcp`, which
//! `.ci/test` installs into `.venv`): initialize, list tools, call each tool, bad arguments.
//! The test fails, never skips, when the SDK is missing.

mod support;

use std::process::Command;
use support::*;

#[test]
fn the_official_sdk_client_initializes_lists_and_calls_every_tool() {
    let sb = Sandbox::new();
    sb.write("app/.env", format!("GITHUB_TOKEN={GH1}\n"));
    sb.write("app/README.md", "nothing here\n");
    let bin = assert_cmd::cargo::cargo_bin("keysweep");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_client.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(&bin)
        .arg(sb.path().join("app"))
        .arg(GH1)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the MCP client failed (is the `mcp` package installed? .ci/test installs it):\n{stderr}"
    );
    assert!(
        !stdout.contains(GH1),
        "an answer holds the raw secret: {stdout}"
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["server"], "keysweep");
    assert_eq!(
        v["tools"],
        serde_json::json!(["explain_rule", "redact_text", "scan_path", "scan_text"])
    );
    let f = &v["scan_text"]["findings"][0];
    assert_eq!(v["scan_text"]["count"], 1);
    assert_eq!(f["rule_id"], "github-pat");
    assert_eq!(f["line"], 2);
    assert!(f["redacted"].as_str().unwrap().ends_with('…'));
    assert_eq!(f["fingerprint"].as_str().unwrap().len(), 64);
    let redacted = v["redact_text"]["text"].as_str().unwrap();
    assert_eq!(
        redacted.matches("[REDACTED:github-pat:").count(),
        2,
        "{redacted}"
    );
    assert!(redacted.starts_with("a [REDACTED") && redacted.contains(" b [REDACTED"));
    assert_eq!(v["scan_path"]["count"], 1);
    assert_eq!(v["scan_path"]["complete"], true);
    assert!(v["scan_path"]["findings"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with(".env"));
    assert_eq!(v["explain_rule"]["provider"], "GitHub");
    for case in ["bad_args", "bad_type", "unknown_tool", "unknown_rule"] {
        assert_eq!(v[case], -32602, "{case}: {stdout}");
    }
}

#[test]
fn raw_protocol_errors_for_unparsable_input_and_unknown_methods() {
    let input = "not json\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nope\"}\n\
                 {\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n\
                 {\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n";
    let out = keysweep()
        .args(["mcp", "--no-config"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "a notification gets no answer: {lines:?}");
    assert_eq!(lines[0]["error"]["code"], -32700);
    assert_eq!(lines[1]["error"]["code"], -32601);
    assert_eq!(lines[2]["id"], 2);
    assert!(lines[2]["result"].is_object());
}
