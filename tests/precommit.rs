//! The real pre-commit framework (https://pre-commit.com) driving keysweep through this
//! repository's `.pre-commit-hooks.yaml`.
//!
//! `pre-commit` must be on PATH (`.ci/test` installs it into `.venv` from PyPI); these tests fail,
//! not skip, when it is missing. The `-system` hooks are exercised end to end (a hooks repository
//! holding our `.pre-commit-hooks.yaml`, cloned by pre-commit, with the built keysweep on PATH).
//! The `language: rust` hooks run end to end too: pre-commit builds keysweep from a copy of this
//! package with `cargo install` (minutes the first time; the build directory is kept under
//! `target/`), with no keysweep on PATH. They are also checked for having exactly the same entry
//! and file handling as their `-system` twins, and the manifest is validated by pre-commit.

mod common;

use common::{bin_dir, fake_token, Repo};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

const MANIFEST: &str = include_str!("../.pre-commit-hooks.yaml");

fn require_pre_commit() {
    let ok = std::process::Command::new("pre-commit")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "`pre-commit` is not on PATH. Install it (python3 -m venv .venv && \
         .venv/bin/pip install pre-commit) and put .venv/bin on PATH; .ci/test does this."
    );
}

fn path_with_keysweep() -> String {
    let old = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin_dir()];
    dirs.extend(std::env::split_paths(&old));
    std::env::join_paths(dirs).unwrap().into_string().unwrap()
}

/// Runs git or pre-commit in the repo with keysweep on PATH and an isolated pre-commit cache.
fn run(r: &Repo, home: &Path, program: &str, args: &[&str]) -> Output {
    command(r, home, program, args)
        .env("PATH", path_with_keysweep())
        .output()
        .unwrap()
}

/// git or pre-commit in the repo's isolated environment, with an isolated pre-commit cache;
/// PATH is the caller's to set.
fn command(r: &Repo, home: &Path, program: &str, args: &[&str]) -> std::process::Command {
    let mut c = r.git_cmd(args);
    if program != "git" {
        // Same isolated environment, different program.
        let envs: Vec<(std::ffi::OsString, Option<std::ffi::OsString>)> = c
            .get_envs()
            .map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned())))
            .collect();
        c = std::process::Command::new(program);
        c.args(args).current_dir(r.path());
        for (k, v) in envs {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
    }
    c.env("PRE_COMMIT_HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("PRE_COMMIT_COLOR");
    c
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A git repository holding only our hooks manifest; returns (path, commit).
fn hooks_repo() -> (Repo, String) {
    let h = Repo::new();
    h.write(".pre-commit-hooks.yaml", MANIFEST);
    let rev = h.commit_all("hooks");
    (h, rev)
}

/// Hook id → its keys, from the manifest (a flat list of mappings).
fn manifest_hooks() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut hooks = BTreeMap::new();
    let mut current: Option<(String, BTreeMap<String, String>)> = None;
    for line in MANIFEST.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (is_new, body) = match line.strip_prefix("- ") {
            Some(b) => (true, b),
            None => (false, line.trim()),
        };
        if is_new {
            if let Some((id, m)) = current.take() {
                hooks.insert(id, m);
            }
        }
        let (k, v) = body.split_once(':').expect("key: value");
        let v = v.trim().trim_matches('"').to_string();
        if is_new {
            assert_eq!(k, "id");
            current = Some((v, BTreeMap::new()));
        } else {
            current.as_mut().unwrap().1.insert(k.to_string(), v);
        }
    }
    if let Some((id, m)) = current {
        hooks.insert(id, m);
    }
    hooks
}

#[test]
fn manifest_is_valid_and_rust_hooks_match_their_system_twins() {
    require_pre_commit();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join(".pre-commit-hooks.yaml");
    std::fs::write(&manifest, MANIFEST).unwrap();
    let out = std::process::Command::new("pre-commit")
        .arg("validate-manifest")
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));

    let hooks = manifest_hooks();
    let ids: Vec<&str> = hooks.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "keysweep",
            "keysweep-files",
            "keysweep-files-system",
            "keysweep-system"
        ]
    );
    for (rust, system) in [
        ("keysweep", "keysweep-system"),
        ("keysweep-files", "keysweep-files-system"),
    ] {
        let (r, s) = (&hooks[rust], &hooks[system]);
        assert_eq!(r["language"], "rust");
        assert_eq!(s["language"], "system");
        for key in ["entry", "pass_filenames", "types"] {
            assert_eq!(r.get(key), s.get(key), "{rust} vs {system}: {key}");
        }
    }
    assert_eq!(hooks["keysweep"]["entry"], "keysweep git --staged");
    assert_eq!(hooks["keysweep"]["pass_filenames"], "false");
    assert_eq!(
        hooks["keysweep-files"]["entry"],
        "keysweep scan --no-ignore"
    );
    assert!(!hooks["keysweep-files"].contains_key("pass_filenames"));
    // The rust hooks build from this repository: it must have a Cargo package with the binary.
    let cargo =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    assert!(cargo.contains("name = \"keysweep\"") && cargo.contains("[[bin]]"));
}

