//! `keysweep merge` on real reports produced by the binary.

mod support;

use support::*;

#[test]
fn merging_json_and_sarif_reports_of_two_runs() {
    let a = Sandbox::new();
    a.write("a.env", format!("T={GH1}\n"));
    let b = Sandbox::new();
    b.write("b.env", format!("T={GH2}\nU={GH3}\n"));
    let out = Sandbox::new();
    for (sb, name) in [(&a, "a"), (&b, "b")] {
        for fmt in ["json", "sarif"] {
            let file = out.path().join(format!("{name}.{fmt}"));
            sb.cmd()
                .args(["scan", ".", "-f", fmt, "-o"])
                .arg(&file)
                .assert()
                .code(1);
        }
    }
    let (json, code, _) = run_json(out.cmd().args(["merge", "a.json", "b.json"]));
    assert_eq!(code, 1);
    assert_eq!(
        triples(&json),
        vec![
            ("github-pat".into(), "a.env".into(), 1),
            ("github-pat".into(), "b.env".into(), 1),
            ("github-pat".into(), "b.env".into(), 2),
        ]
    );
    assert_eq!(json["summary"]["files_scanned"], 2);
    let (sarif, code, _) = run_json(out.cmd().args(["merge", "a.sarif", "b.sarif"]));
    assert_eq!(code, 1);
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 3);
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("data/sarif-schema-2.1.0.json")).unwrap();
    assert!(jsonschema::is_valid(&schema, &sarif));
    out.cmd()
        .args(["merge", "a.json", "b.sarif"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("b.sarif is a different format"));
}

/// The runnable example of docs/scale.md (fan out one process per input, merge the reports)
/// does what the page says: run as written by bash, in a copy of the inputs it names.
#[test]
fn the_fan_out_and_merge_example_in_docs_scale_runs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join("docs/scale.md")).unwrap();
    let script = page
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/scale.md has a ```sh block");
    let sb = Sandbox::new();
    for (dir, files) in [
        ("fixtures/demo", &[".env", "src/deploy.sh"][..]),
        ("src", &["main.rs"][..]),
    ] {
        for file in files {
            let from = root.join(dir).join(file);
            let text = std::fs::read(&from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
            sb.write(&format!("{dir}/{file}"), text);
        }
    }
    let bin = assert_cmd::cargo::cargo_bin("keysweep");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", script])
        .current_dir(sb.path())
        .env("PATH", path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("exit 1"),
        "findings make the merge exit 1: {stdout}"
    );
    let merged: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sb.path().join("all.json")).unwrap()).unwrap();
    let paths: Vec<&str> = merged["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(!paths.is_empty());
    assert!(
        paths
            .iter()
            .all(|p| p.ends_with(".env") || p.ends_with("deploy.sh")),
        "only the demo's keys, none from src: {paths:?}"
    );
}
