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
