//! The engine with the full built-in rule pack over arbitrary bytes: the whole-buffer scan
//! (with the decoding layers, findings, snippets) and the streaming scan with a small chunk
//! must not panic, and must agree.
#![no_main]

use keysweep::engine::Engine;
use keysweep::finding::Provenance;
use keysweep::scan::blob::{scan_bytes, scan_reader_in, Chunking};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| Engine::new(keysweep::rules::builtin_rules().unwrap()))
}

fuzz_target!(|data: &[u8]| {
    let e = engine();
    let mut scratch = e.scratch();
    let p = Provenance::file("fuzz");
    let whole = scan_bytes(e, &mut scratch, data, &p, false);
    // The first byte picks a chunk size. The margin is cut from 64 KiB to 24 KiB so inputs of
    // a few dozen KiB cross chunk boundaries; it still exceeds every window (a multi-line
    // rule's 16 KiB span plus a 1 KiB line cap, an 8 KiB decoded run), so chunked findings
    // must equal whole-buffer findings.
    let chunk = 1 + data.first().copied().unwrap_or(0) as usize * 16;
    let pieces = 1 + data.get(1).copied().unwrap_or(0) as usize % 3;
    const MARGIN: usize = 24 << 10;
    let chunked = scan_reader_in(
        e,
        &mut scratch,
        data,
        &p,
        false,
        Chunking { chunk, margin: MARGIN, pieces },
        &mut Vec::new(),
    )
    .unwrap();
    let key = |f: &keysweep::finding::Finding| {
        (f.rule_id.clone(), f.location.clone(), f.fingerprint.clone(), f.snippet.clone())
    };
    let a: Vec<_> = whole.findings.iter().map(key).collect();
    let b: Vec<_> = chunked.findings.iter().map(key).collect();
    assert_eq!(a, b, "chunk {chunk}");
    for f in &whole.findings {
        assert!(f.location.byte_start < f.location.byte_end);
        assert!(f.location.byte_end as usize <= data.len());
        assert!(f.location.column >= 1 && f.location.line >= 1);
    }
});
