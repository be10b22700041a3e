//! Integration tests for `--verify`, the revocation endpoint and `keysweep revoke`: the real
//! binary against a small HTTP server on 127.0.0.1 started inside each test. No test contacts
//! a real provider: the test rules' hosts are under `.invalid` (never resolvable) and every
//! check is sent to the loopback server with `--verify-base-url`.

mod support;

use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;

const RULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/verify-rules.toml");

const T_ACTIVE: &str = "ksvt_ZWHwWuPVwdI4UlgCsVT7Ofu4yxCBlbbr";
const T_INACTIVE: &str = "ksvt_0R67jPrFC2eldJzQXIFfg47wSrPnvThr";
const T_ODD: &str = "ksvt_Fiu9VvlOQQjZHisaMIHh3DJDBz7zKjQZ";
const T_4: &str = "ksvt_mRTYKVg3pgDth1yzdlLLsOcV2RYJtu84";
const T_5: &str = "ksvt_Lvp0PcPVS7p9eqWEXEZ4AC5I7XKkLpHI";
const J_VALID: &str = "ksvj_Fp1kuSPi8QBkOyJJRB0MqRzJkOXNxQOq";
const J_INVALID: &str = "ksvj_pkW8amWJFxG35RHqdfN5UMqiXWAHlKl6";
const J_MALFORMED: &str = "ksvj_H5gcRurtGiaY4saFDo5soyZ1KAQ7Kr10";
const N_1: &str = "ksvn_V5sjRpFYcM8CmiiIiqXPEiT4Dq5A8fC6";

// ---------------------------------------------------------------------------------------------
// A tiny HTTP/1.1 server: one thread per connection, `Connection: close`, scripted answers.

#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

impl Req {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
    fn bearer(&self) -> &str {
        self.header("authorization")
            .strip_prefix("Bearer ")
            .unwrap_or("")
    }
}

struct Resp {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

fn resp(status: u16, body: &str) -> Resp {
    Resp {
        status,
        headers: Vec::new(),
        body: body.to_string(),
        delay: Duration::ZERO,
    }
}

type Handler = dyn Fn(&Req, usize) -> Resp + Send + Sync;

struct Server {
    base: String,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Req>>>,
    max_in_flight: Arc<AtomicUsize>,
}

impl Server {
    fn start(handler: impl Fn(&Req, usize) -> Resp + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let (c, r, f, m) = (
            connections.clone(),
            requests.clone(),
            in_flight.clone(),
            max_in_flight.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                c.fetch_add(1, Ordering::SeqCst);
                let (r, f, m, h) = (r.clone(), f.clone(), m.clone(), handler.clone());
                std::thread::spawn(move || serve(stream, &r, &f, &m, &*h));
            }
        });
        Server {
            base,
            connections,
            requests,
            max_in_flight,
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(
    stream: TcpStream,
    log: &Mutex<Vec<Req>>,
    in_flight: &AtomicUsize,
    max: &AtomicUsize,
    handler: &Handler,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let req = Req {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let n = {
        let mut l = log.lock().unwrap();
        l.push(req.clone());
        l.len() - 1
    };
    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    max.fetch_max(now, Ordering::SeqCst);
    let r = handler(&req, n);
    std::thread::sleep(r.delay);
    in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut out = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.status,
        r.body.len()
    );
    for (k, v) in &r.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&r.body);
    let mut s = stream;
    let _ = s.write_all(out.as_bytes());
    let _ = s.flush();
}

/// A port on 127.0.0.1 that refuses connections.
fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// `keysweep scan . -f json --rules tests/data/verify-rules.toml` in a sandbox, with proxy
/// variables removed.
fn scan(sb: &Sandbox, extra: &[&str]) -> (Value, i32, String) {
    let mut cmd = sb.cmd();
    for v in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "KEYSWEEP_REVOCATION_TOKEN",
    ] {
        cmd.env_remove(v);
    }
    cmd.args(["scan", ".", "-f", "json", "--no-config", "--rules", RULES]);
    cmd.args(extra);
    run_json(&mut cmd)
}

fn overrides(base: &str) -> Vec<String> {
    vec![
        "--verify-base-url".into(),
        format!("verifytest={base}"),
        "--verify-base-url".into(),
        format!("jsoncheck={base}"),
    ]
}

fn verify_args(base: &str, extra: &[&str]) -> Vec<String> {
    let mut v = vec!["--verify".to_string()];
    v.extend(overrides(base));
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The finding whose secret hash matches `secret`.
fn by_secret<'a>(json: &'a Value, secret: &str) -> Vec<&'a Value> {
    let sha = keysweep::finding::Secret::new(secret.as_bytes()).sha256_hex();
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["secret_sha256"] == sha.as_str())
        .collect()
}

fn vstatus<'a>(json: &'a Value, secret: &str) -> &'a Value {
    &by_secret(json, secret)[0]["verification"]
}

