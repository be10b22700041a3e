//! Scanning one blob — a file, stdin, a git object — into [`Finding`]s. Input is read in
//! bounded chunks with context on both sides, so a 10 GB log needs about
//! `CHUNK + 2 * MARGIN` bytes of memory and a key across a chunk boundary is still found once.

use super::decode::{self, DecodeScratch, DecodedMatch};
use crate::engine::{line_bounds, Engine, RawMatch, Scratch};
use crate::finding::{fingerprint, Finding, Location, Provenance, Secret};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::{self, Read};

/// Bytes newly scanned per chunk.
pub const DEFAULT_CHUNK: usize = 8 << 20;
/// Context kept before and after each chunk; larger than any match plus its windows.
pub const MARGIN: usize = 64 << 10;
/// How much of the start of a blob is checked for NUL bytes to call it binary.
const BINARY_PROBE: usize = 8 << 10;
/// Longest snippet context shown either side of a secret.
const SNIPPET_SIDE: usize = 60;

/// What scanning one blob produced.
#[derive(Debug, Default)]
pub struct BlobResult {
    /// Findings, in order of position.
    pub findings: Vec<Finding>,
    /// Bytes read.
    pub bytes: u64,
    /// True when the blob looked binary and was not scanned.
    pub binary: bool,
    /// Matches suppressed by an inline `keysweep:allow`.
    pub suppressed_inline: usize,
}

/// True when the first bytes contain a NUL (the same test git and ripgrep use).
pub fn looks_binary(data: &[u8]) -> bool {
    memchr::memchr(0, &data[..data.len().min(BINARY_PROBE)]).is_some()
}

/// Scans an in-memory blob.
pub fn scan_bytes(
    engine: &Engine,
    scratch: &mut Scratch,
    data: &[u8],
    provenance: &Provenance,
    skip_binary: bool,
) -> BlobResult {
    let mut result = BlobResult {
        bytes: data.len() as u64,
        ..Default::default()
    };
    if skip_binary && looks_binary(data) {
        result.binary = true;
        return result;
    }
    let (findings, suppressed) = scan_piece(
        engine,
        scratch,
        &mut DecodeScratch::default(),
        data,
        (0, data.len()),
        Origin::START,
        provenance,
    );
    result.findings = findings;
    result.suppressed_inline = suppressed;
    result
}

/// Scans a reader chunk by chunk. `buf` is reused between calls to avoid allocation. With
/// `pieces > 1`, each step reads `pieces` chunks and scans them on that many threads (for a
/// single large input, which would otherwise keep one core busy).
#[allow(clippy::too_many_arguments)]
pub fn scan_reader<R: Read>(
    engine: &Engine,
    scratch: &mut Scratch,
    reader: R,
    provenance: &Provenance,
    skip_binary: bool,
    chunk: usize,
    pieces: usize,
    buf: &mut Vec<u8>,
) -> io::Result<BlobResult> {
    let chunking = Chunking {
        chunk,
        margin: MARGIN,
        pieces,
    };
    scan_reader_in(
        engine,
        scratch,
        reader,
        provenance,
        skip_binary,
        chunking,
        buf,
    )
}

/// How a stream is cut: `chunk` new bytes per piece, with `margin` bytes of context kept on
/// both sides, and `pieces` pieces per step scanned in parallel. Findings equal a whole-buffer
/// scan as long as `margin` is longer than any match plus its windows (the line cap, the
/// context span, a multi-line rule's span, a decoded run); [`MARGIN`] covers every built-in
/// limit. A smaller margin is for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunking {
    /// Bytes newly scanned per piece (at least 1).
    pub chunk: usize,
    /// Context kept before and after each piece.
    pub margin: usize,
    /// Pieces per step, each on its own thread (1: scan on the calling thread only).
    pub pieces: usize,
}

/// Where buffer index 0 sits in the stream.
#[derive(Debug, Clone, Copy)]
struct Origin {
    /// Absolute offset.
    offset: u64,
    /// Line number.
    line: u64,
    /// Absolute offset where that line starts (it may begin before the buffer).
    line_start: u64,
}

impl Origin {
    /// The start of a stream: offset 0, line 1.
    const START: Origin = Origin {
        offset: 0,
        line: 1,
        line_start: 0,
    };

    /// The origin of `data[at..]`.
    fn advanced(self, data: &[u8], at: usize) -> Origin {
        Origin {
            offset: self.offset + at as u64,
            line: self.line + bytecount_newlines(&data[..at]),
            line_start: memchr::memrchr(b'\n', &data[..at])
                .map_or(self.line_start, |i| self.offset + i as u64 + 1),
        }
    }
}

