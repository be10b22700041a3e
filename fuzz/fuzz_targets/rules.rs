//! The rule-file loader over arbitrary text: parsing, validation (regex size limit, keyword
//! rules, examples) must return problems, never panic or hang; a file that loads is then
//! used to scan its own text.
#![no_main]

use keysweep::engine::Engine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (rules, problems) = keysweep::rules::parse_rule_text("fuzz.toml", text);
    for p in &problems {
        // Every problem names the file.
        assert_eq!(p.file, "fuzz.toml");
    }
    if !rules.is_empty() {
        let e = Engine::new(rules);
        let mut s = e.scratch();
        let _ = e.scan(data, &mut s);
    }
});
