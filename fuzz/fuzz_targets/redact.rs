//! The redactor over arbitrary bytes: the masked copy keeps every line break, contains
//! nothing the scanner still finds, and redacting it again changes nothing.
#![no_main]

use keysweep::engine::Engine;
use keysweep::redact;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| Engine::new(keysweep::rules::builtin_rules().unwrap()))
}

fn redact_bytes(data: &[u8]) -> (Vec<u8>, usize) {
    let e = engine();
    let plan = redact::plan(e, &mut e.scratch(), data, "fuzz", 1 << 20, &mut Vec::new()).unwrap();
    let mut out = Vec::new();
    redact::write_masked(data, &mut out, &plan.masks).unwrap();
    (out, plan.masks.len())
}

fuzz_target!(|data: &[u8]| {
    let (once, _) = redact_bytes(data);
    let nl = |d: &[u8]| d.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(nl(&once), nl(data));
    let (twice, left) = redact_bytes(&once);
    assert_eq!(left, 0, "a redacted copy still has secrets");
    assert_eq!(once, twice);
});