/// One piece of a step: the bytes it scans, `[lo, hi)`, and the part whose findings it
/// reports, `[from, to)` (indices into the step's buffer).
#[derive(Debug, Clone, Copy)]
struct Piece {
    lo: usize,
    hi: usize,
    from: usize,
    to: usize,
}

/// What one piece found: its findings and its matches dropped by `keysweep:allow`.
type PieceResult = (Vec<Finding>, usize);

/// [`scan_reader`] with explicit chunk geometry.
pub fn scan_reader_in<R: Read>(
    engine: &Engine,
    scratch: &mut Scratch,
    mut reader: R,
    provenance: &Provenance,
    skip_binary: bool,
    chunking: Chunking,
    buf: &mut Vec<u8>,
) -> io::Result<BlobResult> {
    let chunk = chunking.chunk.max(1);
    let margin = chunking.margin;
    let pieces = chunking.pieces.max(1);
    let mut result = BlobResult::default();
    buf.clear();
    let mut origin = Origin::START;
    // Matches starting before this buffer index were reported by the previous step.
    let mut report_from = 0usize;
    if skip_binary {
        // Known binary and skipped: nothing past the probe is read (a 10 GB disk image costs
        // 8 KiB). `bytes` counts what was read.
        fill(&mut reader, buf, BINARY_PROBE)?;
        if looks_binary(buf) {
            result.binary = true;
            result.bytes = buf.len() as u64;
            return Ok(result);
        }
    }
    let mut ds = DecodeScratch::default();
    let mut plan: Vec<Piece> = Vec::new();
    loop {
        let want = report_from + pieces * chunk + margin;
        let eof = fill(&mut reader, buf, want)?;
        let report_to = if eof { buf.len() } else { buf.len() - margin };
        // Cut the step into pieces of about `chunk` new bytes, each with `margin` of context.
        let fresh = report_to - report_from;
        let count = fresh.div_ceil(chunk).clamp(1, pieces);
        plan.clear();
        plan.extend((0..count).map(|i| {
            let from = report_from + fresh * i / count;
            let to = report_from + fresh * (i + 1) / count;
            Piece {
                lo: from.saturating_sub(margin),
                hi: (to + margin).min(buf.len()),
                from,
                to,
            }
        }));
        let data: &[u8] = buf;
        let mut at = origin;
        let mut prev = 0;
        let origins: Vec<Origin> = plan
            .iter()
            .map(|p| {
                at = at.advanced(&data[prev..], p.lo - prev);
                prev = p.lo;
                at
            })
            .collect();
        let run = |scratch: &mut Scratch, ds: &mut DecodeScratch, p: &Piece, at: &Origin| {
            let bytes = &data[p.lo..p.hi];
            let range = (p.from - p.lo, p.to - p.lo);
            scan_piece(engine, scratch, ds, bytes, range, *at, provenance)
        };
        let found: Vec<PieceResult> = if count == 1 {
            vec![run(scratch, &mut ds, &plan[0], &origins[0])]
        } else {
            plan.par_iter()
                .zip(origins.par_iter())
                .map_init(
                    || (engine.scratch(), DecodeScratch::default()),
                    |(scratch, ds), (p, at)| run(scratch, ds, p, at),
                )
                .collect()
        };
        for (findings, suppressed) in found {
            result.findings.extend(findings);
            result.suppressed_inline += suppressed;
        }
        if eof {
            result.bytes = origin.offset + buf.len() as u64;
            return Ok(result);
        }
        let keep_from = report_to.saturating_sub(margin);
        origin = origin.advanced(buf, keep_from);
        buf.drain(..keep_from);
        report_from = report_to - keep_from;
    }
}

/// Scans `data` and returns the findings that start in `range`, with `origin` describing
/// `data[0]`. Every match in `data` takes part in overlap resolution and in masking snippets
/// (a neighbour on the same line may belong to the previous or next piece); only those
/// starting in range are reported.
fn scan_piece(
    engine: &Engine,
    scratch: &mut Scratch,
    ds: &mut DecodeScratch,
    data: &[u8],
    (from, to): (usize, usize),
    origin: Origin,
    provenance: &Provenance,
) -> PieceResult {
    let in_range = |m: &RawMatch| m.start >= from && m.start < to;
    let plain: Vec<RawMatch> = engine.scan(data, scratch).to_vec();
    let suppressed = scratch
        .suppressed_starts()
        .iter()
        .filter(|&&s| s >= from && s < to)
        .count();
    let decoded = decode::find(engine, scratch, data, ds);
    let (matches, secrets) = combine(engine, plain, decoded);
    let neighbours = Neighbours::new(&matches, data, &secrets);
    let mut lines = LineCursor::new(origin.line, origin.offset, origin.line_start);
    let mut findings = Vec::new();
    for (m, secret) in matches.iter().zip(&secrets) {
        if in_range(m) {
            findings.push(make_finding(
                engine,
                data,
                origin.offset,
                m,
                secret.as_deref(),
                &neighbours,
                &mut lines,
                provenance,
            ));
        }
    }
    (findings, suppressed)
}

