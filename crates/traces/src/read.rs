//! Bounded-memory reading: files are read in chunks of whole lines, gzip is expanded on
//! the fly under a bound, and each chunk is parsed by polars' CSV reader.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use polars_io::SerReader;
use polars_io::csv::read::CsvReadOptions;

use crate::{Chunk, ChunkFn, TraceError};

/// Bytes of text handed to polars at a time: large enough that its parallel parser
/// pays off, small enough that reading a 1 GB file holds a few dozen MB.
pub const CHUNK_BYTES: usize = 16 << 20;

/// A compressed file may expand to at most this many times its size (at least
/// [`MIN_EXPANDED_BYTES`]): real traces compress 4-10x, a decompression bomb 1000x.
pub const MAX_EXPANSION_RATIO: u64 = 200;
pub const MIN_EXPANDED_BYTES: u64 = 256 << 20;

/// Compare names the way people number files: `2.csv` < `10.csv`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return Ordering::Equal,
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(p), Some(q)) if p.is_ascii_digit() && q.is_ascii_digit() => {
                let n = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let m = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let (dx, dy) = (&x[..n], &y[..m]);
                let tx = dx.iter().skip_while(|&&c| c == b'0').count();
                let ty = dy.iter().skip_while(|&&c| c == b'0').count();
                let o = tx
                    .cmp(&ty)
                    .then_with(|| dx[n - tx..].cmp(&dy[m - ty..]))
                    .then(n.cmp(&m));
                if o != Ordering::Equal {
                    return o;
                }
                x = &x[n..];
                y = &y[m..];
            }
            (Some(p), Some(q)) => {
                if p != q {
                    return p.cmp(q);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

/// The regular, non-hidden files of a directory in natural name order.
pub fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, TraceError> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| TraceError::io(dir, e))? {
        let e = e.map_err(|e| TraceError::io(dir, e))?;
        let file_name = e.file_name();
        let name = file_name.to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        // The entry's type comes with the listing on most filesystems: no stat per
        // file (symlinks are followed).
        let is_file = match e.file_type() {
            Ok(t) if !t.is_symlink() => t.is_file(),
            _ => e.path().is_file(),
        };
        if is_file {
            names.push((name, file_name));
        }
    }
    // Names in a directory are unique, and natural order breaks ties between "01" and
    // "1": an unstable sort gives the same order every time.
    names.sort_unstable_by(|a, b| natural_cmp(&a.0, &b.0));
    Ok(names.into_iter().map(|(_, n)| dir.join(n)).collect())
}

/// The file's name without `.csv`, `.gz`: a VM's id in one-file-per-VM traces.
pub fn stem(path: &Path) -> String {
    let mut name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for ext in [".gz", ".csv", ".txt"] {
        if let Some(s) = name.strip_suffix(ext) {
            name = s.to_string();
        }
    }
    name
}

/// A reader over a file's text, gunzipping when it starts with the gzip magic bytes
/// and refusing to expand past the bound.
pub fn open_text(path: &Path) -> Result<Box<dyn Read>, TraceError> {
    open_text_bounded(path, None)
}

/// [`open_text`] with an explicit bound on the expanded size (tests use a small one).
pub fn open_text_bounded(path: &Path, limit: Option<u64>) -> Result<Box<dyn Read>, TraceError> {
    let f = File::open(path).map_err(|e| TraceError::io(path, e))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut r = BufReader::with_capacity(1 << 16, f);
    let magic = r.fill_buf().map_err(|e| TraceError::io(path, e))?;
    if magic.starts_with(&[0x1f, 0x8b]) {
        let limit =
            limit.unwrap_or((len.saturating_mul(MAX_EXPANSION_RATIO)).max(MIN_EXPANDED_BYTES));
        Ok(Box::new(Bounded {
            inner: flate2::read::MultiGzDecoder::new(r),
            left: limit,
            limit,
            compressed: len,
        }))
    } else {
        Ok(Box::new(r))
    }
}

