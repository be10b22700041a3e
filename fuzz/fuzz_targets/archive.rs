//! The archive readers (gzip, zip, tar, nested) over arbitrary bytes, with small limits:
//! damage becomes warnings, never a panic, a hang or unbounded output.
#![no_main]

use keysweep::source::archive::{expand_reader, Limits, Sink};
use libfuzzer_sys::fuzz_target;
use std::io::Read;

struct Count {
    bytes: u64,
}

impl Sink for Count {
    fn plain(&mut self, _path: &str, reader: &mut dyn Read) {
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => self.bytes += n as u64,
            }
        }
    }
    fn warning(&mut self, path: &str, _message: String) {
        assert!(!path.is_empty());
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_depth: 3,
        max_member_bytes: 4 << 20,
        max_ratio: 100,
    };
    let mut sink = Count { bytes: 0 };
    expand_reader(data, "fuzz.bin", &limits, &mut sink);
    // Top-level gzip is bounded by the ratio only (once past 1 MiB); members by the byte cap.
    assert!(sink.bytes <= (data.len() as u64 * 100).max(1 << 20) + (4 << 20) + data.len() as u64);
});