/// Answers bearer checks by token: active, inactive, or an odd status.
fn bearer_handler(req: &Req, _: usize) -> Resp {
    match req.bearer() {
        T_ACTIVE => resp(200, "{}"),
        T_INACTIVE => resp(401, "{}"),
        T_ODD => resp(418, "teapot"),
        _ => resp(404, ""),
    }
}

// ---------------------------------------------------------------------------------------------
// Live checks.

#[test]
fn active_inactive_and_unknown_with_reasons() {
    let server = Server::start(|req, n| {
        if req.path.starts_with("/v1/check-api-key") {
            let key = req.header("x-api-key");
            return match key {
                J_VALID => resp(200, r#"{"valid": true}"#),
                J_INVALID => resp(200, r#"{"valid": false}"#),
                _ => resp(200, "{\"valid\": tru"),
            };
        }
        bearer_handler(req, n)
    });
    let sb = Sandbox::new();
    sb.write(
        "app.env",
        format!(
            "A={T_ACTIVE}\nB={T_INACTIVE}\nC={T_ODD}\nD={J_VALID}\nE={J_INVALID}\nF={J_MALFORMED}\nG={N_1}\n"
        ),
    );
    let (plain, plain_code, _) = scan(&sb, &[]);
    let (json, code, stderr) = scan(&sb, &strs(&verify_args(&server.base, &[])));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(plain_code, 1);
    // Verification never changes the findings.
    assert_eq!(triples(&json), triples(&plain));
    assert_eq!(json["findings"].as_array().unwrap().len(), 7);
    for f in plain["findings"].as_array().unwrap() {
        assert!(f.get("verification").is_none());
    }

    let a = vstatus(&json, T_ACTIVE);
    assert_eq!(a["status"], "active");
    assert_eq!(a["http_status"], 200);
    assert!(a["reason"].as_str().unwrap().contains("accepted"));
    let b = vstatus(&json, T_INACTIVE);
    assert_eq!(b["status"], "inactive");
    assert_eq!(b["http_status"], 401);
    let c = vstatus(&json, T_ODD);
    assert_eq!(c["status"], "unknown");
    assert_eq!(c["http_status"], 418);
    assert!(c["reason"]
        .as_str()
        .unwrap()
        .contains("unexpected HTTP 418"));
    assert_eq!(vstatus(&json, J_VALID)["status"], "active");
    assert_eq!(vstatus(&json, J_INVALID)["status"], "inactive");
    let m = vstatus(&json, J_MALFORMED);
    assert_eq!(m["status"], "unknown");
    assert!(m["reason"].as_str().unwrap().contains("malformed JSON"));
    let n = vstatus(&json, N_1);
    assert_eq!(n["status"], "unknown");
    assert!(n["http_status"].is_null());
    assert_eq!(n["reason"], "no live check for this rule");

    // The request kept the rule's path, method, headers and body; the base changed.
    let reqs = server.requests();
    assert_eq!(reqs.len(), 6, "one request per checkable key: {reqs:?}");
    let bearer = reqs.iter().find(|r| r.bearer() == T_ACTIVE).unwrap();
    assert_eq!(
        (bearer.method.as_str(), bearer.path.as_str()),
        ("GET", "/v1/check")
    );
    assert!(bearer.header("user-agent").starts_with("keysweep/"));
    let post = reqs
        .iter()
        .find(|r| r.header("x-api-key") == J_VALID)
        .unwrap();
    assert_eq!(post.method, "POST");
    assert_eq!(post.path, "/v1/check-api-key?source=keysweep");
    assert_eq!(post.body, format!("{{\"key\": \"{J_VALID}\"}}"));

    let s = &json["summary"]["checks"]["verification"];
    assert_eq!(s["active"], 2);
    assert_eq!(s["inactive_or_revoked"], 2);
    assert_eq!(s["unknown"], 3);
    assert_eq!(s["checked"], 6);
    // The secret never reaches stderr.
    for t in [T_ACTIVE, T_INACTIVE, J_VALID] {
        assert!(!stderr.contains(t));
    }
}

#[test]
fn a_key_found_many_times_is_checked_once_and_every_finding_gets_the_result() {
    let server = Server::start(bearer_handler);
    let sb = Sandbox::new();
    for i in 0..10 {
        let body: String = (0..10).map(|j| format!("k{j}={T_ACTIVE}\n")).collect();
        sb.write(&format!("f{i}.txt"), body);
    }
    sb.write("other.txt", format!("x={T_INACTIVE}\n"));
    let (json, _, _) = scan(&sb, &strs(&verify_args(&server.base, &[])));
    let found = by_secret(&json, T_ACTIVE);
    assert_eq!(found.len(), 100);
    assert!(found
        .iter()
        .all(|f| f["verification"]["status"] == "active"));
    assert_eq!(server.requests().len(), 2);
    assert_eq!(json["summary"]["checks"]["verification"]["checked"], 2);
}

#[test]
fn only_active_reports_active_keys_and_sets_the_exit_code_from_them() {
    let server = Server::start(bearer_handler);
    let sb = Sandbox::new();
    sb.write("a.env", format!("A={T_ACTIVE}\nB={T_INACTIVE}\nN={N_1}\n"));
    let (json, code, stderr) = scan(&sb, &strs(&verify_args(&server.base, &["--only-active"])));
    assert_eq!(code, 1);
    let f = json["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["verification"]["status"], "active");
    assert_eq!(json["summary"]["checks"]["hidden_not_active"], 2);
    assert!(stderr.contains("2 finding(s) not reported"), "{stderr}");

    let none_active = Sandbox::new();
    none_active.write("b.env", format!("B={T_INACTIVE}\n"));
    let (json, code, _) = scan(
        &none_active,
        &strs(&verify_args(&server.base, &["--only-active"])),
    );
    assert_eq!(code, 0);
    assert!(json["findings"].as_array().unwrap().is_empty());
    assert_eq!(json["summary"]["findings"], 0);

    // --only-active without --verify is a usage error.
    let out = sb
        .cmd()
        .args([
            "scan",
            ".",
            "--no-config",
            "--rules",
            RULES,
            "--only-active",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn read_timeout_makes_unknown_quickly() {
    let server = Server::start(|_, _| Resp {
        delay: Duration::from_secs(4),
        ..resp(200, "{}")
    });
    let sb = Sandbox::new();
    sb.write("a.env", format!("A={T_ACTIVE}\n"));
    let t = Instant::now();
    let (json, code, _) = scan(
        &sb,
        &strs(&verify_args(&server.base, &["--verify-timeout", "0.3"])),
    );
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_eq!(code, 1);
    let v = vstatus(&json, T_ACTIVE);
    assert_eq!(v["status"], "unknown");
    assert!(v["reason"].as_str().unwrap().contains("timed out"), "{v}");
    assert_eq!(server.requests().len(), 1, "timeouts are not retried");
}

#[test]
fn server_error_then_success_is_retried() {
    let server = Server::start(|req, n| {
        if n == 0 {
            resp(500, "oops")
        } else {
            bearer_handler(req, n)
        }
    });
    let sb = Sandbox::new();
    sb.write("a.env", format!("A={T_ACTIVE}\n"));
    let (json, _, _) = scan(&sb, &strs(&verify_args(&server.base, &[])));
    assert_eq!(vstatus(&json, T_ACTIVE)["status"], "active");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn persistent_server_errors_end_unknown_after_the_retries() {
    let server = Server::start(|_, _| resp(503, ""));
    let sb = Sandbox::new();
    sb.write("a.env", format!("A={T_ACTIVE}\n"));
    let (json, code, _) = scan(
        &sb,
        &strs(&verify_args(&server.base, &["--verify-retries", "1"])),
    );
    assert_eq!(code, 1, "network trouble does not change the exit code");
    let v = vstatus(&json, T_ACTIVE);
    assert_eq!(v["status"], "unknown");
    assert_eq!(v["http_status"], 503);
    assert!(v["reason"].as_str().unwrap().contains("2 attempts"), "{v}");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn rate_limit_with_retry_after_is_honoured() {
    let server = Server::start(|req, n| {
        if n == 0 {
            Resp {
                headers: vec![("Retry-After", "1".into())],
                ..resp(429, "slow down")
            }
        } else {
            bearer_handler(req, n)
        }
    });
    let sb = Sandbox::new();
    sb.write("a.env", format!("A={T_ACTIVE}\n"));
    let t = Instant::now();
    let (json, _, _) = scan(&sb, &strs(&verify_args(&server.base, &[])));
    assert!(t.elapsed() >= Duration::from_secs(1), "waited Retry-After");
    assert_eq!(vstatus(&json, T_ACTIVE)["status"], "active");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn retry_after_beyond_the_cap_gives_up_at_once() {
    let server = Server::start(|_, _| Resp {
        headers: vec![("Retry-After", "120".into())],
        ..resp(429, "")
    });
    let sb = Sandbox::new();
    sb.write("a.env", format!("A={T_ACTIVE}\n"));
    let t = Instant::now();
    let (json, _, _) = scan(
        &sb,
        &strs(&verify_args(
            &server.base,
            &["--verify-max-retry-after", "2"],
        )),
    );
    assert!(t.elapsed() < Duration::from_secs(5));
    let v = vstatus(&json, T_ACTIVE);
    assert_eq!(v["status"], "unknown");
    assert_eq!(v["http_status"], 429);
    assert!(
        v["reason"].as_str().unwrap().contains("exceeds the 2s cap"),
        "{v}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn connection_refused_is_unknown_and_keeps_every_finding() {
    let base = closed_port();
    let sb = Sandbox::new();
    sb.write(
        "a.env",
        format!("A={T_ACTIVE}\nB={T_INACTIVE}\nJ={J_VALID}\n"),
    );
    let (json, code, stderr) = scan(&sb, &strs(&verify_args(&base, &[])));
    assert_eq!(code, 1);
    let f = json["findings"].as_array().unwrap();
    assert_eq!(f.len(), 3);
    for x in f {
        assert_eq!(x["verification"]["status"], "unknown");
        let reason = x["verification"]["reason"].as_str().unwrap();
        assert!(
            reason.contains("refused") || reason.contains("connection failed"),
            "{reason}"
        );
        assert!(!reason.contains("ksv"), "no secret in a reason");
        assert!(!reason.contains("127.0.0.1"), "no URL in a reason");
    }
    assert!(!stderr.contains(T_ACTIVE));
}

#[test]
fn slow_server_is_cut_off_by_the_time_budget() {
    let server = Server::start(|_, _| Resp {
        delay: Duration::from_secs(5),
        ..resp(200, "{}")
    });
    let sb = Sandbox::new();
    sb.write(
        "a.env",
        [T_ACTIVE, T_INACTIVE, T_ODD, T_4, T_5]
            .iter()
            .map(|t| format!("K={t}\n"))
            .collect::<String>(),
    );
    let t = Instant::now();
    let (json, code, _) = scan(
        &sb,
        &strs(&verify_args(
            &server.base,
            &["--verify-budget", "1", "--verify-concurrency", "2"],
        )),
    );
    let took = t.elapsed();
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert_eq!(code, 1);
    let f = json["findings"].as_array().unwrap();
    assert_eq!(f.len(), 5);
    for x in f {
        assert_eq!(x["verification"]["status"], "unknown");
        assert!(
            x["verification"]["reason"]
                .as_str()
                .unwrap()
                .contains("budget"),
            "{x}"
        );
    }
    assert!(server.max_in_flight.load(Ordering::SeqCst) <= 2);
}

#[test]
fn per_host_concurrency_is_respected() {
    let server = Server::start(|req, n| Resp {
        delay: Duration::from_millis(150),
        ..bearer_handler(req, n)
    });
    let sb = Sandbox::new();
    sb.write(
        "a.env",
        [T_ACTIVE, T_INACTIVE, T_ODD, T_4, T_5]
            .iter()
            .map(|t| format!("K={t}\n"))
            .collect::<String>(),
    );
    let (json, _, _) = scan(
        &sb,
        &strs(&verify_args(&server.base, &["--verify-concurrency", "1"])),
    );
    assert_eq!(server.requests().len(), 5);
    assert_eq!(server.max_in_flight.load(Ordering::SeqCst), 1);
    assert_eq!(vstatus(&json, T_ACTIVE)["status"], "active");
}

#[test]
fn reports_carry_the_status_in_sarif_and_text() {
    let server = Server::start(bearer_handler);
    let sb = Sandbox::new();
    sb.write("a.env", format!("A={T_ACTIVE}\nB={T_INACTIVE}\nN={N_1}\n"));
    let base_args = verify_args(&server.base, &[]);
    let out = sb
        .cmd()
        .args(["scan", ".", "--no-config", "--rules", RULES, "-f", "sarif"])
        .args(&base_args)
        .output()
        .unwrap();
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["properties"]["verification"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["active", "inactive", "unknown"]);
    assert!(results[0]["message"]["text"]
        .as_str()
        .unwrap()
        .contains("live check: active"));

    let out = sb
        .cmd()
        .args([
            "scan",
            ".",
            "--no-config",
            "--rules",
            RULES,
            "--color",
            "never",
        ])
        .args(&base_args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("[ACTIVE]"), "{text}");
    assert!(text.contains("[inactive]"));
    assert!(text.contains("[unverified]"));
    assert!(text.contains("live check: no live check for this rule"));
    for t in [T_ACTIVE, T_INACTIVE, N_1] {
        assert!(!text.contains(t), "secret in text output");
        assert!(!String::from_utf8_lossy(&out.stderr).contains(t));
    }
}

#[test]
fn base_url_for_an_unknown_provider_is_an_error() {
    let sb = Sandbox::new();
    sb.write("a.env", "nothing\n");
    let out = sb
        .cmd()
        .args(["scan", ".", "--no-config", "--rules", RULES, "--verify"])
        .args(["--verify-base-url", "opnai=http://127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no rule has provider `opnai`"), "{err}");
    assert!(err.contains("verifytest"), "{err}");
    let out = sb
        .cmd()
        .args(["scan", ".", "--verify-base-url", "openai=ftp://x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn config_base_urls_are_used() {
    let server = Server::start(bearer_handler);
    let sb = Sandbox::new();
    sb.write("a.env", format!("A={T_ACTIVE}\n"));
    sb.write(
        "keysweep.toml",
        format!(
            "rule_files = [{RULES:?}]\n[verify]\ntimeout = 5\n[verify.base_urls]\n\"Verify Test\" = \"{}\"\n",
            server.base
        ),
    );
    let (json, _, stderr) = run_json(sb.cmd().args(["scan", ".", "-f", "json", "--verify"]));
    assert_eq!(vstatus(&json, T_ACTIVE)["status"], "active", "{stderr}");
    assert_eq!(server.requests().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// No network without the flags.

#[test]
fn no_connection_without_verify_or_an_endpoint() {
    let server = Server::start(bearer_handler);
    let sb = Sandbox::new();
    sb.write(
        "a.env",
        format!("A={T_ACTIVE}\nB={T_INACTIVE}\nJ={J_VALID}\nG={GH1}\n"),
    );
    // Base URLs point at the server, in flags and in the config, but nothing asks for checks.
    sb.write(
        "keysweep.toml",
        format!(
            "rule_files = [{RULES:?}]\n[verify.base_urls]\nverifytest = \"{0}\"\njsoncheck = \"{0}\"\n",
            server.base
        ),
    );
    for format in ["json", "text", "sarif", "jsonl"] {
        let out = sb
            .cmd()
            .args(["scan", ".", "-f", format])
            .args(strs(&overrides(&server.base)))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stdout = String::from_utf8_lossy(&out.stdout);
        for marker in ["\"verification\"", "[ACTIVE]", "[inactive]", "[unverified]"] {
            assert!(!stdout.contains(marker), "{format}: {stdout}");
        }
    }
    // And a plain scan of the same files with only the built-in rules.
    sb.cmd().args(["scan", ".", "--no-config"]).assert().code(1);
    // Give a stray connection time to show up before counting.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        server.connections(),
        0,
        "keysweep connected without being asked"
    );
}

// ---------------------------------------------------------------------------------------------
// Revocation endpoint.

/// Deterministic distinct test tokens for the bearer rule.
fn many_tokens(n: usize) -> Vec<String> {
    const ALPHA: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            let body: String = (0..32)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ALPHA[((state >> 33) % ALPHA.len() as u64) as usize] as char
                })
                .collect();
            format!("ksvt_{body}")
        })
        .collect()
}

/// An endpoint that answers `revoked` for hashes starting with a digit, `active` for the
/// others, and leaves out hashes starting with `f`.
fn endpoint_handler(req: &Req, _: usize) -> Resp {
    let body: Value = serde_json::from_str(&req.body).unwrap();
    let results: Vec<Value> = body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| {
            let sha = k["sha256"].as_str().unwrap();
            let first = sha.chars().next().unwrap();
            (first != 'f').then(|| {
                serde_json::json!({
                    "sha256": sha,
                    "status": if first.is_ascii_digit() { "revoked" } else { "active" }
                })
            })
        })
        .collect();
    resp(200, &serde_json::json!({ "results": results }).to_string())
}

/// A validator for one body of docs/revocation-endpoint.schema.json (`request`/`response`).
fn protocol_schema(which: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/revocation-endpoint.schema.json"
    ))
    .unwrap();
    let mut schema: Value = serde_json::from_str(&text).unwrap();
    let obj = schema.as_object_mut().unwrap();
    obj.remove("oneOf");
    obj.remove("$id");
    obj.insert("$ref".into(), Value::String(format!("#/$defs/{which}")));
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn protocol_schema_accepts_the_documented_shapes_and_rejects_others() {
    let sha = "ab".repeat(32);
    let req = protocol_schema("request");
    assert!(req.is_valid(
        &serde_json::json!({"keys": [{"sha256": sha, "rule_id": "r", "provider": "P"}]})
    ));
    assert!(!req.is_valid(
        &serde_json::json!({"keys": [{"sha256": "xyz", "rule_id": "r", "provider": "P"}]})
    ));
    assert!(!req.is_valid(&serde_json::json!({"keys": []})));
    let resp_schema = protocol_schema("response");
    assert!(resp_schema
        .is_valid(&serde_json::json!({"results": [{"sha256": sha, "status": "revoked"}]})));
    assert!(
        !resp_schema.is_valid(&serde_json::json!({"results": [{"sha256": sha, "status": "gone"}]}))
    );
    // The answers the test endpoint gives are valid responses.
    let r = endpoint_handler(
        &Req {
            method: "POST".into(),
            path: "/".into(),
            headers: HashMap::new(),
            body: serde_json::json!({"keys": [{"sha256": sha, "rule_id": "r", "provider": "P"}]})
                .to_string(),
        },
        0,
    );
    assert!(resp_schema.is_valid(&serde_json::from_str(&r.body).unwrap()));
}

fn expected_revocation(secret: &str) -> &'static str {
    let sha = keysweep::finding::Secret::new(secret.as_bytes()).sha256_hex();
    match sha.chars().next().unwrap() {
        'f' => "unknown",
        c if c.is_ascii_digit() => "revoked",
        _ => "active",
    }
}

#[test]
fn revocation_endpoint_is_asked_in_batches_of_500_with_hashes_only() {
    let server = Server::start(endpoint_handler);
    let tokens = many_tokens(1203);
    let sb = Sandbox::new();
    let mut body: String = tokens.iter().map(|t| format!("K={t}\n")).collect();
    body.push_str(&format!("again={}\n", tokens[0]));
    sb.write("keys.txt", body);
    let endpoint = format!("{}/v1/revocation-check", server.base);
    let mut cmd = sb.cmd();
    cmd.env("KEYSWEEP_REVOCATION_TOKEN", "org-token-123").args([
        "scan",
        ".",
        "-f",
        "json",
        "--no-config",
        "--rules",
        RULES,
        "--revocation-endpoint",
        &endpoint,
    ]);
    let (json, code, stderr) = run_json(&mut cmd);
    assert_eq!(code, 1, "{stderr}");
    let reqs = server.requests();
    let sizes: Vec<usize> = reqs
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["keys"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(sizes, vec![500, 500, 203]);
    for r in &reqs {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/v1/revocation-check");
        assert_eq!(r.header("content-type"), "application/json");
        assert_eq!(r.bearer(), "org-token-123");
        assert!(!r.body.contains("ksvt_"), "raw secrets sent without opt-in");
        let first = &serde_json::from_str::<Value>(&r.body).unwrap()["keys"][0];
        assert_eq!(first["rule_id"], "ksv-bearer-token");
        assert_eq!(first["provider"], "Verify Test");
        assert!(first.get("secret").is_none());
    }
    let request_schema = protocol_schema("request");
    for r in &reqs {
        let body: Value = serde_json::from_str(&r.body).unwrap();
        let errors: Vec<String> = request_schema
            .iter_errors(&body)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "request violates the schema: {errors:?}");
    }
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1204);
    for t in tokens.iter().take(300) {
        for f in by_secret(&json, t) {
            assert_eq!(f["revocation"]["status"], expected_revocation(t), "{f}");
            assert!(f.get("verification").is_none());
        }
    }
    let s = &json["summary"]["checks"]["revocation"];
    assert_eq!(s["checked"], 1203);
    assert_eq!(
        s["active"].as_u64().unwrap()
            + s["inactive_or_revoked"].as_u64().unwrap()
            + s["unknown"].as_u64().unwrap(),
        1204
    );
    assert!(stderr.contains("revocation endpoint:"), "{stderr}");
    assert!(!stderr.contains("org-token-123"));
}

#[test]
fn revocation_endpoint_gets_secrets_only_with_the_opt_in() {
    let server = Server::start(endpoint_handler);
    let sb = Sandbox::new();
    sb.write("a.env", format!("A={T_ACTIVE}\n"));
    let endpoint = format!("{}/check", server.base);
    let (json, _, _) = scan(
        &sb,
        &[
            "--revocation-endpoint",
            &endpoint,
            "--revocation-send-secrets",
        ],
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let body: Value = serde_json::from_str(&reqs[0].body).unwrap();
    assert_eq!(body["keys"][0]["secret"], T_ACTIVE);
    assert_eq!(
        body["keys"][0]["sha256"],
        keysweep::finding::Secret::new(T_ACTIVE.as_bytes()).sha256_hex()
    );
    assert!(reqs[0].header("authorization").is_empty());
    assert_eq!(
        by_secret(&json, T_ACTIVE)[0]["revocation"]["status"],
        expected_revocation(T_ACTIVE)
    );
    // Plain http to a non-loopback host with raw secrets is refused before any scan.
    let out = sb
        .cmd()
        .args([
            "scan",
            ".",
            "--revocation-endpoint",
            "http://revocation.example.invalid/x",
        ])
        .arg("--revocation-send-secrets")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing"));
}

#[test]
fn revocation_endpoint_failures_make_unknown_and_keep_findings() {
    for (status, body, reason) in [
        (500, "down", "HTTP 500"),
        (200, "{\"results\": [", "malformed JSON"),
        (403, "", "HTTP 403"),
    ] {
        let server = Server::start(move |_, _| resp(status, body));
        let sb = Sandbox::new();
        sb.write("a.env", format!("A={T_ACTIVE}\nB={T_INACTIVE}\n"));
        let endpoint = format!("{}/check", server.base);
        let (json, code, _) = scan(
            &sb,
            &["--revocation-endpoint", &endpoint, "--verify-retries", "1"],
        );
        assert_eq!(code, 1);
        let f = json["findings"].as_array().unwrap();
        assert_eq!(f.len(), 2);
        for x in f {
            assert_eq!(x["revocation"]["status"], "unknown");
            let r = x["revocation"]["reason"].as_str().unwrap();
            assert!(r.contains(reason), "{status}: {r}");
        }
    }
}

#[test]
fn verify_and_revocation_together() {
    let server = Server::start(|req, n| {
        if req.path == "/revocation" {
            endpoint_handler(req, n)
        } else {
            bearer_handler(req, n)
        }
    });
    let sb = Sandbox::new();
    sb.write("a.env", format!("A={T_ACTIVE}\nB={T_INACTIVE}\n"));
    let endpoint = format!("{}/revocation", server.base);
    let (json, _, _) = scan(
        &sb,
        &strs(&verify_args(
            &server.base,
            &["--revocation-endpoint", &endpoint],
        )),
    );
    let a = by_secret(&json, T_ACTIVE)[0];
    assert_eq!(a["verification"]["status"], "active");
    assert_eq!(a["revocation"]["status"], expected_revocation(T_ACTIVE));
}

// ---------------------------------------------------------------------------------------------
// keysweep revoke --github.

fn github_report(tokens: &[String]) -> String {
    let findings: Vec<Value> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            serde_json::json!({"rule_id": "github-pat", "path": "leak.txt", "line": i + 1, "secret": t})
        })
        .collect();
    serde_json::json!({"version": 1, "findings": findings}).to_string()
}

fn gh_tokens(n: usize) -> Vec<String> {
    many_tokens(n)
        .into_iter()
        .map(|t| format!("ghp_{}1234", &t[5..]))
        .collect()
}

#[test]
fn github_revoke_dry_run_sends_nothing_and_shows_no_raw_token() {
    let server = Server::start(|_, _| resp(202, ""));
    let sb = Sandbox::new();
    let tokens = gh_tokens(2500);
    let report = sb.write("findings.json", github_report(&tokens));
    let out = sb
        .cmd()
        .args(["revoke", "--github"])
        .arg(&report)
        .args(["--github-api-url", &server.base])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("would send 2500 GitHub token(s)"),
        "{stdout}"
    );
    assert!(stdout.contains("in 3 request(s)"));
    assert!(stdout.contains("dry run: nothing was sent"));
    assert!(!stdout.contains(&tokens[0]));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(server.connections(), 0);
}

#[test]
fn github_revoke_sends_batches_of_at_most_1000() {
    let server = Server::start(|_, _| resp(202, ""));
    let sb = Sandbox::new();
    let mut tokens = gh_tokens(2500);
    tokens.push(tokens[3].clone()); // a duplicate is sent once
    let report = sb.write("findings.json", github_report(&tokens));
    let out = sb
        .cmd()
        .args(["revoke", "--yes", "--github"])
        .arg(&report)
        .args(["--github-api-url", &server.base])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let reqs = server.requests();
    let sizes: Vec<usize> = reqs
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["credentials"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(sizes, vec![1000, 1000, 500]);
    let mut sent: Vec<String> = reqs
        .iter()
        .flat_map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["credentials"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    sent.sort();
    let mut want = tokens[..2500].to_vec();
    want.sort();
    assert_eq!(sent, want);
    for r in &reqs {
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/credentials/revoke")
        );
        assert!(
            r.header("authorization").is_empty(),
            "the API is called unauthenticated"
        );
    }
    assert_eq!(stdout.matches("accepted (HTTP 202)").count(), 3);
}

#[test]
fn github_revoke_from_a_real_scan_and_failures_exit_2() {
    let server = Server::start(|_, n| if n == 0 { resp(202, "") } else { resp(422, "") });
    let sb = Sandbox::new();
    sb.write("a.env", format!("A={GH1}\nB={GH2}\nC={GH3}\nD={GH1}\n"));
    sb.cmd()
        .args([
            "scan",
            ".",
            "--no-config",
            "--show-secrets",
            "-f",
            "json",
            "-o",
            "f.json",
        ])
        .assert()
        .code(1);
    let out = sb
        .cmd()
        .args([
            "revoke",
            "--github",
            "f.json",
            "--yes",
            "--github-api-url",
            &server.base,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let body: Value = serde_json::from_str(&reqs[0].body).unwrap();
    assert_eq!(body["credentials"], serde_json::json!([GH1, GH2, GH3]));
    // The next request fails: reported, exit 2.
    let out = sb
        .cmd()
        .args([
            "revoke",
            "--github",
            "f.json",
            "--yes",
            "--github-api-url",
            &server.base,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("NOT revoked: HTTP 422"));
    // A report without raw secrets is refused with advice.
    sb.cmd()
        .args(["scan", ".", "--no-config", "-f", "json", "-o", "g.json"])
        .assert()
        .code(1);
    let out = sb
        .cmd()
        .args([
            "revoke",
            "--github",
            "g.json",
            "--github-api-url",
            &server.base,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--show-secrets"));
    assert_eq!(server.requests().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// The built-in pack: docs/network.md is current, and every built-in check can be pointed at a
// loopback server (so a test never needs the internet).

#[test]
fn network_doc_is_current() {
    let out = keysweep().args(["rules", "hosts"]).output().unwrap();
    assert!(out.status.success());
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/network.md")).unwrap();
    assert!(
        doc == String::from_utf8_lossy(&out.stdout),
        "docs/network.md is stale: run `cargo run -q -- rules hosts > docs/network.md`"
    );
}

#[test]
fn every_builtin_check_follows_its_base_url_override() {
    let rules = keysweep::rules::builtin_rules().unwrap();
    let checked: Vec<_> = rules.iter().filter(|r| r.verify.is_some()).collect();
    let server = Server::start(|_, _| resp(401, "{}"));
    let sb = Sandbox::new();
    let mut text = String::new();
    for r in &checked {
        for e in &r.examples {
            text.push_str(e);
            text.push_str("\n\n");
        }
    }
    sb.write("all.txt", &text);
    let mut providers: Vec<String> = checked
        .iter()
        .map(|r| keysweep::verify::provider_key(&r.provider))
        .collect();
    providers.sort();
    providers.dedup();
    let mut cmd = sb.cmd();
    cmd.args([
        "scan",
        ".",
        "-f",
        "json",
        "--no-config",
        "--verify",
        "--verify-rate",
        "0",
    ]);
    for p in &providers {
        cmd.args(["--verify-base-url", &format!("{p}={}", server.base)]);
    }
    let (json, _, stderr) = run_json(&mut cmd);
    let with_check: std::collections::HashSet<&str> =
        checked.iter().map(|r| r.id.as_str()).collect();
    let mut expected = std::collections::HashSet::new();
    for f in json["findings"].as_array().unwrap() {
        let v = &f["verification"];
        if with_check.contains(f["rule_id"].as_str().unwrap()) {
            // Reached the loopback server, which answers 401 to everything (what that means
            // depends on the rule's status lists).
            assert_eq!(v["http_status"], 401, "{f} {stderr}");
            assert_ne!(v["status"], "active", "{f}");
            expected.insert((f["rule_id"].clone(), f["secret_sha256"].clone()));
        } else {
            assert_eq!(v["status"], "unknown");
        }
    }
    assert_eq!(server.requests().len(), expected.len());
}

#[test]
fn rules_check_rejects_verify_blocks_that_cannot_work() {
    let sb = Sandbox::new();
    let rule = |verify: &str| {
        format!(
            "[[rule]]\nid = \"bad-check\"\ntitle = \"t\"\nprovider = \"P\"\nkeywords = [\"ksvt_\"]\n\
             regex = \'\'\'\\b(?P<secret>ksvt_[A-Za-z0-9]{{32}})\\b\'\'\'\nseverity = \"high\"\n\
             confidence = \"high\"\nexamples = [\"T={T_ACTIVE}\"]\n[rule.verify]\n{verify}\n"
        )
    };
    for (verify, problem) in [
        (
            "url = \"https://api.example.invalid/v1/me\"\nactive = [200]\ninactive = [401]",
            "never sends the key",
        ),
        (
            "url = \"https://{host}/v1/me\"\nheaders = { X-Key = \"{secret}\" }\nactive = [200]\ninactive = [401]",
            "must be a literal host",
        ),
        (
            "url = \"https://a.invalid/v1?k={key}\"\nheaders = { X-Key = \"{secret}\" }\nactive = [200]\ninactive = [401]",
            "unknown placeholder `{key}`",
        ),
        (
            "url = \"https://a.invalid/v1\"\nheaders = { X-Key = \"{secret}\" }\nactive = [200, 401]\ninactive = [401]",
            "both active and inactive",
        ),
    ] {
        let path = sb.write("bad.toml", rule(verify));
        let out = sb.cmd().args(["rules", "check"]).arg(&path).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{verify}: {stdout}");
        assert!(stdout.contains(problem), "{verify}: {stdout}");
    }
    // A JSON body's braces are not placeholders.
    let ok = sb.write(
        "ok.toml",
        rule("method = \"POST\"\nurl = \"https://a.invalid/v1\"\nbody = \'{\"key\": \"{secret}\"}\'\nactive = [200]\ninactive = [401]"),
    );
    sb.cmd().args(["rules", "check"]).arg(&ok).assert().code(0);
}

// ---------------------------------------------------------------------------------------------
// redact --verify.

#[test]
fn redact_records_live_check_results_in_the_manifest_and_check_listing() {
    let server = Server::start(bearer_handler);
    let sb = Sandbox::new();
    sb.write("app.log", format!("a {T_ACTIVE}\nb {T_INACTIVE}\n"));
    let mut args = vec![
        "redact".to_string(),
        "app.log".into(),
        "-o".into(),
        "safe.log".into(),
        "--manifest".into(),
        "masked.jsonl".into(),
        "--no-config".into(),
        "--rules".into(),
        RULES.into(),
    ];
    args.extend(verify_args(&server.base, &[]));
    let out = sb.cmd().args(&args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = std::fs::read_to_string(sb.path().join("masked.jsonl")).unwrap();
    let entries: Vec<Value> = manifest
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["verification"]["status"], "active");
    assert_eq!(entries[1]["verification"]["status"], "inactive");
    for s in [T_ACTIVE, T_INACTIVE] {
        assert!(!manifest.contains(s), "raw secret in the manifest");
        let copy = std::fs::read_to_string(sb.path().join("safe.log")).unwrap();
        assert!(!copy.contains(s), "raw secret in the redacted copy");
    }
    // --check prints the status next to each would-be redaction.
    let mut check = vec![
        "redact".to_string(),
        "app.log".into(),
        "--check".into(),
        "--no-config".into(),
        "--rules".into(),
        RULES.into(),
    ];
    check.extend(verify_args(&server.base, &[]));
    let out = sb.cmd().args(&check).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(listing.contains("[active:"), "{listing}");
    assert!(listing.contains("[inactive:"), "{listing}");
    // Without --verify, redact opens no connection.
    let before = server.connections();
    sb.cmd()
        .args([
            "redact",
            "app.log",
            "--check",
            "--no-config",
            "--rules",
            RULES,
        ])
        .args(strs(&overrides(&server.base)))
        .assert()
        .code(1);
    assert_eq!(server.connections(), before);
}
