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
//! - Thousands of tiny files: they are concatenated into batches of
//!   [`crate::read::CHUNK_BYTES`] and parsed by polars in one call per batch.

use std::io::Read;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::read::{self, CHUNK_BYTES};
use crate::{TraceError, col};

pub const INTERVAL_S: i64 = 300;

/// A PlanetLab file is a day or a few of 5-minute samples; anything this large is not one.
const MAX_FILE_BYTES: u64 = 64 << 20;

struct Segment {
    file: usize,
    rows: usize,
    bytes: std::ops::Range<usize>,
}

pub fn scan(
    files: &[PathBuf],
    f: &mut dyn FnMut(&DataFrame) -> Result<(), TraceError>,
) -> Result<(), TraceError> {
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + (1 << 16));
    let mut segs: Vec<Segment> = Vec::new();
    for (k, path) in files.iter().enumerate() {
        let mut text = Vec::new();
        read::open_text(path)?
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut text)
            .map_err(|e| TraceError::io(path, e))?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(TraceError::invalid(
                path,
                format!(
                    "larger than {} MiB: not a PlanetLab VM file",
                    MAX_FILE_BYTES >> 20
                ),
            ));
        }
        text.retain(|&c| c != b'\r');
        while matches!(text.last(), Some(b'\n' | b' ' | b'\t')) {
            text.pop();
        }
        if text.is_empty() {
            continue;
        }
        text.push(b'\n');
        let start = buf.len();
        buf.extend_from_slice(&text);
        segs.push(Segment {
            file: k,
            rows: text.iter().filter(|&&c| c == b'\n').count(),
            bytes: start..buf.len(),
        });
        if buf.len() >= CHUNK_BYTES {
            flush(files, &buf, &segs, f)?;
            buf.clear();
            segs.clear();
        }
    }
    if !segs.is_empty() {
        flush(files, &buf, &segs, f)?;
    }
    Ok(())
}

fn check(fields: &[&str]) -> Option<String> {
    if fields.len() != 1 {
        return Some(format!(
            "expected one CPU percentage per line, found {} fields",
            fields.len()
        ));
    }
    let v = fields[0].trim();
    (!v.is_empty() && v.parse::<f64>().is_err()).then(|| format!("not a CPU percentage: {v:?}"))
}

fn flush(
    files: &[PathBuf],
    buf: &[u8],
    segs: &[Segment],
    f: &mut dyn FnMut(&DataFrame) -> Result<(), TraceError>,
) -> Result<(), TraceError> {
    let schema = Schema::from_iter([Field::new(col::CPU.into(), DataType::Float64)]);
    let parsed = read::parse_csv(buf, b',', schema);
    let rows: usize = segs.iter().map(|s| s.rows).sum();
    let df = match parsed {
        Ok(df) if df.height() == rows => df,
        other => {
            // Find the file and line polars choked on.
            let err = match other {
                Err(e) => e,
                Ok(df) => polars_err!(
                    ComputeError: "read {} rows where the files have {rows} lines",
                    df.height()
                ),
            };
            for s in segs {
                let text = &buf[s.bytes.clone()];
                let e = read::locate(&files[s.file], text, 1, b',', &check, &err);
                if let TraceError::Format { message, .. } = &e
                    && !message.starts_with("polars")
                {
                    return Err(e);
                }
            }
            return Err(TraceError::invalid(
                Path::new(&files[segs[0].file]),
                format!("polars could not read this batch of files: {err}"),
            ));
        }
    };
    let mut ids: Vec<&str> = Vec::with_capacity(rows);
    let mut ts: Vec<i64> = Vec::with_capacity(rows);
    let names: Vec<String> = segs.iter().map(|s| read::stem(&files[s.file])).collect();
    for (s, name) in segs.iter().zip(&names) {
        for i in 0..s.rows {
            ids.push(name);
            ts.push(i as i64 * INTERVAL_S);
        }
    }
    let cpu = df
        .column(col::CPU)
        .map_err(|e| TraceError::invalid(&files[segs[0].file], e.to_string()))?
        .clone();
    let out = DataFrame::new(
        rows,
        vec![
            StringChunked::from_slice(col::VM_ID.into(), &ids).into_column(),
            Int64Chunked::from_vec(col::TIMESTAMP.into(), ts).into_column(),
            cpu,
        ],
    )
    .map_err(|e| TraceError::invalid(&files[segs[0].file], e.to_string()))?;
    f(&out)
}
