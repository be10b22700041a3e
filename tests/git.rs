//! `keysweep git`, `--staged`, baselines, `.keysweepignore` and `install-hook`, run against real
//! repositories built with the git CLI in temporary directories.

mod common;

use common::{fake_token, findings, Repo};
use serde_json::Value;

fn commit_of(f: &Value) -> &str {
    f["commit"]["commit"].as_str().unwrap()
}

#[test]
fn history_attributes_each_key_to_the_commit_that_added_it_across_branches_and_merges() {
    let r = Repo::new();
    let (a, b) = (fake_token("main-key"), fake_token("feature-key"));
    r.write("README.md", "hello\n");
    r.commit_all("initial");
    r.write(
        "config/app.env",
        format!("# settings\nDEBUG=1\nGITHUB_TOKEN={a}\n"),
    );
    let c_a = r.commit_all("Add app settings");
    r.git(&["checkout", "-q", "-b", "feature", "HEAD~1"]);
    r.write("feat.txt", format!("line one\ntoken: {b}\n"));
    let c_b = r.commit_all("Feature work");

    let (code, rep, _) = r.json(&["git"]);
    assert_eq!(code, 1);
    let fs = findings(&rep);
    assert_eq!(fs.len(), 2, "{rep:#}");
    let fa = fs.iter().find(|f| f["path"] == "config/app.env").unwrap();
    assert_eq!(fa["line"], 3);
    assert_eq!(fa["rule_id"], "github-pat");
    assert_eq!(commit_of(fa), c_a);
    assert_eq!(fa["commit"]["summary"], "Add app settings");
    assert_eq!(fa["commit"]["author_name"], "Ada Tester");
    assert_eq!(fa["commit"]["author_email"], "ada@example.test");
    assert_eq!(fa["commit"]["date"], "2023-11-15T00:13:20+00:00");
    let fb = fs.iter().find(|f| f["path"] == "feat.txt").unwrap();
    assert_eq!(
        (commit_of(fb), fb["line"].as_u64()),
        (c_b.as_str(), Some(2))
    );
    assert_eq!(rep["summary"]["commits_scanned"], 3);

    // One branch only.
    let (_, rep, _) = r.json(&["git", "--branch", "main"]);
    let fs = findings(&rep);
    assert_eq!(fs.len(), 1);
    assert_eq!(fs[0]["path"], "config/app.env");

    // After a merge the feature key still points at the feature commit, not the merge.
    r.git(&["checkout", "-q", "main"]);
    r.git(&["merge", "-q", "--no-ff", "--no-edit", "feature"]);
    r.git(&["branch", "-q", "-D", "feature"]);
    let (_, rep, _) = r.json(&["git"]);
    let fs = findings(&rep);
    assert_eq!(fs.len(), 2);
    let fb = fs.iter().find(|f| f["path"] == "feat.txt").unwrap();
    assert_eq!(commit_of(fb), c_b);
}

#[test]
fn a_deleted_key_is_found_once_at_the_commit_that_added_it() {
    let r = Repo::new();
    let k = fake_token("deleted");
    r.write("app.py", "print('hi')\n");
    r.commit_all("start");
    r.write("app.py", format!("print('hi')\nTOKEN = '{k}'\n"));
    let added = r.commit_all("wire up the API");
    r.write("app.py", format!("import os\nprint('hi')\nTOKEN = '{k}'\n"));
    r.commit_all("unrelated edit above the key");
    r.write("app.py", "import os\nprint('hi')\n");
    r.commit_all("remove the key");

    let (code, rep, _) = r.json(&["git"]);
    assert_eq!(code, 1);
    let fs = findings(&rep);
    assert_eq!(
        fs.len(),
        1,
        "one finding, not one per blob version: {rep:#}"
    );
    assert_eq!(commit_of(&fs[0]), added);
    assert_eq!(fs[0]["line"], 2);
    assert_eq!(fs[0]["commit"]["summary"], "wire up the API");
    // The working tree is clean: a file scan finds nothing.
    r.keysweep().args(["scan", "."]).assert().code(0);
}

