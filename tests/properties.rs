//! Property tests for the invariants the rest of keysweep relies on:
//! - chunked streaming finds exactly what a whole-buffer scan finds, for every chunk size;
//! - redaction is idempotent, keeps every line break, and its output rescans clean;
//! - a fingerprint depends on the rule and the secret only, not on where the secret is.
//!
//! Inputs are built from pieces that matter to a secret scanner: fake keys in several
//! encodings (plain, JSON-escaped, base64, in a URL), keyword-laden filler, long lines past the
//! 1 KiB line cap, CR/LF, NUL and invalid UTF-8 bytes. Case counts are kept small so the whole
//! file runs in seconds in a debug build; `PROPTEST_CASES` raises them.

mod common;

use base64::Engine as _;
use keysweep::engine::Engine;
use keysweep::finding::{fingerprint, Finding, Provenance};
use keysweep::redact;
use keysweep::scan::blob::{scan_bytes, scan_reader_in, Chunking};
use proptest::prelude::*;
use std::sync::OnceLock;

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| Engine::new(keysweep::rules::builtin_rules().unwrap()))
}

fn keys() -> &'static [String] {
    static K: OnceLock<Vec<String>> = OnceLock::new();
    K.get_or_init(|| {
        (0..6)
            .map(|i| common::fake_token(&format!("prop-{i}")))
            .collect()
    })
}

/// Fake AWS secret access keys, generated for these tests.
const AWS: [&str; 2] = [
    "B8X+rVCbVIadHjaH4U6X/UnD/Dmu/Higu6OroqQE",
    "AuX9AzojGyA0Z0sMNXfPRkRjwhBzNlH8SGPV4bXk",
];

/// One piece of a generated input.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    let key = (0..6usize).prop_map(|i| keys()[i].clone());
    prop_oneof![
        4 => key.clone().prop_map(|k| format!("GITHUB_TOKEN={k}").into_bytes()),
        2 => key.clone().prop_map(|k| format!("{{\"t\":\"{k}\"}}").into_bytes()),
        1 => key.clone().prop_map(|k| {
            base64::engine::general_purpose::STANDARD
                .encode(format!("token={k}"))
                .into_bytes()
        }),
        1 => key.prop_map(|k| format!("https://x:{k}@github.com/a").into_bytes()),
        1 => (0..2usize).prop_map(|i| format!("aws_secret_access_key = {}", AWS[i]).into_bytes()),
        1 => Just(b"keysweep:allow".to_vec()),
        4 => prop::collection::vec(
            prop::sample::select(&b"abcdefghijklmnopqrstuvwxyz _-=:\"'ghp_tokenAKIAsk-"[..]),
            0..60,
        ),
        4 => Just(b"\n".to_vec()),
        1 => Just(b"\r\n".to_vec()),
        1 => (1usize..3000).prop_map(|n| vec![b'x'; n]),
        1 => prop::collection::vec(any::<u8>(), 0..16),
    ]
}

fn input(max_pieces: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(piece(), 0..max_pieces).prop_map(|ps| {
        let mut v = Vec::new();
        for p in ps {
            v.extend_from_slice(&p);
            if v.len() % 3 == 0 {
                v.push(b' ');
            }
        }
        v
    })
}

/// What must agree between two scans of the same bytes.
fn key_of(f: &Finding) -> (String, u64, u64, u64, u64, String, String) {
    (
        f.rule_id.clone(),
        f.location.byte_start,
        f.location.byte_end,
        f.location.line,
        f.location.column,
        f.fingerprint.clone(),
        f.snippet.clone(),
    )
}

fn cases(n: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    ProptestConfig {
        cases: n,
        ..ProptestConfig::default()
    }
}

