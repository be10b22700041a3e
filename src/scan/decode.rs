//! Decoding layers: finds secrets that a log wrote encoded once — JSON string escapes (`\/`,
//! `\u002f`, `\\`, `\"`), URL encoding (`%2F`), or base64 (a `Basic` header whose decoded
//! `user:password` holds a key, a Docker `auth` value) — and reports them at their position in
//! the ORIGINAL bytes: a finding's span covers the encoded text, so the redactor masks exactly
//! that.
//!
//! Only lines with something to decode pay for it: escape sequences are found with `memchr`,
//! base64 runs with one table lookup per byte, and only the line windows around them (capped at
//! 1 KiB either side, like the engine's own windows) are decoded and scanned again. A decoded
//! match is kept only when its span contains decoded bytes — a span that decodes to itself was
//! already seen by the plain scan. The decoded secret is what gets fingerprinted, so the same key
//! has the same fingerprint whether it was written plain or encoded.

use crate::engine::{line_bounds, Engine, RawMatch, Scratch, ALLOW_MARKER};
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use memchr::memmem;

/// Shortest base64 run decoded (18 decoded bytes).
const MIN_B64: usize = 24;
/// Longest base64 run decoded; longer runs are embedded files, not credentials.
const MAX_B64: usize = 8 << 10;

const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const B64_STD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, CONFIG);
const B64_URL: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, CONFIG);

/// A match found only after decoding. `Debug` shows the secret redacted.
#[derive(Clone)]
pub struct DecodedMatch {
    /// The match with `start`/`end` in the original bytes (the encoded span).
    pub m: RawMatch,
    /// The decoded secret.
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for DecodedMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodedMatch")
            .field("m", &self.m)
            .field("secret", &crate::finding::Secret::new(&self.secret))
            .finish()
    }
}

/// Reusable buffers. They hold decoded text, so `Debug` shows only their sizes.
#[derive(Default)]
pub struct DecodeScratch {
    windows: Vec<(usize, usize)>,
    runs: Vec<(usize, usize)>,
    text: Vec<u8>,
    /// For each decoded byte, the offset (from the window start) of the original bytes it came
    /// from; they end where the next decoded byte's originals start.
    map: Vec<u32>,
    b64: Vec<u8>,
}

impl std::fmt::Debug for DecodeScratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodeScratch")
            .field("text_len", &self.text.len())
            .field("b64_len", &self.b64.len())
            .finish_non_exhaustive()
    }
}

/// True for bytes of the base64 alphabets (standard and URL-safe). The tests' reference
/// run finder uses it; the real one reads [`B64_CLASS`].
#[cfg(test)]
fn is_b64(b: u8) -> bool {
    B64_BYTES[b as usize]
}

#[cfg(test)]
const B64_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'-' || b == b'_';
        i += 1;
    }
    t
};

/// Finds secrets visible only after one decoding step.
pub fn find(
    engine: &Engine,
    scratch: &mut Scratch,
    data: &[u8],
    ds: &mut DecodeScratch,
) -> Vec<DecodedMatch> {
    ds.windows.clear();
    ds.runs.clear();
    collect_b64_runs(data, &mut ds.runs);
    // A base64 run opens a window only when it decodes to printable text holding one of the
    // rules' keywords: long identifiers and hashes in code cost one decode, not a rescan.
    let mut runs = std::mem::take(&mut ds.runs);
    runs.retain(|&run| {
        ds.text.clear();
        ds.map.clear();
        decode_b64(data, run.0, run, ds) && engine.has_keyword(&ds.text)
    });
    ds.runs = runs;
    let mut escape_windows = Vec::new();
    collect_escapes(data, &mut escape_windows);
    if escape_windows.is_empty() && ds.runs.is_empty() {
        return Vec::new();
    }
    // Windows: the (capped) line around every trigger, merged.
    let mut run_windows = Vec::with_capacity(ds.runs.len());
    for &(s, e) in &ds.runs {
        push_window(data, &mut run_windows, s, e);
    }
    let mut all: Vec<(usize, usize)> = escape_windows;
    all.extend(run_windows);
    all.sort_unstable();
    for w in all {
        match ds.windows.last_mut() {
            Some(last) if w.0 <= last.1 => last.1 = last.1.max(w.1),
            _ => ds.windows.push(w),
        }
    }
    let merged = std::mem::take(&mut ds.windows);
    let allow = memmem::Finder::new(ALLOW_MARKER);
    let mut out = Vec::new();
    let mut run_i = 0;
    for &(ws, we) in &merged {
        while run_i < ds.runs.len() && ds.runs[run_i].1 <= ws {
            run_i += 1;
        }
        let runs = std::mem::take(&mut ds.runs);
        let changed = decode_window(data, ws, we, &runs[run_i..], ds);
        ds.runs = runs;
        if !changed {
            continue;
        }
        let text = std::mem::take(&mut ds.text);
        for m in engine.scan(&text, scratch) {
            let os = ws + ds.map[m.start] as usize;
            let last = ds.map[m.end - 1];
            let oe = ws
                + ds.map[m.end..]
                    .iter()
                    .find(|&&o| o != last)
                    .map_or(we - ws, |&o| o as usize);
            if oe - os == m.end - m.start && data[os..oe] == text[m.start..m.end] {
                continue; // nothing decoded inside: the plain scan's business
            }
            let (ls, le) = line_bounds(data, os, os + 1);
            if allow.find(&data[ls..le]).is_some() {
                continue;
            }
            let mut mapped = *m;
            mapped.start = os;
            mapped.end = oe;
            out.push(DecodedMatch {
                m: mapped,
                secret: text[m.start..m.end].to_vec(),
            });
        }
        ds.text = text;
    }
    ds.windows = merged;
    out
}

