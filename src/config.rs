//! `keysweep.toml`: the per-repository configuration. It can add rules (inline `[[rule]]` tables
//! or `rule_files`), disable rules by id, and allowlist paths (globs) and secret values
//! (regexes). Found at the scan root, or named with `--config`.

use crate::rules::schema::RuleSpec;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file name looked for at the scan root.
pub const FILE_NAME: &str = "keysweep.toml";

/// The parsed configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Extra rule files, relative to the config file's directory.
    #[serde(default)]
    pub rule_files: Vec<PathBuf>,
    /// Rule ids to turn off.
    #[serde(default)]
    pub disable_rules: Vec<String>,
    /// What is never reported.
    #[serde(default)]
    pub allowlist: Allowlist,
    /// Inline rules, same schema as rule files.
    #[serde(default)]
    pub rule: Vec<RuleSpec>,
    /// Live-check settings (used by `--verify`).
    #[serde(default)]
    pub verify: VerifyConfig,
    /// Where the config was read from (not part of the file).
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// Paths and values that are never reported.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowlist {
    /// Glob patterns (`fixtures/**`, `**/*.lock`) matched against paths relative to the scan root.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Regexes; a secret matching any of them is not reported.
    #[serde(default)]
    pub values: Vec<String>,
}

/// `[verify]` settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyConfig {
    /// Provider name → base URL that replaces the scheme and host of its checks.
    #[serde(default)]
    pub base_urls: BTreeMap<String, String>,
    /// URL of an organisation's revocation endpoint.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// Seconds to connect (default 5).
    #[serde(default)]
    pub connect_timeout: Option<f64>,
    /// Seconds to wait for an answer (default 10).
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Seconds for all network checks of a run (default 60).
    #[serde(default)]
    pub budget: Option<f64>,
    /// Retries on 5xx and 429 (default 2).
    #[serde(default)]
    pub retries: Option<u32>,
    /// Longest `Retry-After` honoured, in seconds (default 10).
    #[serde(default)]
    pub max_retry_after: Option<f64>,
    /// Requests in flight per host (default 4).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Request starts per second per host (default 10; 0 = unlimited).
    #[serde(default)]
    pub rate: Option<f64>,
}

/// Errors reading a config file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read config: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown keys.
    #[error("{path}: invalid config: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What the parser said.
        message: String,
    },
}

impl Config {
    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = crate::small_file::read_to_string(path, crate::small_file::MAX_SMALL_FILE)
            .map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
        let mut config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            message: crate::sanitize::toml_error(&e, &text),
        })?;
        config.path = Some(path.to_path_buf());
        Ok(config)
    }

    /// Loads `dir/keysweep.toml` if it exists.
    pub fn discover(dir: &Path) -> Result<Option<Config>, ConfigError> {
        let candidate = dir.join(FILE_NAME);
        if candidate.is_file() {
            Config::load(&candidate).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The config file and the rule files it names: their examples are fake keys by design,
    /// so a scan skips them (counted as allowlisted).
    pub fn own_files(&self) -> Vec<PathBuf> {
        let base = self.base_dir();
        self.path
            .iter()
            .cloned()
            .chain(self.rule_files.iter().map(|f| base.join(f)))
            .collect()
    }

    /// The directory relative paths in this config are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}