struct Bounded<R> {
    inner: R,
    left: u64,
    limit: u64,
    compressed: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(format!(
                "expands beyond {} MiB ({}x its compressed {} bytes); refusing a possible \
                 decompression bomb",
                self.limit >> 20,
                MAX_EXPANSION_RATIO,
                self.compressed
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Reads the many small files of a one-file-per-VM trace. Where they share a directory
/// (as a listed directory's files do) each is opened by its name relative to that open
/// directory: a thousand 1 KB files cost mostly the kernel's work per open, and walking
/// the whole path again for each was the largest part of it (unix; elsewhere by path).
#[derive(Debug)]
pub struct SmallFiles {
    #[cfg(unix)]
    dir: Option<std::os::fd::OwnedFd>,
    max: u64,
}

impl SmallFiles {
    /// A reader for `files`, refusing any whose text exceeds `max` bytes.
    pub fn new(files: &[PathBuf], max: u64) -> Self {
        #[cfg(unix)]
        {
            use rustix::fs::{Mode, OFlags};
            let parent = files.first().and_then(|f| f.parent());
            let dir = parent
                .filter(|p| files.iter().all(|f| f.parent() == Some(*p)))
                .and_then(|p| {
                    let p = if p.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        p
                    };
                    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
                    rustix::fs::open(p, flags, Mode::empty()).ok()
                });
            Self { dir, max }
        }
        #[cfg(not(unix))]
        Self { max }
    }

    /// The file's size on disk, or `None` when it cannot be read.
    pub fn size(&self, path: &Path) -> Option<u64> {
        #[cfg(unix)]
        if let (Some(dir), Some(name)) = (&self.dir, path.file_name()) {
            let st = rustix::fs::statat(dir, name, rustix::fs::AtFlags::empty()).ok()?;
            return u64::try_from(st.st_size).ok();
        }
        std::fs::metadata(path).ok().map(|m| m.len())
    }

    fn open(&self, path: &Path) -> std::io::Result<File> {
        #[cfg(unix)]
        if let (Some(dir), Some(name)) = (&self.dir, path.file_name()) {
            use rustix::fs::{Mode, OFlags};
            let flags = OFlags::RDONLY | OFlags::CLOEXEC;
            return Ok(File::from(rustix::fs::openat(
                dir,
                name,
                flags,
                Mode::empty(),
            )?));
        }
        File::open(path)
    }

    /// The file's text (gunzipped when it starts with the gzip magic bytes) and its size
    /// on disk. `buf` is the caller's scratch space, reused from file to file: it keeps
    /// its length between files, so only its first use pays for allocating and clearing.
    pub fn read<'b>(
        &self,
        path: &Path,
        buf: &'b mut Vec<u8>,
    ) -> Result<(Cow<'b, [u8]>, u64), TraceError> {
        let mut f = self.open(path).map_err(|e| TraceError::io(path, e))?;
        // With the size known, the read that returns it all is the last: no second read
        // just to see the end (a system call per file is a fifth of the work here).
        let size = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
        // Room for the whole file and a byte more: a file that grew since `fstat` shows
        // it in its first read, and is then read to its end.
        let want = size
            .map_or(1 << 16, |s| s.min(self.max) as usize + 1)
            .max(4096);
        if buf.len() < want {
            buf.resize(want, 0);
        }
        let mut n = 0;
        loop {
            if n == buf.len() {
                if n as u64 > self.max {
                    return Err(self.too_large(path, n as u64));
                }
                buf.resize(n * 2, 0);
            }
            match f.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(TraceError::io(path, e)),
            }
            if size == Some(n as u64) {
                break;
            }
        }
        let raw = &buf[..n];
        if !raw.starts_with(&[0x1f, 0x8b]) {
            if n as u64 > self.max {
                return Err(self.too_large(path, n as u64));
            }
            return Ok((Cow::Borrowed(raw), n as u64));
        }
        let mut text = Vec::new();
        flate2::read::MultiGzDecoder::new(raw)
            .take(self.max + 1)
            .read_to_end(&mut text)
            .map_err(|e| TraceError::io(path, e))?;
        if text.len() as u64 > self.max {
            return Err(self.too_large(path, text.len() as u64));
        }
        Ok((Cow::Owned(text), n as u64))
    }

    fn too_large(&self, path: &Path, len: u64) -> TraceError {
        TraceError::invalid(
            path,
            format!(
                "at least {len} bytes of text, above the {} MiB this format allows for \
                 one file",
                self.max >> 20
            ),
        )
    }
}

