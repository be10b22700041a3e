//! Opt-in network checks of findings: live checks against the provider (`--verify`, from the
//! rules' `verify` blocks) and an organisation's revocation endpoint (`--revocation-endpoint`).
//!
//! Nothing here runs unless the user asked for it, and nothing here removes, adds or changes a
//! finding's identity: each finding only gains a [`Verification`] and/or a
//! [`Revocation`](crate::finding::Revocation).
//! Every failure — no check for the rule, a timeout, a refused connection, a 5xx or 429 that
//! outlasts the retries, a malformed answer, the time budget running out — becomes an
//! `unknown` status with a reason. A secret is checked once per run however often it was found
//! (the cache is keyed by rule and the secret's SHA-256). Requests honour per-host concurrency
//! and rate limits and one overall deadline. See `docs/verification.md`.

pub mod github_revoke;
pub mod http;
pub mod revocation;

use crate::finding::{Finding, Secret, Verification, VerifyStatus};
use crate::rules::schema::VerifySpec;
use crate::rules::Rule;
use http::{Client, HostLimiter, HttpRequest, Outcome, RetryPolicy, Timeouts};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Network knobs shared by live checks, the revocation endpoint and `keysweep revoke`.
#[derive(Debug, Clone, Copy)]
pub struct NetOptions {
    /// Connect and read timeouts of one request.
    pub timeouts: Timeouts,
    /// Retries on 5xx and 429.
    pub retry: RetryPolicy,
    /// Requests in flight per host.
    pub per_host_concurrency: usize,
    /// Request starts per second per host (0 = unlimited).
    pub per_host_rate: f64,
    /// Wall-clock budget for all network work of the run.
    pub budget: Duration,
    /// Worker threads for live checks.
    pub workers: usize,
}

impl Default for NetOptions {
    fn default() -> Self {
        NetOptions {
            timeouts: Timeouts {
                connect: Duration::from_secs(5),
                read: Duration::from_secs(10),
            },
            retry: RetryPolicy {
                max_retries: 2,
                backoff: Duration::from_millis(500),
                max_retry_after: Duration::from_secs(10),
            },
            per_host_concurrency: 4,
            per_host_rate: 10.0,
            budget: Duration::from_secs(60),
            workers: 8,
        }
    }
}

/// Where and how to ask a revocation endpoint.
#[derive(Debug, Clone)]
pub struct RevocationTarget {
    /// The endpoint URL.
    pub url: String,
    /// Sent as `Authorization: Bearer …` when set (`KEYSWEEP_REVOCATION_TOKEN`).
    pub token: Option<Secret>,
    /// Also send each raw secret (`--revocation-send-secrets`).
    pub send_secrets: bool,
}

/// What to check in one run.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Run live checks (`--verify`).
    pub verify: bool,
    /// Provider key → base URL replacing the scheme and host of that provider's checks.
    pub base_urls: BTreeMap<String, String>,
    /// Ask this revocation endpoint.
    pub revocation: Option<RevocationTarget>,
    /// Timeouts, retries, limits, budget.
    pub net: NetOptions,
}

impl Settings {
    /// True when the run will open a network connection.
    pub fn any(&self) -> bool {
        self.verify || self.revocation.is_some()
    }
}

/// Counts of what the checks said, for the summary.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Live-check results, with `--verify`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<StatusCounts>,
    /// Revocation-endpoint results, with `--revocation-endpoint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<StatusCounts>,
    /// Findings not reported because of `--only-active`.
    pub hidden_not_active: u64,
    /// Wall time of the network work, in milliseconds.
    pub duration_ms: u64,
}

/// Findings per status, and how many distinct secrets were asked about.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct StatusCounts {
    /// Findings whose key works (`active`).
    pub active: u64,
    /// Findings whose key is `inactive` (live checks) or `revoked` (endpoint).
    pub inactive_or_revoked: u64,
    /// Findings with status `unknown`.
    pub unknown: u64,
    /// Distinct secrets sent to a check (each secret once per run).
    pub checked: u64,
}