/// The test margin: longer than the line cap (1 KiB each side), the context span and the
/// decoded runs these inputs can hold, shorter than the default so small chunks cross many
/// boundaries quickly.
const TEST_MARGIN: usize = 4 << 10;

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn chunked_scanning_finds_exactly_what_whole_buffer_scanning_finds(
        data in input(120),
        chunk in 1usize..6000,
        pieces in 1usize..4,
    ) {
        let e = engine();
        let mut scratch = e.scratch();
        let p = Provenance::file("p");
        let whole = scan_bytes(e, &mut scratch, &data, &p, false);
        // Chunks below 64 bytes make thousands of steps; they are exercised on short inputs.
        let chunk = if data.len() > 8192 { chunk.max(64) } else { chunk };
        let chunked = scan_reader_in(
            e,
            &mut scratch,
            &data[..],
            &p,
            false,
            Chunking { chunk, margin: TEST_MARGIN, pieces },
            &mut Vec::new(),
        )
        .unwrap();
        let a: Vec<_> = whole.findings.iter().map(key_of).collect();
        let b: Vec<_> = chunked.findings.iter().map(key_of).collect();
        let only_whole: Vec<_> = a.iter().filter(|x| !b.contains(x)).collect();
        let only_chunked: Vec<_> = b.iter().filter(|x| !a.contains(x)).collect();
        prop_assert!(
            a == b,
            "chunk {} x {} pieces over {} bytes: only whole-buffer {:?}; only chunked {:?}",
            chunk,
            pieces,
            data.len(),
            only_whole,
            only_chunked
        );
        prop_assert_eq!(chunked.bytes, data.len() as u64);
        prop_assert_eq!(whole.suppressed_inline, chunked.suppressed_inline);
    }

    #[test]
    fn redaction_is_idempotent_keeps_lines_and_rescans_clean(data in input(80)) {
        let e = engine();
        let mut scratch = e.scratch();
        let once = redact_bytes(e, &mut scratch, &data);
        let count = |d: &[u8]| d.iter().filter(|&&b| b == b'\n').count();
        prop_assert_eq!(count(&once), count(&data));
        let rescan = scan_bytes(e, &mut scratch, &once, &Provenance::file("r"), false);
        prop_assert!(
            rescan.findings.is_empty(),
            "left after redaction: {:?}\n{}",
            rescan.findings.iter().map(|f| (&f.rule_id, &f.snippet)).collect::<Vec<_>>(),
            String::from_utf8_lossy(&once)
        );
        let twice = redact_bytes(e, &mut scratch, &once);
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn fingerprints_depend_on_rule_and_secret_only(
        key in 0usize..6,
        before in input(12),
        after in input(12),
        lines in 0usize..50,
    ) {
        let e = engine();
        let mut scratch = e.scratch();
        let k = &keys()[key];
        let mut data = before.clone();
        data.extend(std::iter::repeat_n(b'\n', lines));
        data.extend_from_slice(format!("\nGITHUB_TOKEN={k}\n").as_bytes());
        data.extend_from_slice(&after);
        let want = fingerprint("github-pat", k.as_bytes());
        let found = scan_bytes(e, &mut scratch, &data, &Provenance::file("a/b.env"), false);
        prop_assert!(found.findings.iter().any(|f| f.fingerprint == want));
        // Everything with this key's fingerprint is this key, wherever it was.
        for f in &found.findings {
            if f.secret.expose() == k.as_bytes() && f.rule_id == "github-pat" {
                prop_assert_eq!(&f.fingerprint, &want);
            }
        }
        // Another path gives the same fingerprint.
        let other = scan_bytes(e, &mut scratch, &data, &Provenance::file("moved.txt"), false);
        let fa: Vec<_> = found.findings.iter().map(|f| &f.fingerprint).collect();
        let fb: Vec<_> = other.findings.iter().map(|f| &f.fingerprint).collect();
        prop_assert_eq!(fa, fb);
    }
}

fn redact_bytes(e: &Engine, scratch: &mut keysweep::engine::Scratch, data: &[u8]) -> Vec<u8> {
    let plan = redact::plan(e, scratch, data, "in", 1 << 20, &mut Vec::new()).unwrap();
    let mut out = Vec::new();
    redact::write_masked(data, &mut out, &plan.masks).unwrap();
    out
}

