//! Compressed and bundled inputs: gzip (including concatenated members), zip, tar and
//! `.tar.gz`, recognised by their first bytes rather than their names, and opened as streams.
//!
//! [`expand_file`] and [`expand_reader`] hand every plain member to a [`Sink`] as a reader named
//! `outer.zip!inner/app.log` (nested: `outer.zip!inner.tar.gz!x/y.log`). A gzip file of a plain
//! log keeps the file's own name; a gzip of a tar is one bundle, so its members are
//! `x.tar.gz!member`.
//!
//! Damage never stops the walk: a truncated or corrupt stream is reported through
//! [`Sink::warning`] naming the file (and the member), whatever was read before the damage is
//! still scanned, and the other members are still opened. Nothing here prints or scans; the
//! caller's sink does.
//!
//! Limits (see [`Limits`], documented in docs/logs.md):
//! - nesting: an archive inside an archive is opened up to [`Limits::max_depth`] levels (a
//!   `.tar.gz` counts as one level); deeper ones are reported and skipped;
//! - expansion: the bytes read out of archive members (zip and tar entries, and any gzip below
//!   the top level) are capped at [`Limits::max_member_bytes`] per top-level input, and any
//!   decompressor that produces more than [`Limits::max_ratio`] times what it consumed (once past
//!   1 MiB) is stopped as a likely decompression bomb. A single top-level `.gz` of a log is
//!   limited by the ratio only, so a multi-GB compressed log is scanned in full.
//!
//! A zip needs random access: a zip on disk is read in place; a zip from stdin or inside another
//! archive is spooled to a temporary file (in memory up to 16 MiB), within the same limits.

use flate2::read::MultiGzDecoder;
use std::cell::Cell;
use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::rc::Rc;

/// Bytes read from the start of a stream to recognise its kind (tar's magic sits at 257).
pub const SNIFF_LEN: usize = 512;
/// A decompressor is only judged by its ratio once it has produced this much.
const RATIO_FLOOR: u64 = 1 << 20;
/// A nested zip is kept in memory up to this size, then spooled to disk.
const SPOOL_IN_MEMORY: usize = 16 << 20;

/// What the first bytes of a stream say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Not a container: scanned as is.
    Plain,
    /// gzip (`1f 8b`).
    Gzip,
    /// zip (`PK\x03\x04`, or `PK\x05\x06` for an empty archive).
    Zip,
    /// POSIX/GNU tar (`ustar` at offset 257).
    Tar,
}

/// Recognises a container by content.
pub fn sniff(head: &[u8]) -> Kind {
    if head.starts_with(&[0x1f, 0x8b]) {
        Kind::Gzip
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Kind::Zip
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Kind::Tar
    } else {
        Kind::Plain
    }
}

/// Bounds on what opening archives may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Archive levels opened: 1 opens only the top-level archive, 3 (the default) also opens an
    /// archive in an archive in an archive. 0 turns archive expansion off.
    pub max_depth: u32,
    /// Bytes that may be read out of archive members, per top-level input (default 1 GiB).
    pub max_member_bytes: u64,
    /// Largest decompressed:compressed ratio accepted once past 1 MiB (default 1000).
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 3,
            max_member_bytes: 1 << 30,
            max_ratio: 1000,
        }
    }
}

/// Receives what expanding an input produces.
pub trait Sink {
    /// A plain stream to scan. Read errors never reach the sink: a damaged stream simply ends,
    /// and the damage is reported through [`Sink::warning`] afterwards.
    fn plain(&mut self, path: &str, reader: &mut dyn Read);
    /// Something was missed: a damaged stream, a skipped member, a limit reached.
    fn warning(&mut self, path: &str, message: String);
}