/// The lowercase provider key of a provider name, as used by `--verify-base-url`: ASCII
/// letters and digits only (`Hugging Face` → `huggingface`, `OpenAI` → `openai`).
pub fn provider_key(provider: &str) -> String {
    provider
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Runs the checks `settings` asks for and records the results on `findings`. Never fails,
/// never changes which findings there are.
pub fn run(findings: &mut [Finding], rules: &[Rule], settings: &Settings) -> Summary {
    let mut summary = Summary::default();
    if !settings.any() {
        return summary;
    }
    let started = Instant::now();
    let deadline = started + settings.net.budget;
    let client = Client::new(settings.net.timeouts);
    let limiter = HostLimiter::new(
        settings.net.per_host_concurrency,
        settings.net.per_host_rate,
    );
    let by_id: HashMap<&str, &Rule> = rules.iter().map(|r| (r.id.as_str(), r)).collect();
    let shared = Shared {
        client: &client,
        limiter: &limiter,
        net: &settings.net,
        deadline,
    };
    let (verified, revoked) = std::thread::scope(|scope| {
        let revocation = settings.revocation.as_ref().map(|target| {
            let keys = revocation::unique_keys(findings);
            let shared = &shared;
            scope.spawn(move || revocation::check(&keys, target, shared))
        });
        let verified = settings
            .verify
            .then(|| verify_all(findings, &by_id, &settings.base_urls, &shared));
        let revoked = revocation.map(|h| {
            h.join()
                .unwrap_or_else(|_| revocation::Answers::failed("internal error"))
        });
        (verified, revoked)
    });
    if let Some((results, checked)) = verified {
        let mut counts = StatusCounts {
            checked,
            ..Default::default()
        };
        for (f, v) in findings.iter_mut().zip(results) {
            match v.status {
                VerifyStatus::Active => counts.active += 1,
                VerifyStatus::Inactive => counts.inactive_or_revoked += 1,
                VerifyStatus::Unknown => counts.unknown += 1,
            }
            f.verification = Some(v);
        }
        summary.verification = Some(counts);
    }
    if let Some(answers) = revoked {
        summary.revocation = Some(answers.apply(findings));
    }
    summary.duration_ms = started.elapsed().as_millis().min(u64::MAX as u128) as u64;
    summary
}

/// What every network task of a run shares.
pub(crate) struct Shared<'a> {
    pub(crate) client: &'a Client,
    pub(crate) limiter: &'a HostLimiter,
    pub(crate) net: &'a NetOptions,
    pub(crate) deadline: Instant,
}

impl Shared<'_> {
    pub(crate) fn send(&self, req: &HttpRequest) -> Outcome {
        http::send_with_retries(
            self.client,
            self.limiter,
            self.net.retry,
            req,
            self.deadline,
        )
    }
}

struct Job<'a> {
    spec: &'a VerifySpec,
    base: Option<&'a str>,
    secret: &'a Secret,
}

/// One live check per distinct (rule, secret); results in `findings` order.
fn verify_all(
    findings: &[Finding],
    by_id: &HashMap<&str, &Rule>,
    base_urls: &BTreeMap<String, String>,
    shared: &Shared<'_>,
) -> (Vec<Verification>, u64) {
    let mut jobs: Vec<Job<'_>> = Vec::new();
    let mut index: HashMap<(&str, String), usize> = HashMap::new();
    let mut plan: Vec<Result<usize, Verification>> = Vec::with_capacity(findings.len());
    for f in findings {
        let Some(rule) = by_id.get(f.rule_id.as_str()) else {
            plan.push(Err(Verification::unknown("no live check for this rule")));
            continue;
        };
        let Some(spec) = &rule.verify else {
            plan.push(Err(Verification::unknown("no live check for this rule")));
            continue;
        };
        let key = (f.rule_id.as_str(), f.secret.sha256_hex());
        let next = jobs.len();
        let i = *index.entry(key).or_insert(next);
        if i == next {
            jobs.push(Job {
                spec,
                base: base_urls
                    .get(&provider_key(&rule.provider))
                    .map(String::as_str),
                secret: &f.secret,
            });
        }
        plan.push(Ok(i));
    }
    let results: Vec<Mutex<Option<Verification>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = shared.net.workers.clamp(1, jobs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                let v = check_one(job, shared);
                *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(v);
            });
        }
    });
    let results: Vec<Verification> = results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or_else(|| Verification::unknown("internal error"))
        })
        .collect();
    let out = plan
        .into_iter()
        .map(|p| match p {
            Ok(i) => results[i].clone(),
            Err(v) => v,
        })
        .collect();
    (out, jobs.len() as u64)
}

