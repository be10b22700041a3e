//! `keysweep install-hook`: a plain `pre-commit` git hook for people who do not use the
//! pre-commit framework. It runs `keysweep git --staged`, so a commit that adds a secret is
//! blocked with the finding and the ways to proceed.

use super::common::shell_quote;
use anyhow::{bail, Context, Result};
use clap::Args;
use keysweep::exit_code::ExitStatus;
use keysweep::sanitize::escape;
use keysweep::source::git::open_repo;
use std::path::{Path, PathBuf};

/// The line that marks a hook as ours (and safe to overwrite or remove).
pub const MARKER: &str = "# Written by `keysweep install-hook`";

/// Flags of `keysweep install-hook`.
#[derive(Debug, Args)]
pub struct InstallHookArgs {
    /// The repository, or any directory inside it.
    #[arg(value_name = "REPO", default_value = ".")]
    pub repo: PathBuf,
    /// Replace an existing pre-commit hook that keysweep did not write; the old one is kept as
    /// `pre-commit.keysweep-backup`.
    #[arg(long)]
    pub force: bool,
    /// Remove the hook (only if keysweep wrote it).
    #[arg(long, conflicts_with = "force")]
    pub uninstall: bool,
}

/// The hook script. `exe` is this keysweep binary, tried first; `keysweep` on PATH is the
/// fallback, so the hook keeps working after the binary moves.
pub fn hook_script(exe: &Path) -> String {
    format!(
        "#!/bin/sh\n\
         {MARKER} (hook version 1).\n\
         # It blocks commits that add secrets: it scans what is staged, not the working tree.\n\
         # Remove it with `keysweep install-hook --uninstall`.\n\
         KEYSWEEP={exe}\n\
         if [ ! -x \"$KEYSWEEP\" ]; then\n  \
           KEYSWEEP=$(command -v keysweep) || {{\n    \
             echo \"keysweep pre-commit hook: keysweep is not installed (not at {shown}, not on PATH).\" >&2\n    \
             echo \"Install it, or remove this hook: keysweep install-hook --uninstall, or rm $0\" >&2\n    \
             exit 1\n  \
           }}\n\
         fi\n\
         exec \"$KEYSWEEP\" git --staged\n",
        exe = shell_quote(&exe.display().to_string()),
        shown = exe.display().to_string().replace(['"', '$', '`', '\\'], "_"),
    )
}

/// Where git looks for hooks: `core.hooksPath` when set, else `hooks/` in the common git dir
/// (shared by all worktrees).
fn hooks_dir(repo: &git2::Repository) -> PathBuf {
    if let Ok(p) = repo.config().and_then(|c| c.get_path("core.hooksPath")) {
        if p.is_absolute() {
            return p;
        }
        let base = repo.workdir().unwrap_or_else(|| repo.path());
        return base.join(p);
    }
    repo.commondir().join("hooks")
}

fn is_ours(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|s| s.contains(MARKER))
}

/// Installs or removes the hook.
pub fn run(args: InstallHookArgs) -> Result<ExitStatus> {
    let repo = open_repo(&args.repo)?;
    if repo.is_bare() {
        bail!(
            "{}: bare repository: nothing is committed here, so there is no hook to install",
            repo.path().display()
        );
    }
    let dir = hooks_dir(&repo);
    let hook = dir.join("pre-commit");
    let shown = escape(&hook.display().to_string());
    let exists = hook.symlink_metadata().is_ok();
    if args.uninstall {
        if !exists {
            eprintln!("keysweep: no pre-commit hook at {shown}; nothing to remove");
        } else if is_ours(&hook) {
            std::fs::remove_file(&hook).with_context(|| format!("{shown}: cannot remove"))?;
            eprintln!("keysweep: removed {shown}");
        } else {
            bail!("{shown} was not written by keysweep; not removing it");
        }
        return Ok(ExitStatus::Clean);
    }
    if exists && !is_ours(&hook) {
        if !args.force {
            let framework = std::fs::read_to_string(&hook)
                .is_ok_and(|s| s.contains("pre-commit.com") || s.contains("pre_commit"));
            let tip = if framework {
                " It looks like the pre-commit framework's hook: add keysweep to \
                 .pre-commit-config.yaml instead (see docs/git.md)."
            } else {
                ""
            };
            bail!(
                "{shown} already exists and was not written by keysweep; not replacing it. \
                 Use --force to replace it (the old hook is kept as pre-commit.keysweep-backup), \
                 or call `keysweep git --staged` from it.{tip}"
            );
        }
        let mut backup = dir.join("pre-commit.keysweep-backup");
        let mut n = 1;
        while backup.symlink_metadata().is_ok() {
            backup = dir.join(format!("pre-commit.keysweep-backup.{n}"));
            n += 1;
        }
        std::fs::rename(&hook, &backup)
            .with_context(|| format!("{shown}: cannot move the old hook aside"))?;
        eprintln!(
            "keysweep: moved the old hook to {}",
            escape(&backup.display().to_string())
        );
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("{}: cannot create", escape(&dir.display().to_string())))?;
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .unwrap_or_else(|_| PathBuf::from("keysweep"));
    std::fs::write(&hook, hook_script(&exe)).with_context(|| format!("{shown}: cannot write"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("{shown}: cannot make executable"))?;
    }
    eprintln!("keysweep: installed {shown}: commits that add secrets will be blocked");
    Ok(ExitStatus::Clean)
}
