//! A one-line progress display on stderr for long scans, shown only when stderr is a terminal
//! and the user did not ask for quiet. It redraws at most four times a second and erases
//! itself when the scan ends.

use keysweep::scan::Progress;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running progress display; dropping it stops and erases it.
pub struct ProgressLine {
    done: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl ProgressLine {
    /// Starts drawing `progress` if stderr is a terminal and `enabled`.
    pub fn start(progress: Arc<Progress>, total_files: u64, enabled: bool) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let handle = (enabled && std::io::stderr().is_terminal()).then(|| {
            let done = done.clone();
            std::thread::spawn(move || {
                let mut drawn = false;
                let started = Instant::now();
                let mut last_draw: Option<Instant> = None;
                while !done.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                    // Stay quiet for short scans, and redraw at most 4 times a second.
                    if started.elapsed() < Duration::from_millis(500)
                        || last_draw.is_some_and(|t| t.elapsed() < Duration::from_millis(250))
                    {
                        continue;
                    }
                    last_draw = Some(Instant::now());
                    let files = progress.files.load(Ordering::Relaxed);
                    let bytes = progress.bytes.load(Ordering::Relaxed);
                    eprint!(
                        "\r\x1b[2Kkeysweep: scanning… {files}/{total_files} files, {}",
                        super::common::human_bytes(bytes)
                    );
                    let _ = std::io::stderr().flush();
                    drawn = true;
                }
                if drawn {
                    eprint!("\r\x1b[2K");
                }
            })
        });
        ProgressLine { done, handle }
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
