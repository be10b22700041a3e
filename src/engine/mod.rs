//! The matcher: one ASCII case-insensitive `aho-corasick` automaton over every rule's keywords
//! finds candidate positions; only rules whose keywords occur run their regex, and only on a
//! bounded window around each hit (the hit's line, or 16 KiB for multi-line rules). Matches then
//! pass the filters (entropy, placeholders, validator, context, inline `keysweep:allow`,
//! allowlisted values) and overlapping matches collapse to the most specific rule.
//!
//! The engine does no I/O and knows nothing about files; [`Engine::scan`] takes bytes and a
//! per-thread [`Scratch`] and returns byte ranges. Nothing is allocated per keyword hit.

pub mod filters;
mod gate;
pub mod keywords;
pub mod validators;

use crate::rules::Rule;
use gate::{Gates, LocalGates};
use keywords::{Hit, KeywordFinder, LaneHits};
use memchr::{memchr, memmem, memrchr};
use regex::bytes::{CaptureLocations, Regex};
use std::collections::HashMap;

/// How far a line window reaches either side of a keyword hit on a very long line.
const LINE_CAP: usize = 1024;
/// How far past its keyword a multi-line rule may match.
const MULTILINE_SPAN: usize = 16 * 1024;
/// How far from a match its context words are looked for.
const CONTEXT_SPAN: usize = 1024;
/// The inline marker that suppresses findings on its line.
pub const ALLOW_MARKER: &[u8] = b"keysweep:allow";

/// One confirmed match: which rule, and the secret's byte range in the scanned buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawMatch {
    /// Index of the rule in [`Engine::rules`].
    pub rule: u32,
    /// First byte of the secret.
    pub start: usize,
    /// One past the last byte of the secret.
    pub end: usize,
    rank: Rank,
}

/// Orders matches on the same span: specific before generic, generic before fallback, nearer
/// context first, then
/// confidence, then the longer secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    specific: bool,
    primary: bool,
    context_closeness: u32,
    confidence: u8,
    len: usize,
}

/// Per-thread reusable buffers for [`Engine::scan`].
#[derive(Debug)]
pub struct Scratch {
    windows: Vec<Vec<(usize, usize)>>,
    hits: Vec<Hit>,
    lanes: LaneHits,
    touched: Vec<u32>,
    /// Line windows of all single-line rules, as `(start, end, rule)`, in hit order.
    jobs: Vec<(usize, usize, u32)>,
    /// Per rule: 1 + index in `jobs` of its latest window, or 0.
    last_job: Vec<u32>,
    touched_lines: Vec<u32>,
    group: Vec<u32>,
    gate_hits: Vec<bool>,
    gates: LocalGates,
    locs: Vec<Option<CaptureLocations>>,
    candidates: Vec<RawMatch>,
    matches: Vec<RawMatch>,
    /// Secrets dropped by an inline `keysweep:allow` during the last scan (overlapping
    /// matches of several rules count once, like findings).
    pub suppressed_inline: usize,
    suppressed_spans: Vec<(usize, usize)>,
    suppressed_starts: Vec<usize>,
}

impl Scratch {
    /// Where each match dropped by `keysweep:allow` in the last scan started, so a chunked
    /// scan can count only those in its own range.
    pub fn suppressed_starts(&self) -> &[usize] {
        &self.suppressed_starts
    }
}

/// The compiled rule set plus its keyword automaton.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<Rule>,
    /// Built on first use: a command that ends up scanning nothing (an empty staged commit)
    /// never pays for it.
    automaton: std::sync::OnceLock<KeywordFinder>,
    patterns: Vec<String>,
    keyword_rules: Vec<Vec<u32>>,
    allow_values: Vec<Regex>,
    allow_finder: memmem::Finder<'static>,
    gates: Gates,
}

impl Engine {
    /// Builds the engine over `rules`.
    pub fn new(rules: Vec<Rule>) -> Self {
        Self::with_allowlist(rules, Vec::new())
    }

    /// Builds the engine; a secret matching any of `allow_values` is never reported.
    pub fn with_allowlist(rules: Vec<Rule>, allow_values: Vec<Regex>) -> Self {
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<u32>> = Vec::new();
        for (ri, rule) in rules.iter().enumerate() {
            for kw in &rule.keywords {
                let key = kw.to_ascii_lowercase();
                let pi = *index.entry(key.clone()).or_insert_with(|| {
                    patterns.push(key);
                    keyword_rules.push(Vec::new());
                    patterns.len() - 1
                });
                if !keyword_rules[pi].contains(&(ri as u32)) {
                    keyword_rules[pi].push(ri as u32);
                }
            }
        }
        Engine {
            rules,
            automaton: std::sync::OnceLock::new(),
            patterns,
            keyword_rules,
            allow_values,
            allow_finder: memmem::Finder::new(ALLOW_MARKER),
            gates: Gates::default(),
        }
    }

