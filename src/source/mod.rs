//! Where bytes come from. Each source turns its input into blobs with provenance; scanning
//! them is [`crate::scan`]'s job.

pub mod archive;
pub mod fs;
pub mod git;
