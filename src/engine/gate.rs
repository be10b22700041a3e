//! Shared gates for windows that several rules must search.
//!
//! A log line such as `password=[FILTERED] token=[FILTERED] session=…` holds the keywords of
//! seven rules, and running seven regexes over it costs about seven times one pass. When the
//! same set of rules keeps landing on the same windows, the engine compiles their regexes into
//! one `RegexSet`: a single pass over the window says which of them can match there at all,
//! and only those run (usually none: about 100 ns instead of 500 ns per line on the logs
//! benchmark). The set gives the same answer as the rules' own regexes, because it is compiled
//! with the same flags and searched from the same start with the same haystack, so gating
//! never changes what is found.
//!
//! Compiling a set costs milliseconds, so a combination of rules gets one only after a thread
//! has seen it [`GATE_AFTER`] times; at most [`MAX_GATES`] sets are kept per engine, shared by
//! all threads.

use crate::rules::{regex_set, Rule};
use regex::bytes::RegexSet;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

/// How often a thread must meet the same combination of rules before a set is compiled.
const GATE_AFTER: u32 = 1024;
/// Most sets one engine keeps.
const MAX_GATES: usize = 128;
/// Most combinations one thread counts (each costs a few bytes).
const MAX_COUNTED: usize = 4096;

/// A multiply-rotate hash for short lists of rule indexes: looked up once per multi-rule
/// line, where SipHash showed up in profiles. Keys are not attacker-chosen in a way that
/// matters: the worst case is a slower lookup, never a wrong answer.
#[derive(Debug, Default)]
struct RuleListHasher(u64);

impl Hasher for RuleListHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // A `[u32]` key arrives as one slice of bytes: mix it eight bytes at a time.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type RuleListMap<V> = HashMap<Box<[u32]>, V, BuildHasherDefault<RuleListHasher>>;

/// The engine's compiled gates, keyed by the sorted rule indexes they cover.
#[derive(Debug, Default)]
pub struct Gates {
    sets: Mutex<RuleListMap<Option<RegexSet>>>,
}

/// A thread's view: sightings per combination, and the sets it already fetched.
#[derive(Debug, Default)]
pub struct LocalGates {
    seen: RuleListMap<Local>,
}

#[derive(Debug)]
enum Local {
    Counting(u32),
    /// `None`: the set could not be compiled (size limit) or the engine holds enough sets.
    Ready(Option<RegexSet>),
}

impl Gates {
    /// The gate for `group` (sorted rule indexes), when this thread has met the combination
    /// often enough for one to pay off.
    pub fn get<'l>(
        &self,
        group: &[u32],
        rules: &[Rule],
        local: &'l mut LocalGates,
    ) -> Option<&'l RegexSet> {
        if !local.seen.contains_key(group) {
            if local.seen.len() >= MAX_COUNTED {
                return None;
            }
            local.seen.insert(group.into(), Local::Counting(0));
        }
        let entry = local.seen.get_mut(group)?;
        if let Local::Counting(n) = entry {
            *n += 1;
            if *n < GATE_AFTER {
                return None;
            }
            *entry = Local::Ready(self.shared(group, rules));
        }
        match entry {
            Local::Ready(set) => set.as_ref(),
            Local::Counting(_) => None,
        }
    }

    /// True when no gate has been compiled yet.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.sets.lock().map_or(true, |s| s.is_empty())
    }

    fn shared(&self, group: &[u32], rules: &[Rule]) -> Option<RegexSet> {
        let mut sets = self.sets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(set) = sets.get(group) {
            return set.clone();
        }
        if sets.len() >= MAX_GATES {
            return None;
        }
        let set = regex_set(group.iter().map(|&ri| rules[ri as usize].regex().as_str())).ok();
        sets.insert(group.into(), set.clone());
        set
    }
}