    /// True when `data` contains any rule's keyword (a cheap test before decoding layers
    /// rescan text).
    pub fn has_keyword(&self, data: &[u8]) -> bool {
        self.automaton().is_match(data)
    }

    /// The keyword automaton. A DFA: one table lookup per byte; the keyword set is small (a
    /// few hundred short literals), so its tables stay small.
    fn automaton(&self) -> &KeywordFinder {
        self.automaton
            .get_or_init(|| KeywordFinder::new(&self.patterns))
    }

    /// The rules, in the order [`RawMatch::rule`] indexes.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Fresh scratch space sized for this engine; keep one per thread.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            windows: vec![Vec::new(); self.rules.len()],
            hits: Vec::new(),
            lanes: LaneHits::default(),
            touched: Vec::new(),
            jobs: Vec::new(),
            last_job: vec![0; self.rules.len()],
            touched_lines: Vec::new(),
            group: Vec::new(),
            gate_hits: Vec::new(),
            gates: LocalGates::default(),
            locs: vec![None; self.rules.len()],
            candidates: Vec::new(),
            matches: Vec::new(),
            suppressed_inline: 0,
            suppressed_spans: Vec::new(),
            suppressed_starts: Vec::new(),
        }
    }

    /// Finds every secret in `data`. The result is sorted by start offset and lives in
    /// `scratch` until the next call.
    pub fn scan<'s>(&self, data: &[u8], scratch: &'s mut Scratch) -> &'s [RawMatch] {
        scratch.candidates.clear();
        scratch.matches.clear();
        scratch.suppressed_inline = 0;
        scratch.suppressed_starts.clear();
        scratch.suppressed_spans.clear();
        self.collect_windows(data, scratch);
        let touched = std::mem::take(&mut scratch.touched);
        for &ri in &touched {
            let windows = std::mem::take(&mut scratch.windows[ri as usize]);
            for &(ws, we) in &windows {
                self.run_rule(ri, data, ws, we, scratch);
            }
            let mut windows = windows;
            windows.clear();
            scratch.windows[ri as usize] = windows;
        }
        let mut touched = touched;
        touched.clear();
        scratch.touched = touched;
        for &ri in &scratch.touched_lines {
            scratch.last_job[ri as usize] = 0;
        }
        scratch.touched_lines.clear();
        // Rules sharing a window run together, so one gate pass can rule most of them out.
        let jobs = std::mem::take(&mut scratch.jobs);
        for group in jobs.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
            let (ws, we, _) = group[0];
            self.run_group(group, data, ws, we, scratch);
        }
        let mut jobs = jobs;
        jobs.clear();
        scratch.jobs = jobs;
        resolve_overlaps(&mut scratch.candidates, &mut scratch.matches);
        // Suppressed matches collapse like findings: one per group of overlapping spans.
        scratch.suppressed_spans.sort_unstable();
        let mut cluster_end = 0;
        for &(s, e) in &scratch.suppressed_spans {
            if scratch.suppressed_starts.is_empty() || s >= cluster_end {
                scratch.suppressed_starts.push(s);
                cluster_end = e;
            } else {
                cluster_end = cluster_end.max(e);
            }
        }
        scratch.suppressed_inline = scratch.suppressed_starts.len();
        &scratch.matches
    }

    /// Step 1: keyword hits become windows. A single-line rule's window is its hit's line,
    /// recorded in `jobs` in hit order (so rules sharing a line sit next to each other); a
    /// multi-line rule's windows go to its own list. A rule's overlapping windows merge.
    fn collect_windows(&self, data: &[u8], scratch: &mut Scratch) {
        let finder = self.automaton();
        let mut hits = std::mem::take(&mut scratch.hits);
        hits.clear();
        finder.find_all(data, &mut scratch.lanes, &mut hits);
        // The last line looked up; reused while hits stay on it (a log line often holds
        // several keywords). Only lines short enough that the 1 KiB cap cannot bite.
        let mut line = (usize::MAX, 0);
        for hit in &hits {
            let (hit_start, hit_end) = (hit.end - finder.len_of(hit.keyword), hit.end);
            for &ri in &self.keyword_rules[hit.keyword as usize] {
                let rule = &self.rules[ri as usize];
                if rule.multiline {
                    let windows = &mut scratch.windows[ri as usize];
                    let (ws, we) = multiline_window(data, hit_start, hit_end);
                    match windows.last_mut() {
                        Some(last) if ws <= last.1 => last.1 = last.1.max(we),
                        Some(_) => windows.push((ws, we)),
                        None => {
                            windows.push((ws, we));
                            scratch.touched.push(ri);
                        }
                    }
                    continue;
                }
                let last = scratch.last_job[ri as usize];
                if last != 0 {
                    let (ls, le, _) = scratch.jobs[last as usize - 1];
                    // Same line already covered with room to spare: nothing new to add.
                    if hit_end + LINE_CAP / 2 <= le && hit_start >= ls {
                        continue;
                    }
                }
                let (ws, we) = if hit_start >= line.0 && hit_end <= line.1 {
                    line
                } else {
                    let bounds = line_bounds(data, hit_start, hit_end);
                    line = if bounds.1 - bounds.0 <= LINE_CAP {
                        bounds
                    } else {
                        (usize::MAX, 0)
                    };
                    bounds
                };
                self.add_job(ri, ws, we, scratch);
            }
        }
        scratch.hits = hits;
    }

    /// Adds line window `[ws, we)` for single-line rule `ri`, merging it into the rule's
    /// previous window when they overlap.
    fn add_job(&self, ri: u32, ws: usize, we: usize, scratch: &mut Scratch) {
        let last = scratch.last_job[ri as usize];
        if last != 0 {
            let job = &mut scratch.jobs[last as usize - 1];
            if ws <= job.1 {
                job.1 = job.1.max(we);
                return;
            }
        } else {
            scratch.touched_lines.push(ri);
        }
        scratch.jobs.push((ws, we, ri));
        scratch.last_job[ri as usize] = scratch.jobs.len() as u32;
    }

    /// Step 2 for the single-line rules whose keywords put them on the same window: a gate,
    /// once the combination is common enough to have one, then each rule it lets through.
    fn run_group(
        &self,
        group: &[(usize, usize, u32)],
        data: &[u8],
        ws: usize,
        we: usize,
        scratch: &mut Scratch,
    ) {
        if group.len() > 1 {
            scratch.group.clear();
            scratch.group.extend(group.iter().map(|j| j.2));
            scratch.group.sort_unstable();
            if let Some(set) = self
                .gates
                .get(&scratch.group, &self.rules, &mut scratch.gates)
            {
                let (hay, from) = (&data[..we], ws.saturating_sub(1));
                if !set.is_match_at(hay, from) {
                    return;
                }
                scratch.gate_hits.clear();
                scratch.gate_hits.resize(group.len(), false);
                set.matches_read_at(&mut scratch.gate_hits, hay, from);
                // The set's patterns are in `scratch.group`'s (sorted) order.
                let hits = std::mem::take(&mut scratch.gate_hits);
                let rules = std::mem::take(&mut scratch.group);
                for (&ri, _) in rules.iter().zip(&hits).filter(|(_, &hit)| hit) {
                    self.run_rule(ri, data, ws, we, scratch);
                }
                scratch.gate_hits = hits;
                scratch.group = rules;
                return;
            }
        }
        for job in group {
            self.run_rule(job.2, data, ws, we, scratch);
        }
    }

    /// Step 2: the rule's regex over one window, then the filters.
    fn run_rule(&self, ri: u32, data: &[u8], ws: usize, we: usize, scratch: &mut Scratch) {
        let rule = &self.rules[ri as usize];
        let hay = &data[..we];
        // Start one byte early: a pattern may consume the boundary character before the key
        // (`(?:^|[^A-Za-z0-9_])`), and at a window start that byte is the previous newline.
        let mut pos = ws.saturating_sub(1);
        while pos <= we {
            let regex = rule.regex();
            let locs = scratch.locs[ri as usize].get_or_insert_with(|| regex.capture_locations());
            let Some(m) = regex.captures_read_at(locs, hay, pos) else {
                break;
            };
            // Resume right after the secret, not after the whole match: a pattern's trailing
            // boundary character may be the next key's leading one (`KEY1 KEY2`).
            let resume = locs.get(rule.secret_group()).map_or(m.end(), |(_, e)| e);
            pos = if resume > pos {
                resume
            } else {
                m.end().max(pos) + 1
            };
            let Some((s, e)) = locs.get(rule.secret_group()) else {
                continue;
            };
            if s == e {
                continue;
            }
            let secret = &data[s..e];
            if let Some(rank) = self.accept(rule, data, s, e, secret, scratch) {
                scratch.candidates.push(RawMatch {
                    rule: ri,
                    start: s,
                    end: e,
                    rank,
                });
            }
        }
    }

    /// Step 3: filters. Returns the match's rank when it survives.
    fn accept(
        &self,
        rule: &Rule,
        data: &[u8],
        s: usize,
        e: usize,
        secret: &[u8],
        scratch: &mut Scratch,
    ) -> Option<Rank> {
        if let Some(min) = rule.min_entropy {
            if filters::shannon_entropy(secret) < min {
                return None;
            }
        }
        if !rule.multiline && filters::is_placeholder(secret) {
            return None;
        }
        if let Some(v) = rule.validator {
            if !v.check(secret) {
                return None;
            }
        }
        let context_closeness = match rule.context_matcher() {
            None => 0,
            Some(ac) => {
                let (lo, hi) = context_region(data, s, e, rule.regex());
                // Overlapping search: with plain `find_iter` a short word (`deepseek`) hides a
                // longer, nearer one that contains it (`deepseek_api_key=` right before the key).
                let distance = ac
                    .find_overlapping_iter(&data[lo..hi])
                    .map(|m| {
                        let (ms, me) = (lo + m.start(), lo + m.end());
                        if me <= s {
                            s - me
                        } else {
                            ms.saturating_sub(e)
                        }
                    })
                    .min()?;
                u32::MAX - distance as u32
            }
        };
        if self.allow_values.iter().any(|r| r.is_match(secret)) {
            return None;
        }
        let (ls, le) = line_bounds(data, s, s + 1);
        if self.allow_finder.find(&data[ls..le]).is_some() {
            scratch.suppressed_spans.push((s, e));
            return None;
        }
        Some(Rank {
            specific: !rule.generic,
            primary: !rule.fallback,
            context_closeness,
            confidence: rule.confidence as u8,
            len: e - s,
        })
    }
}