/// Reads until `buf` holds `want` bytes or the reader ends. Returns true at end of input.
///
/// Uses `read_to_end` on a `take` so the buffer grows only as far as the data (a 200-byte file
/// costs 200 bytes, not a zeroed 8 MiB chunk) and interrupted reads are retried.
fn fill<R: Read>(reader: &mut R, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    let need = want.saturating_sub(buf.len());
    let got = reader.by_ref().take(need as u64).read_to_end(buf)?;
    Ok(got < need)
}

/// Code points in `bytes`: every byte that does not continue a UTF-8 sequence starts one.
fn code_points(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count() as u64
}

fn bytecount_newlines(data: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', data).count() as u64
}

/// Walks forward through a buffer counting lines, so findings in order cost O(buffer) in all.
struct LineCursor {
    pos: usize,
    line: u64,
    /// Absolute offset of buffer index 0.
    base: u64,
    /// Absolute offset of the current line's first byte.
    line_start: u64,
    /// The line whose code points `chars` counts.
    chars_line: u64,
    /// Buffer index up to which `chars` has counted.
    chars_pos: usize,
    /// Code points from the line's first byte in the buffer to `chars_pos`.
    chars: u64,
}

impl LineCursor {
    fn new(line: u64, base: u64, line_start: u64) -> Self {
        LineCursor {
            pos: 0,
            line,
            base,
            line_start,
            chars_line: 0,
            chars_pos: 0,
            chars: 0,
        }
    }

    /// Code points from the start of the current line (or of the buffer, if the line began
    /// before it) to `at`. Kept as a running count, so many findings on one long line cost
    /// O(line) in all rather than O(line) each. Call after [`LineCursor::advance`] to `at`.
    fn code_points_to(&mut self, data: &[u8], at: usize) -> u64 {
        if self.chars_line != self.line || self.chars_pos > at {
            self.chars_line = self.line;
            self.chars_pos = self.line_start.saturating_sub(self.base) as usize;
            self.chars = 0;
        }
        if at > self.chars_pos {
            self.chars += code_points(&data[self.chars_pos..at]);
            self.chars_pos = at;
        }
        self.chars
    }

    /// Line number and absolute start-of-line offset of `at` (must not go backwards).
    fn advance(&mut self, data: &[u8], at: usize) -> (u64, u64) {
        if at >= self.pos {
            for i in memchr::memchr_iter(b'\n', &data[self.pos..at]) {
                self.line += 1;
                self.line_start = self.base + (self.pos + i + 1) as u64;
            }
            self.pos = at;
        }
        (self.line, self.line_start)
    }
}

/// Joins plain and decoded matches, sorted by start. A decoded match yields to an overlapping
/// plain match of a specific rule; a decoded match of a specific rule replaces overlapping
/// generic plain matches and takes their span too, so redaction masks the whole credential.
/// Returns the matches and, for decoded ones, the decoded secret.
fn combine(
    engine: &Engine,
    plain: Vec<RawMatch>,
    decoded: Vec<DecodedMatch>,
) -> (Vec<RawMatch>, Vec<Option<Vec<u8>>>) {
    let generic = |m: &RawMatch| engine.rules()[m.rule as usize].generic;
    // Keyed by start. The spans never overlap (plain matches come out of overlap resolution;
    // a decoded match replaces every span it overlaps), so the ones overlapping a new span are
    // the few just before its end: each lookup is O(log n), not a walk over all matches.
    let mut all: BTreeMap<usize, (RawMatch, Option<Vec<u8>>)> =
        plain.into_iter().map(|m| (m.start, (m, None))).collect();
    let mut overlapping: Vec<usize> = Vec::new();
    for mut d in decoded {
        let (ds, de) = (d.m.start, d.m.end);
        overlapping.clear();
        overlapping.extend(
            all.range(..de)
                .rev()
                .take_while(|(_, o)| o.0.end > ds)
                .map(|(&start, _)| start),
        );
        let blocked = overlapping.iter().any(|start| {
            let o = &all[start];
            o.1.is_some() || !generic(&o.0) || generic(&d.m)
        });
        if blocked {
            continue;
        }
        for start in &overlapping {
            if let Some((o, _)) = all.remove(start) {
                d.m.start = d.m.start.min(o.start);
                d.m.end = d.m.end.max(o.end);
            }
        }
        all.insert(d.m.start, (d.m, Some(d.secret)));
    }
    all.into_values().unzip()
}