#[test]
fn range_reports_only_what_the_branch_adds() {
    let r = Repo::new();
    let (old, new) = (fake_token("old-on-main"), fake_token("new-on-branch"));
    r.write("settings.txt", format!("token={old}\n"));
    r.commit_all("old key on main");
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.write("settings.txt", format!("token={old}\nother=1\n"));
    r.commit_all("touch the file with the old key");
    r.write("new.txt", format!("k={new}\n"));
    let c_new = r.commit_all("add new key");

    let (code, rep, _) = r.json(&["git", "--range", "main..topic"]);
    assert_eq!(code, 1);
    let fs = findings(&rep);
    assert_eq!(fs.len(), 1, "{rep:#}");
    assert_eq!(fs[0]["path"], "new.txt");
    assert_eq!(commit_of(&fs[0]), c_new);
    assert_eq!(rep["summary"]["commits_scanned"], 2);

    let (code, rep, _) = r.json(&["git", "--range", "topic..main"]);
    assert_eq!((code, findings(&rep).len()), (0, 0));

    r.keysweep()
        .args(["git", "--range", "nosuch..main"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("nosuch"));
}

#[test]
fn since_and_max_commits_limit_the_walk() {
    let r = Repo::new();
    let (k1, k2) = (fake_token("first"), fake_token("second"));
    r.write("a.txt", format!("{k1}\n"));
    r.commit_all("one"); // BASE_DATE + 1h
    r.write("b.txt", format!("{k2}\n"));
    let c2 = r.commit_all("two"); // BASE_DATE + 2h

    let (_, rep, _) = r.json(&["git", "--max-commits", "1"]);
    let fs = findings(&rep);
    assert_eq!(fs.len(), 1, "a.txt was already there: {rep:#}");
    assert_eq!(
        (fs[0]["path"].as_str(), commit_of(&fs[0])),
        (Some("b.txt"), c2.as_str())
    );

    let since = format!("@{}", common::BASE_DATE + 5400);
    let (_, rep, _) = r.json(&["git", "--since", &since]);
    assert_eq!(findings(&rep).len(), 1);
    let (code, rep, _) = r.json(&["git", "--since", "2099-01-01"]);
    assert_eq!((code, findings(&rep).len()), (0, 0));
    r.keysweep()
        .args(["git", "--since", "last tuesday"])
        .assert()
        .code(2);
}

#[test]
fn renamed_file_keeps_the_original_commit_and_path() {
    let r = Repo::new();
    let k = fake_token("rename");
    r.write("old/name.cfg", format!("key={k}\n"));
    let c1 = r.commit_all("add");
    r.git(&["mv", "old", "new"]);
    r.commit_all("rename");
    let (_, rep, _) = r.json(&["git"]);
    let fs = findings(&rep);
    assert_eq!(fs.len(), 1);
    assert_eq!(fs[0]["path"], "old/name.cfg");
    assert_eq!(commit_of(&fs[0]), c1);
}

#[test]
fn binary_blobs_are_skipped_unless_asked_and_lfs_pointers_are_plain_text() {
    let r = Repo::new();
    let k = fake_token("binary");
    let mut bin = b"\x00\x01\x02PNG".to_vec();
    bin.extend_from_slice(format!("\nkey={k}\n").as_bytes());
    r.write("img.bin", bin);
    r.write(
        "big.psd",
        "version https://git-lfs.github.com/spec/v1\n\
         oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n\
         size 12345\n",
    );
    r.commit_all("assets");
    let (code, rep, _) = r.json(&["git"]);
    assert_eq!((code, findings(&rep).len()), (0, 0));
    assert_eq!(rep["summary"]["skipped_binary"], 1);
    assert_eq!(rep["summary"]["files_scanned"], 1);
    let (code, rep, _) = r.json(&["git", "--binary"]);
    assert_eq!((code, findings(&rep).len()), (1, 1));
}

#[test]
fn empty_repository_and_first_commit() {
    let r = Repo::new();
    let (code, rep, _) = r.json(&["git"]);
    assert_eq!((code, findings(&rep).len()), (0, 0));
    assert_eq!(rep["summary"]["incomplete"], false);
    // Before the first commit, --staged compares with the empty tree.
    let (code, rep, _) = r.json(&["git", "--staged"]);
    assert_eq!((code, findings(&rep).len()), (0, 0));
    r.write("a.txt", format!("x\n{}\n", fake_token("first-commit")));
    r.git(&["add", "a.txt"]);
    let (code, rep, _) = r.json(&["git", "--staged"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&rep)[0]["line"], 2);
    // Not a repository at all.
    let plain = tempfile::tempdir().unwrap();
    r.keysweep()
        .args(["git", plain.path().to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a git repository"));
}

#[test]
fn shallow_clone_is_scanned_with_a_warning() {
    let src = Repo::new();
    let k = fake_token("shallow");
    src.write("keys.txt", format!("{k}\n"));
    src.commit_all("old commit with the key");
    src.write("b.txt", "b\n");
    src.commit_all("two");
    src.write("c.txt", "c\n");
    let tip = src.commit_all("three");
    let dst = Repo::empty_dir();
    let url = format!("file://{}", src.path().display());
    dst.git(&["clone", "-q", "--depth", "1", &url, "."]);
    let (code, rep, err) = dst.json(&["git"]);
    assert_eq!(code, 1, "{err}");
    let fs = findings(&rep);
    assert_eq!(fs.len(), 1);
    // The oldest commit this clone has is the only place it can point to.
    assert_eq!(commit_of(&fs[0]), tip);
    assert!(err.contains("shallow clone"), "{err}");
    assert_eq!(rep["summary"]["incomplete"], false);
}

#[test]
fn detached_head_commits_are_scanned() {
    let r = Repo::new();
    r.write("a.txt", "a\n");
    r.commit_all("one");
    r.git(&["checkout", "-q", "--detach"]);
    r.write("d.txt", format!("{}\n", fake_token("detached")));
    let c = r.commit_all("on a detached head");
    let (code, rep, _) = r.json(&["git"]);
    assert_eq!(code, 1);
    assert_eq!(commit_of(&findings(&rep)[0]), c);
}

#[test]
fn submodules_are_reported_not_entered() {
    let r = Repo::new();
    r.write("a.txt", "a\n");
    let c = r.commit_all("one");
    r.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{c},vendor/lib"),
    ]);
    r.commit("add a submodule");
    let (code, rep, err) = r.json(&["git"]);
    assert_eq!(code, 0, "{err}");
    let w = rep["warnings"].as_array().unwrap();
    assert!(
        w.iter()
            .any(|w| w["path"] == "vendor/lib"
                && w["message"].as_str().unwrap().contains("not entered")),
        "{rep:#}"
    );
    assert_eq!(rep["summary"]["incomplete"], false);
}

#[test]
fn a_corrupt_object_is_named_and_the_scan_goes_on_incomplete() {
    let r = Repo::new();
    let (good, bad) = (fake_token("good-object"), fake_token("bad-object"));
    r.write("good.txt", format!("{good}\n"));
    r.write("bad.txt", format!("{bad}\n"));
    r.commit_all("two files");
    let oid = r.git(&["rev-parse", "HEAD:bad.txt"]);
    let obj = r
        .path()
        .join(".git/objects")
        .join(&oid[..2])
        .join(&oid[2..]);
    let mut perms = std::fs::metadata(&obj).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&obj, perms).unwrap();
    std::fs::write(&obj, b"this is not a zlib stream").unwrap();

    let (code, rep, err) = r.json(&["git"]);
    assert_eq!(code, 2, "incomplete scan: {err}");
    assert!(err.contains(&oid), "the warning names the object: {err}");
    assert!(err.contains("bad.txt"), "{err}");
    let fs = findings(&rep);
    assert_eq!(fs.len(), 1, "the other blob is still scanned");
    assert_eq!(fs[0]["path"], "good.txt");
    assert_eq!(rep["summary"]["incomplete"], true);
}

