//! `keysweep guard`: answer one AI coding assistant hook event read from stdin.

use super::{common, RuleArgs};
use clap::Args;
use keysweep::guard::{self, event, GuardOptions, Reply};
use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

/// Hook events larger than this are not read whole (a hook gets a prompt or a tool call).
const MAX_EVENT_BYTES: u64 = 64 << 20;

/// Flags of `keysweep guard`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples (in the assistant's hook settings; see docs/agents.md):\n  \
    Claude Code  .claude/settings.json: UserPromptSubmit, PreToolUse and PostToolUse hooks\n               \
    with the command `keysweep guard`\n  \
    Cursor       .cursor/hooks.json: beforeSubmitPrompt, beforeReadFile,\n               \
    beforeShellExecution, beforeMCPExecution with the command `keysweep guard`\n  \
    Try it:      echo '{\"hook_event_name\":\"UserPromptSubmit\",\"prompt\":\"hi\"}' | keysweep guard"
)]
pub struct GuardArgs {
    /// Block when keysweep cannot decide (malformed event, a file it cannot read, timeout).
    /// By default such events are allowed with a warning.
    #[arg(long)]
    pub fail_closed: bool,
    /// Give up after this many seconds and answer as if the event could not be read.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0,
          value_parser = parse_timeout)]
    pub timeout: f64,
    /// Rule selection.
    #[command(flatten)]
    pub rules: RuleArgs,
}

fn parse_timeout(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if v.is_finite() && v > 0.0 && v <= 600.0 {
        Ok(v)
    } else {
        Err("the timeout must be more than 0 and at most 600 seconds".into())
    }
}

/// Runs the guard. Its exit code is the hook protocol's, not keysweep's usual one.
pub fn run(args: &GuardArgs) -> ExitCode {
    let opts = GuardOptions {
        fail_closed: args.fail_closed,
    };
    // A hook that never answers stalls the assistant: after the timeout, answer anyway.
    let deadline = Duration::from_secs_f64(args.timeout);
    std::thread::spawn(move || {
        std::thread::sleep(deadline);
        let r = guard::undecidable("timed out", opts).reply();
        emit(&r);
        std::process::exit(i32::from(r.code));
    });
    let cwd = std::env::current_dir().unwrap_or_default();
    let verdict = match read_event() {
        Err(problem) => guard::undecidable(&problem, opts),
        Ok(bytes) => match event::parse(&bytes, &cwd) {
            Err(e) => guard::undecidable(&e.to_string(), opts),
            Ok(ev) => {
                let engine = common::load_config(&args.rules, &cwd)
                    .and_then(|cfg| common::build_engine(&args.rules, cfg.as_ref()));
                match engine {
                    Ok(engine) => guard::decide(&engine, &ev, opts),
                    Err(e) => guard::undecidable(&format!("{e:#}"), opts),
                }
            }
        },
    };
    let reply = verdict.reply();
    emit(&reply);
    ExitCode::from(reply.code)
}

fn read_event() -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_EVENT_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read stdin: {e}"))?;
    if buf.len() as u64 > MAX_EVENT_BYTES {
        return Err(format!("larger than {} MiB", MAX_EVENT_BYTES >> 20));
    }
    Ok(buf)
}

fn emit(r: &Reply) {
    if !r.stdout.is_empty() {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", r.stdout);
        let _ = out.flush();
    }
    if !r.stderr.is_empty() {
        let _ = writeln!(std::io::stderr().lock(), "{}", r.stderr);
    }
}