/// Adds the capped line around `[s, e)` unless the last window already covers it with room
/// to spare (as the engine does for keyword hits: a dense line costs one window, not one per
/// escape).
fn push_window(data: &[u8], windows: &mut Vec<(usize, usize)>, s: usize, e: usize) {
    if let Some(last) = windows.last_mut() {
        if s >= last.0 && e + 512 <= last.1 {
            return;
        }
    }
    let w = line_bounds(data, s, e);
    match windows.last_mut() {
        Some(last) if w.0 <= last.1 => last.1 = last.1.max(w.1),
        _ => windows.push(w),
    }
}

/// Positions of `\/`, `\\`, `\"`, `\uXXXX` and `%XX`.
fn collect_escapes(data: &[u8], out: &mut Vec<(usize, usize)>) {
    for i in memchr::memchr2_iter(b'\\', b'%', data) {
        // `\"` and `\\` never stand inside a key, and they are everywhere in code: they are
        // decoded inside a window opened by another escape but never open one themselves.
        if matches!(data.get(i..i + 2), Some(b"\\\"") | Some(b"\\\\")) {
            continue;
        }
        if escape_len(data, i).is_some() {
            push_window(data, out, i, i + 1);
        }
    }
}

/// Length of the escape at `i` and the bytes it stands for (up to 4, UTF-8).
fn decode_escape(data: &[u8], i: usize) -> Option<(usize, [u8; 4], usize)> {
    let rest = &data[i..];
    match rest {
        [b'%', h, l, ..] => {
            let v = hex(*h)? << 4 | hex(*l)?;
            Some((3, [v, 0, 0, 0], 1))
        }
        [b'\\', b'/', ..] => Some((2, [b'/', 0, 0, 0], 1)),
        [b'\\', b'\\', ..] => Some((2, [b'\\', 0, 0, 0], 1)),
        [b'\\', b'"', ..] => Some((2, [b'"', 0, 0, 0], 1)),
        [b'\\', b'u', a, b, c, d, ..] => {
            let cp = (hex(*a)? as u32) << 12
                | (hex(*b)? as u32) << 8
                | (hex(*c)? as u32) << 4
                | hex(*d)? as u32;
            let ch = char::from_u32(cp)?;
            let mut bytes = [0u8; 4];
            let n = ch.encode_utf8(&mut bytes).len();
            Some((6, bytes, n))
        }
        _ => None,
    }
}

