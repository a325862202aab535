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
//! - A thousand files of a kilobyte each: the cost is in opening them, so they are read
//!   on all cores (in order), and the one-number lines are parsed directly rather than
//!   through polars, whose per-call set-up would dominate such small inputs.

use std::io::Read;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rayon::prelude::*;

use crate::read::{self, CHUNK_BYTES};
use crate::{Chunk, ChunkFn, TraceError, col};

pub const INTERVAL_S: i64 = 300;

/// A PlanetLab file is a day or a few of 5-minute samples; anything this large is not one.
const MAX_FILE_BYTES: u64 = 64 << 20;

/// Files read at once (in parallel) before their rows are handed on.
const BATCH_FILES: usize = 256;

fn read_file(path: &Path) -> Result<Vec<u8>, TraceError> {
    let raw = read::read_small(path, MAX_FILE_BYTES)?;
    let mut text = Vec::new();
    if raw.starts_with(&[0x1f, 0x8b]) {
        read::open_text(path)?
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut text)
            .map_err(|e| TraceError::io(path, e))?;
    } else {
        text = raw;
    }
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(TraceError::invalid(
            path,
            format!(
                "larger than {} MiB: not a PlanetLab VM file",
                MAX_FILE_BYTES >> 20
            ),
        ));
    }
    Ok(text)
}

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
    // One pass over the bytes: plain integers (all of CoMon's values) are accumulated
    // as they go; anything else on a line sends that line to the float parser.
    let (mut value, mut digits, mut plain, mut line_start) = (0u64, 0usize, true, 0usize);
    for i in 0..=body.len() {
        let b = body.get(i).copied().unwrap_or(b'\n');
        match b {
            b'0'..=b'9' => {
                value = value.wrapping_mul(10).wrapping_add((b - b'0') as u64);
                digits += 1;
            }
            b'\n' => {
                let v = if plain && digits > 0 && digits <= 15 {
                    value as f64
                } else if plain && digits == 0 {
                    f64::NAN // a blank line: a missing sample
                } else {
                    let line = &body[line_start..i];
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    let s = String::from_utf8_lossy(line);
                    match s.trim().parse::<f64>() {
                        Ok(v) if v.is_finite() => v,
                        Ok(_) => f64::NAN,
                        Err(_) if s.trim().is_empty() => f64::NAN,
                        Err(_) => {
                            return Err(TraceError::format(
                                path,
                                n + 1,
                                format!(
                                    "expected one CPU percentage per line, found {:?}",
                                    crate::shorten(&s)
                                ),
                            ));
                        }
                    }
                };
                cpu.push(v);
                n += 1;
                (value, digits, plain, line_start) = (0, 0, true, i + 1);
            }
            b'\r' => {}
            _ => plain = false,
        }
    }
    Ok(n)
}

pub fn scan(files: &[PathBuf], f: &mut ChunkFn<'_>) -> Result<(), TraceError> {
    let names: Vec<String> = files.iter().map(|p| read::stem(p)).collect();
    let mut vm: Vec<u32> = Vec::new();
    let mut ts: Vec<i64> = Vec::new();
    let mut cpu: Vec<f64> = Vec::new();
    let mut bytes = 0;
    let mut flush = |vm: &mut Vec<u32>, ts: &mut Vec<i64>, cpu: &mut Vec<f64>, upto: usize| {
        let n = vm.len();
        let cpu = std::mem::take(cpu);
        // Blank lines (NaN here) are missing samples: nulls in the canonical form.
        let cpu = if cpu.iter().any(|v| v.is_nan()) {
            Float64Chunked::from_iter_options(
                col::CPU.into(),
                cpu.into_iter().map(|v| (!v.is_nan()).then_some(v)),
            )
        } else {
            Float64Chunked::from_vec(col::CPU.into(), cpu)
        };
        let df = DataFrame::new(
            n,
            vec![
                read::codes(std::mem::take(vm)),
                Int64Chunked::from_vec(col::TIMESTAMP.into(), std::mem::take(ts)).into_column(),
                cpu.into_column(),
            ],
        )
        .map_err(|e| TraceError::invalid(&files[0], e.to_string()))?;
        f(&Chunk {
            df,
            names: &names[..upto],
        })
    };
    for (b, batch) in files.chunks(BATCH_FILES).enumerate() {
        let texts: Vec<Result<Vec<u8>, TraceError>> =
            batch.par_iter().map(|p| read_file(p)).collect();
        // Every line holds at least a digit and a newline.
        let most = texts
            .iter()
            .flatten()
            .map(|t| t.len() / 2 + 1)
            .sum::<usize>();
        vm.reserve(most);
        ts.reserve(most);
        cpu.reserve(most);
        for (k, text) in texts.into_iter().enumerate() {
            let code = b * BATCH_FILES + k;
            let text = text?;
            bytes += text.len();
            let rows = parse(&files[code], &text, &mut cpu)?;
            vm.extend(std::iter::repeat_n(code as u32, rows));
            ts.extend((0..rows as i64).map(|i| i * INTERVAL_S));
            if bytes >= CHUNK_BYTES {
                flush(&mut vm, &mut ts, &mut cpu, code + 1)?;
                bytes = 0;
            }
        }
    }
    if !vm.is_empty() {
        flush(&mut vm, &mut ts, &mut cpu, files.len())?;
    }
    Ok(())
}