#[allow(clippy::too_many_arguments)]
fn make_finding(
    engine: &Engine,
    data: &[u8],
    base_offset: u64,
    m: &RawMatch,
    decoded: Option<&[u8]>,
    all: &Neighbours<'_>,
    lines: &mut LineCursor,
    provenance: &Provenance,
) -> Finding {
    let rule = &engine.rules()[m.rule as usize];
    let encoded = &data[m.start..m.end];
    let secret_bytes = decoded.unwrap_or(encoded);
    let (line, line_start) = lines.advance(data, m.start);
    let inner_newlines = memchr::memchr_iter(b'\n', encoded).count() as u64;
    let end_column = match memchr::memrchr(b'\n', encoded) {
        Some(i) => (encoded.len() - i) as u64,
        None => base_offset + m.end as u64 - line_start + 1,
    };
    // Code-point columns for SARIF. A line that began before this buffer (longer than the
    // chunk margin) counts its unseen bytes one each.
    let unseen = base_offset.saturating_sub(line_start);
    let char_column = 1 + unseen + lines.code_points_to(data, m.start);
    let char_end_column = match memchr::memrchr(b'\n', encoded) {
        Some(i) => 1 + code_points(&encoded[i + 1..]),
        None => char_column + code_points(encoded),
    };
    let secret = Secret::new(secret_bytes);
    Finding {
        rule_id: rule.id.clone(),
        title: rule.title.clone(),
        provider: rule.provider.clone(),
        severity: rule.severity,
        confidence: rule.confidence,
        provenance: provenance.clone(),
        location: Location {
            line,
            column: base_offset + m.start as u64 - line_start + 1,
            end_line: line + inner_newlines,
            end_column,
            byte_start: base_offset + m.start as u64,
            byte_end: base_offset + m.end as u64,
            char_column,
            char_end_column,
        },
        snippet: snippet(data, m, all),
        fingerprint: fingerprint(&rule.id, secret_bytes),
        secret,
        verification: None,
        revocation: None,
    }
}

/// The secret's line, trimmed around it, with every match on it replaced by its redaction.
/// All matches of a buffer (sorted by start), indexed so the ones overlapping a snippet are
/// found in O(log n): a snippet masks every neighbour it shows, and scanning the whole list per
/// finding made 200,000 keys in one log take 10 s.
struct Neighbours<'a> {
    all: &'a [RawMatch],
    /// `max_end[i]`: the largest `end` among `all[..=i]` (non-decreasing).
    max_end: Vec<usize>,
    /// The buffer the matches are in.
    data: &'a [u8],
    /// Decoded secrets, parallel to `all` (`None`: the secret is the matched bytes).
    decoded: &'a [Option<Vec<u8>>],
}

/// Shorter secrets are not searched for as copies (they would mask ordinary words).
const MIN_COPY_LEN: usize = 8;

impl<'a> Neighbours<'a> {
    fn new(all: &'a [RawMatch], data: &'a [u8], decoded: &'a [Option<Vec<u8>>]) -> Self {
        let mut furthest = 0;
        let max_end = all
            .iter()
            .map(|m| {
                furthest = furthest.max(m.end);
                furthest
            })
            .collect();
        Neighbours {
            all,
            max_end,
            data,
            decoded,
        }
    }

