//! Integration tests for log inputs: compressed and bundled files, damaged archives, limits,
//! CRLF and invalid UTF-8, stdin. Archives are built here with the same crates keysweep reads
//! them with.

mod support;

use std::io::Write;
use support::*;

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn log_with(secret_line: usize, secret: &str, lines: usize) -> Vec<u8> {
    (1..=lines)
        .map(|i| {
            if i == secret_line {
                format!("2024-05-01T10:00:{i:02}Z GET /repos token={secret} 200\n")
            } else {
                format!("2024-05-01T10:00:{i:02}Z GET /health 200 ok\n")
            }
        })
        .collect::<String>()
        .into_bytes()
}

fn scan_json(sb: &Sandbox, args: &[&str]) -> (serde_json::Value, i32, String) {
    let mut cmd = sb.cmd();
    cmd.args(["scan", "-f", "json", "-q"]).args(args);
    run_json(&mut cmd)
}

fn t(rule: &str, path: &str, line: u64) -> (String, String, u64) {
    (rule.to_string(), path.to_string(), line)
}

#[test]
fn gzip_is_opened_by_content_not_name() {
    let sb = Sandbox::new();
    sb.write("app.log.gz", gz(&log_with(7, GH1, 20)));
    // No .gz suffix: still recognised by its magic bytes.
    sb.write("rotated.1", gz(&log_with(3, GH2, 5)));
    let (json, code, _) = scan_json(&sb, &["."]);
    assert_eq!(code, 1);
    assert_eq!(
        triples(&json),
        vec![
            t("github-pat", "app.log.gz", 7),
            t("github-pat", "rotated.1", 3)
        ]
    );
}

#[test]
fn concatenated_gzip_members_are_all_scanned() {
    let sb = Sandbox::new();
    let mut data = gz(&log_with(2, GH1, 4));
    data.extend(gz(&log_with(3, GH2, 4)));
    sb.write("multi.gz", data);
    let (json, _, _) = scan_json(&sb, &["."]);
    assert_eq!(
        triples(&json),
        vec![
            t("github-pat", "multi.gz", 2),
            t("github-pat", "multi.gz", 7)
        ]
    );
}

#[test]
fn zip_and_tar_gz_members_are_named_inside_the_bundle() {
    let sb = Sandbox::new();
    sb.write(
        "bundle.zip",
        zip_of(&[
            ("logs/app.log", &log_with(5, GH1, 9)),
            ("logs/clean.log", b"nothing\n"),
        ]),
    );
    sb.write(
        "support.tar.gz",
        gz(&tar_of(&[("var/log/syslog", &log_with(2, GH3, 3))])),
    );
    sb.write("plain.tar", tar_of(&[("x.log", &log_with(1, GH2, 1))]));
    let (json, code, stderr) = scan_json(&sb, &["."]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        triples(&json),
        vec![
            t("github-pat", "bundle.zip!logs/app.log", 5),
            t("github-pat", "plain.tar!x.log", 1),
            t("github-pat", "support.tar.gz!var/log/syslog", 2),
        ]
    );
    assert_eq!(json["findings"][0]["column"], 39);
}

#[test]
fn nested_archives_open_to_the_documented_depth() {
    let sb = Sandbox::new();
    let inner = gz(&log_with(4, GH1, 4));
    let mid = zip_of(&[("inner/app.log.gz", &inner)]);
    let outer = tar_of(&[("mid.zip", &mid)]);
    sb.write("outer.tar", &outer);
    let (json, code, _) = scan_json(&sb, &["."]);
    assert_eq!(code, 1);
    assert_eq!(
        triples(&json),
        vec![t("github-pat", "outer.tar!mid.zip!inner/app.log.gz", 4)]
    );
    // One level less: the gzip inside the zip is reported, not opened, and the scan is incomplete.
    let (json, code, stderr) = scan_json(&sb, &[".", "--max-archive-depth", "2"]);
    assert_eq!(code, 2);
    assert!(triples(&json).is_empty());
    assert!(
        stderr.contains("outer.tar!mid.zip!inner/app.log.gz: archive nested deeper than 2"),
        "{stderr}"
    );
}

#[test]
fn truncated_gzip_is_a_warning_and_the_start_is_still_scanned() {
    let sb = Sandbox::new();
    let mut body = log_with(3, GH1, 10);
    // Enough incompressible-ish text after the secret that half the file is past it.
    for i in 0..20000u32 {
        body.extend(format!("{:08x} {}\n", i.wrapping_mul(2654435761), i).as_bytes());
    }
    let full = gz(&body);
    sb.write("cut.log.gz", &full[..full.len() / 2]);
    sb.write("ok.log", log_with(1, GH2, 1));
    let (json, code, stderr) = scan_json(&sb, &["."]);
    assert_eq!(code, 2, "incomplete scan must exit 2");
    assert_eq!(
        triples(&json),
        vec![
            t("github-pat", "cut.log.gz", 3),
            t("github-pat", "ok.log", 1)
        ]
    );
    assert!(
        stderr.contains("warning: cut.log.gz: truncated input"),
        "{stderr}"
    );
}

#[test]
fn a_zip_with_one_broken_member_still_scans_the_others() {
    let sb = Sandbox::new();
    let bad_body = log_with(1, GH3, 200);
    let mut data = zip_of(&[
        ("a.log", &log_with(2, GH1, 3)),
        ("broken.log", &bad_body),
        ("c.log", &log_with(1, GH2, 1)),
    ]);
    // Corrupt the middle of broken.log's compressed data (found after its local header name).
    let at = data.windows(10).position(|w| w == b"broken.log").unwrap();
    for b in &mut data[at + 40..at + 60] {
        *b ^= 0x5a;
    }
    sb.write("bundle.zip", data);
    let (json, code, stderr) = scan_json(&sb, &["."]);
    assert_eq!(code, 2, "{stderr}");
    let found = triples(&json);
    assert!(
        found.contains(&t("github-pat", "bundle.zip!a.log", 2)),
        "{found:?}"
    );
    assert!(
        found.contains(&t("github-pat", "bundle.zip!c.log", 1)),
        "{found:?}"
    );
    assert!(
        stderr.contains("warning: bundle.zip!broken.log:"),
        "{stderr}"
    );
}

