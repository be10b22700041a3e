//! `keysweep guard`: answer one AI coding assistant hook event read from stdin.

use super::{common, RuleArgs};
use clap::{Args, Subcommand, ValueEnum};
use keysweep::guard::install::{self, Scope, Target};
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
#[command(args_conflicts_with_subcommands = true)]
pub struct GuardArgs {
    /// Install or remove the hooks instead of answering an event.
    #[command(subcommand)]
    pub action: Option<GuardAction>,
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

/// `guard install` / `guard uninstall`.
#[derive(Debug, Subcommand)]
pub enum GuardAction {
    /// Add `keysweep guard` to the assistant's hook settings, merging with what is there
    /// (other hooks are kept) and printing the change.
    #[command(after_help = "Examples:\n  \
        keysweep guard install claude-code --dry-run   show the change to .claude/settings.json\n  \
        keysweep guard install cursor --user           ~/.cursor/hooks.json for every project")]
    Install(InstallArgs),
    /// Remove exactly the hooks `guard install` added (a file left empty is deleted).
    Uninstall(InstallArgs),
}

/// Where to install.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The assistant.
    #[arg(value_enum)]
    pub assistant: AssistantName,
    /// The project's settings (the default): `.claude/settings.json` or `.cursor/hooks.json`
    /// at the git work tree's top, else the current directory.
    #[arg(long, conflicts_with = "user")]
    pub project: bool,
    /// The user's settings in the home directory (every project).
    #[arg(long)]
    pub user: bool,
    /// Print the change without writing it.
    #[arg(long)]
    pub dry_run: bool,
}

/// Assistants `guard install` knows.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AssistantName {
    /// Anthropic's Claude Code.
    ClaudeCode,
    /// Cursor.
    Cursor,
}

/// Runs `guard install` or `guard uninstall`; exit 0 on success, 2 on error.
fn run_action(action: &GuardAction) -> ExitCode {
    let (args, installing) = match action {
        GuardAction::Install(a) => (a, true),
        GuardAction::Uninstall(a) => (a, false),
    };
    let target = match args.assistant {
        AssistantName::ClaudeCode => Target::ClaudeCode,
        AssistantName::Cursor => Target::Cursor,
    };
    let scope = if args.user {
        Scope::User
    } else {
        Scope::Project
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let project = git2::Repository::discover(&cwd)
        .ok()
        .and_then(|r| r.workdir().map(std::path::Path::to_path_buf))
        .unwrap_or(cwd);
    let Some(home) = std::env::var_os("HOME").map(std::path::PathBuf::from) else {
        if scope == Scope::User {
            eprintln!("keysweep: error: HOME is not set, so the user settings cannot be found");
            return ExitCode::from(2);
        }
        return run_change(target, scope, &project, &project, installing, args.dry_run);
    };
    run_change(target, scope, &project, &home, installing, args.dry_run)
}

fn run_change(
    target: Target,
    scope: Scope,
    project: &std::path::Path,
    home: &std::path::Path,
    installing: bool,
    dry_run: bool,
) -> ExitCode {
    let path = install::settings_path(target, scope, project, home);
    let planned = if installing {
        install::plan_install(target, &path)
    } else {
        install::plan_uninstall(target, &path)
    };
    let change = match planned {
        Ok(c) => c,
        Err(e) => {
            eprintln!("keysweep: error: {e}");
            return ExitCode::from(2);
        }
    };
    if change.is_noop() {
        eprintln!(
            "keysweep: {}: {}",
            path.display(),
            if installing {
                "the guard is already installed; nothing to change"
            } else {
                "no keysweep guard hooks; nothing to change"
            }
        );
        return ExitCode::SUCCESS;
    }
    print!("{}", change.diff());
    if dry_run {
        eprintln!("keysweep: dry run: {} not changed", path.display());
        return ExitCode::SUCCESS;
    }
    if let Err(e) = change.apply() {
        eprintln!("keysweep: error: {e}");
        return ExitCode::from(2);
    }
    eprintln!(
        "keysweep: {} {}",
        if installing {
            "installed the guard in"
        } else {
            "removed the guard from"
        },
        path.display()
    );
    ExitCode::SUCCESS
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
    if let Some(action) = &args.action {
        return run_action(action);
    }
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
