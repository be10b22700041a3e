//! Engine tests with fake keys (this file is allowlisted in keysweep.toml).
use super::*;
use crate::rules::parse_rule_text;

/// Two rules for the same key shape, attributed by context. The key on the `ALPHA_KEY=` line
/// belongs to `alpha`: its context word `alpha_key=` touches the key (distance 0), while the
/// `beta` word on the next line is one newline away. A non-overlapping context search would
/// stop at the shorter `alpha` (distance 10) and give the key to `beta`.
#[test]
fn nearest_context_sees_words_that_contain_shorter_ones() {
    let text = r#"
[[rule]]
id = "alpha-key"
title = "a"
provider = "Alpha"
keywords = ["sk-"]
regex = '\b(?P<secret>sk-[0-9a-f]{32})\b'
context = ["alpha", "alpha_key="]
severity = "high"
confidence = "medium"
examples = ["ALPHA_KEY=sk-4f9a0c3e7b2d1f8a6c5e9b0d3a7f2c1e"]

[[rule]]
id = "beta-key"
title = "b"
provider = "Beta"
keywords = ["sk-"]
regex = '\b(?P<secret>sk-[0-9a-f]{32})\b'
context = ["beta"]
severity = "high"
confidence = "medium"
examples = ["BETA_KEY=sk-4f9a0c3e7b2d1f8a6c5e9b0d3a7f2c1e"]
"#;
    let (rules, problems) = parse_rule_text("test.toml", text);
    assert!(problems.is_empty(), "{problems:?}");
    let engine = Engine::new(rules);
    let mut scratch = engine.scratch();
    let data = b"ALPHA_KEY=sk-4f9a0c3e7b2d1f8a6c5e9b0d3a7f2c1e\nBETA_KEY=sk-9e2b7d4a1c8f3e6b0d5a9c2e7f4b1d8a\n";
    let found: Vec<&str> = engine
        .scan(data, &mut scratch)
        .iter()
        .map(|m| engine.rules()[m.rule as usize].id.as_str())
        .collect();
    assert_eq!(found, ["alpha-key", "beta-key"]);
}

/// A neighbour's context must not claim a key on its own line: in an `.env`, the line
/// `API_KEY=sk-…` after `ALPHA_KEY=sk-…` has no context of its own, so it falls to the
/// unknown rule, while context on a plain neighbouring line (a base URL) still counts.
#[test]
fn context_stops_at_lines_holding_another_key_of_the_same_shape() {
    let text = r#"
[[rule]]
id = "alpha-key"
title = "a"
provider = "Alpha"
keywords = ["sk-"]
regex = '\b(?P<secret>sk-[0-9a-f]{32})\b'
context = ["alpha"]
severity = "high"
confidence = "medium"
examples = ["ALPHA_KEY=sk-4f9a0c3e7b2d1f8a6c5e9b0d3a7f2c1e"]

[[rule]]
id = "unknown-key"
title = "u"
provider = "unknown"
keywords = ["sk-"]
regex = '\b(?P<secret>sk-[0-9a-f]{32})\b'
severity = "high"
confidence = "low"
examples = ["KEY=sk-4f9a0c3e7b2d1f8a6c5e9b0d3a7f2c1e"]
"#;
    let (rules, problems) = parse_rule_text("test.toml", text);
    assert!(problems.is_empty(), "{problems:?}");
    let engine = Engine::new(rules);
    let mut scratch = engine.scratch();
    let ids = |data: &[u8], scratch: &mut Scratch| -> Vec<String> {
        engine
            .scan(data, scratch)
            .iter()
            .map(|m| engine.rules()[m.rule as usize].id.clone())
            .collect()
    };
    let env = b"ALPHA_KEY=sk-4f9a0c3e7b2d1f8a6c5e9b0d3a7f2c1e\nAPI_KEY=sk-9e2b7d4a1c8f3e6b0d5a9c2e7f4b1d8a\n";
    assert_eq!(ids(env, &mut scratch), ["alpha-key", "unknown-key"]);
    let code = b"client = Client(\n  key=\"sk-9e2b7d4a1c8f3e6b0d5a9c2e7f4b1d8a\",\n  base_url=\"https://api.alpha.example\")\n";
    assert_eq!(ids(code, &mut scratch), ["alpha-key"]);
}

/// Regression: a rule that consumes the character before the key (`(?:^|[^A-Za-z0-9_])`)
/// missed keys at the start of any line but the first, because the window began after the
/// newline that the pattern needed.
#[test]
fn patterns_that_consume_a_leading_boundary_match_at_line_starts() {
    let text = r#"
[[rule]]
id = "tok"
title = "t"
provider = "p"
keywords = ["tok_"]
regex = '''(?:^|[^A-Za-z0-9_])(?P<secret>tok_[a-z0-9]{12})(?:[^A-Za-z0-9_]|$)'''
severity = "high"
confidence = "high"
examples = ["tok_q8zr2lxt0vkp"]
"#;
    let (rules, problems) = parse_rule_text("test.toml", text);
    assert!(problems.is_empty(), "{problems:?}");
    let engine = Engine::new(rules);
    let mut scratch = engine.scratch();
    let data = b"tok_q8zr2lxt0vkp\ntok_m3nb7cd4ef6g\nx tok_h1jk5q8zr2lx\n";
    let starts: Vec<usize> = engine
        .scan(data, &mut scratch)
        .iter()
        .map(|m| m.start)
        .collect();
    assert_eq!(starts, [0, 17, 36]);
}

