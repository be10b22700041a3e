//! The keyword pass: every occurrence of every rule keyword in a buffer, found by one
//! ASCII case-insensitive aho-corasick DFA.
//!
//! A DFA walk is bound by the latency of its table loads: each step needs the state the
//! previous byte produced, so one walk over a buffer runs at about one byte per load latency
//! (≈ 550 MB/s on the reference machine). [`KeywordFinder::find_all`] therefore walks
//! [`LANES`] slices of the buffer at once, each with its own state; the CPU overlaps their
//! independent loads, which doubles throughput (≈ 1.1 GB/s on the same machine and logs). Each
//! lane starts `longest keyword - 1` bytes before its slice so a keyword straddling a slice
//! border is seen whole by the lane it ends in, and matches ending in that warm-up stretch are
//! left to the previous lane. Hits come out in the same order as a single overlapping search:
//! by end offset, then in the automaton's order for keywords ending at the same byte.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind};

/// How many independent walks interleave.
pub const LANES: usize = 6;
/// Below this size a buffer is walked in one lane: the setup would cost more than it saves.
const MIN_LANED: usize = 16 * 1024;

/// One keyword occurrence: which keyword (its index in the list given to
/// [`KeywordFinder::new`]) and one past its last byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// One past the keyword's last byte.
    pub end: usize,
    /// Index of the keyword.
    pub keyword: u32,
}

/// The compiled keyword automaton.
#[derive(Debug)]
pub struct KeywordFinder {
    dfa: DFA,
    start: StateID,
    lens: Vec<usize>,
}

/// Per-thread buffers for the lanes' hits.
#[derive(Debug, Default)]
pub struct LaneHits {
    lanes: [Vec<Hit>; LANES],
}

impl KeywordFinder {
    /// Builds the automaton over lowercase `keywords`.
    ///
    /// # Panics
    /// If the DFA cannot be built, which for a few hundred short literals does not happen.
    pub fn new(keywords: &[String]) -> Self {
        let dfa = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            // Without a prefilter start states are ordinary, so `is_special` means "match".
            .prefilter(false)
            .build(keywords)
            .expect("keywords are plain literals");
        let start = dfa
            .start_state(Anchored::No)
            .expect("an unanchored DFA has an unanchored start state");
        let lens = keywords.iter().map(String::len).collect();
        KeywordFinder { dfa, start, lens }
    }

    /// Length in bytes of keyword `keyword`.
    pub fn len_of(&self, keyword: u32) -> usize {
        self.lens[keyword as usize]
    }

    /// True when `data` contains any keyword.
    pub fn is_match(&self, data: &[u8]) -> bool {
        let mut sid = self.start;
        for &b in data {
            sid = self.dfa.next_state(Anchored::No, sid, b);
            if self.dfa.is_special(sid) {
                return true;
            }
        }
        false
    }

    /// Every keyword occurrence in `data`, overlapping ones included, appended to `out` in
    /// end order.
    pub fn find_all(&self, data: &[u8], lanes: &mut LaneHits, out: &mut Vec<Hit>) {
        let longest = self.dfa.max_pattern_len().max(1);
        let slice = data.len() / LANES;
        if data.len() < MIN_LANED || slice < 4 * longest {
            let mut sid = self.start;
            self.walk(data, 0, &mut sid, out);
            return;
        }
        // Lane k reports keywords ending in (bounds[k], bounds[k + 1]] and starts reading early
        // enough to see the longest of them whole.
        let bounds: [usize; LANES + 1] =
            std::array::from_fn(|k| if k == LANES { data.len() } else { k * slice });
        let from: [usize; LANES] =
            std::array::from_fn(|k| if k == 0 { 0 } else { bounds[k] + 1 - longest });
        let common = (0..LANES)
            .map(|k| bounds[k + 1] - from[k])
            .min()
            .unwrap_or(0);
        let texts: [&[u8]; LANES] = std::array::from_fn(|k| &data[from[k]..from[k] + common]);
        let mut states = [self.start; LANES];
        for lane in lanes.lanes.iter_mut() {
            lane.clear();
        }
        let dfa = &self.dfa;
        // One index drives all lanes in lockstep; the inner loops unroll.
        #[allow(clippy::needless_range_loop)]
        for i in 0..common {
            for k in 0..LANES {
                states[k] = dfa.next_state(Anchored::No, states[k], texts[k][i]);
            }
            // Special (match) states have the lowest ids, so one comparison covers all lanes.
            let lowest = states.iter().copied().min().unwrap_or(self.start);
            if dfa.is_special(lowest) {
                for k in 0..LANES {
                    if dfa.is_special(states[k]) {
                        self.record(states[k], from[k] + i + 1, &mut lanes.lanes[k]);
                    }
                }
            }
        }
        for k in 0..LANES {
            let start = from[k] + common;
            self.walk(
                &data[start..bounds[k + 1]],
                start,
                &mut states[k],
                &mut lanes.lanes[k],
            );
            let lane = &lanes.lanes[k];
            let first_own = lane.partition_point(|h| k > 0 && h.end <= bounds[k]);
            out.extend_from_slice(&lane[first_own..]);
        }
    }

