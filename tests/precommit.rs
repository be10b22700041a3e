//! The real pre-commit framework (https://pre-commit.com) driving keysweep through this
//! repository's `.pre-commit-hooks.yaml`.
//!
//! `pre-commit` must be on PATH (`.ci/test` installs it into `.venv` from PyPI); these tests fail,
//! not skip, when it is missing. The `-system` hooks are exercised end to end (a hooks repository
//! holding our `.pre-commit-hooks.yaml`, cloned by pre-commit, with the built keysweep on PATH).
//! The `language: rust` hooks would build keysweep with `cargo install` first (minutes); they are
//! checked for having exactly the same entry and file handling as their `-system` twins, and the
//! manifest is validated by pre-commit itself.

mod common;

use common::{bin_dir, fake_token, Repo};
use std::collections::BTreeMap;
use std::path::Path;
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
    c.env("PATH", path_with_keysweep())
        .env("PRE_COMMIT_HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("PRE_COMMIT_COLOR");
    c.output().unwrap()
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
