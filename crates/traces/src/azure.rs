//! Azure Public Dataset V1 (2017) and V2 (2019) CPU readings (Cortez et al., SOSP 2017).
//!
//! Format: `vm_cpu_readings-file-N-of-M.csv(.gz)`, no header, five fields: timestamp
//! (seconds from the trace's start, every 300 s), VM id (an opaque hash), min_cpu,
//! max_cpu, avg_cpu. The readings of all VMs are interleaved by time and split over many
//! files; a directory is read in file-number order. The workload uses avg_cpu.
//!
//! Quirks handled:
//! - gzip-compressed files are expanded on the fly, under a bound (see [`crate::read`]).
//! - No memory series: memory comes from the scenario's declared model.
//! - Cores and memory per VM are in a separate `vmtable` (no header: vm id, subscription,
//!   deployment, created, deleted, max, avg, p95 CPU, category, core-count bucket,
//!   memory bucket in GB). Open-ended buckets are read as the next power of two:
//!   `>24` cores as 32, `>64` GB as 128.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::read::{self, field_check};
use crate::{ChunkFn, Shape, TraceError, col};

pub fn scan(files: &[PathBuf], f: &mut ChunkFn<'_>) -> Result<(), TraceError> {
    let format = read::Delimited {
        skip_lines: 0,
        separator: b',',
        strip: None,
        schema: Schema::from_iter([
            Field::new("t".into(), DataType::Float64),
            Field::new(col::VM_ID.into(), DataType::String),
            Field::new("min".into(), DataType::Float64),
            Field::new("max".into(), DataType::Float64),
            Field::new(col::CPU.into(), DataType::Float64),
        ]),
        required: vec!["t".into(), col::VM_ID.into(), col::CPU.into()],
        check: Box::new(field_check(
            5,
            &[0, 2, 3, 4],
            false,
            "timestamp, vm id, min_cpu, max_cpu, avg_cpu",
        )),
    };
    let mut dict = read::Dict::default();
    for path in files {
        read::scan_delimited(
            path,
            &format,
            &mut dict,
            &mut |df, dict| {
                DataFrame::new(
                    df.height(),
                    vec![
                        dict.encode(df.column(col::VM_ID)?)?,
                        read::seconds(df.column("t")?)?,
                        df.column(col::CPU)?.clone(),
                    ],
                )
            },
            f,
        )?;
    }
    Ok(())
}

fn bucket(s: &str, open_ended: f64) -> Option<f64> {
    let s = s.trim();
    match s.strip_prefix('>') {
        Some(_) => Some(open_ended),
        None => s.parse::<f64>().ok().filter(|v| *v > 0.0),
    }
}

/// Cores and memory of the given VMs from an Azure `vmtable` file.
pub fn shapes(
    vmtable: &Path,
    ids: &BTreeSet<String>,
) -> Result<HashMap<String, Shape>, TraceError> {
    let check = field_check(
        11,
        &[3, 4, 5, 6, 7],
        true,
        "vm id, subscription, deployment, created, deleted, max cpu, avg cpu, p95 cpu, \
         category, core bucket, memory bucket",
    );
    let schema = || {
        let s = |n: &str| Field::new(n.into(), DataType::String);
        let f = |n: &str| Field::new(n.into(), DataType::Float64);
        Schema::from_iter([
            s("vm"),
            s("sub"),
            s("dep"),
            f("created"),
            f("deleted"),
            f("max"),
            f("avg"),
            f("p95"),
            s("category"),
            s("cores"),
            s("memory"),
        ])
    };
    let mut out = HashMap::new();
    read::for_each_chunk(vmtable, 0, &mut |bytes, first_line| {
        let df = read::parse_csv(bytes, b',', schema())
            .map_err(|e| read::locate(vmtable, bytes, first_line, b',', &check, &e))?;
        let err = |e: PolarsError| TraceError::invalid(vmtable, e.to_string());
        let vm = df
            .column("vm")
            .and_then(|c| c.str().cloned())
            .map_err(err)?;
        let cores = df
            .column("cores")
            .and_then(|c| c.str().cloned())
            .map_err(err)?;
        let mem = df
            .column("memory")
            .and_then(|c| c.str().cloned())
            .map_err(err)?;
        for ((v, c), m) in vm.iter().zip(cores.iter()).zip(mem.iter()) {
            let Some(v) = v else { continue };
            if !ids.contains(v) {
                continue;
            }
            out.insert(
                v.to_string(),
                Shape {
                    vcpus: c.and_then(|c| bucket(c, 32.0)).map(|c| c.round() as u32),
                    memory_mib: m
                        .and_then(|m| bucket(m, 128.0))
                        .map(|gb| (gb * 1024.0).round() as u64),
                },
            );
        }
        Ok(())
    })?;
    Ok(out)
}
