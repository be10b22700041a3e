//! Integration tests for `keysweep redact`: masked copies that rescan clean and differ from the
//! original only inside the secrets, .gz in and out, the manifest, --check, --in-place, stdin.

mod support;

use std::io::{Read, Write};
use support::*;

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// An HTTP-dump style log with CRLF endings, invalid UTF-8 and three secrets.
fn sample_log() -> Vec<u8> {
    let mut v = Vec::new();
    v.extend(b"GET /v1/models HTTP/1.1\r\n");
    v.extend(format!("X-Trace: {GH1} via proxy\r\n").as_bytes());
    v.extend(b"User-Agent: curl/8.5 \xff\xfe\r\n");
    v.extend(format!("{{\"msg\":\"retry\",\"token\":\"{GH2}\",\"n\":2}}\r\n").as_bytes());
    v.extend(b"\r\n");
    v.extend(format!("again {GH1} and {GH3}\n").as_bytes());
    v.extend(b"last line without newline");
    v
}

/// Checks that `redacted` equals `original` outside the secrets, with each secret replaced by
/// a `[REDACTED:github-pat:xxxxxxxx]` token.
fn assert_only_secrets_changed(original: &[u8], redacted: &[u8]) {
    let mut expected = String::from_utf8_lossy(original).into_owned();
    let out = String::from_utf8_lossy(redacted).into_owned();
    for gh in [GH1, GH2, GH3] {
        expected = expected.replace(gh, "@");
    }
    let re = regex::Regex::new(r"\[REDACTED:github-pat:[0-9a-f]{8}\]").unwrap();
    let normalised = re.replace_all(&out, "@");
    assert_eq!(normalised, expected);
    assert_eq!(
        original.iter().filter(|&&b| b == b'\n').count(),
        redacted.iter().filter(|&&b| b == b'\n').count()
    );
    assert_eq!(
        original.windows(2).filter(|w| w == b"\r\n").count(),
        redacted.windows(2).filter(|w| w == b"\r\n").count()
    );
    // The invalid bytes survive unchanged.
    assert!(redacted.windows(2).any(|w| w == b"\xff\xfe"));
}

#[test]
fn redacted_copy_rescans_clean_and_differs_only_inside_secrets() {
    let sb = Sandbox::new();
    let original = sample_log();
    sb.write("app.log", &original);
    sb.cmd()
        .args(["redact", "app.log", "-o", "safe.log", "-q"])
        .assert()
        .code(0);
    let redacted = std::fs::read(sb.path().join("safe.log")).unwrap();
    assert_only_secrets_changed(&original, &redacted);
    assert_eq!(
        String::from_utf8_lossy(&redacted)
            .matches("[REDACTED:github-pat:")
            .count(),
        4
    );
    // The same secret gets the same token (fingerprint prefix), different secrets differ.
    let text = String::from_utf8_lossy(&redacted);
    let tokens: Vec<&str> = text
        .match_indices("[REDACTED:")
        .map(|(i, _)| &text[i..i + 31])
        .collect();
    assert_eq!(tokens[0], tokens[2]);
    assert_ne!(tokens[0], tokens[1]);
    sb.cmd().args(["scan", "safe.log"]).assert().code(0);
    sb.cmd()
        .args(["redact", "safe.log", "--check"])
        .assert()
        .code(0);
    // The input is untouched.
    assert_eq!(std::fs::read(sb.path().join("app.log")).unwrap(), original);
}

#[test]
fn manifest_lists_what_was_masked_without_the_secret() {
    let sb = Sandbox::new();
    sb.write("app.log", sample_log());
    sb.cmd()
        .args([
            "redact",
            "app.log",
            "-o",
            "out/safe.log",
            "--manifest",
            "m.jsonl",
            "-q",
        ])
        .assert()
        .code(0);
    let manifest = std::fs::read_to_string(sb.path().join("m.jsonl")).unwrap();
    for gh in [GH1, GH2, GH3] {
        assert!(!manifest.contains(&gh[4..]), "manifest leaks a secret");
    }
    let lines: Vec<serde_json::Value> = manifest
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["file"], "app.log");
    assert_eq!(lines[0]["line"], 2);
    assert_eq!(lines[0]["column"], 10);
    assert_eq!(lines[0]["rule_id"], "github-pat");
    assert_eq!(lines[0]["fingerprint"].as_str().unwrap().len(), 64);
    let fp = lines[0]["fingerprint"].as_str().unwrap();
    assert_eq!(
        lines[0]["replacement"],
        format!("[REDACTED:github-pat:{}]", &fp[..8])
    );
    assert_eq!(lines[3]["line"], 6);
}