fn check_one(job: &Job<'_>, shared: &Shared<'_>) -> Verification {
    let req = match build_request(job.spec, job.secret, job.base) {
        Ok(r) => r,
        Err(reason) => return Verification::unknown(reason),
    };
    match shared.send(&req) {
        Outcome::Answer(resp) => interpret(job.spec, resp.status, &resp.body),
        Outcome::Failed {
            reason,
            last_status,
        } => Verification {
            status: VerifyStatus::Unknown,
            http_status: last_status,
            reason,
        },
    }
}

/// Reads a check's answer with the rule's status lists and optional JSON field.
pub fn interpret(spec: &VerifySpec, status: u16, body: &[u8]) -> Verification {
    let v = |status_: VerifyStatus, reason: String| Verification {
        status: status_,
        http_status: Some(status),
        reason,
    };
    if spec.active.contains(&status) {
        let Some(field) = &spec.json_field else {
            return v(
                VerifyStatus::Active,
                format!("HTTP {status}: the provider accepted the key"),
            );
        };
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
            return v(
                VerifyStatus::Unknown,
                format!("HTTP {status} with a malformed JSON answer"),
            );
        };
        let value = field.split('.').try_fold(&json, |j, part| j.get(part));
        return match value.and_then(serde_json::Value::as_bool) {
            Some(true) => v(
                VerifyStatus::Active,
                format!("HTTP {status} and `{field}` is true: the provider accepted the key"),
            ),
            Some(false) => v(
                VerifyStatus::Inactive,
                format!("HTTP {status} but `{field}` is false: invalid or revoked"),
            ),
            None => v(
                VerifyStatus::Unknown,
                format!("HTTP {status} but the answer has no boolean `{field}`"),
            ),
        };
    }
    if spec.inactive.contains(&status) {
        return v(
            VerifyStatus::Inactive,
            format!("HTTP {status}: the provider rejected the key (invalid or revoked)"),
        );
    }
    let extra = if (300..400).contains(&status) {
        " (redirects are not followed)"
    } else {
        ""
    };
    v(
        VerifyStatus::Unknown,
        format!("unexpected HTTP {status}{extra}"),
    )
}

/// Fills a rule's request template with the secret: `{secret}` is percent-encoded in the
/// URL and inserted as is in headers and the body. With `base`, the URL's scheme and host are
/// replaced by it and the path and query kept.
pub fn build_request(
    spec: &VerifySpec,
    secret: &Secret,
    base: Option<&str>,
) -> Result<HttpRequest, String> {
    let Ok(raw) = std::str::from_utf8(secret.expose()) else {
        return Err("the secret is not UTF-8 text and cannot be sent".into());
    };
    let url = match base {
        Some(b) => rebase(&spec.url, b).ok_or("the check URL cannot be rebased")?,
        None => spec.url.clone(),
    };
    let url = url.replace("{secret}", &percent_encode(raw));
    if raw.bytes().any(|b| b.is_ascii_control()) {
        return Err("the secret contains control characters and cannot be sent".into());
    }
    let headers = spec
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.replace("{secret}", raw)))
        .collect();
    let body = spec
        .body
        .as_ref()
        .map(|b| b.replace("{secret}", raw).into_bytes());
    Ok(HttpRequest {
        method: spec.method.clone(),
        url,
        headers,
        body,
    })
}