/// Expands a file on disk (a zip is read in place). `name` is how the file is shown.
pub fn expand_file(mut file: File, name: &str, limits: &Limits, sink: &mut dyn Sink) {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    if let Err(e) = (&mut file).take(SNIFF_LEN as u64).read_to_end(&mut head) {
        sink.warning(name, format!("read error: {e}"));
        return;
    }
    let mut ctx = Ctx::new(limits, sink);
    if sniff(&head) == Kind::Zip && limits.max_depth >= 1 {
        if let Err(e) = file.seek(SeekFrom::Start(0)) {
            ctx.sink.warning(name, format!("read error: {e}"));
            return;
        }
        ctx.zip_seekable(file, name, 1);
        return;
    }
    ctx.stream_with_head(head, &mut file, name, 0, false, false);
}

/// Expands any reader (stdin). A zip is spooled to a temporary file first.
pub fn expand_reader<R: Read>(mut reader: R, name: &str, limits: &Limits, sink: &mut dyn Sink) {
    let mut ctx = Ctx::new(limits, sink);
    ctx.stream(&mut reader, name, 0, false, false);
}

/// Reads the first [`SNIFF_LEN`] bytes of `reader` and returns them with the kind; the caller
/// chains them back in front of the rest.
pub fn peek<R: Read>(reader: &mut R) -> io::Result<(Kind, Vec<u8>)> {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    reader.take(SNIFF_LEN as u64).read_to_end(&mut head)?;
    Ok((sniff(&head), head))
}

struct Ctx<'a> {
    limits: Limits,
    sink: &'a mut dyn Sink,
    /// Member bytes still allowed for this top-level input.
    budget: Rc<Cell<u64>>,
    /// Warnings given so far.
    warned: usize,
}

impl<'a> Ctx<'a> {
    fn new(limits: &Limits, sink: &'a mut dyn Sink) -> Self {
        Ctx {
            limits: *limits,
            sink,
            budget: Rc::new(Cell::new(limits.max_member_bytes)),
            warned: 0,
        }
    }

    /// A stream of unknown kind at nesting `depth` (0 = the input itself).
    fn stream(
        &mut self,
        reader: &mut dyn Read,
        path: &str,
        depth: u32,
        after_gzip: bool,
        budgeted: bool,
    ) {
        let mut guard = Guard::new(&mut *reader);
        let head = match peek(&mut guard) {
            Ok((_, h)) => h,
            Err(e) => {
                self.warn(path, format!("read error: {e}"));
                return;
            }
        };
        if let Some(e) = guard.err.take() {
            // The stream broke inside its first bytes: scan what there is and say so.
            self.sink.plain(path, &mut Cursor::new(head));
            self.damaged(path, &e);
            return;
        }
        self.stream_with_head(head, reader, path, depth, after_gzip, budgeted);
    }

    fn stream_with_head(
        &mut self,
        head: Vec<u8>,
        rest: &mut dyn Read,
        path: &str,
        depth: u32,
        after_gzip: bool,
        budgeted: bool,
    ) {
        let kind = sniff(&head);
        let reader = Cursor::new(head).chain(rest);
        let level = match kind {
            Kind::Plain => depth,
            Kind::Tar if after_gzip => depth,
            _ => depth + 1,
        };
        if kind != Kind::Plain && level > self.limits.max_depth {
            if self.limits.max_depth == 0 {
                // Expansion turned off: the caller asked for raw bytes.
                let mut guard = Guard::new(reader);
                self.sink.plain(path, &mut guard);
                if let Some(e) = guard.err {
                    self.damaged(path, &e);
                }
            } else {
                self.warn(
                    path,
                    format!(
                        "archive nested deeper than {} levels; not opened (--max-archive-depth)",
                        self.limits.max_depth
                    ),
                );
            }
            return;
        }
        match kind {
            Kind::Plain => {
                let mut guard = Guard::new(reader);
                self.sink.plain(path, &mut guard);
                if let Some(e) = guard.err {
                    self.damaged(path, &e);
                }
            }
            Kind::Gzip => {
                let consumed = Rc::new(Cell::new(0u64));
                let counted = Counting {
                    inner: reader,
                    count: consumed.clone(),
                };
                let decoder = Labelled {
                    inner: MultiGzDecoder::new(counted),
                    label: "gzip",
                };
                // The top-level gzip of a log is limited by its ratio only.
                let budget = (depth > 0 || budgeted).then(|| self.budget.clone());
                let mut limited =
                    Limited::new(decoder, budget, Source::Counted(consumed), &self.limits);
                self.stream(&mut limited, path, level, true, budgeted || depth > 0);
            }
            Kind::Tar => self.tar(&mut { reader }, path, level),
            Kind::Zip => self.zip_spooled(&mut { reader }, path, level),
        }
    }