#[test]
fn staged_scan_reads_the_index_and_reports_only_added_lines() {
    let r = Repo::new();
    let (committed, staged, unstaged, gone) = (
        fake_token("committed"),
        fake_token("staged"),
        fake_token("unstaged"),
        fake_token("staged-then-removed-from-worktree"),
    );
    r.write("a.txt", format!("one\ncommitted={committed}\nthree\n"));
    r.commit_all("base");
    // Staged: a new line in a file that already holds a committed key.
    r.write(
        "a.txt",
        format!("one\ncommitted={committed}\nthree\nstaged={staged}\n"),
    );
    r.git(&["add", "a.txt"]);
    // Unstaged: only in the working tree.
    r.write(
        "a.txt",
        format!("one\ncommitted={committed}\nthree\nstaged={staged}\nunstaged={unstaged}\n"),
    );
    // Staged, then deleted from the working tree without staging the deletion.
    r.write("b.txt", format!("{gone}\n"));
    r.git(&["add", "b.txt"]);
    std::fs::remove_file(r.path().join("b.txt")).unwrap();

    let (code, rep, err) = r.json(&["git", "--staged"]);
    assert_eq!(code, 1);
    let mut got: Vec<(String, u64)> = findings(&rep)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, vec![("a.txt".into(), 4), ("b.txt".into(), 1)], "{err}");
    // The staged report has no commit.
    assert!(findings(&rep)[0].get("commit").is_none());

    // A pure rename of a file with a committed key adds nothing.
    r.git(&["reset", "-q", "--hard"]);
    r.git(&["mv", "a.txt", "renamed.txt"]);
    let (code, rep, _) = r.json(&["git", "--staged"]);
    assert_eq!((code, findings(&rep).len()), (0, 0), "{rep:#}");
}

