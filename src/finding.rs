//! What a scan produces: [`Finding`]s, their [`Location`] and [`Provenance`], and the
//! [`Secret`] type that keeps raw key material out of logs, panics and reports.
//!
//! Nothing here prints; reporters decide how a finding is shown. The only ways to see a raw
//! secret are [`Secret::expose`] (used by `--show-secrets`, hashing and redaction) and nothing else.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;

/// Raw secret bytes. `Debug` and `Display` never show them.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps raw secret bytes.
    pub fn new(bytes: &[u8]) -> Self {
        Secret(bytes.to_vec())
    }

    /// The raw bytes. Call sites are few and named: hashing, `--show-secrets`, redaction,
    /// verification.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for an empty secret (never produced by the engine).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Lowercase hex SHA-256 of the secret's bytes.
    pub fn sha256_hex(&self) -> String {
        hex(&Sha256::digest(&self.0))
    }

    /// A short, safe preview: at most a fifth of the secret (and never more than 12 bytes),
    /// followed by `…`.
    pub fn redacted(&self) -> String {
        let shown = (self.0.len() / 5).min(12);
        let mut out = String::from_utf8_lossy(&self.0[..shown]).into_owned();
        out.push('…');
        out
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Lowercase hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// The stable identity of a finding: `sha256(rule_id + "\0" + secret)`, lowercase hex.
///
/// It never includes a path, line, offset or commit, so it survives rebases, squashes and moves.
pub fn fingerprint(rule_id: &str, secret: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(rule_id.as_bytes());
    h.update([0u8]);
    h.update(secret);
    hex(&h.finalize())
}

/// How bad a leak of this kind is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Test keys, low-value tokens.
    Low,
    /// Keys with limited scope.
    Medium,
    /// Keys that spend money or read private data.
    High,
    /// Cloud root credentials, private keys, admin keys.
    Critical,
}

impl Severity {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// GitHub code scanning's `security-severity` score.
    pub fn security_severity(self) -> &'static str {
        match self {
            Severity::Low => "3.0",
            Severity::Medium => "5.5",
            Severity::High => "8.0",
            Severity::Critical => "9.5",
        }
    }
}

/// How sure the rule is that a match is a real secret.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Shape-only or generic matches.
    Low,
    /// A distinctive shape, or context that names the provider.
    Medium,
    /// A unique prefix, a checksum or a structural check passed.
    High,
}

impl Confidence {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// Where in a blob a finding is. Lines and columns are 1-based; columns count bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Line of the first byte of the secret.
    pub line: u64,
    /// Column (byte, 1-based) of the first byte of the secret.
    pub column: u64,
    /// Line of the last byte of the secret.
    pub end_line: u64,
    /// Column (byte, 1-based) just past the last byte of the secret.
    pub end_column: u64,
    /// Byte offset of the secret in the blob.
    pub byte_start: u64,
    /// Byte offset just past the secret.
    pub byte_end: u64,
    /// `column` counted in Unicode code points (what SARIF's `columnKind` promises); bytes
    /// that are not valid UTF-8 count one each. Not in JSON, whose columns count bytes.
    #[serde(skip)]
    pub char_column: u64,
    /// `end_column` counted in code points, like [`Location::char_column`].
    #[serde(skip)]
    pub char_end_column: u64,
}

/// Git metadata for a finding that came from history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    /// Full commit id.
    pub commit: String,
    /// Author name.
    pub author_name: String,
    /// Author email.
    pub author_email: String,
    /// Author date, RFC 3339.
    pub date: String,
    /// First line of the commit message.
    pub summary: String,
}

/// Where the scanned bytes came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// Path relative to the scan root (or `-` for stdin, `repo:path` style for other sources).
    pub path: String,
    /// Commit metadata when the blob came from git history.
    pub commit: Option<CommitInfo>,
}

impl Provenance {
    /// A plain file (or stdin) with no git metadata.
    pub fn file(path: impl Into<String>) -> Self {
        Provenance {
            path: path.into(),
            commit: None,
        }
    }
}

/// One secret found at one place.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The id of the rule that matched.
    pub rule_id: String,
    /// Human title of the rule.
    pub title: String,
    /// Provider the key belongs to (`unknown` when context could not tell).
    pub provider: String,
    /// Severity from the rule.
    pub severity: Severity,
    /// Confidence from the rule and its checks.
    pub confidence: Confidence,
    /// Where it came from.
    pub provenance: Provenance,
    /// Where in the blob.
    pub location: Location,
    /// The line with every secret on it masked, trimmed and ready to escape for a terminal.
    pub snippet: String,
    /// The raw secret; only ever shown with `--show-secrets`.
    pub secret: Secret,
    /// Stable identity, see [`fingerprint`].
    pub fingerprint: String,
    /// The live check's answer, with `--verify`.
    pub verification: Option<Verification>,
    /// The revocation endpoint's answer, with `--revocation-endpoint`.
    pub revocation: Option<Revocation>,
}

/// What a live check said about a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifyStatus {
    /// The provider accepted the key: it works now.
    Active,
    /// The provider rejected the key: invalid or revoked (most providers cannot tell which).
    Inactive,
    /// No answer that settles it: no check for the rule, a timeout, a 5xx, a rate limit, a
    /// malformed answer, or the time budget ran out.
    Unknown,
}

impl VerifyStatus {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyStatus::Active => "active",
            VerifyStatus::Inactive => "inactive",
            VerifyStatus::Unknown => "unknown",
        }
    }
}

/// The result of a live check for one finding. `reason` never contains the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Active, inactive or unknown.
    pub status: VerifyStatus,
    /// The final HTTP status of the check, when one was received.
    pub http_status: Option<u16>,
    /// Why, in a few words (`HTTP 401 means invalid or revoked`, `timed out (connect)`).
    pub reason: String,
}

impl Verification {
    /// An `unknown` result with no HTTP status.
    pub fn unknown(reason: impl Into<String>) -> Self {
        Verification {
            status: VerifyStatus::Unknown,
            http_status: None,
            reason: reason.into(),
        }
    }
}

/// What an organisation's revocation endpoint said about a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RevocationStatus {
    /// The key is on the list and still active.
    Active,
    /// The key has been revoked.
    Revoked,
    /// The endpoint does not know, or could not be asked.
    Unknown,
}

impl RevocationStatus {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationStatus::Active => "active",
            RevocationStatus::Revoked => "revoked",
            RevocationStatus::Unknown => "unknown",
        }
    }
}

/// The revocation endpoint's answer for one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revocation {
    /// Active, revoked or unknown.
    pub status: RevocationStatus,
    /// Why the status is `unknown` (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Revocation {
    /// An `unknown` answer with a reason.
    pub fn unknown(reason: impl Into<String>) -> Self {
        Revocation {
            status: RevocationStatus::Unknown,
            reason: Some(reason.into()),
        }
    }
}