#[test]
fn fingerprint_is_the_documented_hash() {
    // sha256("github-pat" + "\0" + secret), fixed here so a change to it is noticed: it would
    // invalidate every baseline and .keysweepignore in use.
    assert_eq!(
        fingerprint("github-pat", b"ghp_example"),
        "9a95ec9fc4b4503c02692a90bd1d292c77ed54bea11a987247fc7710a3395a5d"
    );
}

/// Scans `data` in chunks of `chunk` bytes with the test margin, one chunk at a time and
/// three side by side; both must agree.
fn chunked(data: &[u8], chunk: usize) -> keysweep::scan::blob::BlobResult {
    let e = engine();
    let scan = |pieces| {
        scan_reader_in(
            e,
            &mut e.scratch(),
            data,
            &Provenance::file("c"),
            false,
            Chunking {
                chunk,
                margin: TEST_MARGIN,
                pieces,
            },
            &mut Vec::new(),
        )
        .unwrap()
    };
    let (serial, parallel) = (scan(1), scan(3));
    let keys = |r: &keysweep::scan::blob::BlobResult| -> Vec<_> {
        r.findings.iter().map(key_of).collect()
    };
    assert_eq!(keys(&serial), keys(&parallel), "pieces side by side");
    assert_eq!(serial.suppressed_inline, parallel.suppressed_inline);
    assert_eq!(serial.bytes, parallel.bytes);
    serial
}

#[test]
fn regression_snippet_masks_a_neighbour_reported_by_another_chunk() {
    // Found by the chunked == whole property: the snippet masked only the matches reported
    // in the current chunk, so a key on the same line but past the boundary was shown raw.
    let (k1, k2) = (&keys()[0], &keys()[1]);
    let chunk = 2000;
    let mut data = vec![b'.'; chunk - 50];
    data.extend_from_slice(format!(" GITHUB_TOKEN={k1} GITHUB_TOKEN={k2}\n").as_bytes());
    let r = chunked(&data, chunk);
    assert_eq!(r.findings.len(), 2);
    for f in &r.findings {
        for k in [k1, k2] {
            assert!(!f.snippet.contains(k.as_str()), "raw key in {}", f.snippet);
        }
    }
}

#[test]
fn regression_columns_on_a_line_longer_than_the_margin() {
    // Found by the same property: on a line that began in an earlier chunk, columns were
    // counted from the start of the buffer instead of the start of the line.
    let k = &keys()[2];
    let mut data = b"first line\n".to_vec();
    data.extend(std::iter::repeat_n(b'x', 20_000));
    data.extend_from_slice(format!(" GITHUB_TOKEN={k}\n").as_bytes());
    let r = chunked(&data, 1024);
    let f = &r.findings[0];
    assert_eq!(f.location.line, 2);
    assert_eq!(f.location.column, f.location.byte_start - 11 + 1);
    assert_eq!(f.location.end_column, f.location.byte_end - 11 + 1);
}

#[test]
fn regression_inline_allows_in_the_margin_are_counted_once() {
    // The suppressed count of every step included the margins, so one allowed key was
    // counted up to three times.
    let k = &keys()[3];
    let line = format!("GITHUB_TOKEN={k} # keysweep:allow\n");
    let data = line.repeat(400);
    let e = engine();
    let whole = scan_bytes(
        e,
        &mut e.scratch(),
        data.as_bytes(),
        &Provenance::file("w"),
        false,
    );
    assert_eq!(whole.suppressed_inline, 400);
    assert_eq!(chunked(data.as_bytes(), 700).suppressed_inline, 400);
}

#[test]
fn regression_a_zero_chunk_size_does_not_loop_forever() {
    let data = format!("{}GITHUB_TOKEN={}\n", "y".repeat(9000), keys()[4]);
    assert_eq!(chunked(data.as_bytes(), 0).findings.len(), 1);
}