#[test]
fn a_truncated_zip_is_salvaged_from_its_local_headers() {
    let sb = Sandbox::new();
    let data = zip_of(&[
        ("first.log", &log_with(2, GH1, 3)),
        ("second.log", &log_with(40, GH2, 400)),
    ]);
    // Cut inside the second member: the central directory is gone.
    let at = data.windows(10).position(|w| w == b"second.log").unwrap();
    sb.write("cut.zip", &data[..at + 200]);
    let (json, code, stderr) = scan_json(&sb, &["."]);
    assert_eq!(code, 2);
    assert!(
        triples(&json).contains(&t("github-pat", "cut.zip!first.log", 2)),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: cut.zip: damaged zip archive"),
        "{stderr}"
    );
}

#[test]
fn a_zip_bomb_is_stopped_by_the_ratio_limit() {
    let sb = Sandbox::new();
    let zeros = vec![b'0'; 64 << 20];
    sb.write(
        "bomb.zip",
        zip_of(&[("zeros.txt", &zeros), ("b.log", &log_with(1, GH1, 1))]),
    );
    let (json, code, stderr) = scan_json(&sb, &["."]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("bomb.zip!zeros.txt: expands more than 1000:1"),
        "{stderr}"
    );
    assert_eq!(triples(&json), vec![t("github-pat", "bomb.zip!b.log", 1)]);
}

#[test]
fn the_member_byte_limit_applies_per_input() {
    let sb = Sandbox::new();
    let filler: Vec<u8> = (0..200_000u32)
        .flat_map(|i| format!("{:08x}\n", i.wrapping_mul(2654435761)).into_bytes())
        .collect();
    sb.write(
        "big.tar",
        tar_of(&[("a.log", &filler), ("b.log", &log_with(1, GH1, 1))]),
    );
    let (json, code, stderr) = scan_json(&sb, &[".", "--max-archive-bytes", "1M"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("past the 1 MiB limit"), "{stderr}");
    assert!(triples(&json).is_empty());
}

#[test]
fn stdin_gzip_and_zip_are_opened() {
    let sb = Sandbox::new();
    let mut cmd = sb.cmd();
    cmd.args(["scan", "-", "-f", "json", "-q"])
        .write_stdin(gz(&log_with(2, GH1, 2)));
    let (json, code, _) = run_json(&mut cmd);
    assert_eq!(code, 1);
    assert_eq!(triples(&json), vec![t("github-pat", "-", 2)]);
    let mut cmd = sb.cmd();
    cmd.args(["scan", "-", "-f", "json", "-q"])
        .write_stdin(zip_of(&[("in/x.log", &log_with(3, GH2, 3))]));
    let (json, _, _) = run_json(&mut cmd);
    assert_eq!(triples(&json), vec![t("github-pat", "-!in/x.log", 3)]);
}

#[test]
fn crlf_and_invalid_utf8_logs_keep_exact_positions() {
    let sb = Sandbox::new();
    let mut data = b"first\r\n\xff\xfe bad bytes \xc3\x28\r\n".to_vec();
    data.extend(b"auth ok \x80 ");
    data.extend(format!("token={GH1}\r\nlast\r\n").as_bytes());
    sb.write("win.log", &data);
    let (json, _, _) = scan_json(&sb, &["."]);
    assert_eq!(triples(&json), vec![t("github-pat", "win.log", 3)]);
    let f = &json["findings"][0];
    assert_eq!(f["column"], 17);
    let start = f["byte_start"].as_u64().unwrap() as usize;
    assert_eq!(&data[start..start + GH1.len()], GH1.as_bytes());
}

#[test]
fn encoded_secrets_are_found_at_their_encoded_position() {
    use base64::Engine as _;
    let sb = Sandbox::new();
    let json = GH1.replace('_', "\\u005f");
    let url = GH2.replace('_', "%5f");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("ci-bot:{GH3}"));
    let body = format!(
        "{{\"level\":\"info\",\"headers\":{{\"x-token\":\"{json}\"}}}}\n\
         GET /api?access_token={url}&page=2 HTTP/1.1\n\
         Authorization: Basic {basic}\n"
    );
    sb.write("enc.log", &body);
    let (json_out, code, _) = scan_json(&sb, &["."]);
    assert_eq!(code, 1);
    assert_eq!(
        triples(&json_out),
        vec![
            t("github-pat", "enc.log", 1),
            t("github-pat", "enc.log", 2),
            t("github-pat", "enc.log", 3),
        ]
    );
    let f = &json_out["findings"];
    let span = |i: usize| {
        let s = f[i]["byte_start"].as_u64().unwrap() as usize;
        let e = f[i]["byte_end"].as_u64().unwrap() as usize;
        body[s..e].to_string()
    };
    assert_eq!(span(0), json);
    assert_eq!(span(1), url);
    assert!(basic.contains(&span(2)), "{} in {basic}", span(2));
    // The fingerprint is the decoded key's: the same as the key written plain.
    sb.write("plain.log", format!("{GH1}\n"));
    let (plain, _, _) = scan_json(&sb, &["plain.log"]);
    assert_eq!(plain["findings"][0]["fingerprint"], f[0]["fingerprint"]);
}
