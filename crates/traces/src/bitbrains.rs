//! Bitbrains GWA-T-12 (fastStorage and Rnd), TU Delft Grid Workloads Archive
//! (Shen, van Beek, Iosup, CCGrid 2015).
//!
//! Format: one file per VM (`N.csv`, the VM's id is `N`), a header line, then rows of
//! eleven fields separated by `;` followed by a TAB: timestamp; CPU cores; CPU capacity
//! provisioned [MHz]; CPU usage [MHz]; CPU usage [%]; memory capacity provisioned [KB];
//! memory usage [KB]; disk read / write [KB/s]; network received / transmitted [KB/s].
//!
//! Quirks handled:
//! - The header says `Timestamp [ms]` but the values are Unix seconds; they are read as
//!   seconds (values above 10^11, which only milliseconds would give, are divided by 1000).
//! - The two-byte separator `;\t`: the TABs are removed before polars parses with `;`.
//! - Samples are 300 s apart with about 1 s of jitter and gaps of up to ~30 h: the
//!   resampler averages readings into the scenario's grid and applies the gap policy.
//! - CPU usage [%] above 100 (up to ~107): clamped to 100 and counted by the consumer.
//! - Memory: usage / provisioned as percent; the VM's shape (cores, provisioned memory)
//!   is available through [`shapes`].

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use polars::prelude::*;

use crate::read::{self, field_check};
use crate::{ChunkFn, Shape, TraceError, col};

const NAMES: &str = "timestamp; cores; capacity MHz; usage MHz; usage %; memory provisioned KB; \
                     memory usage KB; disk read; disk write; net in; net out";

fn schema() -> Schema {
    Schema::from_iter((0..11).map(|i| Field::new(format!("c{i}").into(), DataType::Float64)))
}

fn check_header(path: &std::path::Path) -> Result<(), TraceError> {
    let h = read::first_line(path)?;
    if h.starts_with("Timestamp") && h.contains(';') {
        Ok(())
    } else {
        Err(TraceError::format(
            path,
            1,
            format!(
                "expected the Bitbrains header \"Timestamp [ms];\\tCPU cores;...\", found {:?}",
                crate::shorten(&h)
            ),
        ))
    }
}

pub fn scan(files: &[PathBuf], f: &mut ChunkFn<'_>) -> Result<(), TraceError> {
    let format = read::Delimited {
        skip_lines: 1,
        separator: b';',
        strip: Some(b'\t'),
        schema: schema(),
        required: vec!["c0".into(), "c4".into()],
        check: Box::new(field_check(
            11,
            &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            false,
            NAMES,
        )),
    };
    // One VM per file: its code is the file's, in file order.
    let mut dict = read::Dict::default();
    for path in files {
        check_header(path)?;
        let code = dict.code(&read::stem(path));
        read::scan_delimited(
            path,
            &format,
            &mut dict,
            &mut |df, _| canonical(code, df),
            f,
        )?;
    }
    Ok(())
}

fn canonical(code: u32, df: &DataFrame) -> PolarsResult<DataFrame> {
    let n = df.height();
    let ts: Int64Chunked = df
        .column("c0")?
        .f64()?
        .iter()
        .map(|o| {
            o.map(|t| {
                let t = if t > 1e11 { t / 1000.0 } else { t };
                t.round() as i64
            })
        })
        .collect();
    let prov = df.column("c5")?.f64()?;
    let used = df.column("c6")?.f64()?;
    let mem: Float64Chunked = prov
        .iter()
        .zip(used.iter())
        .map(|(p, u)| match (p, u) {
            (Some(p), Some(u)) if p > 0.0 => Some(u / p * 100.0),
            _ => None,
        })
        .collect();
    DataFrame::new(
        n,
        vec![
            read::same_vm(code, n),
            ts.with_name(col::TIMESTAMP.into()).into_column(),
            read::named(df.column("c4")?, col::CPU),
            mem.with_name(col::MEMORY.into()).into_column(),
        ],
    )
}

/// Cores and provisioned memory of the given VMs, from each file's first data row.
pub fn shapes(
    files: &[PathBuf],
    ids: &BTreeSet<String>,
) -> Result<HashMap<String, Shape>, TraceError> {
    let mut out = HashMap::new();
    for path in files {
        let id = read::stem(path);
        if !ids.contains(&id) {
            continue;
        }
        let mut r = std::io::BufReader::new(read::open_text(path)?);
        let mut line = String::new();
        use std::io::BufRead;
        for _ in 0..2 {
            line.clear();
            r.read_line(&mut line)
                .map_err(|e| TraceError::io(path, e))?;
        }
        let fields: Vec<f64> = line
            .split(';')
            .map(|f| f.trim().parse::<f64>().unwrap_or(f64::NAN))
            .collect();
        let get = |i: usize| fields.get(i).copied().filter(|v| v.is_finite() && *v > 0.0);
        out.insert(
            id,
            Shape {
                vcpus: get(1).map(|c| c.round() as u32),
                memory_mib: get(5).map(|kb| (kb / 1024.0).round() as u64),
            },
        );
    }
    Ok(out)
}
