//! Rules as data: loading rule files, checking them, and compiling them into [`Rule`]s the
//! engine can run. The built-in pack is every `rules/*.toml`, embedded at build time.
//!
//! Loading never prints; every problem is a [`RuleProblem`] naming the file, the rule and what
//! is wrong, so `keysweep rules check` can list them all at once.

mod compile;
pub mod schema;

pub use compile::{compile_rule, prepare_rule, regex_set, Rule, MAX_PATTERN_LEN};
use schema::RuleFile;
use std::collections::HashMap;
use std::path::Path;

/// The built-in rule files: `(file name, contents as JSON)`, converted from `rules/*.toml` at
/// build time.
pub const BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// One thing wrong with one rule (or a whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    /// The file the rule came from.
    pub file: String,
    /// The rule id, or `-` for a problem with the file itself.
    pub rule_id: String,
    /// What is wrong, in one line.
    pub message: String,
}

impl std::fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.rule_id, self.message)
    }
}

/// Errors from building a rule set.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// A rule file could not be read.
    #[error("{path}: cannot read rule file: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// One or more rules are invalid.
    #[error("{} invalid rule(s):\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<RuleProblem>),
    /// `--disable`/`disable_rules` named a rule that does not exist.
    #[error("cannot disable unknown rule id `{0}` (see `keysweep rules list`)")]
    UnknownDisabled(String),
}

/// Parses a rule file's text and compiles every rule in it with the thorough checks,
/// collecting problems.
pub fn parse_rule_text(file: &str, text: &str) -> (Vec<Rule>, Vec<RuleProblem>) {
    parse_rules(file, text, compile_rule)
}

fn parse_rules(
    file: &str,
    text: &str,
    build: fn(schema::RuleSpec, &str) -> Result<Rule, Vec<RuleProblem>>,
) -> (Vec<Rule>, Vec<RuleProblem>) {
    match toml::from_str(text) {
        Ok(parsed) => build_all(file, parsed, build),
        Err(e) => {
            let message = crate::sanitize::toml_error(&e, text);
            (
                Vec::new(),
                vec![file_problem(file, format!("invalid TOML: {message}"))],
            )
        }
    }
}

fn file_problem(file: &str, message: String) -> RuleProblem {
    RuleProblem {
        file: file.to_string(),
        rule_id: "-".to_string(),
        message,
    }
}

fn build_all(
    file: &str,
    parsed: RuleFile,
    build: fn(schema::RuleSpec, &str) -> Result<Rule, Vec<RuleProblem>>,
) -> (Vec<Rule>, Vec<RuleProblem>) {
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    for spec in parsed.rule {
        match build(spec, file) {
            Ok(rule) => rules.push(rule),
            Err(mut p) => problems.append(&mut p),
        }
    }
    (rules, problems)
}

/// Reads and compiles a user rule file.
pub fn load_rule_file(path: &Path) -> Result<(Vec<Rule>, Vec<RuleProblem>), RuleError> {
    let text = crate::small_file::read_to_string(path, crate::small_file::MAX_SMALL_FILE).map_err(
        |source| RuleError::Read {
            path: path.display().to_string(),
            source,
        },
    )?;
    Ok(parse_rule_text(&path.display().to_string(), &text))
}

/// The built-in pack, ready to run: regexes compile lazily and examples are not re-checked
/// (the test suite does that through [`builtin_rules_checked`]).
pub fn builtin_rules() -> Result<Vec<Rule>, RuleError> {
    load_builtin(prepare_rule)
}

/// The built-in pack with every regex compiled and every example checked.
pub fn builtin_rules_checked() -> Result<Vec<Rule>, RuleError> {
    load_builtin(compile_rule)
}

fn load_builtin(
    build: fn(schema::RuleSpec, &str) -> Result<Rule, Vec<RuleProblem>>,
) -> Result<Vec<Rule>, RuleError> {
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    for (name, json) in BUILTIN {
        let file = format!("rules/{name}");
        let (mut r, mut p) = match serde_json::from_str(json) {
            Ok(parsed) => build_all(&file, parsed, build),
            Err(e) => (
                Vec::new(),
                vec![file_problem(&file, format!("invalid rule file: {e}"))],
            ),
        };
        rules.append(&mut r);
        problems.append(&mut p);
    }
    problems.extend(duplicate_ids(&rules));
    if problems.is_empty() {
        Ok(rules)
    } else {
        Err(RuleError::Invalid(problems))
    }
}

/// Problems for every rule id defined more than once.
pub fn duplicate_ids(rules: &[Rule]) -> Vec<RuleProblem> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    let mut problems = Vec::new();
    for r in rules {
        if let Some(first) = seen.insert(&r.id, &r.source) {
            problems.push(RuleProblem {
                file: r.source.clone(),
                rule_id: r.id.clone(),
                message: format!("duplicate rule id (first defined in {first})"),
            });
        }
    }
    problems
}