/// Regression: two keys separated by one space on a line, with a pattern that consumes a
/// boundary character on both sides: the second was missed (and then shown raw in snippets).
#[test]
fn adjacent_keys_sharing_a_boundary_character_are_both_found() {
    let text = r#"
[[rule]]
id = "tok"
title = "t"
provider = "p"
keywords = ["tok_"]
regex = '''(?:^|[^A-Za-z0-9_])(?P<secret>tok_[a-z0-9]{12})(?:[^A-Za-z0-9_]|$)'''
severity = "high"
confidence = "high"
examples = ["tok_q8zr2lxt0vkp"]
"#;
    let (rules, _) = parse_rule_text("test.toml", text);
    let engine = Engine::new(rules);
    let mut scratch = engine.scratch();
    let data = b"B=tok_q8zr2lxt0vkp tok_m3nb7cd4ef6g\n";
    assert_eq!(engine.scan(data, &mut scratch).len(), 2);
}

/// Regression (found by the redaction property test): a generic match spanning two specific
/// keys chained them into one overlap group, and only one key was reported (the other stayed
/// unredacted). Each specific key must win its own span.
#[test]
fn a_generic_span_covering_two_specific_keys_loses_to_both() {
    let text = r#"
[[rule]]
id = "alpha"
title = "a"
provider = "A"
keywords = ["aa_"]
regex = '''(?P<secret>aa_[a-z0-9]{12})'''
severity = "high"
confidence = "high"
examples = ["aa_q8zr2lxt0vkp"]

[[rule]]
id = "beta"
title = "b"
provider = "B"
keywords = ["bb_"]
regex = '''(?P<secret>bb_[a-z0-9]{12})'''
severity = "high"
confidence = "high"
examples = ["bb_q8zr2lxt0vkp"]

[[rule]]
id = "catch-all"
title = "c"
provider = "unknown"
keywords = ["key="]
regex = '''key=(?P<secret>\S{16,})'''
generic = true
severity = "low"
confidence = "low"
examples = ["key=q8zr2lxt0vkpm3nb7cd4"]
"#;
    let (rules, problems) = parse_rule_text("test.toml", text);
    assert!(problems.is_empty(), "{problems:?}");
    let engine = Engine::new(rules);
    let mut scratch = engine.scratch();
    let data = b"key=aa_q8zr2lxt0vkp;bb_m3nb7cd4ef6g\n";
    let ids: Vec<&str> = engine
        .scan(data, &mut scratch)
        .iter()
        .map(|m| engine.rules()[m.rule as usize].id.as_str())
        .collect();
    assert_eq!(ids, ["alpha", "beta"]);
}

/// Once a combination of rules is common enough to get a gate, the gated scan finds exactly
/// what the rules find one by one: lines where several generic rules meet, most of them with
/// no secret and some with one, repeated far past the gate's threshold, compared with each line
/// scanned alone by a fresh scratch (which never gates).
#[test]
fn gated_windows_find_what_each_rule_finds_alone() {
    let engine = Engine::new(crate::rules::builtin_rules().unwrap());
    let lines: [&[u8]; 5] = [
        b"password=[FILTERED] token=[FILTERED] session=********",
        b"db_password = \"Xk3b9Qz7Lm2Wv8Rt\" token=[FILTERED] session=********",
        b"password=[FILTERED] token=\"Fq8Zr3Lk9Wm2Xv7Bt4Nc6Ps1\" session=********",
        b"password=[FILTERED] token=[FILTERED] session=k3J9xQ7mZ2vL8wR4tB6nC1pF5sD0gH",
        b"Authorization: Bearer [REDACTED] token=[FILTERED]",
    ];
    let mut data = Vec::new();
    let mut starts = Vec::new();
    for i in 0..5000 {
        starts.push(data.len());
        // Mostly the empty line, so the combination reaches the gate threshold early.
        let line = if i % 7 == 0 { lines[i % 5] } else { lines[0] };
        data.extend_from_slice(line);
        data.push(b'\n');
    }
    let mut one_by_one = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(data.len());
        let mut fresh = engine.scratch();
        for m in engine.scan(&data[start..end], &mut fresh) {
            one_by_one.push((m.rule, start + m.start, start + m.end));
        }
    }
    let mut scratch = engine.scratch();
    let gated: Vec<_> = engine
        .scan(&data, &mut scratch)
        .iter()
        .map(|m| (m.rule, m.start, m.end))
        .collect();
    assert!(
        one_by_one.len() > 200,
        "the lines hold secrets: {}",
        one_by_one.len()
    );
    assert_eq!(gated, one_by_one);
    assert!(
        !engine.gates.is_empty(),
        "the repeated combination got a gate"
    );
}
