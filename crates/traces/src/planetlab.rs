//! PlanetLab CoMon traces, as redistributed with CloudSim (Beloglazov & Buyya 2012).
//!
//! Format: a directory with one file per VM (the file name is the VM's id); one integer
//! CPU utilization in percent per line; samples 300 s apart.
//!
//! Quirks handled:
//! - The files carry no clock: sample `i` (0-based line) is given timestamp `300 i`, so
//!   every VM of a day starts at 0 and VMs line up in time.
//! - Trailing blank lines and a missing final newline are ignored; `\r\n` is accepted.
//! - A blank line inside a file is a missing sample (null, counted as invalid).
//! - A thousand files of a kilobyte each: the cost is in opening them, so they are opened
//!   relative to their directory, read and parsed on all cores a window ahead of the
//!   part the caller is working on (results in file order), and the one-number lines
//!   are parsed directly rather than through polars, whose per-call set-up would
//!   dominate such small inputs.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::read::{self, CHUNK_BYTES, SmallFiles};
use crate::{Chunk, ChunkFn, TraceError, col};

pub const INTERVAL_S: i64 = 300;

/// A PlanetLab file is a day or a few of 5-minute samples; anything this large is not one.
const MAX_FILE_BYTES: u64 = 64 << 20;

/// Files one worker task reads and parses in a row.
const PART_FILES: usize = 16;
/// Parts read ahead of the one being handed on.
const PARTS_AHEAD: usize = 8;

/// A part's chunks, each with the number of VM codes it covers, and its bytes on disk.
type Part = (Vec<(DataFrame, usize)>, u64);

/// Append the file's samples (NaN for a blank line) to `cpu`, or name the first bad line.
fn parse(path: &Path, text: &[u8], cpu: &mut Vec<f64>) -> Result<usize, TraceError> {
    let mut body = text;
    while let Some((last, rest)) = body.split_last() {
        if matches!(last, b'\n' | b'\r' | b' ' | b'\t') {
            body = rest;
        } else {
            break;
        }
    }
    if body.is_empty() {
        return Ok(0);
    }
    if let Some(n) = parse_short(body, cpu) {
        return Ok(n);
    }
    let mut n = 0;
    let mut rest = body;
    loop {
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(p) => (&rest[..p], Some(&rest[p + 1..])),
            None => (rest, None),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        cpu.push(value(path, n + 1, line)?);
        n += 1;
        match next {
            Some(r) => rest = r,
            None => return Ok(n),
        }
    }
}

/// The usual file: every line one or two digits (CoMon's percentages nearly always
/// are), taken a line at a time without looking for its end. `None`, with nothing
/// appended, for anything else, which the line parser handles.
fn parse_short(body: &[u8], cpu: &mut Vec<f64>) -> Option<usize> {
    let start = cpu.len();
    cpu.reserve(body.len() / 2 + 1);
    let mut i = 0;
    while i < body.len() {
        let a = body[i].wrapping_sub(b'0');
        let b = body.get(i + 1).map_or(b'\n', |&b| b);
        let end = body.get(i + 2).map_or(b'\n', |&c| c);
        let v = if a >= 10 {
            None
        } else if b == b'\n' {
            i += 2;
            Some(a as f64)
        } else if b.is_ascii_digit() && end == b'\n' {
            i += 3;
            Some((a * 10 + (b - b'0')) as f64)
        } else {
            None
        };
        match v {
            Some(v) => cpu.push(v),
            None => {
                cpu.truncate(start);
                return None;
            }
        }
    }
    Some(cpu.len() - start)
}

/// One line's value: an integer (read directly), a decimal, or nothing (a blank line is
/// a missing sample, NaN here).
fn value(path: &Path, line_no: usize, line: &[u8]) -> Result<f64, TraceError> {
    if !line.is_empty() && line.len() <= 15 && line.iter().all(u8::is_ascii_digit) {
        return Ok(line.iter().fold(0u64, |v, &d| v * 10 + (d - b'0') as u64) as f64);
    }
    let s = String::from_utf8_lossy(line);
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Ok(f64::NAN),
        Err(_) if s.trim().is_empty() => Ok(f64::NAN),
        Err(_) => Err(TraceError::format(
            path,
            line_no,
            format!(
                "expected one CPU percentage per line, found {:?}",
                crate::shorten(&s)
            ),
        )),
    }
}

/// Read and parse one worker's run of files into chunks (one, unless the text passes
/// [`CHUNK_BYTES`]); each chunk says how many VM codes it covers.
fn read_part(reader: &SmallFiles, files: &[PathBuf], first: usize) -> Result<Part, TraceError> {
    let mut buf = Vec::new();
    let (mut vm, mut ts, mut cpu) = (Vec::new(), Vec::new(), Vec::new());
    let mut out = Vec::new();
    let (mut bytes, mut disk) = (0, 0);
    for (k, path) in files.iter().enumerate() {
        let code = first + k;
        let (text, size) = reader.read(path, &mut buf)?;
        disk += size;
        bytes += text.len();
        let rows = parse(path, &text, &mut cpu)?;
        if k == 0 {
            // The part's files are alike: size the columns once from the first.
            let most = rows * files.len();
            vm.reserve(most);
            ts.reserve(most);
            cpu.reserve(most);
        }
        vm.extend(std::iter::repeat_n(code as u32, rows));
        ts.extend((0..rows as i64).map(|i| i * INTERVAL_S));
        if bytes >= CHUNK_BYTES || k + 1 == files.len() {
            let df = frame(
                std::mem::take(&mut vm),
                std::mem::take(&mut ts),
                std::mem::take(&mut cpu),
            )
            .map_err(|e| TraceError::invalid(path, e.to_string()))?;
            out.push((df, code + 1));
            bytes = 0;
        }
    }
    Ok((out, disk))
}