#[test]
fn staged_text_output_explains_how_to_proceed() {
    let r = Repo::new();
    r.write("a.txt", "a\n");
    r.commit_all("one");
    let k = fake_token("advice");
    r.write("src/conf.py", format!("TOKEN = \"{k}\"\n"));
    r.git(&["add", "."]);
    let out = r.keysweep().args(["git", "--staged"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("src/conf.py") && stdout.contains("github-pat"),
        "{stdout}"
    );
    assert!(
        !stdout.contains(&k) && !stderr.contains(&k),
        "secret printed in full"
    );
    assert!(stderr.contains("commit blocked"), "{stderr}");
    assert!(stderr.contains("keysweep:allow"), "{stderr}");
    let fp = keysweep::finding::fingerprint("github-pat", k.as_bytes());
    assert!(
        stderr.contains(&format!(
            "echo '{fp}  # github-pat in src/conf.py' >> .keysweepignore"
        )),
        "{stderr}"
    );
    // Following the advice unblocks the commit.
    r.write(
        ".keysweepignore",
        format!("{fp}  # github-pat in src/conf.py\n"),
    );
    r.keysweep().args(["git", "--staged"]).assert().code(0);
}

#[test]
fn inline_allow_suppresses_in_history_and_staged() {
    let r = Repo::new();
    r.write(
        "t.txt",
        format!("fixture = '{}'  # keysweep:allow\n", fake_token("allowed")),
    );
    r.git(&["add", "."]);
    r.keysweep().args(["git", "--staged"]).assert().code(0);
    r.commit("allowed fixture");
    let (code, rep, _) = r.json(&["git"]);
    assert_eq!(code, 0);
    assert_eq!(rep["summary"]["suppressed_inline"], 1);
}

#[test]
fn sarif_and_text_carry_the_commit() {
    let r = Repo::new();
    r.write("deploy/key.txt", format!("{}\n", fake_token("sarif")));
    let c = r.commit_all("Deploy key");
    let out = r
        .keysweep()
        .args(["git", "--format", "sarif"])
        .output()
        .unwrap();
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let res = &sarif["runs"][0]["results"][0];
    assert_eq!(
        res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "deploy/key.txt"
    );
    assert_eq!(res["properties"]["commit"], c.as_str());
    let out = r.keysweep().args(["git"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("commit {}", &c[..12])), "{text}");
    assert!(text.contains("Deploy key"), "{text}");
}

#[test]
fn keysweepignore_takes_fingerprints_and_globs_in_scan_and_git() {
    let r = Repo::new();
    let (a, b, c) = (fake_token("ig-a"), fake_token("ig-b"), fake_token("ig-c"));
    r.write("src/a.txt", format!("{a}\n"));
    r.write("fixtures/keys/b.txt", format!("{b}\n"));
    r.write("src/c.txt", format!("{c}\n"));
    let fp_a = keysweep::finding::fingerprint("github-pat", a.as_bytes());
    r.write(
        ".keysweepignore",
        format!("# known test values\n{fp_a}   # github-pat in src/a.txt\n\nfixtures/\n"),
    );
    r.commit_all("files");
    for args in [vec!["git"], vec!["scan", "."]] {
        let (code, rep, _) = r.json(&args);
        let fs = findings(&rep);
        assert_eq!(code, 1);
        assert_eq!(fs.len(), 1, "{args:?}: {rep:#}");
        assert_eq!(fs[0]["path"], "src/c.txt");
        assert_eq!(rep["summary"]["suppressed_baseline"], 2);
    }
    // Scanning from outside the root still matches globs relative to it.
    let outside = r.path().parent().unwrap();
    let dir = r.path().file_name().unwrap().to_str().unwrap();
    let out = r
        .keysweep()
        .current_dir(outside)
        .args(["scan", dir, "--format", "json"])
        .output()
        .unwrap();
    let rep: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings(&rep).len(), 1, "{rep:#}");
    let (_, rep, _) = r.json(&["git", "--no-keysweepignore"]);
    assert_eq!(findings(&rep).len(), 3);
}