/// Start and end of the line around `[start, end)`, each capped at 1 KiB away.
pub fn line_bounds(data: &[u8], start: usize, end: usize) -> (usize, usize) {
    let lo = start.saturating_sub(LINE_CAP);
    let ls = memrchr(b'\n', &data[lo..start]).map_or(lo, |i| lo + i + 1);
    let end = end.min(data.len());
    let hi = (end + LINE_CAP).min(data.len());
    let le = memchr(b'\n', &data[end..hi]).map_or(hi, |i| end + i);
    (ls, le)
}

/// A multi-line rule's window: from the start of the hit's line to [`MULTILINE_SPAN`] past it.
fn multiline_window(data: &[u8], start: usize, end: usize) -> (usize, usize) {
    let (ls, _) = line_bounds(data, start, end);
    (ls, (end + MULTILINE_SPAN).min(data.len()))
}

/// The text around a match where its context words count: whole lines up to
/// [`CONTEXT_SPAN`] bytes either side, stopping at a line that the rule's own regex matches
/// (another key of the same shape: in `.env` files each key's own line names its provider, and
/// a neighbour's variable name must not claim it).
fn context_region(data: &[u8], s: usize, e: usize, regex: &Regex) -> (usize, usize) {
    let (mut lo, mut hi) = line_bounds(data, s, e);
    let min_lo = s.saturating_sub(CONTEXT_SPAN);
    while lo > min_lo && lo > 0 {
        let prev_end = lo - 1; // the '\n' ending the previous line
        let prev_start = memrchr(b'\n', &data[min_lo..prev_end]).map_or(min_lo, |i| min_lo + i + 1);
        if regex.is_match(&data[prev_start..prev_end]) {
            break;
        }
        lo = prev_start;
    }
    let max_hi = (e + CONTEXT_SPAN).min(data.len());
    while hi < max_hi {
        let next_start = hi + 1;
        if next_start >= max_hi {
            break;
        }
        let next_end = memchr(b'\n', &data[next_start..max_hi]).map_or(max_hi, |i| next_start + i);
        if regex.is_match(&data[next_start..next_end]) {
            break;
        }
        hi = next_end;
    }
    (lo, hi)
}

/// Keeps, among overlapping secret spans, the best-ranked ones: candidates are taken best
/// first and each is kept unless it overlaps one already kept. A long generic match that spans
/// two provider keys therefore loses to both, instead of chaining them into one group that
/// keeps only a single key. `out` ends sorted by start.
fn resolve_overlaps(candidates: &mut [RawMatch], out: &mut Vec<RawMatch>) {
    if candidates.len() <= 1 {
        out.extend_from_slice(candidates);
        return;
    }
    candidates.sort_unstable_by(|a, b| {
        b.rank
            .cmp(&a.rank)
            .then(a.start.cmp(&b.start))
            .then(a.rule.cmp(&b.rule))
    });
    // Kept spans by start; kept spans never overlap, so only the nearest one before a
    // candidate's end can overlap it.
    let mut kept: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    for m in candidates.iter() {
        let overlaps = kept
            .range(..m.end)
            .next_back()
            .is_some_and(|(_, &end)| end > m.start);
        if !overlaps {
            kept.insert(m.start, m.end);
            out.push(*m);
        }
    }
    out.sort_unstable_by_key(|m| (m.start, m.end));
}

#[cfg(test)]
mod tests;
