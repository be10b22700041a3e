//! `keysweep mcp`: the Model Context Protocol server on stdin/stdout.

use super::{common, RuleArgs};
use anyhow::{Context, Result};
use clap::Args;
use keysweep::exit_code::ExitStatus;
use keysweep::mcp::Server;
use std::io::{BufRead, Write};

/// Flags of `keysweep mcp`.
#[derive(Debug, Args)]
#[command(after_help = "Example (an MCP client's server list):\n  \
    {\"mcpServers\": {\"keysweep\": {\"command\": \"keysweep\", \"args\": [\"mcp\"]}}}")]
pub struct McpArgs {
    /// Rule selection.
    #[command(flatten)]
    pub rules: RuleArgs,
}

/// Serves until stdin closes.
pub fn run(args: McpArgs) -> Result<ExitStatus> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let config = common::load_config(&args.rules, &cwd)?;
    let server = Server::new(common::build_engine(&args.rules, config.as_ref())?);
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line.context("cannot read stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(reply) = server.handle_line(&line) {
            writeln!(out, "{reply}")?;
            out.flush()?;
        }
    }
    Ok(ExitStatus::Clean)
}
