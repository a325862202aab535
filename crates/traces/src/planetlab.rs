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
//!   relative to their directory, read and parsed on all cores (results in file order)
//!   while the caller works on the previous batch, and the one-number lines are parsed
//!   directly rather than through polars, whose per-call set-up would dominate such
//!   small inputs.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use rayon::prelude::*;

use crate::read::{self, CHUNK_BYTES, SmallFiles};
use crate::{Chunk, ChunkFn, TraceError, col};

pub const INTERVAL_S: i64 = 300;

/// A PlanetLab file is a day or a few of 5-minute samples; anything this large is not one.
const MAX_FILE_BYTES: u64 = 64 << 20;

/// Files one worker task reads and parses in a row.
const PART_FILES: usize = 16;
/// Parts read in parallel before they are handed on.
const BATCH_PARTS: usize = 16;

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
    let mut n = 0;
    let mut rest = body;
    loop {
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(p) => (&rest[..p], Some(&rest[p + 1..])),
            None => (rest, None),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // CoMon's values are one or two digits nearly always: those skip the general path.
        let v = match *line {
            [a] if a.is_ascii_digit() => (a - b'0') as f64,
            [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
                ((a - b'0') * 10 + (b - b'0')) as f64
            }
            _ => value(path, n + 1, line)?,
        };
        cpu.push(v);
        n += 1;
        match next {
            Some(r) => rest = r,
            None => return Ok(n),
        }
    }
}

/// One line's value other than a plain one- or two-digit number: a longer integer, a
/// decimal, or nothing (a blank line is a missing sample, NaN here).
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
fn read_part(
    reader: &SmallFiles,
    files: &[PathBuf],
    first: usize,
) -> Result<(Vec<(DataFrame, usize)>, u64), TraceError> {
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

/// Files read are handed on in batches of parts (one part per worker task); a second
/// thread reads the next batch while the caller consumes this one, so reading, which is
/// mostly the kernel opening files, overlaps the caller's work on the rows. Returns the
/// files' size on disk.
pub fn scan(files: &[PathBuf], f: &mut ChunkFn<'_>) -> Result<u64, TraceError> {
    let names: Vec<String> = files.iter().map(|p| read::stem(p)).collect();
    let reader = SmallFiles::new(files, MAX_FILE_BYTES);
    let batch_files = PART_FILES * BATCH_PARTS;
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let reader = &reader;
        s.spawn(move || {
            for (b, batch) in files.chunks(batch_files).enumerate() {
                let parts: Vec<_> = batch
                    .par_chunks(PART_FILES)
                    .enumerate()
                    .map(|(p, part)| read_part(reader, part, b * batch_files + p * PART_FILES))
                    .collect();
                // The receiver hangs up when the caller stopped on an error.
                if tx.send(parts).is_err() {
                    return;
                }
            }
        });
        let mut disk = 0;
        for parts in rx {
            for part in parts {
                let (chunks, size) = part?;
                disk += size;
                for (df, upto) in chunks {
                    f(&Chunk {
                        df,
                        names: &names[..upto],
                    })?;
                }
            }
        }
        Ok(disk)
    })
}