    fn tar(&mut self, reader: &mut dyn Read, path: &str, level: u32) {
        let mut guard = Guard::new(reader);
        let mut archive = tar::Archive::new(&mut guard);
        let entries = match archive.entries() {
            Ok(e) => e,
            Err(e) => {
                self.warn(path, format!("corrupt tar archive: {e}"));
                return;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.warn(
                        path,
                        format!("truncated or corrupt tar archive; later members not read: {e}"),
                    );
                    break;
                }
            };
            let kind = entry.header().entry_type();
            if !(kind.is_file() || kind == tar::EntryType::Continuous) {
                continue;
            }
            let name = match entry.path() {
                Ok(p) => p.to_string_lossy().into_owned(),
                Err(_) => String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
            };
            let member = format!("{path}!{name}");
            let labelled = Labelled {
                inner: entry,
                label: "tar",
            };
            let mut limited = Limited::new(
                labelled,
                Some(self.budget.clone()),
                Source::Stored,
                &self.limits,
            );
            self.stream(&mut limited, &member, level, false, true);
            if self.budget.get() == 0 {
                break;
            }
        }
        let _ = archive.into_inner();
        if let Some(e) = guard.err {
            // Damage below the tar layer (a truncated .tar.gz) was already seen by the member
            // being read; name the bundle too.
            self.damaged(path, &e);
        }
    }

    fn zip_spooled(&mut self, reader: &mut dyn Read, path: &str, level: u32) {
        let mut spool = tempfile::spooled_tempfile(SPOOL_IN_MEMORY);
        let mut guard = Guard::new(reader);
        if let Err(e) = io::copy(&mut guard, &mut spool) {
            self.warn(path, format!("cannot spool zip archive: {e}"));
            return;
        }
        if let Some(e) = guard.err {
            self.damaged(path, &e);
        }
        if let Err(e) = spool.seek(SeekFrom::Start(0)) {
            self.warn(path, format!("cannot spool zip archive: {e}"));
            return;
        }
        self.zip_seekable(spool, path, level);
    }

    fn zip_seekable<R: Read + Seek>(&mut self, mut reader: R, path: &str, level: u32) {
        let mut archive = match zip::ZipArchive::new(&mut reader) {
            Ok(a) => a,
            Err(e) => {
                self.warn(
                    path,
                    format!(
                        "damaged zip archive ({e}); members read in order from their local \
                         headers, some may be missed"
                    ),
                );
                if reader.seek(SeekFrom::Start(0)).is_ok() {
                    self.zip_stream(reader, path, level);
                }
                return;
            }
        };
        for i in 0..archive.len() {
            let name = archive
                .name_for_index(i)
                .map(str::to_string)
                .unwrap_or_else(|| format!("#{i}"));
            let member = format!("{path}!{name}");
            let file = match archive.by_index(i) {
                Ok(f) => f,
                Err(e) => {
                    self.warn(&member, format!("cannot read zip member: {e}"));
                    continue;
                }
            };
            if !file.is_file() {
                continue;
            }
            let compressed = file.compressed_size();
            self.zip_member(file, compressed, &member, level);
            if self.budget.get() == 0 {
                break;
            }
        }
    }

    /// Streams one zip member, inflated under the size and ratio limits.
    fn zip_member<R: Read>(&mut self, file: R, compressed: u64, member: &str, level: u32) {
        let labelled = Labelled {
            inner: file,
            label: "zip",
        };
        let mut limited = Limited::new(
            labelled,
            Some(self.budget.clone()),
            Source::Fixed(compressed),
            &self.limits,
        );
        self.stream(&mut limited, member, level, false, true);
    }

    /// Salvage path for a zip without a readable central directory (typically truncated).
    fn zip_stream<R: Read>(&mut self, mut reader: R, path: &str, level: u32) {
        loop {
            match zip::read::read_zipfile_from_stream(&mut reader) {
                Ok(Some(file)) => {
                    if !file.is_file() {
                        continue;
                    }
                    let member = format!("{path}!{}", file.name());
                    let compressed = file.compressed_size();
                    // Damage inside a member is reported by `stream` and ends the salvage:
                    // the next header cannot be found.
                    let before = self.warned;
                    self.zip_member(file, compressed, &member, level);
                    if self.warned > before {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    self.warn(
                        path,
                        format!("damaged zip archive; later members not read: {e}"),
                    );
                    break;
                }
            }
        }
    }

    fn warn(&mut self, path: &str, message: String) {
        self.warned += 1;
        self.sink.warning(path, message);
    }

    fn damaged(&mut self, path: &str, e: &io::Error) {
        let msg = if e.kind() == io::ErrorKind::UnexpectedEof {
            format!("truncated input ({e}); the part before the damage was scanned")
        } else if is_limit(e) {
            format!("{e}; the rest was not scanned")
        } else {
            format!("corrupt or unreadable input ({e}); the part before the damage was scanned")
        };
        self.warn(path, msg);
    }
}

