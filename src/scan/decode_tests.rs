//! Decoder tests with fake keys (allowlisted in keysweep.toml).
use super::*;
use crate::rules::builtin_rules;

const GH: &str = "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";

fn found(text: &str) -> Vec<(String, Vec<u8>)> {
    let engine = Engine::new(builtin_rules().unwrap());
    let mut scratch = engine.scratch();
    let mut ds = DecodeScratch::default();
    find(&engine, &mut scratch, text.as_bytes(), &mut ds)
        .into_iter()
        .map(|d| (text[d.m.start..d.m.end].to_string(), d.secret))
        .collect()
}

#[test]
fn json_unicode_escape_maps_back_to_the_encoded_span() {
    let enc = GH.replace('_', "\\u005f");
    let text = format!("{{\"token\":\"{enc}\"}}\n");
    assert_eq!(found(&text), vec![(enc, GH.as_bytes().to_vec())]);
}

#[test]
fn url_encoding_is_decoded() {
    let enc = GH.replace('_', "%5F");
    let text = format!("GET /x?access_token={enc}&y=1\n");
    assert_eq!(found(&text), vec![(enc, GH.as_bytes().to_vec())]);
}

#[test]
fn basic_auth_base64_is_decoded() {
    use base64::engine::general_purpose::STANDARD;
    let b64 = STANDARD.encode(format!("deploy:{GH}"));
    let text = format!("Authorization: Basic {b64}\r\n");
    let f = found(&text);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].1, GH.as_bytes());
    assert!(b64.ends_with(&f[0].0), "{} in {b64}", f[0].0);
}

#[test]
fn plain_secrets_and_plain_text_are_left_to_the_plain_scan() {
    assert!(found(&format!("t={GH} \\/ %41\n")).is_empty());
    assert!(found("path=C:\\\\dir %20 \\u0041 aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ=\n").is_empty());
}

#[test]
fn allow_marker_on_the_line_suppresses() {
    let enc = GH.replace('_', "%5F");
    assert!(found(&format!("x={enc} # keysweep:allow\n")).is_empty());
}

/// The skipping run finder agrees with a plain byte-by-byte scan on mixed input.
#[test]
fn b64_run_finder_matches_a_naive_scan() {
    fn naive(data: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < data.len() {
            if !is_b64(data[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < data.len() && is_b64(data[i]) {
                i += 1;
            }
            let mut end = i;
            while end < data.len() && end - i < 2 && data[end] == b'=' {
                end += 1;
            }
            let len = i - start;
            if (MIN_B64..=MAX_B64).contains(&len) && plausible_b64(&data[start..i]) {
                out.push((start, end));
            }
            i = end.max(i);
        }
        out
    }
    let mut state = 0x1234_5678_9abc_def0u64;
    let alphabet = b"aZ09+/=_- .\n\"Qx7";
    let mut runs_seen = 0;
    for round in 0..200 {
        let len = 10 + round * 7;
        let data: Vec<u8> = (0..len)
            .map(|k| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Long stretches of base64 bytes, broken now and then.
                if (k / 20) % 3 == 0 {
                    alphabet[(state % 4) as usize]
                } else {
                    alphabet[(state % alphabet.len() as u64) as usize]
                }
            })
            .collect();
        let mut fast = Vec::new();
        collect_b64_runs(&data, &mut fast);
        assert_eq!(fast, naive(&data), "round {round}");
        runs_seen += fast.len();
    }
    assert!(
        runs_seen > 50,
        "the input must exercise real runs ({runs_seen})"
    );
}