fn escape_len(data: &[u8], i: usize) -> Option<usize> {
    decode_escape(data, i).map(|(len, _, _)| len)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Runs of base64 characters long enough to hold a key, bounded by non-base64 bytes.
fn collect_b64_runs(data: &[u8], out: &mut Vec<(usize, usize)>) {
    // Only runs of at least MIN_B64 bytes matter, so probe the last byte a run starting at `i`
    // would need: when it is not base64, no run of that length starts anywhere in
    // `i..=probe`, and the scan jumps past it. Ordinary code and logs cost about one lookup per
    // MIN_B64 bytes instead of one per byte. Invariant: `i` is 0 or follows a non-base64 byte
    // (or a run already handled).
    let n = data.len();
    let mut i = 0;
    while i + MIN_B64 <= n {
        let probe = i + MIN_B64 - 1;
        // The run's byte classes are gathered while it is measured, so the shape test costs
        // no second pass.
        let mut classes = B64_CLASS[data[probe] as usize];
        if classes == 0 {
            i = probe + 1;
            continue;
        }
        let mut start = probe;
        while start > i {
            let c = B64_CLASS[data[start - 1] as usize];
            if c == 0 {
                break;
            }
            classes |= c;
            start -= 1;
        }
        let mut body_end = probe + 1;
        while body_end < n {
            let c = B64_CLASS[data[body_end] as usize];
            if c == 0 {
                break;
            }
            classes |= c;
            body_end += 1;
        }
        let mut end = body_end;
        while end < n && end - body_end < 2 && data[end] == b'=' {
            end += 1;
        }
        let len = body_end - start;
        if (MIN_B64..=MAX_B64).contains(&len) && plausible_classes(classes) {
            out.push((start, end));
        }
        i = end;
    }
}

/// The shape test on a whole run (the tests' reference run finder uses it).
#[cfg(test)]
fn plausible_b64(run: &[u8]) -> bool {
    let mut f = 0u8;
    for &b in run {
        f |= B64_CLASS[b as usize];
    }
    plausible_classes(f)
}

/// Cheap shape test before decoding, on the OR of a run's [`B64_CLASS`] bits: a mix of cases
/// and digits or symbols (not a long word or a hex hash), and not both alphabets at once.
fn plausible_classes(f: u8) -> bool {
    let (upper, lower, digit, std, url) =
        (f & 1 != 0, f & 2 != 0, f & 4 != 0, f & 8 != 0, f & 16 != 0);
    upper && lower && (digit || std || url) && !(std && url)
}

/// Byte classes of the base64 alphabets (0: not base64): 1 upper, 2 lower, 4 digit, 8 `+` `/`, 16 `-` `_`.
const B64_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b.is_ascii_uppercase() {
            1
        } else if b.is_ascii_lowercase() {
            2
        } else if b.is_ascii_digit() {
            4
        } else if b == b'+' || b == b'/' {
            8
        } else if b == b'-' || b == b'_' {
            16
        } else {
            0
        };
        i += 1;
    }
    t
};

/// Builds the decoded text of `data[ws..we]` in `ds.text` with its map. Returns false when
/// nothing in the window decoded.
fn decode_window(
    data: &[u8],
    ws: usize,
    we: usize,
    runs: &[(usize, usize)],
    ds: &mut DecodeScratch,
) -> bool {
    ds.text.clear();
    ds.map.clear();
    let mut changed = false;
    let mut i = ws;
    let mut r = 0;
    while i < we {
        while r < runs.len() && runs[r].0 < i {
            r += 1;
        }
        if r < runs.len() && runs[r].0 == i && runs[r].1 <= we && decode_b64(data, ws, runs[r], ds)
        {
            changed = true;
            i = runs[r].1;
            continue;
        }
        if let Some((len, bytes, n)) = decode_escape(data, i).filter(|e| i + e.0 <= we) {
            for &b in &bytes[..n] {
                ds.text.push(b);
                ds.map.push((i - ws) as u32);
            }
            changed = true;
            i += len;
            continue;
        }
        ds.text.push(data[i]);
        ds.map.push((i - ws) as u32);
        i += 1;
    }
    changed
}

/// Appends the decoded run when it decodes to printable text. Decoded byte `k` maps to the
/// 4-character group holding it.
fn decode_b64(data: &[u8], ws: usize, (s, e): (usize, usize), ds: &mut DecodeScratch) -> bool {
    let run = &data[s..e];
    let body_end = s + run.iter().position(|&b| b == b'=').unwrap_or(run.len());
    let body = &data[s..body_end];
    let engine = if body.iter().any(|&b| b == b'-' || b == b'_') {
        &B64_URL
    } else {
        &B64_STD
    };
    ds.b64.clear();
    if engine.decode_vec(body, &mut ds.b64).is_err() {
        return false;
    }
    if ds.b64.len() < 16
        || !ds
            .b64
            .iter()
            .all(|&b| (0x20..0x7f).contains(&b) || b == b'\t')
    {
        return false;
    }
    for (k, &b) in ds.b64.iter().enumerate() {
        ds.text.push(b);
        ds.map.push((s + (k / 3) * 4 - ws) as u32);
    }
    true
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