/// The first line of a file (through gzip), without its line ending.
pub fn first_line(path: &Path) -> Result<String, TraceError> {
    let mut r = BufReader::new(open_text(path)?.take(1 << 20));
    let mut buf = Vec::new();
    r.read_until(b'\n', &mut buf)
        .map_err(|e| TraceError::io(path, e))?;
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Receives a chunk of whole lines and the number of its first line.
pub type LinesFn<'a> = dyn FnMut(&[u8], usize) -> Result<(), TraceError> + 'a;

/// Call `f` with chunks of whole lines (each ending in `\n`) and the 1-based number of
/// each chunk's first line, after skipping `skip_lines` header lines.
pub fn for_each_chunk(
    path: &Path,
    skip_lines: usize,
    f: &mut LinesFn<'_>,
) -> Result<(), TraceError> {
    let mut r = open_text(path)?;
    // Small files get a small buffer: zeroing 16 MiB per file dominated reading the
    // thousands of tiny files some traces are made of.
    let size_hint = std::fs::metadata(path)
        .map(|m| m.len() as usize + 1)
        .unwrap_or(0);
    let mut buf: Vec<u8> = Vec::with_capacity(size_hint.clamp(1 << 12, CHUNK_BYTES + (1 << 16)));
    let mut line = 1usize;
    let mut to_skip = skip_lines;
    let mut eof = false;
    while !eof {
        // Fill up to CHUNK_BYTES (read_to_end on a bounded reader does not zero the
        // spare capacity first).
        let want = CHUNK_BYTES.saturating_sub(buf.len()) as u64;
        if want > 0 {
            let n = (&mut r)
                .take(want)
                .read_to_end(&mut buf)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::InvalidInput
                    | std::io::ErrorKind::InvalidData
                    | std::io::ErrorKind::UnexpectedEof => {
                        TraceError::format(path, line, format!("corrupt compressed data: {e}"))
                    }
                    _ => TraceError::io(path, e),
                })?;
            if (n as u64) < want {
                eof = true;
            }
        }
        let mut from = 0;
        while to_skip > 0 {
            match memchr(b'\n', &buf[from..]) {
                Some(i) => {
                    from += i + 1;
                    line += 1;
                    to_skip -= 1;
                }
                None => break,
            }
        }
        let end = if eof {
            if buf.len() > from && buf.last() != Some(&b'\n') {
                buf.push(b'\n');
            }
            buf.len()
        } else {
            match buf[from..].iter().rposition(|&c| c == b'\n') {
                Some(i) => from + i + 1,
                None if to_skip > 0 => from,
                None => {
                    return Err(TraceError::format(
                        path,
                        line,
                        format!(
                            "line longer than {} MiB: not a trace file",
                            CHUNK_BYTES >> 20
                        ),
                    ));
                }
            }
        };
        if end > from && to_skip == 0 {
            f(&buf[from..end], line)?;
            line += buf[from..end].iter().filter(|&&c| c == b'\n').count();
        }
        buf.drain(..end);
    }
    Ok(())
}

fn memchr(c: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|&x| x == c)
}

/// Parse header-less delimited text with a fixed schema (one dtype per field).
pub fn parse_csv(bytes: &[u8], separator: u8, schema: Schema) -> PolarsResult<DataFrame> {
    CsvReadOptions::default()
        .with_has_header(false)
        .with_schema(Some(Arc::new(schema)))
        .with_raise_if_empty(false)
        .map_parse_options(|p| p.with_separator(separator))
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
}

/// A delimited text format: how its lines are cut and checked. Every text reader
/// streams through [`scan_delimited`] with one of these.
pub struct Delimited {
    pub skip_lines: usize,
    pub separator: u8,
    /// A byte removed before parsing (Bitbrains' TAB after each `;`).
    pub strip: Option<u8>,
    /// One dtype per field.
    pub schema: Schema,
    /// Columns that may not be empty: an empty one is a format error naming its line.
    pub required: Vec<String>,
    /// Says what is wrong with a line's fields, for the error after polars refused.
    pub check: Box<LineCheck>,
}

/// Says what is wrong with a line's fields, or `None` when nothing is.
pub type LineCheck = dyn Fn(&[&str]) -> Option<String>;

impl std::fmt::Debug for Delimited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delimited")
            .field("skip_lines", &self.skip_lines)
            .field("separator", &(self.separator as char))
            .field("strip", &self.strip)
            .field("schema", &self.schema)
            .field("required", &self.required)
            .finish_non_exhaustive()
    }
}

/// Stream one file of a delimited format as canonical chunks: parse each chunk of
/// lines with polars, refuse empty required fields, turn it canonical (VM ids coded
/// by `dict`) and hand it on; a refusal names the file and the first bad line.
pub fn scan_delimited(
    path: &Path,
    d: &Delimited,
    dict: &mut Dict,
    canonical: &mut dyn FnMut(&DataFrame, &mut Dict) -> PolarsResult<DataFrame>,
    f: &mut ChunkFn<'_>,
) -> Result<(), TraceError> {
    let mut clean = Vec::new();
    for_each_chunk(path, d.skip_lines, &mut |bytes, first_line| {
        let bytes = match d.strip {
            Some(b) => {
                clean.clear();
                clean.extend(bytes.iter().copied().filter(|&c| c != b));
                &clean[..]
            }
            None => bytes,
        };
        let df = parse_csv(bytes, d.separator, d.schema.clone())
            .and_then(|df| {
                for c in &d.required {
                    if df.column(c)?.null_count() > 0 {
                        polars_bail!(ComputeError: "missing {c}");
                    }
                }
                canonical(&df, dict)
            })
            .map_err(|e| locate(path, bytes, first_line, d.separator, &*d.check, &e))?;
        f(&Chunk {
            df,
            names: &dict.names,
        })
    })
}

