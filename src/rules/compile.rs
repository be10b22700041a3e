//! Checking a [`RuleSpec`] and turning it into a runnable [`Rule`]: the regex is compiled
//! without Unicode and with size limits, the validator name is resolved, and every example and
//! negative example is run through a one-rule engine so a rule that does not do what its
//! examples say never loads.

use super::schema::{RuleSpec, VerifySpec};
use super::RuleProblem;
use crate::engine::validators::Validator;
use crate::engine::Engine;
use crate::finding::{Confidence, Severity};
use aho_corasick::AhoCorasick;
use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use std::sync::OnceLock;

/// Largest compiled size allowed for a rule's regex (user rules cannot exhaust memory).
const REGEX_SIZE_LIMIT: usize = 4 << 20;
/// Longest regex source accepted, checked before parsing: the parser's syntax tree of a
/// 10 MB pattern takes over a gigabyte before the compiled-size limit can refuse it. The
/// longest built-in pattern is under 500 bytes.
pub const MAX_PATTERN_LEN: usize = 16 << 10;
/// Shortest keyword allowed: shorter ones would make the prefilter pointless.
const MIN_KEYWORD_LEN: usize = 3;

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable id.
    pub id: String,
    /// Human title.
    pub title: String,
    /// Provider name.
    pub provider: String,
    /// Longer explanation.
    pub description: String,
    /// Prefilter keywords.
    pub keywords: Vec<String>,
    /// The regex source.
    pub pattern: String,
    /// The compiled regex and the capture index of its `secret` group, built on first use:
    /// a scan that never hits a rule's keywords never pays for compiling it.
    compiled: OnceLock<(Regex, usize)>,
    /// Minimum entropy of the secret.
    pub min_entropy: Option<f64>,
    /// Offline check.
    pub validator: Option<Validator>,
    /// Context words, at least one required near the match when non-empty.
    pub context: Vec<String>,
    /// Matcher for `context`, ASCII case-insensitive; built on first use, like the regex.
    context_matcher: OnceLock<Option<AhoCorasick>>,
    /// Severity.
    pub severity: Severity,
    /// Confidence.
    pub confidence: Confidence,
    /// Catch-all rule that loses to any specific rule on the same span.
    pub generic: bool,
    /// Loses to every non-fallback rule on the same span (see the rule file schema).
    pub fallback: bool,
    /// May span lines.
    pub multiline: bool,
    /// Labels.
    pub tags: Vec<String>,
    /// Links.
    pub references: Vec<String>,
    /// Positive examples.
    pub examples: Vec<String>,
    /// Negative examples.
    pub negative_examples: Vec<String>,
    /// Live check.
    pub verify: Option<VerifySpec>,
    /// File the rule came from.
    pub source: String,
}

impl Rule {
    /// The matcher for the rule's context words, or `None` when it has none (built on first
    /// use).
    pub fn context_matcher(&self) -> Option<&AhoCorasick> {
        self.context_matcher
            .get_or_init(|| {
                (!self.context.is_empty()).then(|| {
                    AhoCorasick::builder()
                        .ascii_case_insensitive(true)
                        .build(&self.context)
                        .expect("context words are plain literals")
                })
            })
            .as_ref()
    }

    /// The compiled regex (compiled on first use).
    pub fn regex(&self) -> &Regex {
        &self.compiled().0
    }

    /// Capture index of the `secret` group.
    pub fn secret_group(&self) -> usize {
        self.compiled().1
    }

    fn compiled(&self) -> &(Regex, usize) {
        self.compiled.get_or_init(|| {
            build_regex(&self.pattern).unwrap_or_else(|e| {
                // Built-in rules are compiled and checked by `rules check` in the test suite,
                // and user rules are compiled eagerly when loaded, so this cannot happen.
                panic!("rule {}: {e}", self.id)
            })
        })
    }
}

