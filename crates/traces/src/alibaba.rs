//! Alibaba cluster-trace-v2018 `machine_usage` and `container_usage`.
//!
//! Formats (no header):
//! - machine_usage: machine_id, time_stamp (s), cpu_util_percent, mem_util_percent,
//!   mem_gps, mpki, net_in, net_out, disk_io_percent. The "VM" is the machine.
//! - container_usage: container_id, machine_id, time_stamp, cpu_util_percent,
//!   mem_util_percent, cpi, mem_gps, mpki, net_in, net_out, disk_io_percent.
//!
//! Quirks handled:
//! - Invalid samples are coded as -1 or 101 (and some fields are empty): they become
//!   nulls, counted as invalid, and the resampler treats them as missing readings.
//! - Sampling is about every 10 s and irregular: the resampler averages the readings that
//!   fall into each interval of the scenario.
//! - Rows are not guaranteed to be in time order: the loader sorts each VM's readings;
//!   `trace inspect` counts the rows that went back in time.

use std::path::PathBuf;

use polars::prelude::*;

use crate::read::{self, field_check};
use crate::{ChunkFn, TraceError, col};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Machine,
    Container,
}

/// -1 and 101 mean "no valid sample" in this trace.
fn valid(v: Option<f64>) -> Option<f64> {
    v.filter(|&x| x != -1.0 && x != 101.0)
}

pub fn scan(files: &[PathBuf], table: Table, f: &mut ChunkFn<'_>) -> Result<(), TraceError> {
    let (n, id_at, t_at, cpu_at, names): (usize, usize, usize, usize, &'static str) = match table {
        Table::Machine => (
            9,
            0,
            1,
            2,
            "machine_id, time_stamp, cpu_util_percent, mem_util_percent, mem_gps, mpki, \
             net_in, net_out, disk_io_percent",
        ),
        Table::Container => (
            11,
            0,
            2,
            3,
            "container_id, machine_id, time_stamp, cpu_util_percent, mem_util_percent, cpi, \
             mem_gps, mpki, net_in, net_out, disk_io_percent",
        ),
    };
    let numeric: &'static [usize] = match table {
        Table::Machine => &[1, 2, 3, 4, 5, 6, 7, 8],
        Table::Container => &[2, 3, 4, 5, 6, 7, 8, 9, 10],
    };
    let (id, t) = (format!("c{id_at}"), format!("c{t_at}"));
    let format = read::Delimited {
        skip_lines: 0,
        separator: b',',
        strip: None,
        schema: Schema::from_iter((0..n).map(|i| {
            let dt = if i == id_at || (table == Table::Container && i == 1) {
                DataType::String
            } else {
                DataType::Float64
            };
            Field::new(format!("c{i}").into(), dt)
        })),
        required: vec![id.clone(), t.clone()],
        check: Box::new(field_check(n, numeric, true, names)),
    };
    let mut dict = read::Dict::default();
    for path in files {
        read::scan_delimited(
            path,
            &format,
            &mut dict,
            &mut |df, dict| {
                let valid_of = |c: usize| -> PolarsResult<Column> {
                    let v: Float64Chunked = df
                        .column(&format!("c{c}"))?
                        .f64()?
                        .iter()
                        .map(valid)
                        .collect();
                    Ok(v.into_column())
                };
                DataFrame::new(
                    df.height(),
                    vec![
                        dict.encode(df.column(&id)?)?,
                        read::seconds(df.column(&t)?)?,
                        read::named(&valid_of(cpu_at)?, col::CPU),
                        read::named(&valid_of(cpu_at + 1)?, col::MEMORY),
                    ],
                )
            },
            f,
        )?;
    }
    Ok(())
}