/// After polars refused a chunk, find the first line `check` rejects, for an error
/// that names the line. `check` gets the fields of a line and says what is wrong.
pub fn locate(
    path: &Path,
    bytes: &[u8],
    first_line: usize,
    separator: u8,
    check: &LineCheck,
    polars_error: &PolarsError,
) -> TraceError {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    for (i, raw) in body.split(|&c| c == b'\n').enumerate() {
        let text = String::from_utf8_lossy(raw);
        let text = text.trim_end_matches('\r');
        let fields: Vec<&str> = text.split(separator as char).collect();
        if let Some(msg) = check(&fields) {
            return TraceError::format(
                path,
                first_line + i,
                format!("{msg} in {:?}", crate::shorten(text)),
            );
        }
    }
    TraceError::format(
        path,
        first_line,
        format!(
            "polars could not read the lines from here: {}",
            crate::shorten(&polars_error.to_string())
        ),
    )
}

/// A field check for [`locate`]: `want` fields, those at `numeric` parse as numbers
/// (empty allowed where `empty_ok`).
pub fn field_check(
    want: usize,
    numeric: &'static [usize],
    empty_ok: bool,
    names: &'static str,
) -> impl Fn(&[&str]) -> Option<String> {
    move |fields: &[&str]| {
        if fields.len() != want {
            return Some(format!(
                "expected {want} fields ({names}), found {}",
                fields.len()
            ));
        }
        for &i in numeric {
            let f = fields[i].trim();
            if f.is_empty() && empty_ok {
                continue;
            }
            if f.parse::<f64>().is_err() {
                return Some(format!("field {} is not a number: {f:?}", i + 1));
            }
        }
        None
    }
}

type FnvMap<K, V> =
    std::collections::HashMap<K, V, std::hash::BuildHasherDefault<scalelab_engine::fnv::Fnv>>;

/// VM ids to dense codes in order of first appearance. Consecutive rows of one VM
/// (machine-sorted tables) skip the hash lookup.
#[derive(Debug, Default)]
pub struct Dict {
    map: FnvMap<String, u32>,
    pub names: Vec<String>,
    last: Option<u32>,
}

impl Dict {
    pub fn code(&mut self, id: &str) -> u32 {
        if let Some(k) = self.last
            && self.names[k as usize] == id
        {
            return k;
        }
        let k = match self.map.get(id) {
            Some(&k) => k,
            None => {
                let k = self.names.len() as u32;
                self.map.insert(id.to_string(), k);
                self.names.push(id.to_string());
                k
            }
        };
        self.last = Some(k);
        k
    }

    /// Codes of a string column without nulls (readers check for them first).
    pub fn encode(&mut self, ids: &Column) -> PolarsResult<Column> {
        let v: Vec<u32> = ids
            .str()?
            .iter()
            .map(|id| self.code(id.unwrap_or("")))
            .collect();
        Ok(codes(v))
    }
}

/// The `vm` column from codes.
pub fn codes(v: Vec<u32>) -> Column {
    UInt32Chunked::from_vec(crate::col::VM.into(), v).into_column()
}

/// The `vm` column for `n` rows of one VM.
pub fn same_vm(code: u32, n: usize) -> Column {
    codes(vec![code; n])
}

/// Seconds as Int64 from a Float64 column of Unix or relative seconds.
pub fn seconds(c: &Column) -> PolarsResult<Column> {
    let v: Int64Chunked = c
        .f64()?
        .iter()
        .map(|o| o.map(|x| x.round() as i64))
        .collect();
    Ok(v.with_name(crate::col::TIMESTAMP.into()).into_column())
}

