//! The `keysweep` binary: parse flags, run the command, map the result to an exit code.
//! This is the only place that uses `anyhow` and the only place that exits.

mod cli;

use clap::Parser;
use cli::{Cli, Command};
use keysweep::exit_code::ExitStatus;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Guard(args) = &cli.command {
        // The guard answers in the assistant's hook protocol, exit codes included.
        return cli::guard_cmd::run(args);
    }
    let findings_code = match &cli.command {
        Command::Scan(a) => a.output.exit_code,
        Command::Git(a) => a.output.exit_code,
        Command::Baseline(_)
        | Command::InstallHook(_)
        | Command::Rules(_)
        | Command::Merge(_)
        | Command::Redact(_)
        | Command::Revoke(_)
        | Command::Guard(_)
        | Command::Mcp(_) => 1,
    };
    match run(cli) {
        Ok(status) => ExitCode::from(status.code(findings_code)),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("keysweep: error: {}", error_text(&err));
            ExitCode::from(ExitStatus::Error.code(findings_code))
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Scan(args) => cli::scan_cmd::run(*args),
        Command::Git(args) => cli::git_cmd::run(*args),
        Command::Baseline(cmd) => cli::baseline_cmd::run(cmd),
        Command::InstallHook(args) => cli::hook_cmd::run(args),
        Command::Redact(args) => cli::redact_cmd::run(args),
        Command::Rules(cmd) => cli::rules_cmd::run(cmd),
        Command::Merge(args) => cli::merge_cmd::run(args),
        Command::Revoke(args) => cli::revoke_cmd::run(args),
        Command::Guard(_) => unreachable!("answered in main"),
        Command::Mcp(args) => cli::mcp_cmd::run(args),
    }
}

/// The error and its causes joined with `: `, skipping a cause whose text its parent already
/// shows (thiserror messages often embed their source), each line escaped for the terminal.
fn error_text(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let s = cause.to_string();
        if out.contains(&s) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&s);
    }
    out.lines()
        .map(keysweep::sanitize::escape)
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