#[test]
fn framework_blocks_a_staged_key_passes_clean_commits_and_scans_all_files() {
    require_pre_commit();
    let (hooks, rev) = hooks_repo();
    let home = tempfile::tempdir().unwrap();
    let r = Repo::new();
    r.write(
        ".pre-commit-config.yaml",
        format!(
            "repos:\n- repo: {}\n  rev: {rev}\n  hooks:\n  - id: keysweep-system\n  - id: keysweep-files-system\n",
            hooks.path().display()
        ),
    );
    r.write("README.md", "project\n");
    r.commit_all("set up pre-commit");
    let out = run(&r, home.path(), "pre-commit", &["install"]);
    assert!(out.status.success(), "{}", text(&out));

    // 1. A commit that stages a fake key is blocked, with the finding printed.
    let key = fake_token("framework-staged");
    r.write(
        "src/settings.py",
        format!("API = 'x'\nGITHUB_TOKEN = '{key}'\n"),
    );
    r.git(&["add", "src/settings.py"]);
    let head = r.git(&["rev-parse", "HEAD"]);
    let out = run(&r, home.path(), "git", &["commit", "-m", "add settings"]);
    let all = text(&out);
    assert!(!out.status.success(), "commit should be blocked:\n{all}");
    assert_eq!(r.git(&["rev-parse", "HEAD"]), head);
    assert!(
        all.contains("keysweep (staged changes)") && all.contains("Failed"),
        "{all}"
    );
    assert!(
        all.contains("src/settings.py") && all.contains("github-pat"),
        "{all}"
    );
    assert!(all.contains("2:17"), "line and column: {all}");
    assert!(
        all.contains("commit blocked") && all.contains(".keysweepignore"),
        "{all}"
    );
    assert!(
        !all.contains(&key),
        "the secret must not be printed in full:\n{all}"
    );

    // 2. A clean commit passes.
    r.write(
        "src/settings.py",
        "API = 'x'\nGITHUB_TOKEN = os.environ['GITHUB_TOKEN']\n",
    );
    r.git(&["add", "src/settings.py"]);
    let out = run(
        &r,
        home.path(),
        "git",
        &["commit", "-m", "read the token from env"],
    );
    assert!(
        out.status.success(),
        "clean commit blocked:\n{}",
        text(&out)
    );
    assert!(text(&out).contains("Passed"), "{}", text(&out));

    // 3. A key committed earlier (bypassing the hook) is found by --all-files and --files.
    let old = fake_token("framework-old");
    r.write("deploy/old.env", format!("TOKEN={old}\n"));
    r.git(&["add", "deploy/old.env"]);
    r.git(&["commit", "-q", "--no-verify", "-m", "sneak it in"]);
    let out = run(&r, home.path(), "pre-commit", &["run", "--all-files"]);
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains("deploy/old.env") && all.contains("github-pat"),
        "{all}"
    );
    // The staged hook has nothing staged to complain about; the files hook does the work.
    assert!(
        all.contains("keysweep (files)") && all.contains("Failed"),
        "{all}"
    );
    let out = run(
        &r,
        home.path(),
        "pre-commit",
        &["run", "keysweep-files-system", "--files", "deploy/old.env"],
    );
    assert!(
        !out.status.success() && text(&out).contains("deploy/old.env"),
        "{}",
        text(&out)
    );
    let out = run(
        &r,
        home.path(),
        "pre-commit",
        &[
            "run",
            "keysweep-files-system",
            "--files",
            "README.md",
            "src/settings.py",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
}

/// The `language: rust` hooks, as users reference them: pre-commit clones a repository holding
/// this package, builds keysweep with `cargo install`, and runs the built binary. No keysweep is
/// on PATH here, so a pass or a block can only come from the one pre-commit built. The build
/// goes to `target/precommit-rust-hooks` so reruns reuse it (the first one takes minutes).
#[test]
fn rust_hooks_build_keysweep_with_cargo_and_block_a_staged_key() {
    require_pre_commit();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The package as published (Cargo.toml's `include`), plus the manifests cargo reads.
    let hooks = Repo::new();
    for rel in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "README.md",
        ".pre-commit-hooks.yaml",
        "benches/harness.rs",
    ] {
        hooks.write(rel, std::fs::read(root.join(rel)).unwrap());
    }
    for dir in ["src", "rules"] {
        copy_tree(&root.join(dir), dir, &hooks);
    }
    let rev = hooks.commit_all("keysweep");
    let home = tempfile::tempdir().unwrap();
    let r = Repo::new();
    r.write(
        ".pre-commit-config.yaml",
        format!(
            "repos:\n- repo: {}\n  rev: {rev}\n  hooks:\n  - id: keysweep\n  - id: keysweep-files\n",
            hooks.path().display()
        ),
    );
    r.write("README.md", "project\n");
    r.commit_all("set up pre-commit");
    let shims = tempfile::tempdir().unwrap();
    let without_keysweep =
        path_without_keysweep(&std::env::var_os("PATH").unwrap_or_default(), shims.path());
    let target = root.join("target/precommit-rust-hooks");
    let run_here = |program: &str, args: &[&str]| {
        command(&r, home.path(), program, args)
            .env("PATH", &without_keysweep)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap()
    };
    let out = run_here("pre-commit", &["install", "--install-hooks"]);
    assert!(out.status.success(), "{}", text(&out));

    let key = fake_token("rust-hook-staged");
    r.write("src/settings.py", format!("GITHUB_TOKEN = '{key}'\n"));
    r.git(&["add", "src/settings.py"]);
    let head = r.git(&["rev-parse", "HEAD"]);
    let out = run_here("git", &["commit", "-m", "add settings"]);
    let all = text(&out);
    assert!(!out.status.success(), "commit should be blocked:\n{all}");
    assert_eq!(r.git(&["rev-parse", "HEAD"]), head);
    assert!(
        all.contains("src/settings.py") && all.contains("github-pat"),
        "{all}"
    );
    assert!(
        !all.contains(&key),
        "the secret must not be printed:\n{all}"
    );

    let out = run_here(
        "pre-commit",
        &["run", "keysweep-files", "--files", "README.md"],
    );
    assert!(out.status.success(), "{}", text(&out));
}

/// PATH with every `keysweep` hidden and everything else still there. A directory that holds
/// a keysweep (`~/.cargo/bin` after the README's `cargo install`) also holds `cargo`, `rustc`
/// and `rustup`, which the `language: rust` hooks need: it is replaced by a directory of
/// symlinks to all its other programs, in the same place in PATH.
fn path_without_keysweep(path: &std::ffi::OsStr, shims: &Path) -> String {
    let dirs: Vec<PathBuf> = std::env::split_paths(path)
        .enumerate()
        .map(|(i, d)| {
            if !d.join("keysweep").exists() {
                return d;
            }
            let shim = shims.join(i.to_string());
            std::fs::create_dir_all(&shim).unwrap();
            for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if entry.file_name() != "keysweep" {
                    std::os::unix::fs::symlink(entry.path(), shim.join(entry.file_name())).unwrap();
                }
            }
            shim
        })
        .collect();
    std::env::join_paths(dirs).unwrap().into_string().unwrap()
}

#[test]
fn hiding_keysweep_keeps_cargo_on_path() {
    let bin = tempfile::tempdir().unwrap();
    for name in ["keysweep", "cargo"] {
        std::fs::write(bin.path().join(name), "").unwrap();
    }
    let shims = tempfile::tempdir().unwrap();
    let old = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin.path().to_path_buf()];
    dirs.extend(std::env::split_paths(&old));
    let joined = std::env::join_paths(dirs).unwrap();
    let hidden = path_without_keysweep(&joined, shims.path());
    let dirs: Vec<PathBuf> = std::env::split_paths(&hidden).collect();
    assert!(
        dirs.iter().all(|d| !d.join("keysweep").exists()),
        "{hidden}"
    );
    assert!(dirs.iter().any(|d| d.join("cargo").exists()), "{hidden}");
}

fn copy_tree(from: &Path, rel: &str, repo: &Repo) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let rel = format!("{rel}/{name}");
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &rel, repo);
        } else {
            repo.write(&rel, std::fs::read(entry.path()).unwrap());
        }
    }
}