    /// The byte strings a snippet must never show: each match's bytes and its decoded secret.
    fn secrets_of<'s>(
        &'s self,
        ms: impl Iterator<Item = usize> + 's,
    ) -> impl Iterator<Item = &'a [u8]> + 's {
        ms.flat_map(move |i| {
            let m = &self.all[i];
            let raw = &self.data[m.start..m.end];
            let dec = self.decoded.get(i).and_then(|d| d.as_deref());
            std::iter::once(raw).chain(dec)
        })
        .filter(|s| s.len() >= MIN_COPY_LEN)
    }

    /// An automaton over the secrets of the matches on `[from, to)` (the snippet's line), which
    /// the snippet masks wherever they occur on it: a second, unmatched copy of a key (glued
    /// to a word, after `-p`, in a trailing comment) is never printed raw beside its own
    /// redaction. Only the line's own secrets, so a chunked scan shows the same snippet as a
    /// whole-buffer one.
    fn copy_matcher(&self, from: usize, to: usize) -> Copies<'a> {
        let first = self.max_end.partition_point(|&e| e <= from);
        let last = self.all.partition_point(|m| m.start < to);
        let on_line =
            (first..last.max(first)).filter(|&i| self.all[i].end > from && self.all[i].start < to);
        let mut pats: Vec<&'a [u8]> = self.secrets_of(on_line).collect();
        pats.sort_unstable();
        pats.dedup();
        match pats.len() {
            0 => Copies::None,
            // The usual case (one key on its line): no automaton to build per finding.
            1 => Copies::One(pats[0]),
            _ => aho_corasick::AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                .build(pats)
                .map_or(Copies::None, Copies::Many),
        }
    }

    /// The matches overlapping `[from, to)`, in order of start.
    fn overlapping(&self, from: usize, to: usize) -> impl Iterator<Item = &'a RawMatch> + '_ {
        // Before `first`, every match ends at or before `from`; from `last` on, every match
        // starts at or after `to`.
        let first = self.max_end.partition_point(|&e| e <= from);
        let last = self.all.partition_point(|m| m.start < to);
        self.all[first..last.max(first)]
            .iter()
            .filter(move |o| o.end > from && o.start < to)
    }
}

/// The secrets a snippet masks wherever they occur.
enum Copies<'a> {
    None,
    One(&'a [u8]),
    Many(aho_corasick::AhoCorasick),
}

impl Copies<'_> {
    /// Longest secret searched for.
    fn reach(&self) -> usize {
        match self {
            Copies::None => 0,
            Copies::One(p) => p.len(),
            Copies::Many(ac) => ac.max_pattern_len(),
        }
    }

    /// `(start, end)` of every copy in `text`, left to right, not overlapping.
    fn find(&self, text: &[u8]) -> Vec<(usize, usize)> {
        match self {
            Copies::None => Vec::new(),
            Copies::One(p) => {
                let mut out = Vec::new();
                let mut at = 0;
                while let Some(i) = memchr::memmem::find(&text[at..], p) {
                    out.push((at + i, at + i + p.len()));
                    at += i + p.len();
                }
                out
            }
            Copies::Many(ac) => ac.find_iter(text).map(|h| (h.start(), h.end())).collect(),
        }
    }
}

/// Appends `text` to `out` with every copy of a detected secret replaced by its redaction.
fn push_masking_copies(out: &mut String, text: &[u8], copies: &Copies<'_>) {
    let mut pos = 0;
    for (s, e) in copies.find(text) {
        out.push_str(&String::from_utf8_lossy(&text[pos..s]));
        out.push_str(&Secret::new(&text[s..e]).redacted());
        pos = e;
    }
    out.push_str(&String::from_utf8_lossy(&text[pos..]));
}

fn snippet(data: &[u8], m: &RawMatch, all: &Neighbours<'_>) -> String {
    let (ls, le) = line_bounds(data, m.start, m.start + 1);
    let mut from = m.start.saturating_sub(SNIPPET_SIDE).max(ls);
    let first_line_end =
        memchr::memchr(b'\n', &data[m.start..m.end]).map_or(m.end, |i| m.start + i);
    let mut to = (first_line_end.max(m.end.min(le)) + SNIPPET_SIDE).min(le);
    let copies = all.copy_matcher(ls, le);
    // A copy cut by either edge of the window would show most of a secret: widen the window
    // to take it whole, so it is masked.
    {
        let reach = copies.reach();
        let (a, b) = (from.saturating_sub(reach).max(ls), (to + reach).min(le));
        for (s, e) in copies.find(&data[a..b]) {
            let (s, e) = (a + s, a + e);
            if s < from && e > from {
                from = s;
            }
            if s < to && e > to {
                to = e;
            }
        }
    }
    let mut out = String::new();
    if from > ls {
        out.push('…');
    }
    let mut pos = from;
    for other in all.overlapping(from, to) {
        let s = other.start.max(pos);
        if s > pos {
            push_masking_copies(&mut out, &data[pos..s], &copies);
        }
        out.push_str(&Secret::new(&data[other.start..other.end]).redacted());
        pos = other.end.max(pos);
    }
    if pos < to {
        push_masking_copies(&mut out, &data[pos..to], &copies);
    }
    if to < le {
        out.push('…');
    }
    out.trim_end_matches(['\r', '\n']).to_string()
}