#[test]
fn gz_in_gives_gz_out() {
    let sb = Sandbox::new();
    let original = sample_log();
    sb.write("app.log.gz", gz(&original));
    sb.cmd()
        .args(["redact", "app.log.gz", "-o", "safe.log.gz", "-q"])
        .assert()
        .code(0);
    let out = std::fs::read(sb.path().join("safe.log.gz")).unwrap();
    assert_eq!(&out[..2], &[0x1f, 0x8b]);
    assert_only_secrets_changed(&original, &gunzip(&out));
    sb.cmd().args(["scan", "safe.log.gz"]).assert().code(0);
}

#[test]
fn check_writes_nothing_and_exits_1_when_something_is_left() {
    let sb = Sandbox::new();
    sb.write("logs/a.log", sample_log());
    sb.write("logs/clean.log", "all good\n");
    let out = sb
        .cmd()
        .args(["redact", "logs", "--check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("logs/a.log:2:10: github-pat [REDACTED:github-pat:"),
        "{stdout}"
    );
    assert!(!stdout.contains(&GH1[4..]));
    let names: Vec<_> = std::fs::read_dir(sb.path().join("logs")).unwrap().collect();
    assert_eq!(names.len(), 2);
    // --check also looks inside bundles, which redact cannot rewrite.
    let sb2 = Sandbox::new();
    sb2.write("b.log.gz", gz(format!("k={GH1}\n").as_bytes()));
    sb2.cmd()
        .args(["redact", "b.log.gz", "--check"])
        .assert()
        .code(1);
}

#[test]
fn in_place_replaces_the_file_atomically_and_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let original = sample_log();
    let p = sb.write("app.log", &original);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
    sb.cmd()
        .args(["redact", "app.log", "--in-place", "-q"])
        .assert()
        .code(0);
    let redacted = std::fs::read(&p).unwrap();
    assert_only_secrets_changed(&original, &redacted);
    assert_eq!(
        std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o640
    );
    // No temporary file is left behind.
    let left: Vec<String> = std::fs::read_dir(sb.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["app.log".to_string()]);
}

#[test]
fn stdin_to_stdout() {
    let sb = Sandbox::new();
    let original = sample_log();
    let out = sb
        .cmd()
        .args(["redact", "-", "-q"])
        .write_stdin(original.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_only_secrets_changed(&original, &out.stdout);
}

#[test]
fn directories_are_mirrored_into_the_output_directory() {
    let sb = Sandbox::new();
    sb.write("logs/a.log", sample_log());
    sb.write("logs/sub/b.log", format!("x {GH3}\n"));
    sb.cmd()
        .args(["redact", "logs", "-o", "safe", "-q"])
        .assert()
        .code(0);
    let b = std::fs::read_to_string(sb.path().join("safe/sub/b.log")).unwrap();
    assert!(b.starts_with("x [REDACTED:github-pat:"), "{b}");
    assert!(sb.path().join("safe/a.log").exists());
    sb.cmd().args(["scan", "safe"]).assert().code(0);
}

#[test]
fn a_truncated_gz_or_a_bundle_is_not_written_and_exits_2() {
    let sb = Sandbox::new();
    let mut body = format!("k={GH1}\n").into_bytes();
    for i in 0..20000u32 {
        body.extend(format!("{:08x}\n", i.wrapping_mul(2654435761)).as_bytes());
    }
    let full = gz(&body);
    sb.write("cut.gz", &full[..full.len() / 2]);
    let out = sb
        .cmd()
        .args(["redact", "cut.gz", "-o", "safe.gz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cut.gz:"));
    assert!(!sb.path().join("safe.gz").exists());
}

#[test]
fn refuses_ambiguous_destinations() {
    let sb = Sandbox::new();
    sb.write("a.log", "x\n");
    sb.cmd().args(["redact", "a.log"]).assert().code(2);
    sb.cmd()
        .args(["redact", "a.log", "-o", "a.log"])
        .assert()
        .code(2);
    sb.cmd()
        .args(["redact", "-", "--in-place"])
        .write_stdin("x")
        .assert()
        .code(2);
}

#[test]
fn encoded_secrets_are_masked_over_their_encoded_span() {
    use base64::Engine as _;
    let sb = Sandbox::new();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("ci-bot:{GH3}"));
    let body = format!(
        "{{\"t\":\"{}\"}}\nGET /x?token={} 200\nAuthorization: Basic {basic}\n",
        GH1.replace('_', "\\u005f"),
        GH2.replace('_', "%5F")
    );
    sb.write("enc.log", &body);
    sb.cmd()
        .args(["redact", "enc.log", "-o", "safe.log", "-q"])
        .assert()
        .code(0);
    let out = std::fs::read_to_string(sb.path().join("safe.log")).unwrap();
    assert_eq!(out.matches("[REDACTED:github-pat:").count(), 3, "{out}");
    assert_eq!(out.lines().count(), 3);
    assert!(out.starts_with("{\"t\":\"[REDACTED:github-pat:"), "{out}");
    assert!(out.contains("GET /x?token=[REDACTED:github-pat:"), "{out}");
    assert!(out.contains(" 200\n"), "{out}");
    sb.cmd().args(["scan", "safe.log"]).assert().code(0);
}

#[test]
fn git_ignored_log_directories_are_still_redacted() {
    let sb = Sandbox::new();
    sb.write(".gitignore", "logs/\n");
    sb.write("logs/a.log", format!("k={GH1}\n"));
    sb.cmd()
        .args(["redact", "logs", "-o", "safe", "-q"])
        .assert()
        .code(0);
    let a = std::fs::read_to_string(sb.path().join("safe/a.log")).unwrap();
    assert!(a.starts_with("k=[REDACTED:github-pat:"), "{a}");
}

#[test]
fn redact_output_to_a_device_writes_in_place_and_leaves_it_a_device() {
    // Regression twin of the scan test: the atomic write renamed a temporary file over
    // `-o /dev/null`, replacing the device with a regular file.
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.log"),
        "token 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\n",
    )
    .unwrap();
    assert_cmd::Command::cargo_bin("keysweep")
        .unwrap()
        .current_dir(dir.path())
        .args(["redact", "app.log", "-o", "/dev/null", "--no-config"])
        .assert()
        .code(0);
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(meta.file_type().is_char_device(), "/dev/null was replaced");
}

