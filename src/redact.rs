//! The redactor: given the secrets found in a stream (their byte ranges), writes a copy of the
//! stream with each secret replaced by `[REDACTED:<rule-id>:<first 8 hex of its fingerprint>]`
//! and every other byte unchanged — line count, line endings and encoding included.
//!
//! Redaction is two streaming passes over the same bytes: [`plan`] scans and keeps one small
//! [`Mask`] per secret (never the secret itself), and [`write_masked`] copies the input again,
//! replacing the masked ranges. Memory is bounded by the scan's chunk size plus the masks; the
//! caller must be able to read the input twice (a file, or stdin spooled to a temporary file).
//!
//! A secret that spans lines (a private key block) becomes one token followed by the same line
//! breaks it contained, so line numbers after it do not move. [`ManifestEntry`] is what
//! `--manifest` writes: one JSON object per line, with the location, rule and fingerprint of each
//! masked secret and never the secret.

use crate::engine::{Engine, Scratch};
use crate::finding::{Finding, Provenance};
use crate::scan::blob;
use serde::Serialize;
use std::io::{self, Read, Write};

/// One secret to mask, in original-stream coordinates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mask {
    /// Byte offset of the first masked byte.
    pub byte_start: u64,
    /// Byte offset just past the masked bytes.
    pub byte_end: u64,
    /// Line (1-based) of the first masked byte.
    pub line: u64,
    /// Column (1-based, bytes) of the first masked byte.
    pub column: u64,
    /// Line of the last masked byte.
    pub end_line: u64,
    /// Column just past the last masked byte.
    pub end_column: u64,
    /// The rule that found the secret.
    pub rule_id: String,
    /// The finding's fingerprint (`sha256(rule id, secret)`).
    pub fingerprint: String,
}

impl Mask {
    /// The mask for a finding.
    pub fn from_finding(f: &Finding) -> Self {
        Mask {
            byte_start: f.location.byte_start,
            byte_end: f.location.byte_end,
            line: f.location.line,
            column: f.location.column,
            end_line: f.location.end_line,
            end_column: f.location.end_column,
            rule_id: f.rule_id.clone(),
            fingerprint: f.fingerprint.clone(),
        }
    }

    /// The text that replaces the secret.
    pub fn replacement(&self) -> String {
        token(&self.rule_id, &self.fingerprint)
    }
}

/// `[REDACTED:<rule-id>:<first 8 hex of the fingerprint>]`.
pub fn token(rule_id: &str, fingerprint: &str) -> String {
    let short = &fingerprint[..fingerprint.len().min(8)];
    format!("[REDACTED:{rule_id}:{short}]")
}

/// One line of a `--manifest` file.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestEntry<'a> {
    /// The input as named on the command line (`-` for stdin).
    pub file: &'a str,
    /// Where the secret was, in the input (after decompression for a `.gz`).
    #[serde(flatten)]
    pub mask: &'a Mask,
    /// The token written in its place.
    pub replacement: String,
    /// The live check's answer, with `--verify` (never the secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<&'a crate::finding::Verification>,
    /// The revocation endpoint's answer, with `--revocation-endpoint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<&'a crate::finding::Revocation>,
}

/// What scanning a stream for redaction found.
#[derive(Debug, Default)]
pub struct Plan {
    /// Masks in stream order, overlaps merged.
    pub masks: Vec<Mask>,
    /// Bytes read.
    pub bytes: u64,
    /// Matches suppressed by `keysweep:allow` (left in place).
    pub suppressed_inline: usize,
    /// The findings behind the masks (for `--verify`; bounded by the number of secrets).
    pub findings: Vec<crate::finding::Finding>,
}

/// Pass 1: scans `reader` (binary content included: a redacted copy must be safe whatever it
/// holds) and returns the masks to apply.
pub fn plan<R: Read>(
    engine: &Engine,
    scratch: &mut Scratch,
    reader: R,
    name: &str,
    chunk: usize,
    buf: &mut Vec<u8>,
) -> io::Result<Plan> {
    let result = blob::scan_reader(
        engine,
        scratch,
        reader,
        &Provenance::file(name),
        false,
        chunk,
        // Inputs are redacted one at a time, so each may use every thread.
        rayon::current_num_threads(),
        buf,
    )?;
    let masks = merge(result.findings.iter().map(Mask::from_finding).collect());
    Ok(Plan {
        masks,
        bytes: result.bytes,
        suppressed_inline: result.suppressed_inline,
        findings: result.findings,
    })
}

