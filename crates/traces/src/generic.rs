//! The generic long format: `vm_id, timestamp, cpu[, memory]`, CSV with a header or
//! Parquet. This is what `scalelab trace convert` writes, and the way to bring any other
//! monitoring export into scalelab.
//!
//! - `vm_id`: any string (integers in Parquet are turned into strings).
//! - `timestamp`: seconds (integer or fractional, rounded to whole seconds; any epoch).
//!   In Parquet a Datetime column is accepted too.
//! - `cpu`: percent of the VM's CPUs (0-100); empty = invalid sample.
//! - `memory` (optional): percent of the VM's memory.
//!
//! Column names are matched without regard to case; other columns are ignored.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use polars_io::SerReader;
use polars_io::parquet::read::ParquetReader;

use crate::read;
use crate::{Chunk, ChunkFn, TraceError, col};

/// Rows per Parquet slice: bounds memory like [`read::CHUNK_BYTES`] does for text.
const PARQUET_ROWS: usize = 1 << 20;

pub fn scan(files: &[PathBuf], f: &mut ChunkFn<'_>) -> Result<(), TraceError> {
    let mut dict = read::Dict::default();
    for path in files {
        let is_parquet = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        if is_parquet {
            scan_parquet(path, &mut dict, f)?;
        } else {
            scan_csv(path, &mut dict, f)?;
        }
    }
    Ok(())
}

struct Layout {
    names: Vec<String>,
    vm: usize,
    t: usize,
    cpu: usize,
    mem: Option<usize>,
}

fn layout(path: &Path, header: &str) -> Result<Layout, TraceError> {
    let names: Vec<String> = header.split(',').map(|s| s.trim().to_string()).collect();
    let find = |want: &str| names.iter().position(|n| n.eq_ignore_ascii_case(want));
    let need = |want: &str| {
        find(want).ok_or_else(|| {
            TraceError::format(
                path,
                1,
                format!(
                    "the generic format needs a header with vm_id, timestamp and cpu \
                     (and optionally memory); no column {want:?} in {:?}",
                    crate::shorten(header)
                ),
            )
        })
    };
    Ok(Layout {
        vm: need(col::VM_ID)?,
        t: need(col::TIMESTAMP)?,
        cpu: need(col::CPU)?,
        mem: find(col::MEMORY),
        names,
    })
}

fn scan_csv(path: &Path, dict: &mut read::Dict, f: &mut ChunkFn<'_>) -> Result<(), TraceError> {
    let header = read::first_line(path)?;
    let l = layout(path, &header)?;
    let n = l.names.len();
    let numeric: Vec<usize> = [Some(l.t), Some(l.cpu), l.mem]
        .into_iter()
        .flatten()
        .collect();
    let (t_at, vm_at, names) = (l.t, l.vm, l.names.clone());
    let check = move |fields: &[&str]| -> Option<String> {
        if fields.len() != n {
            return Some(format!(
                "expected {n} fields as in the header, found {}",
                fields.len()
            ));
        }
        if fields[vm_at].trim().is_empty() {
            return Some("empty vm_id".into());
        }
        for &i in &numeric {
            let v = fields[i].trim();
            if (v.is_empty() && i == t_at) || (!v.is_empty() && v.parse::<f64>().is_err()) {
                return Some(format!(
                    "field {} ({}) is not a number: {v:?}",
                    i + 1,
                    names[i]
                ));
            }
        }
        None
    };
    let format = read::Delimited {
        skip_lines: 1,
        separator: b',',
        strip: None,
        schema: Schema::from_iter((0..n).map(|i| {
            let dt = if i == l.t || i == l.cpu || Some(i) == l.mem {
                DataType::Float64
            } else {
                DataType::String
            };
            Field::new(format!("c{i}").into(), dt)
        })),
        required: vec![format!("c{}", l.vm), format!("c{}", l.t)],
        check: Box::new(check),
    };
    read::scan_delimited(
        path,
        &format,
        dict,
        &mut |df, dict| {
            let c = |i: usize| df.column(&format!("c{i}"));
            let mut cols = vec![
                dict.encode(c(l.vm)?)?,
                read::seconds(c(l.t)?)?,
                read::named(c(l.cpu)?, col::CPU),
            ];
            if let Some(m) = l.mem {
                cols.push(read::named(c(m)?, col::MEMORY));
            }
            DataFrame::new(df.height(), cols)
        },
        f,
    )
}

fn scan_parquet(path: &Path, dict: &mut read::Dict, f: &mut ChunkFn<'_>) -> Result<(), TraceError> {
    let open = || std::fs::File::open(path).map_err(|e| TraceError::io(path, e));
    let bad =
        |e: PolarsError| TraceError::invalid(path, format!("not a readable Parquet file: {e}"));
    let mut r = ParquetReader::new(open()?);
    let schema = r.schema().map_err(bad)?;
    let names: Vec<String> = schema.iter_names().map(|s| s.to_string()).collect();
    let l = layout(path, &names.join(","))
        .map_err(|_| TraceError::invalid(path, format!("the generic format needs columns vm_id, timestamp and cpu (and optionally memory); found {}", names.join(", "))))?;
    let rows = r.num_rows().map_err(bad)?;
    let mut columns = vec![
        l.names[l.vm].clone(),
        l.names[l.t].clone(),
        l.names[l.cpu].clone(),
    ];
    if let Some(m) = l.mem {
        columns.push(l.names[m].clone());
    }
    let mut at = 0;
    while at < rows {
        let len = PARQUET_ROWS.min(rows - at);
        let df = ParquetReader::new(open()?)
            .with_columns(Some(columns.clone()))
            .with_slice(Some((at, len)))
            .finish()
            .map_err(bad)?;
        let out = canonical(&df, &columns, dict)
            .map_err(|e| TraceError::invalid(path, format!("rows {}-{}: {e}", at + 1, at + len)))?;
        f(&Chunk {
            df: out,
            names: &dict.names,
        })?;
        at += len;
    }
    Ok(())
}

fn canonical(df: &DataFrame, columns: &[String], dict: &mut read::Dict) -> PolarsResult<DataFrame> {
    let vm = df.column(&columns[0])?.cast(&DataType::String)?;
    let t = df.column(&columns[1])?;
    let t = match t.dtype() {
        DataType::Datetime(unit, _) => {
            let per_s = match unit {
                TimeUnit::Milliseconds => 1_000,
                TimeUnit::Microseconds => 1_000_000,
                TimeUnit::Nanoseconds => 1_000_000_000,
            };
            let v: Int64Chunked = t
                .cast(&DataType::Int64)?
                .i64()?
                .iter()
                .map(|o| o.map(|x| x.div_euclid(per_s)))
                .collect();
            v.into_column()
        }
        _ => read::seconds(&t.cast(&DataType::Float64)?)?,
    };
    if vm.null_count() > 0 || t.null_count() > 0 {
        polars_bail!(ComputeError: "missing vm_id or timestamp");
    }
    let mut cols = vec![
        dict.encode(&vm)?,
        read::named(&t, col::TIMESTAMP),
        read::named(&df.column(&columns[2])?.cast(&DataType::Float64)?, col::CPU),
    ];
    if columns.len() > 3 {
        cols.push(read::named(
            &df.column(&columns[3])?.cast(&DataType::Float64)?,
            col::MEMORY,
        ));
    }
    DataFrame::new(df.height(), cols)
}