/// Turns read errors into end of input, remembering the first one.
struct Guard<R> {
    inner: R,
    err: Option<io::Error>,
}

impl<R> Guard<R> {
    fn new(inner: R) -> Self {
        Guard { inner, err: None }
    }
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.err.is_some() {
            return Ok(0);
        }
        loop {
            match self.inner.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.err = Some(e);
                    return Ok(0);
                }
            }
        }
    }
}

/// Prefixes errors with the layer they came from (`gzip: unexpected end of file`).
struct Labelled<R> {
    inner: R,
    label: &'static str,
}

impl<R: Read> Read for Labelled<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if is_limit(&e) {
                e
            } else {
                io::Error::new(e.kind(), format!("{}: {e}", self.label))
            }
        })
    }
}

/// Counts the bytes a decompressor consumes.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Where a limited stream's compressed size comes from.
enum Source {
    /// Not compressed (tar members): no ratio check.
    Stored,
    /// Known up front (zip members).
    Fixed(u64),
    /// Counted as the decompressor reads (gzip).
    Counted(Rc<Cell<u64>>),
}

/// A marker error for a limit being reached.
#[derive(Debug)]
struct LimitReached(String);

impl std::fmt::Display for LimitReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LimitReached {}

fn is_limit(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<LimitReached>())
}

/// Enforces the member-bytes budget and the expansion ratio.
struct Limited<R> {
    inner: R,
    budget: Option<Rc<Cell<u64>>>,
    source: Source,
    produced: u64,
    max_ratio: u64,
    max_bytes: u64,
}

impl<R> Limited<R> {
    fn new(inner: R, budget: Option<Rc<Cell<u64>>>, source: Source, limits: &Limits) -> Self {
        Limited {
            inner,
            budget,
            source,
            produced: 0,
            max_ratio: limits.max_ratio,
            max_bytes: limits.max_member_bytes,
        }
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut want = buf.len();
        if let Some(b) = &self.budget {
            if b.get() == 0 {
                return Err(io::Error::other(LimitReached(format!(
                    "archive members expand past the {} limit (--max-archive-bytes)",
                    size_text(self.max_bytes)
                ))));
            }
            want = want.min(b.get().min(usize::MAX as u64) as usize);
        }
        let n = self.inner.read(&mut buf[..want])?;
        self.produced += n as u64;
        if let Some(b) = &self.budget {
            b.set(b.get().saturating_sub(n as u64));
        }
        let compressed = match &self.source {
            Source::Stored => None,
            Source::Fixed(c) => Some(*c),
            Source::Counted(c) => Some(c.get()),
        };
        if let Some(c) = compressed {
            if self.produced > RATIO_FLOOR && self.produced / c.max(1) > self.max_ratio {
                return Err(io::Error::other(LimitReached(format!(
                    "expands more than {}:1, a likely decompression bomb (--max-archive-ratio)",
                    self.max_ratio
                ))));
            }
        }
        Ok(n)
    }
}