    /// One lane over `text`, which starts at `offset` in the caller's buffer.
    fn walk(&self, text: &[u8], offset: usize, sid: &mut StateID, out: &mut Vec<Hit>) {
        for (i, &b) in text.iter().enumerate() {
            *sid = self.dfa.next_state(Anchored::No, *sid, b);
            if self.dfa.is_special(*sid) {
                self.record(*sid, offset + i + 1, out);
            }
        }
    }

    #[inline]
    fn record(&self, sid: StateID, end: usize, out: &mut Vec<Hit>) {
        for i in 0..self.dfa.match_len(sid) {
            out.push(Hit {
                end,
                keyword: self.dfa.match_pattern(sid, i).as_u32(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::AhoCorasick;

    fn reference(keywords: &[String], data: &[u8]) -> Vec<Hit> {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(keywords)
            .unwrap()
            .find_overlapping_iter(data)
            .map(|m| Hit {
                end: m.end(),
                keyword: m.pattern().as_u32(),
            })
            .collect()
    }

    /// The laned walk reports exactly what one overlapping search reports, in the same order,
    /// including keywords that straddle lane borders and keywords inside keywords.
    #[test]
    fn laned_walk_equals_overlapping_search() {
        let keywords: Vec<String> = ["sk-", "sk-ant-", "token", "github_token", "ken", "aiza"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let finder = KeywordFinder::new(&keywords);
        let mut lanes = LaneHits::default();
        let unit = b"x GITHUB_TOKEN=1 sk-ant-api aIzA tokenken ";
        for len in [0usize, 5, 100, MIN_LANED - 1, MIN_LANED, 70_001, 200_003] {
            // Shift the text by a byte per size so keywords land on every lane border offset.
            let data: Vec<u8> = unit
                .iter()
                .cycle()
                .skip(len % unit.len())
                .take(len)
                .copied()
                .collect();
            let mut got = Vec::new();
            finder.find_all(&data, &mut lanes, &mut got);
            assert_eq!(got, reference(&keywords, &data), "len {len}");
            assert_eq!(finder.is_match(&data), !got.is_empty());
        }
    }

    #[test]
    fn keyword_across_every_lane_border_is_found_once() {
        let keywords = vec!["abcdefgh".to_string()];
        let finder = KeywordFinder::new(&keywords);
        let mut lanes = LaneHits::default();
        let len = 64 * 1024;
        let slice = len / LANES;
        for shift in 0..8 {
            let mut data = vec![b'.'; len];
            for k in 1..LANES {
                let at = k * slice - shift;
                data[at..at + 8].copy_from_slice(b"ABCDEFGH");
            }
            let mut got = Vec::new();
            finder.find_all(&data, &mut lanes, &mut got);
            let ends: Vec<usize> = got.iter().map(|h| h.end).collect();
            let want: Vec<usize> = (1..LANES).map(|k| k * slice - shift + 8).collect();
            assert_eq!(ends, want, "shift {shift}");
        }
    }
}