/// Compiles the regexes of several rules into one set with the flags [`Rule::regex`] uses, so
/// the set matches a haystack exactly when one of the rules' own regexes does.
pub fn regex_set<'a>(
    patterns: impl IntoIterator<Item = &'a str>,
) -> Result<RegexSet, regex::Error> {
    RegexSetBuilder::new(patterns)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// Compiles a rule regex the way the engine runs it: bytes, no Unicode, size-limited.
fn build_regex(pattern: &str) -> Result<(Regex, usize), String> {
    let regex = RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let msg = e
                .to_string()
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ");
            format!("regex does not compile: {msg}")
        })?;
    let group = regex
        .capture_names()
        .position(|n| n == Some("secret"))
        .ok_or("regex has no named group `secret` (write `(?P<secret>...)`)")?;
    Ok((regex, group))
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

/// Checks and compiles one rule: the regex, and every example and negative example. Returns
/// every problem found, not just the first. Used for user rules and `rules check`.
pub fn compile_rule(spec: RuleSpec, file: &str) -> Result<Rule, Vec<RuleProblem>> {
    build_rule(spec, file, true)
}

/// Builds a rule with only the cheap checks; its regex compiles on first use. Used for the
/// built-in pack at run time (the test suite runs the thorough checks on it).
pub fn prepare_rule(spec: RuleSpec, file: &str) -> Result<Rule, Vec<RuleProblem>> {
    build_rule(spec, file, false)
}