fn frame(vm: Vec<u32>, ts: Vec<i64>, cpu: Vec<f64>) -> PolarsResult<DataFrame> {
    let n = vm.len();
    // Blank lines (NaN here) are missing samples: nulls in the canonical form.
    let cpu = if cpu.iter().any(|v| v.is_nan()) {
        Float64Chunked::from_iter_options(
            col::CPU.into(),
            cpu.into_iter().map(|v| (!v.is_nan()).then_some(v)),
        )
    } else {
        Float64Chunked::from_vec(col::CPU.into(), cpu)
    };
    DataFrame::new(
        n,
        vec![
            read::codes(vm),
            Int64Chunked::from_vec(col::TIMESTAMP.into(), ts).into_column(),
            cpu.into_column(),
        ],
    )
}

/// Parts are read on the thread pool, at most [`PARTS_AHEAD`] ahead of the part the
/// caller is consuming (which bounds memory), and handed on in file order. Reading,
/// mostly the kernel opening files, so overlaps the caller's work on the rows, and no
/// worker waits for a batch to finish. Returns the files' size on disk.
pub fn scan(files: &[PathBuf], f: &mut ChunkFn<'_>) -> Result<u64, TraceError> {
    let reader = &SmallFiles::new(files, MAX_FILE_BYTES);
    let parts: Vec<&[PathBuf]> = files.chunks(PART_FILES).collect();
    let (tx, rx) = std::sync::mpsc::channel();
    // Runs on the caller's thread: `f` need not be Send, only the reading is handed out.
    rayon::in_place_scope(|s| {
        let spawn = |p: usize| {
            let (tx, part) = (tx.clone(), parts[p]);
            s.spawn(move |_| {
                // A reader that panicked still reports, so the caller never waits on it.
                let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    read_part(reader, part, p * PART_FILES)
                }))
                .unwrap_or_else(|_| Err(TraceError::invalid(&part[0], "reading failed")));
                let _ = tx.send((p, r));
            });
        };
        let mut ready: Vec<Option<Result<Part, TraceError>>> = Vec::new();
        ready.resize_with(parts.len(), || None);
        let ahead = PARTS_AHEAD.min(parts.len());
        (0..ahead).for_each(spawn);
        // The VM names are needed from the first chunk on: made while the first parts
        // are read.
        let names: Vec<String> = files.iter().map(|p| read::stem(p)).collect();
        let mut disk = 0;
        for p in 0..parts.len() {
            while ready[p].is_none() {
                let (q, r) = rx.recv().expect("every spawned part reports");
                ready[q] = Some(r);
            }
            if p + ahead < parts.len() {
                spawn(p + ahead);
            }
            let (chunks, size) = ready[p].take().expect("part p is ready")?;
            disk += size;
            for (df, upto) in chunks {
                f(&Chunk {
                    df,
                    names: &names[..upto],
                })?;
            }
        }
        Ok(disk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path must read exactly what the line parser reads: every mix of one-,
    /// two- and three-digit lines, blank lines, decimals, CRLF and trailing newlines.
    #[test]
    fn short_lines_parse_as_the_line_parser_does() {
        let path = Path::new("vm");
        let pieces: [&[u8]; 9] = [
            b"7", b"42", b"100", b"", b"3.5", b"0", b"99", b"12345", b" 8",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) % n) as usize
        };
        for _ in 0..5_000 {
            let lines = 1 + next(12);
            let crlf = next(6) == 0;
            let mut text = Vec::new();
            for i in 0..lines {
                // Mostly the short values the fast path takes, sometimes anything.
                let p = if next(4) == 0 {
                    next(9)
                } else {
                    [0, 1, 5, 6][next(4)]
                };
                text.extend_from_slice(pieces[p]);
                if i + 1 < lines || next(2) == 0 {
                    text.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                }
            }
            let want: Vec<String> = {
                let s = String::from_utf8(text.clone()).unwrap();
                let body = s.trim_end_matches(['\n', '\r', ' ', '\t']);
                if body.is_empty() {
                    Vec::new()
                } else {
                    body.split('\n')
                        .map(|l| match l.trim().parse::<f64>() {
                            Ok(v) => format!("{v}"),
                            Err(_) => "NaN".to_string(),
                        })
                        .collect()
                }
            };
            let mut cpu = vec![-1.0];
            let n = parse(path, &text, &mut cpu).unwrap();
            let got: Vec<String> = cpu[1..].iter().map(|v| format!("{v}")).collect();
            assert_eq!(
                (n, &got),
                (want.len(), &want),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
        }
    }
}
