//! Process exit codes, in one place so docs, tests and the binary agree.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | the scan completed and found nothing (after baseline and allowlists) |
//! | 1 | findings (changeable with `--exit-code N`) |
//! | 2 | usage error, bad configuration, or an incomplete scan (some input could not be read) |
//!
//! An incomplete scan exits 2 even when it also has findings: a CI job must not mistake
//! "could not look everywhere" for an ordinary result. Network checks (`--verify`, a
//! revocation endpoint) never make a scan incomplete; with `--only-active` the findings code
//! follows the findings reported.

/// Why keysweep exited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Clean and complete.
    Clean,
    /// Findings were reported.
    Findings,
    /// Bad usage, configuration, or an incomplete scan.
    Error,
}

impl ExitStatus {
    /// The status for a finished scan.
    pub fn for_scan(findings: usize, incomplete: bool) -> Self {
        if incomplete {
            ExitStatus::Error
        } else if findings > 0 {
            ExitStatus::Findings
        } else {
            ExitStatus::Clean
        }
    }

    /// The numeric code, with `findings_code` replacing 1.
    pub fn code(self, findings_code: u8) -> u8 {
        match self {
            ExitStatus::Clean => 0,
            ExitStatus::Findings => findings_code,
            ExitStatus::Error => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ExitStatus;

    #[test]
    fn codes() {
        assert_eq!(ExitStatus::for_scan(0, false).code(1), 0);
        assert_eq!(ExitStatus::for_scan(3, false).code(1), 1);
        assert_eq!(ExitStatus::for_scan(3, false).code(42), 42);
        assert_eq!(ExitStatus::for_scan(3, true).code(1), 2);
        assert_eq!(ExitStatus::for_scan(0, true).code(1), 2);
    }
}