fn tar_of(name: &str, data: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, name, data).unwrap();
    b.into_inner().unwrap()
}

fn zip_of(name: &str, data: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file(name, opts).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap().into_inner()
}

/// Compressed and bundled bytes on stdin are recognised by content, as files are: `scan -`
/// and `redact --check -` find the key inside each container; `redact -` masks it inside a
/// gzip stream (gzip out) and refuses a zip or tar it cannot rewrite, never echoing the key.
#[test]
fn containers_on_stdin_are_sniffed_by_scan_redact_and_check() {
    let sb = Sandbox::new();
    let log = format!("ts=1 token={GH1}\n").into_bytes();
    let containers: [(&str, Vec<u8>); 4] = [
        ("gzip", gz(&log)),
        ("zip", zip_of("app.log", &log)),
        ("tar", tar_of("app.log", &log)),
        ("tar.gz", gz(&tar_of("app.log", &log))),
    ];
    for (what, bytes) in containers {
        let out = sb
            .cmd()
            .args(["scan", "-", "-q", "-f", "jsonl"])
            .write_stdin(bytes.clone())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "scan - on {what}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("github-pat"),
            "{what}"
        );

        let out = sb
            .cmd()
            .args(["redact", "--check", "-", "-q"])
            .write_stdin(bytes.clone())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "redact --check - on {what}");

        let out = sb
            .cmd()
            .args(["redact", "-", "-q"])
            .write_stdin(bytes.clone())
            .output()
            .unwrap();
        let all = [&out.stdout[..], &out.stderr[..]].concat();
        assert!(
            !String::from_utf8_lossy(&all).contains(GH1),
            "redact - on {what} let the key through"
        );
        if what == "gzip" {
            assert_eq!(out.status.code(), Some(0), "{what}");
            let plain = String::from_utf8(gunzip(&out.stdout)).unwrap();
            assert!(
                plain.starts_with("ts=1 token=[REDACTED:github-pat:") && plain.ends_with("]\n"),
                "{plain}"
            );
        } else {
            assert_eq!(out.status.code(), Some(2), "redact - on {what}");
            assert!(out.stdout.is_empty(), "{what}: nothing is written");
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("cannot be rewritten"),
                "{what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