/// Rename a column to a canonical name.
pub fn named(c: &Column, name: &str) -> Column {
    let mut c = c.clone();
    c.rename(name.into());
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_numbers_files() {
        let mut v = vec![
            "10.csv",
            "2.csv",
            "1.csv",
            "a",
            "file-10-of-12",
            "file-9-of-12",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            [
                "1.csv",
                "2.csv",
                "10.csv",
                "a",
                "file-9-of-12",
                "file-10-of-12"
            ]
        );
    }

    #[test]
    fn chunks_are_whole_lines_with_their_numbers() {
        let dir = std::env::temp_dir().join(format!("scalelab-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.csv");
        let mut text = String::from("header\n");
        for i in 0..(CHUNK_BYTES / 8) {
            text.push_str(&format!("{i:07}\n"));
        }
        text.push_str("last-without-newline");
        std::fs::write(&p, &text).unwrap();
        let mut lines = 0;
        let mut starts = Vec::new();
        for_each_chunk(&p, 1, &mut |b, first| {
            assert_eq!(b.last(), Some(&b'\n'));
            starts.push(first);
            assert_eq!(first, 2 + lines);
            lines += b.iter().filter(|&&c| c == b'\n').count();
            Ok(())
        })
        .unwrap();
        assert_eq!(lines, CHUNK_BYTES / 8 + 1);
        assert!(starts.len() >= 2, "{starts:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn gzip_bombs_are_refused() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("scalelab-bomb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bomb.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = b"0\n".repeat(1 << 19);
        for _ in 0..4 {
            enc.write_all(&zeros).unwrap();
        }
        std::fs::write(&p, enc.finish().unwrap()).unwrap();
        // 4 MiB from a few KB: past a 1 MiB bound.
        let mut r = open_text_bounded(&p, Some(1 << 20)).unwrap();
        let err = std::io::copy(&mut r, &mut std::io::sink()).unwrap_err();
        assert!(err.to_string().contains("decompression bomb"), "{err}");
        // Within the default bound the same file reads whole, line by line.
        let mut lines = 0;
        for_each_chunk(&p, 0, &mut |b, _| {
            lines += b.iter().filter(|&&c| c == b'\n').count();
            Ok(())
        })
        .unwrap();
        assert_eq!(lines, 4 << 19);
        std::fs::remove_dir_all(&dir).unwrap();
    }
    #[test]
    fn small_files_read_whole_by_directory_or_by_path_and_bounded() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("scalelab-small-{}", std::process::id()));
        let other = dir.join("other");
        std::fs::create_dir_all(&other).unwrap();
        // Larger than the first buffer, so it has to grow while reading.
        let big: Vec<u8> = (0..200_000u32).map(|i| b'0' + (i % 10) as u8).collect();
        let a = dir.join("a");
        std::fs::write(&a, &big).unwrap();
        let b = dir.join("b.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"7\n8\n").unwrap();
        let gz = enc.finish().unwrap();
        std::fs::write(&b, &gz).unwrap();
        let c = other.join("c");
        std::fs::write(&c, "x").unwrap();
        let empty = dir.join("empty");
        std::fs::write(&empty, "").unwrap();

        let mut buf = Vec::new();
        // One directory: opened relative to it.
        let same = SmallFiles::new(&[a.clone(), b.clone(), empty.clone()], 1 << 20);
        let (text, disk) = same.read(&a, &mut buf).unwrap();
        assert_eq!((&*text, disk), (&big[..], big.len() as u64));
        let (text, disk) = same.read(&b, &mut buf).unwrap();
        assert_eq!((&*text, disk), (&b"7\n8\n"[..], gz.len() as u64));
        let (text, disk) = same.read(&empty, &mut buf).unwrap();
        assert_eq!((text.len(), disk), (0, 0));
        assert_eq!(same.size(&a), Some(big.len() as u64));
        // Files of two directories, and a path relative to the working directory.
        let mixed = SmallFiles::new(&[a.clone(), c.clone()], 1 << 20);
        assert_eq!(&*mixed.read(&c, &mut buf).unwrap().0, b"x");
        let cargo = PathBuf::from("Cargo.toml");
        let here = SmallFiles::new(std::slice::from_ref(&cargo), 1 << 20);
        let (text, _) = here.read(&cargo, &mut buf).unwrap();
        assert!(text.starts_with(b"[package]"));
        // Over the bound, plain or expanded: refused, naming the file.
        let tight = SmallFiles::new(&[a.clone(), b.clone()], 3);
        for p in [&a, &b] {
            let e = tight.read(p, &mut buf).unwrap_err().to_string();
            assert!(
                e.contains(&p.display().to_string()) && e.contains("allows"),
                "{e}"
            );
        }
        let e = same
            .read(&dir.join("gone"), &mut buf)
            .unwrap_err()
            .to_string();
        assert!(e.contains("gone"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
