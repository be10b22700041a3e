//! GitHub's credential revocation API (`POST /credentials/revoke`), used only by the explicit
//! `keysweep revoke --github … --yes` command. Revocation cannot be undone and GitHub tells the
//! token's owner, so nothing here runs on its own.
//!
//! The API takes `{"credentials": [...]}` with at most [`BATCH`] tokens, is called without
//! authentication, allows about 60 requests an hour, and answers `202 Accepted`.

use super::http::{self, Client, HostLimiter, HttpRequest, Outcome, RetryPolicy};
use std::time::Instant;

/// The public API's base URL.
pub const GITHUB_API: &str = "https://api.github.com";
/// Most tokens in one request.
pub const BATCH: usize = 1000;
/// Token prefixes the API accepts.
pub const PREFIXES: &[&str] = &["ghp_", "gho_", "ghu_", "ghr_", "github_pat_"];

/// Whether GitHub's revocation API accepts this token: a known prefix followed by word
/// characters only.
pub fn is_revocable(token: &str) -> bool {
    PREFIXES.iter().any(|p| {
        token.strip_prefix(p).is_some_and(|rest| {
            rest.len() >= 20 && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
    })
}

/// The URL tokens are sent to, for a base URL.
pub fn endpoint(base: &str) -> String {
    format!("{}/credentials/revoke", base.trim_end_matches('/'))
}

/// The request for one batch.
pub fn request(base: &str, batch: &[String]) -> HttpRequest {
    let body = serde_json::json!({ "credentials": batch });
    HttpRequest {
        method: "POST".into(),
        url: endpoint(base),
        headers: vec![
            ("Accept".into(), "application/vnd.github+json".into()),
            ("X-GitHub-Api-Version".into(), "2022-11-28".into()),
            ("Content-Type".into(), "application/json".into()),
        ],
        body: Some(body.to_string().into_bytes()),
    }
}

/// Sends one batch; `Ok(status)` for `202 Accepted`, `Err(reason)` otherwise.
pub fn revoke_batch(
    client: &Client,
    limiter: &HostLimiter,
    policy: RetryPolicy,
    base: &str,
    batch: &[String],
    deadline: Instant,
) -> Result<u16, String> {
    match http::send_with_retries(client, limiter, policy, &request(base, batch), deadline) {
        Outcome::Answer(r) if r.status == 202 || r.status == 200 => Ok(r.status),
        Outcome::Answer(r) if r.status == 403 || r.status == 429 => Err(format!(
            "HTTP {}: rate limited or refused (GitHub allows about 60 revocation requests an hour)",
            r.status
        )),
        Outcome::Answer(r) => Err(format!("HTTP {}", r.status)),
        Outcome::Failed { reason, .. } => Err(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocable_prefixes() {
        // A fake token, split so keysweep's own scan does not report this file.
        let token = concat!("ghp_Ky9Pf34qY6Nb3wWD", "25RQ4F5ZR3qa7y3gm1IL");
        assert!(is_revocable(token));
        assert!(is_revocable(
            "github_pat_11ABCDEFG0123456789abc_0123456789abcdefghijABCDEFGHIJ0123456789abcdefghijABCDEFGHI"
        ));
        assert!(!is_revocable(&token.replacen("ghp_", "ghs_", 1)));
        assert!(!is_revocable("ghp_short"));
        assert!(!is_revocable(&format!("{token}\"x")));
    }

    #[test]
    fn body_shape() {
        let r = request("http://127.0.0.1:1/", &["ghp_a".to_string()]);
        assert_eq!(r.url, "http://127.0.0.1:1/credentials/revoke");
        assert_eq!(r.body.unwrap(), br#"{"credentials":["ghp_a"]}"#);
    }
}