/// Secrets shorter than this are not searched for as copies: they would mask ordinary words.
const MIN_COPY_LEN: usize = 8;

/// Pass 1b: every other occurrence of a detected secret's bytes in `reader` (the same stream
/// again), where no rule matched it — glued to a word, after `-p`, in a comment, a log line
/// that repeats a header. Returns `masks` with those occurrences added and merged, so the copy
/// `write_masked` makes holds none of them and `--check` counts them.
pub fn add_copies<R: Read>(
    masks: Vec<Mask>,
    findings: &[Finding],
    mut reader: R,
) -> io::Result<Vec<Mask>> {
    let mut secrets: Vec<(&[u8], &Finding)> = findings
        .iter()
        .map(|f| (f.secret.expose(), f))
        .filter(|(s, _)| s.len() >= MIN_COPY_LEN)
        .collect();
    secrets.sort_by(|a, b| a.0.cmp(b.0));
    secrets.dedup_by(|a, b| a.0 == b.0);
    if secrets.is_empty() {
        return Ok(masks);
    }
    let ac = aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .build(secrets.iter().map(|(s, _)| *s))
        .map_err(io::Error::other)?;
    let longest = secrets.iter().map(|(s, _)| s.len()).max().unwrap_or(0);
    let overlap = longest - 1;
    let chunk = 256 << 10;
    let mut extra = Vec::new();
    let mut buf: Vec<u8> = Vec::with_capacity(chunk + overlap);
    let mut base = 0u64; // absolute offset of buf[0]
    let mut lines = Lines::default();
    let mut skip_before = 0usize; // a copy found last round ends here (in this buffer)
    loop {
        let want = chunk + overlap - buf.len();
        let got = reader.by_ref().take(want as u64).read_to_end(&mut buf)?;
        let eof = got < want;
        // Copies starting before `report_to` lie wholly in `buf`; later ones are found next
        // round, when the buffer holds them whole.
        let report_to = if eof { buf.len() } else { buf.len() - overlap };
        for hit in ac.find_iter(&buf[..]) {
            if hit.start() < skip_before {
                continue;
            }
            if hit.start() >= report_to {
                break;
            }
            let (secret, f) = secrets[hit.pattern().as_usize()];
            let start = base + hit.start() as u64;
            lines.advance_to(&buf, base, start);
            let column = start - lines.line_start + 1;
            let inner = memchr::memchr_iter(b'\n', secret).count() as u64;
            extra.push(Mask {
                byte_start: start,
                byte_end: start + secret.len() as u64,
                line: lines.line,
                column,
                end_line: lines.line + inner,
                end_column: match memchr::memrchr(b'\n', secret) {
                    Some(i) => (secret.len() - i) as u64,
                    None => column + secret.len() as u64,
                },
                rule_id: f.rule_id.clone(),
                fingerprint: f.fingerprint.clone(),
            });
            skip_before = hit.end();
        }
        if eof {
            break;
        }
        lines.advance_to(&buf, base, base + report_to as u64);
        buf.drain(..report_to);
        base += report_to as u64;
        skip_before = skip_before.saturating_sub(report_to);
    }
    if extra.is_empty() {
        return Ok(masks);
    }
    let mut all = masks;
    all.extend(extra);
    Ok(merge(all))
}

/// Counts lines while a buffer moves forward through a stream.
#[derive(Default)]
struct Lines {
    /// Absolute offset up to which newlines are counted.
    counted: u64,
    /// 0-based count of newlines before `counted`.
    newlines: u64,
    /// 1-based line at `counted`.
    line: u64,
    /// Absolute offset of that line's first byte.
    line_start: u64,
}

impl Lines {
    /// Counts the newlines of `buf` (which starts at absolute offset `base`) up to `to`.
    fn advance_to(&mut self, buf: &[u8], base: u64, to: u64) {
        if to <= self.counted {
            self.line = self.newlines + 1;
            return;
        }
        let part = &buf[(self.counted - base) as usize..(to - base) as usize];
        self.newlines += memchr::memchr_iter(b'\n', part).count() as u64;
        if let Some(i) = memchr::memrchr(b'\n', part) {
            self.line_start = self.counted + i as u64 + 1;
        }
        self.counted = to;
        self.line = self.newlines + 1;
    }
}

