//! keysweep finds leaked secrets — API keys (AI/LLM providers first), cloud, VCS, payment and
//! chat tokens, private keys, passwords in URLs — in working trees, git history, staged changes,
//! logs and stdin.
//!
//! The pipeline: [`source`] turns inputs into blobs, the [`engine`] finds secrets in bytes
//! (keyword prefilter, then regex on candidate windows, then filters), [`scan`] runs it over
//! many blobs in parallel, and [`report`] writes text, JSON or SARIF. Rules are data
//! ([`rules`]).
//!
//! ```
//! use keysweep::engine::Engine;
//! use keysweep::rules::builtin_rules;
//!
//! let engine = Engine::new(builtin_rules().unwrap());
//! let mut scratch = engine.scratch();
//! // A fake token, split so this file does not trip keysweep's own scan.
//! let text = format!("GITHUB_TOKEN={}{}\n", "ghp_R8mZt2QxV9LkP4wN7", "sJ1cF6hB3dY0a3PjZTI");
//! let found = engine.scan(text.as_bytes(), &mut scratch);
//! assert_eq!(engine.rules()[found[0].rule as usize].id, "github-pat");
//! ```
#![deny(missing_docs)]

pub mod baseline;
pub mod config;
pub mod engine;
pub mod exit_code;
pub mod finding;
pub mod guard;
pub mod mcp;
pub mod merge;
pub mod redact;
pub mod report;
pub mod rules;
pub mod sanitize;
pub mod scan;
pub mod small_file;
pub mod source;
pub mod verify;