fn size_text(n: u64) -> String {
    if n >= 1 << 30 && n.is_multiple_of(1 << 30) {
        format!("{} GiB", n >> 30)
    } else if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[derive(Default)]
    struct Collect {
        plain: Vec<(String, Vec<u8>)>,
        warnings: Vec<(String, String)>,
    }

    impl Sink for Collect {
        fn plain(&mut self, path: &str, reader: &mut dyn Read) {
            let mut v = Vec::new();
            reader.read_to_end(&mut v).unwrap();
            self.plain.push((path.to_string(), v));
        }
        fn warning(&mut self, path: &str, message: String) {
            self.warnings.push((path.to_string(), message));
        }
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in members {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn run(data: Vec<u8>, limits: Limits) -> Collect {
        let mut c = Collect::default();
        expand_reader(Cursor::new(data), "in", &limits, &mut c);
        c
    }

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(&gz(b"x")), Kind::Gzip);
        assert_eq!(sniff(&tar_of(&[("a", b"b")])), Kind::Tar);
        assert_eq!(sniff(b"PK\x03\x04rest"), Kind::Zip);
        assert_eq!(sniff(b"plain text"), Kind::Plain);
    }

    #[test]
    fn concatenated_gzip_members_are_one_stream() {
        let mut data = gz(b"first\n");
        data.extend(gz(b"second\n"));
        let c = run(data, Limits::default());
        assert_eq!(
            c.plain,
            vec![("in".to_string(), b"first\nsecond\n".to_vec())]
        );
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn tar_gz_members_are_named_inside_the_bundle() {
        let data = gz(&tar_of(&[("logs/a.log", b"A\n"), ("b.log", b"B\n")]));
        let c = run(data, Limits::default());
        let names: Vec<&str> = c.plain.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(names, ["in!logs/a.log", "in!b.log"]);
    }

    #[test]
    fn truncated_gzip_keeps_the_start_and_warns() {
        let body: Vec<u8> = (0..20000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let full = gz(&body);
        let c = run(full[..full.len() / 2].to_vec(), Limits::default());
        assert_eq!(c.plain.len(), 1);
        assert!(c.plain[0].1.starts_with(b"line 0\nline 1\n"));
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(c.warnings[0].1.contains("truncated"), "{:?}", c.warnings);
    }

    #[test]
    fn depth_limit_stops_nesting() {
        let inner = gz(&tar_of(&[("deep.log", b"x\n")]));
        let mid = tar_of(&[("inner.tar.gz", &inner)]);
        let outer = tar_of(&[("mid.tar", &mid)]);
        let limits = Limits {
            max_depth: 2,
            ..Limits::default()
        };
        let c = run(outer.clone(), limits);
        assert!(c.plain.is_empty());
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(c.warnings[0].0, "in!mid.tar!inner.tar.gz");
        let c = run(outer, Limits::default());
        assert_eq!(c.plain[0].0, "in!mid.tar!inner.tar.gz!deep.log");
    }

    #[test]
    fn bombs_are_stopped_by_ratio_and_budget() {
        let zeros = vec![b'a'; 8 << 20];
        let bomb = tar_of(&[("z.gz", &gz(&zeros))]);
        let c = run(bomb, Limits::default());
        assert!(
            c.warnings.iter().any(|w| w.1.contains("1000:1")),
            "{:?}",
            c.warnings
        );
        let plenty: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let big = tar_of(&[("a.bin", &plenty), ("b.bin", &plenty)]);
        let limits = Limits {
            max_member_bytes: 1 << 20,
            ..Limits::default()
        };
        let c = run(big, limits);
        assert!(
            c.warnings.iter().any(|w| w.1.contains("1 MiB limit")),
            "{:?}",
            c.warnings
        );
    }
}