fn build_rule(spec: RuleSpec, file: &str, thorough: bool) -> Result<Rule, Vec<RuleProblem>> {
    let mut problems = Vec::new();
    let mut problem = |message: String| {
        problems.push(RuleProblem {
            file: file.to_string(),
            rule_id: if spec.id.is_empty() {
                "-".to_string()
            } else {
                spec.id.clone()
            },
            message,
        })
    };
    if !valid_id(&spec.id) {
        problem(format!(
            "id `{}` must be 1-64 chars of lowercase letters, digits and dashes",
            spec.id
        ));
    }
    if spec.title.trim().is_empty() {
        problem("title is empty".into());
    }
    if spec.provider.trim().is_empty() {
        problem("provider is empty (use `unknown` if there is none)".into());
    }
    if spec.keywords.is_empty() {
        problem(
            "no keywords: every rule needs at least one literal keyword for the prefilter".into(),
        );
    }
    for k in &spec.keywords {
        if k.len() < MIN_KEYWORD_LEN {
            problem(format!(
                "keyword `{k}` is shorter than {MIN_KEYWORD_LEN} bytes and would match almost everywhere"
            ));
        }
    }
    let too_long = spec.regex.len() > MAX_PATTERN_LEN;
    if too_long {
        problem(format!(
            "regex is {} bytes long; the limit is {MAX_PATTERN_LEN}",
            spec.regex.len()
        ));
    }
    let compiled = if thorough && !too_long {
        match build_regex(&spec.regex) {
            Ok(c) => Some(c),
            Err(e) => {
                problem(e);
                None
            }
        }
    } else {
        None
    };
    if let Some(e) = spec.min_entropy {
        if !(0.0..=8.0).contains(&e) {
            problem(format!(
                "min_entropy {e} is outside 0.0..=8.0 bits per byte"
            ));
        }
    }
    let validator = match spec.validator.as_deref().map(str::parse::<Validator>) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(e)) => {
            problem(e);
            None
        }
    };
    if spec.context.iter().any(|c| c.trim().is_empty()) {
        problem("context contains an empty word".into());
    }
    if spec.examples.is_empty() {
        problem("no examples: every rule needs at least one text it must match".into());
    }
    for (i, ex) in spec.examples.iter().enumerate() {
        let lower = ex.to_ascii_lowercase();
        if !spec
            .keywords
            .iter()
            .any(|k| lower.contains(&k.to_ascii_lowercase()))
        {
            problem(format!(
                "example {} contains none of the keywords, so the prefilter would skip it",
                i + 1
            ));
        }
    }
    if let Some(v) = &spec.verify {
        if !(v.url.starts_with("https://") || v.url.starts_with("http://")) {
            problem(format!("verify.url `{}` is not an http(s) URL", v.url));
        }
        if v.active.is_empty() {
            problem("verify.active lists no status code".into());
        }
        match crate::verify::http::host_of(&v.url) {
            Some(h) if h.contains(['{', '}', '@']) => problem(format!(
                "verify.url host `{h}` must be a literal host (no placeholder, no credentials)"
            )),
            _ => {}
        }
        let texts = std::iter::once(v.url.as_str())
            .chain(v.headers.values().map(String::as_str))
            .chain(v.body.as_deref());
        let mut has_secret = false;
        for t in texts {
            let mut rest = t;
            while let Some(i) = rest.find('{') {
                let tail = &rest[i..];
                if tail.starts_with("{secret}") {
                    has_secret = true;
                } else if let Some(end) = tail.find('}').filter(|&end| {
                    end > 1
                        && tail[1..end]
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
                }) {
                    problem(format!(
                        "verify uses unknown placeholder `{}`; only `{{secret}}` is supported",
                        &tail[..=end]
                    ));
                }
                rest = &tail[1..];
            }
        }
        if !has_secret {
            problem(
                "verify never sends the key: put `{secret}` in the URL, a header or the body"
                    .into(),
            );
        }
        if let Some(code) = v.active.iter().find(|c| v.inactive.contains(c)) {
            problem(format!("verify status {code} is both active and inactive"));
        }
        if let Some(code) = v
            .active
            .iter()
            .chain(&v.inactive)
            .find(|c| !(100..=599).contains(*c))
        {
            problem(format!("verify status {code} is not an HTTP status code"));
        }
        if !matches!(v.method.as_str(), "GET" | "POST" | "HEAD") {
            problem(format!(
                "verify.method `{}` must be GET, POST or HEAD",
                v.method
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let rule = Rule {
        id: spec.id,
        title: spec.title,
        provider: spec.provider,
        description: spec.description.unwrap_or_default(),
        keywords: spec.keywords,
        pattern: spec.regex,
        compiled: OnceLock::new(),
        min_entropy: spec.min_entropy,
        validator,
        context: spec.context,
        context_matcher: OnceLock::new(),
        severity: spec.severity,
        confidence: spec.confidence,
        generic: spec.generic,
        fallback: spec.fallback,
        multiline: spec.multiline,
        tags: spec.tags,
        references: spec.references,
        examples: spec.examples,
        negative_examples: spec.negative_examples,
        verify: spec.verify,
        source: file.to_string(),
    };
    let Some(compiled) = compiled else {
        return Ok(rule);
    };
    let _ = rule.compiled.set(compiled);
    let problems = check_examples(&rule);
    if problems.is_empty() {
        Ok(rule)
    } else {
        Err(problems)
    }
}

/// Runs the rule alone over each of its examples and negative examples.
fn check_examples(rule: &Rule) -> Vec<RuleProblem> {
    let engine = Engine::new(vec![rule.clone()]);
    let mut scratch = engine.scratch();
    let mut problems = Vec::new();
    let mut report = |message: String| {
        problems.push(RuleProblem {
            file: rule.source.clone(),
            rule_id: rule.id.clone(),
            message,
        })
    };
    for (i, ex) in rule.examples.iter().enumerate() {
        let found = engine.scan(ex.as_bytes(), &mut scratch);
        if found.is_empty() {
            report(format!(
                "example {} does not match: {}",
                i + 1,
                ex.escape_debug()
            ));
        }
    }
    for (i, ex) in rule.negative_examples.iter().enumerate() {
        let found = engine.scan(ex.as_bytes(), &mut scratch);
        if !found.is_empty() {
            report(format!(
                "negative example {} matches but must not: {}",
                i + 1,
                ex.escape_debug()
            ));
        }
    }
    problems
}