#[test]
fn baseline_suppresses_known_findings_and_check_lists_stale_entries() {
    let r = Repo::new();
    let (a, b, c) = (fake_token("bl-a"), fake_token("bl-b"), fake_token("bl-c"));
    r.write("one.txt", format!("{a}\n"));
    r.write("two.txt", format!("x\n{b}\n"));
    r.commit_all("legacy keys");
    r.keysweep()
        .args(["baseline", "create", "-o", "base.toml"])
        .assert()
        .code(0);
    let text = std::fs::read_to_string(r.path().join("base.toml")).unwrap();
    assert!(
        !text.contains(&a) && !text.contains(&b),
        "raw secret in baseline"
    );
    assert!(!text.contains(&a[..12]), "secret prefix in baseline");
    assert!(
        !text.contains("line =") && !text.contains("commit"),
        "no lines/commits: {text}"
    );
    let entries: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("fingerprint ="))
        .collect();
    assert_eq!(entries.len(), 2);
    assert!(
        entries[0].contains("one.txt") && entries[1].contains("two.txt"),
        "sorted"
    );
    // Deterministic: the same scan writes the same bytes.
    r.keysweep()
        .args(["baseline", "create", "-o", "again.toml"])
        .assert()
        .code(0);
    assert_eq!(
        text,
        std::fs::read_to_string(r.path().join("again.toml")).unwrap()
    );

    r.keysweep()
        .args(["scan", ".", "--baseline", "base.toml"])
        .assert()
        .code(0);
    r.keysweep()
        .args(["git", "--baseline", "base.toml"])
        .assert()
        .code(0);
    // A new key is reported, the known ones are not.
    r.write("three.txt", format!("{c}\n"));
    let (code, rep, _) = r.json(&["scan", ".", "--baseline", "base.toml"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&rep).len(), 1);
    assert_eq!(findings(&rep)[0]["path"], "three.txt");
    assert_eq!(rep["summary"]["suppressed_baseline"], 2);
    assert_eq!(rep["summary"]["findings"], 1);

    // Removing a key makes its entry stale.
    r.keysweep()
        .args(["baseline", "check", "base.toml"])
        .assert()
        .code(0);
    std::fs::remove_file(r.path().join("one.txt")).unwrap();
    let out = r
        .keysweep()
        .args(["baseline", "check", "base.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("stale:") && stdout.contains("one.txt"),
        "{stdout}"
    );
    assert!(!stdout.contains("two.txt"));
    // Still in history, so not stale for a history baseline check.
    r.keysweep()
        .args(["baseline", "check", "base.toml", "--git"])
        .assert()
        .code(0);
    r.keysweep()
        .args(["baseline", "check", "base.toml", "--prune"])
        .assert()
        .code(0);
    let pruned = std::fs::read_to_string(r.path().join("base.toml")).unwrap();
    assert!(!pruned.contains("one.txt") && pruned.contains("two.txt"));
    r.keysweep()
        .args(["scan", ".", "--baseline", "missing.toml"])
        .assert()
        .code(2);
}

#[test]
fn baseline_survives_rebase_squash_and_moving_the_line() {
    let r = Repo::new();
    let k = fake_token("survivor");
    r.write("README.md", "readme\n");
    r.commit_all("one");
    r.write("app/settings.ini", format!("[api]\ntoken = {k}\n"));
    r.commit_all("two: settings");
    r.write("notes.txt", "n\n");
    r.commit_all("three");
    r.keysweep()
        .args([
            "baseline",
            "create",
            "--git",
            "-o",
            "../history-baseline.toml",
        ])
        .assert()
        .code(0);
    let baseline = r.path().parent().unwrap().join("history-baseline.toml");
    let baseline = baseline.to_str().unwrap();
    let (_, before, _) = r.json(&["git"]);
    let old_commit = commit_of(&findings(&before)[0]).to_string();

    // Squash the whole history into one commit, then move the line down and into another file,
    // then rebase onto a new root commit.
    let root = r.git(&["rev-list", "--max-parents=0", "HEAD"]);
    r.git(&["reset", "-q", "--soft", &root]);
    r.git(&["commit", "-q", "--amend", "-m", "squashed"]);
    r.write(
        "app/settings.ini",
        "[api]\n# moved below\nurl = https://api.example.test\n",
    );
    r.write(
        "config/moved.ini",
        format!("[other]\na = 1\nb = 2\n\n[api]\ntoken = {k}\n"),
    );
    r.commit_all("move the token");
    r.git(&["checkout", "-q", "--orphan", "newbase"]);
    r.git(&["rm", "-rqf", "."]);
    r.write("BASE", "new base\n");
    r.git(&["add", "BASE"]);
    r.commit("new root");
    r.git(&["rebase", "-q", "newbase", "main"]);
    r.git(&["branch", "-q", "-D", "newbase"]);
    r.git(&["reflog", "expire", "--expire=now", "--all"]);
    r.git(&["gc", "-q", "--prune=now"]);

    let (code, rep, _) = r.json(&["git"]);
    assert_eq!(code, 1, "the key is still in history");
    let fs = findings(&rep);
    assert!(
        fs.iter().all(|f| commit_of(f) != old_commit),
        "history was rewritten"
    );
    assert!(fs
        .iter()
        .any(|f| f["path"] == "config/moved.ini" && f["line"] == 6));
    let (code, rep, _) = r.json(&["git", "--baseline", baseline]);
    assert_eq!((code, findings(&rep).len()), (0, 0), "{rep:#}");
    assert!(rep["summary"]["suppressed_baseline"].as_u64().unwrap() >= 1);
    r.keysweep()
        .args(["scan", ".", "--baseline", baseline])
        .assert()
        .code(0);
}

