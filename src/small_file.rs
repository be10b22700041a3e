//! Reading the small files that steer a run — `keysweep.toml`, rule files, `.keysweepignore`,
//! baselines: regular files only, and never more than a size cap. A FIFO or `/dev/zero` put in
//! their place (by a scanned tree, or by mistake) is refused at once with a clear error instead
//! of hanging or reading without end. Errors are `io::Error`s so each caller keeps its own error
//! type and names the file.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// The largest config, rule, ignore or baseline file read: 64 MiB (a baseline of a large,
/// old repository holds a few hundred thousand fingerprints).
pub const MAX_SMALL_FILE: u64 = 64 << 20;

/// Reads `path` as UTF-8 text if it is a regular file of at most `max` bytes.
///
/// The type is checked on the opened handle (`O_NONBLOCK` keeps opening a FIFO from waiting
/// for a writer), so a file swapped after a check cannot slip through.
pub fn read_to_string(path: &Path, max: u64) -> io::Result<String> {
    let file = open_regular(path)?;
    let mut text = String::new();
    let got = file.take(max + 1).read_to_string(&mut text)?;
    if got as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {max} bytes; refused"),
        ));
    }
    Ok(text)
}

/// Opens `path` for reading if it is a regular file (following symbolic links).
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = open_nonblocking(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what}; refused"),
        ));
    }
    clear_nonblocking(&file);
    Ok(file)
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// Regular files ignore `O_NONBLOCK`, but clear it anyway so the handle behaves as usual.
#[cfg(unix)]
fn clear_nonblocking(file: &File) {
    use std::os::unix::io::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function's caller owns; failure leaves it as is.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
}

#[cfg(not(unix))]
fn clear_nonblocking(_file: &File) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_and_types() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.toml");
        std::fs::write(&p, "x = 1\n").unwrap();
        assert_eq!(read_to_string(&p, 100).unwrap(), "x = 1\n");
        assert!(read_to_string(&p, 3).is_err());
        assert!(read_to_string(dir.path(), 100).is_err());
        assert!(read_to_string(Path::new("/dev/zero"), 100).is_err());
    }
}