/// Sorts masks and folds overlapping ones into the first (its rule names the token).
pub fn merge(mut masks: Vec<Mask>) -> Vec<Mask> {
    masks.sort_by_key(|m| (m.byte_start, std::cmp::Reverse(m.byte_end)));
    let mut out: Vec<Mask> = Vec::with_capacity(masks.len());
    for m in masks {
        match out.last_mut() {
            Some(last) if m.byte_start < last.byte_end => {
                if m.byte_end > last.byte_end {
                    last.byte_end = m.byte_end;
                    last.end_line = m.end_line;
                    last.end_column = m.end_column;
                }
            }
            _ => out.push(m),
        }
    }
    out
}

/// Pass 2: copies `input` to `out`, replacing each mask's bytes by its token followed by the
/// line breaks (`\n` or `\r\n`) the masked bytes contained. `masks` must be sorted and disjoint
/// (see [`merge`]). Returns the number of bytes read.
pub fn write_masked<R: Read, W: Write + ?Sized>(
    mut input: R,
    out: &mut W,
    masks: &[Mask],
) -> io::Result<u64> {
    let mut buf = vec![0u8; 256 << 10];
    let mut pos: u64 = 0;
    let mut next = 0usize;
    // Inside a mask: its end, and whether the previous masked byte was '\r'.
    let mut inside: Option<u64> = None;
    let mut prev_cr = false;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = &buf[..n];
        let mut i = 0usize;
        while i < n {
            let abs = pos + i as u64;
            if let Some(end) = inside {
                let stop = ((end - abs) as usize).min(n - i);
                for &b in &chunk[i..i + stop] {
                    if b == b'\n' {
                        out.write_all(if prev_cr { b"\r\n" } else { b"\n" })?;
                    }
                    prev_cr = b == b'\r';
                }
                i += stop;
                if pos + i as u64 >= end {
                    inside = None;
                }
                continue;
            }
            match masks.get(next) {
                Some(m) if m.byte_start <= abs => {
                    out.write_all(m.replacement().as_bytes())?;
                    inside = Some(m.byte_end);
                    prev_cr = false;
                    next += 1;
                }
                Some(m) => {
                    let stop = ((m.byte_start - abs) as usize).min(n - i);
                    out.write_all(&chunk[i..i + stop])?;
                    i += stop;
                }
                None => {
                    out.write_all(&chunk[i..])?;
                    i = n;
                }
            }
        }
        pos += n as u64;
    }
    if masks.len() > next {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "input changed between the scan and the copy (shorter than before)",
        ));
    }
    Ok(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(s: u64, e: u64, rule: &str) -> Mask {
        Mask {
            byte_start: s,
            byte_end: e,
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            rule_id: rule.into(),
            fingerprint: "0123456789abcdef".into(),
        }
    }

    fn apply(input: &[u8], masks: &[Mask]) -> Vec<u8> {
        let mut out = Vec::new();
        let n = write_masked(input, &mut out, masks).unwrap();
        assert_eq!(n, input.len() as u64);
        out
    }

    #[test]
    fn replaces_only_the_ranges() {
        let out = apply(
            b"a=SECRET;b=OTHER\r\n",
            &[mask(2, 8, "r1"), mask(11, 16, "r2")],
        );
        assert_eq!(
            out,
            b"a=[REDACTED:r1:01234567];b=[REDACTED:r2:01234567]\r\n".to_vec()
        );
    }

    #[test]
    fn keeps_line_breaks_inside_a_multiline_secret() {
        let out = apply(b"k=AAA\r\nBBB\nCCC end\n", &[mask(2, 14, "pem")]);
        assert_eq!(out, b"k=[REDACTED:pem:01234567]\r\n\n end\n".to_vec());
    }

    #[test]
    fn masks_across_read_boundaries() {
        let mut input = vec![b'.'; 600_000];
        input[262_140..262_150].copy_from_slice(b"0123456789");
        let out = apply(&input, &[mask(262_140, 262_150, "r")]);
        assert_eq!(out.len(), input.len() - 10 + "[REDACTED:r:01234567]".len());
        assert!(!out.windows(10).any(|w| w == b"0123456789"));
    }

    #[test]
    fn overlaps_merge_into_the_first() {
        let m = merge(vec![mask(5, 9, "b"), mask(2, 6, "a"), mask(20, 22, "c")]);
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[0].byte_start, m[0].byte_end, m[0].rule_id.as_str()),
            (2, 9, "a")
        );
    }

    #[test]
    fn a_shorter_second_pass_is_an_error() {
        let mut out = Vec::new();
        assert!(write_masked(&b"abc"[..], &mut out, &[mask(10, 12, "r")]).is_err());
    }
}