#[test]
fn install_hook_blocks_commits_including_commit_dash_a_and_respects_other_hooks() {
    let r = Repo::new();
    r.write("a.txt", "a\n");
    r.commit_all("one");
    r.keysweep().args(["install-hook"]).assert().code(0);
    let hook = r.path().join(".git/hooks/pre-commit");
    assert!(std::fs::read_to_string(&hook)
        .unwrap()
        .contains("git --staged"));

    // `git commit -a` uses a temporary index (GIT_INDEX_FILE): still blocked.
    r.write("a.txt", format!("a\ntoken={}\n", fake_token("hook-a")));
    let head = r.git(&["rev-parse", "HEAD"]);
    let out = r
        .git_cmd(&["commit", "-a", "-m", "sneaky"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("github-pat") && all.contains("commit blocked"),
        "{all}"
    );
    assert_eq!(r.git(&["rev-parse", "HEAD"]), head);
    // A clean commit passes.
    r.write("a.txt", "a\nb\n");
    let out = r
        .git_cmd(&["commit", "-a", "-m", "clean"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Re-installing over our own hook is fine; a foreign hook needs --force and is kept.
    r.keysweep().args(["install-hook"]).assert().code(0);
    std::fs::write(&hook, "#!/bin/sh\necho mine\n").unwrap();
    r.keysweep()
        .args(["install-hook"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--force"));
    assert_eq!(
        std::fs::read_to_string(&hook).unwrap(),
        "#!/bin/sh\necho mine\n"
    );
    r.keysweep()
        .args(["install-hook", "--force"])
        .assert()
        .code(0);
    assert_eq!(
        std::fs::read_to_string(r.path().join(".git/hooks/pre-commit.keysweep-backup")).unwrap(),
        "#!/bin/sh\necho mine\n"
    );
    r.keysweep()
        .args(["install-hook", "--uninstall"])
        .assert()
        .code(0);
    assert!(!hook.exists());
}

/// Regression (#16, commit metadata): a key in a commit message is a finding of its own, and
/// it never appears raw in the text, JSON or SARIF report's commit summary.
#[test]
fn a_key_in_a_commit_message_is_found_and_masked_in_every_report() {
    let r = Repo::new();
    let key = fake_token("in-a-message");
    r.write("README.md", "hello\n");
    r.commit_all(&format!("use token {key} for the deploy"));
    r.write("app.env", format!("GITHUB_TOKEN={key}\n"));
    r.commit_all(&format!("config: rotate {key}"));
    let (_, rep, _) = r.json(&["git"]);
    let f = findings(&rep);
    let in_message: Vec<&Value> = f
        .iter()
        .filter(|x| x["path"] == "(commit message)")
        .collect();
    assert_eq!(
        in_message.len(),
        1,
        "one finding for the key in messages: {f:#?}"
    );
    assert_eq!(in_message[0]["rule_id"], "github-pat");
    let first = r.git(&["rev-list", "--max-parents=0", "HEAD"]);
    assert_eq!(
        commit_of(in_message[0]),
        first,
        "the oldest message holding it"
    );
    for format in ["text", "json", "sarif"] {
        let out = r.keysweep().args(["git", "-f", format]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(&key), "{format} shows the key:\n{all}");
        assert!(
            all.contains("rotate "),
            "{format}: the summary is still shown"
        );
    }
}