/// `https://api.example.com/v1/x?y` with base `http://127.0.0.1:8080` (or
/// `http://proxy/prefix/`) → `http://127.0.0.1:8080/v1/x?y` (`http://proxy/prefix/v1/x?y`).
pub fn rebase(url: &str, base: &str) -> Option<String> {
    let host = http::host_of(url)?;
    let scheme_len = if url.starts_with("https://") { 8 } else { 7 };
    let rest = &url[scheme_len + host.len()..];
    let rest = if rest.starts_with('/') || rest.is_empty() {
        rest.to_string()
    } else {
        format!("/{rest}")
    };
    Some(format!("{}{rest}", base.trim_end_matches('/')))
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Checks a `--verify-base-url`/`[verify.base_urls]` value: an http(s) URL with a host and
/// no query.
pub fn check_base_url(url: &str) -> Result<(), String> {
    if http::host_of(url).is_none() {
        return Err(format!(
            "`{url}` is not an http:// or https:// URL with a host"
        ));
    }
    if url.contains(['?', '#']) {
        return Err(format!("`{url}` must not have a query or fragment"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> VerifySpec {
        VerifySpec {
            method: "GET".into(),
            url: "https://api.example.test/v1/me?key={secret}".into(),
            headers: [("Authorization".to_string(), "Bearer {secret}".to_string())].into(),
            body: None,
            active: vec![200],
            inactive: vec![401, 403],
            json_field: None,
        }
    }

    #[test]
    fn provider_keys() {
        assert_eq!(provider_key("OpenAI"), "openai");
        assert_eq!(provider_key("Hugging Face"), "huggingface");
        assert_eq!(provider_key("Moonshot / Kimi"), "moonshotkimi");
    }

    #[test]
    fn rebase_keeps_path_and_query() {
        assert_eq!(
            rebase("https://api.openai.com/v1/models", "http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080/v1/models"
        );
        assert_eq!(
            rebase("https://h.test/a?b=1", "http://proxy/pre/").unwrap(),
            "http://proxy/pre/a?b=1"
        );
        assert_eq!(
            rebase("https://h.test", "http://x:1").unwrap(),
            "http://x:1"
        );
    }

    #[test]
    fn request_fills_the_secret() {
        let s = Secret::new(b"k+y/1");
        let r = build_request(&spec(), &s, Some("http://127.0.0.1:9")).unwrap();
        assert_eq!(r.url, "http://127.0.0.1:9/v1/me?key=k%2By%2F1");
        assert_eq!(r.headers[0].1, "Bearer k+y/1");
        assert!(build_request(&spec(), &Secret::new(b"a\nb"), None).is_err());
        assert!(build_request(&spec(), &Secret::new(&[0xff, 0x41]), None).is_err());
    }

    #[test]
    fn interpretation() {
        let s = spec();
        assert_eq!(interpret(&s, 200, b"").status, VerifyStatus::Active);
        assert_eq!(interpret(&s, 401, b"").status, VerifyStatus::Inactive);
        let u = interpret(&s, 302, b"");
        assert_eq!(u.status, VerifyStatus::Unknown);
        assert_eq!(u.http_status, Some(302));
        let mut j = spec();
        j.json_field = Some("data.valid".into());
        assert_eq!(
            interpret(&j, 200, br#"{"data":{"valid":true}}"#).status,
            VerifyStatus::Active
        );
        assert_eq!(
            interpret(&j, 200, br#"{"data":{"valid":false}}"#).status,
            VerifyStatus::Inactive
        );
        assert_eq!(
            interpret(&j, 200, b"{not json").status,
            VerifyStatus::Unknown
        );
        assert_eq!(interpret(&j, 200, b"{}").status, VerifyStatus::Unknown);
    }
}
