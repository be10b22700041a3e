//! The on-disk shape of a rule file (`rules/*.toml`, `--rules FILE`, `[[rule]]` in
//! `keysweep.toml`). Only deserialisation lives here; checking and compiling are in
//! `compile.rs`.

use crate::finding::{Confidence, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A rule file: a list of `[[rule]]` tables.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The rules in the file.
    #[serde(default)]
    pub rule: Vec<RuleSpec>,
}

/// One rule as written by its author.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Stable id, lowercase with dashes (`openai-project-key`). Used in reports, baselines,
    /// SARIF and `--disable`.
    pub id: String,
    /// One-line human title.
    pub title: String,
    /// Who issued the key (`OpenAI`, `GitHub`, `unknown`).
    pub provider: String,
    /// What the key grants and what to do about a leak; shown by `rules explain` and in SARIF.
    #[serde(default)]
    pub description: Option<String>,
    /// Literal strings, matched ASCII case-insensitively, at least one of which occurs in every
    /// match. Only rules whose keywords occur run their regex.
    pub keywords: Vec<String>,
    /// A `regex` crate pattern with a named group `secret`. Compiled without Unicode: `\w`, `\d`,
    /// `\b` and `.` are ASCII/byte classes.
    pub regex: String,
    /// Minimum Shannon entropy of the secret, in bits per byte.
    #[serde(default)]
    pub min_entropy: Option<f64>,
    /// A named offline check the secret must pass (see `docs/rules.md`).
    #[serde(default)]
    pub validator: Option<String>,
    /// Words or hosts of which at least one must occur near the match (within 1 KiB). Used to
    /// attribute ambiguous key shapes to a provider.
    #[serde(default)]
    pub context: Vec<String>,
    /// How bad a leak is.
    pub severity: Severity,
    /// How sure a match is.
    pub confidence: Confidence,
    /// A catch-all rule (header, assignment); any provider-specific rule on the same span wins.
    #[serde(default)]
    pub generic: bool,
    /// A generic rule that also yields to every other generic rule on the same span: the
    /// broader shapes of the generic grammar, which must not take a key from the rule that
    /// names its setting better (a `.env` line, a shell-history export).
    #[serde(default)]
    pub fallback: bool,
    /// The match may span lines (private key blocks): the regex runs on up to 16 KiB after the
    /// keyword's line instead of that line alone.
    #[serde(default)]
    pub multiline: bool,
    /// Short labels (`ai`, `cloud`, `vcs`…), exported as SARIF tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Documentation links.
    #[serde(default)]
    pub references: Vec<String>,
    /// Texts that must produce a finding for this rule.
    pub examples: Vec<String>,
    /// Texts that must not produce a finding for this rule.
    #[serde(default)]
    pub negative_examples: Vec<String>,
    /// An optional read-only live check.
    #[serde(default)]
    pub verify: Option<VerifySpec>,
}

/// A read-only HTTP request that tells whether a key is live. `{secret}` in the URL, headers or
/// body is replaced by the key.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VerifySpec {
    /// HTTP method; `GET` unless the provider's check needs `POST`.
    #[serde(default = "default_method")]
    pub method: String,
    /// Full URL of the check.
    pub url: String,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Request body, for `POST` checks.
    #[serde(default)]
    pub body: Option<String>,
    /// Status codes that mean the key is live.
    pub active: Vec<u16>,
    /// Status codes that mean the key is invalid or revoked.
    pub inactive: Vec<u16>,
    /// With an `active` status: a top-level JSON boolean field that must be `true` for the key to
    /// count as live (`false` makes it inactive).
    #[serde(default)]
    pub json_field: Option<String>,
}

fn default_method() -> String {
    "GET".to_string()
}
