//! The revocation-endpoint client: asks an organisation's own service which of the found keys
//! are still active. Protocol (`docs/revocation-endpoint.md`): `POST URL` with
//! `{"keys": [{"sha256", "rule_id", "provider"[, "secret"]}]}`, at most [`BATCH`] keys a request,
//! `Authorization: Bearer $KEYSWEEP_REVOCATION_TOKEN` when set; the answer is `200` with
//! `{"results": [{"sha256", "status": "active" | "revoked" | "unknown"}]}`.
//!
//! Each distinct secret is sent once. Any failure makes that batch's keys `unknown` with a
//! reason; other batches go on.

use super::http::{HttpRequest, Outcome};
use super::{Shared, StatusCounts};
use crate::finding::{Finding, Revocation, RevocationStatus, Secret};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Most keys in one request.
pub const BATCH: usize = 500;

/// One distinct secret to ask about.
#[derive(Debug, Clone)]
pub struct Key {
    /// Lowercase hex SHA-256 of the secret.
    pub sha256: String,
    /// The first finding's rule id.
    pub rule_id: String,
    /// The first finding's provider.
    pub provider: String,
    /// The secret itself, sent only with `send_secrets`.
    pub secret: Secret,
}

/// Distinct secrets of `findings`, in first-seen order.
pub fn unique_keys(findings: &[Finding]) -> Vec<Key> {
    let mut seen = std::collections::HashSet::new();
    findings
        .iter()
        .filter_map(|f| {
            let sha = f.secret.sha256_hex();
            seen.insert(sha.clone()).then(|| Key {
                sha256: sha,
                rule_id: f.rule_id.clone(),
                provider: f.provider.clone(),
                secret: f.secret.clone(),
            })
        })
        .collect()
}

#[derive(Serialize)]
struct WireKey<'a> {
    sha256: &'a str,
    rule_id: &'a str,
    provider: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Serialize)]
struct WireRequest<'a> {
    keys: Vec<WireKey<'a>>,
}

#[derive(Deserialize)]
struct WireResponse {
    results: Vec<WireResult>,
}

#[derive(Deserialize)]
struct WireResult {
    sha256: String,
    status: String,
}

/// The endpoint's answers by secret hash.
#[derive(Debug, Default)]
pub struct Answers {
    by_sha: HashMap<String, Revocation>,
    fallback: Option<String>,
    checked: u64,
}

impl Answers {
    /// Every key unknown for `reason`.
    pub fn failed(reason: &str) -> Self {
        Answers {
            fallback: Some(reason.to_string()),
            ..Default::default()
        }
    }

    /// Records an answer on each finding and counts them.
    pub fn apply(&self, findings: &mut [Finding]) -> StatusCounts {
        let mut counts = StatusCounts {
            checked: self.checked,
            ..Default::default()
        };
        for f in findings {
            let r = self
                .by_sha
                .get(&f.secret.sha256_hex())
                .cloned()
                .unwrap_or_else(|| {
                    Revocation::unknown(
                        self.fallback
                            .clone()
                            .unwrap_or_else(|| "the endpoint did not answer for this key".into()),
                    )
                });
            match r.status {
                RevocationStatus::Active => counts.active += 1,
                RevocationStatus::Revoked => counts.inactive_or_revoked += 1,
                RevocationStatus::Unknown => counts.unknown += 1,
            }
            f.revocation = Some(r);
        }
        counts
    }
}

/// Asks the endpoint about `keys` in batches of at most [`BATCH`].
pub(crate) fn check(
    keys: &[Key],
    target: &super::RevocationTarget,
    shared: &Shared<'_>,
) -> Answers {
    let mut answers = Answers {
        checked: keys.len() as u64,
        ..Default::default()
    };
    for batch in keys.chunks(BATCH) {
        let result = ask(batch, target, shared);
        for key in batch {
            let r = match &result {
                Ok(map) => map.get(&key.sha256).cloned().unwrap_or_else(|| {
                    Revocation::unknown("the endpoint did not answer for this key")
                }),
                Err(reason) => Revocation::unknown(reason.clone()),
            };
            answers.by_sha.insert(key.sha256.clone(), r);
        }
    }
    answers
}

/// Builds the JSON body for one batch.
pub fn request_body(batch: &[Key], send_secrets: bool) -> Vec<u8> {
    let wire = WireRequest {
        keys: batch
            .iter()
            .map(|k| WireKey {
                sha256: &k.sha256,
                rule_id: &k.rule_id,
                provider: &k.provider,
                secret: send_secrets.then(|| String::from_utf8_lossy(k.secret.expose())),
            })
            .collect(),
    };
    serde_json::to_vec(&wire).unwrap_or_default()
}

fn ask(
    batch: &[Key],
    target: &super::RevocationTarget,
    shared: &Shared<'_>,
) -> Result<HashMap<String, Revocation>, String> {
    let mut headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("Accept".to_string(), "application/json".to_string()),
    ];
    if let Some(token) = &target.token {
        headers.push((
            "Authorization".to_string(),
            format!("Bearer {}", String::from_utf8_lossy(token.expose())),
        ));
    }
    let req = HttpRequest {
        method: "POST".into(),
        url: target.url.clone(),
        headers,
        body: Some(request_body(batch, target.send_secrets)),
    };
    let resp = match shared.send(&req) {
        Outcome::Answer(r) => r,
        Outcome::Failed { reason, .. } => return Err(format!("revocation endpoint: {reason}")),
    };
    if resp.status != 200 {
        return Err(format!("revocation endpoint answered HTTP {}", resp.status));
    }
    let parsed: WireResponse = serde_json::from_slice(&resp.body)
        .map_err(|_| "revocation endpoint sent malformed JSON".to_string())?;
    let mut map = HashMap::new();
    for r in parsed.results {
        let status = match r.status.as_str() {
            "active" => Revocation {
                status: RevocationStatus::Active,
                reason: None,
            },
            "revoked" => Revocation {
                status: RevocationStatus::Revoked,
                reason: None,
            },
            "unknown" => Revocation::unknown("the endpoint does not know this key"),
            _ => Revocation::unknown("the endpoint answered an unknown status"),
        };
        map.insert(r.sha256.to_ascii_lowercase(), status);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_secrets_only_when_asked() {
        let k = Key {
            sha256: "ab".into(),
            rule_id: "r".into(),
            provider: "P".into(),
            secret: Secret::new(b"s3cr3t"),
        };
        let without = String::from_utf8(request_body(std::slice::from_ref(&k), false)).unwrap();
        assert_eq!(
            without,
            r#"{"keys":[{"sha256":"ab","rule_id":"r","provider":"P"}]}"#
        );
        let with = String::from_utf8(request_body(&[k], true)).unwrap();
        assert!(with.contains(r#""secret":"s3cr3t""#));
    }
}
