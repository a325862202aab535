//! `scalelab trace convert`: any supported trace to the generic long format (Parquet or
//! CSV), chunk by chunk so memory stays bounded. The canonical columns are written as
//! they are: invalid samples stay null and out-of-range values are not clamped, so the
//! converted file inspects exactly like the original.

use std::io::Write;

use polars::prelude::*;
use polars_io::SerWriter;
use polars_io::csv::write::CsvWriter;
use polars_io::parquet::write::ParquetWriter;

use crate::{Source, TraceError, col};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    Parquet,
    Csv,
}

impl OutFormat {
    /// From the output file's extension: `.csv` is CSV, anything else Parquet.
    pub fn from_path(p: &std::path::Path) -> Self {
        match p.extension() {
            Some(e) if e.eq_ignore_ascii_case("csv") => Self::Csv,
            _ => Self::Parquet,
        }
    }
}

enum Writer<W: Write> {
    Parquet(Box<polars_io::parquet::write::BatchedWriter<W>>),
    Csv(polars_io::csv::write::BatchedWriter<W>),
}

/// Convert `src` into `out`; returns the number of rows written.
pub fn convert<W: Write>(src: &Source, out: W, format: OutFormat) -> Result<u64, TraceError> {
    let bad = |e: PolarsError| TraceError::invalid(&src.path, e.to_string());
    let mut out = Some(out);
    let mut writer: Option<Writer<W>> = None;
    let mut schema: Option<Schema> = None;
    let mut rows = 0u64;
    src.scan(&mut |chunk| {
        let names = chunk.names;
        let ids: StringChunked = chunk
            .df
            .column(col::VM)
            .and_then(|c| c.u32().cloned())
            .map_err(bad)?
            .iter()
            .map(|c| c.map(|c| names[c as usize].as_str()))
            .collect();
        let mut cols = vec![ids.with_name(col::VM_ID.into()).into_column()];
        for name in [col::TIMESTAMP, col::CPU, col::MEMORY] {
            if let Ok(c) = chunk.df.column(name) {
                cols.push(c.clone());
            }
        }
        let mut df = DataFrame::new(chunk.df.height(), cols).map_err(bad)?;
        // Readers build some columns in one piece and polars parses others in
        // parallel pieces; the writers need them aligned.
        df.align_chunks();
        let s = df.schema().as_ref().clone();
        match &schema {
            None => {
                let w = out.take().expect("writer opened once");
                writer = Some(match format {
                    OutFormat::Parquet => {
                        Writer::Parquet(Box::new(ParquetWriter::new(w).batched(&s).map_err(bad)?))
                    }
                    OutFormat::Csv => Writer::Csv(CsvWriter::new(w).batched(&s).map_err(bad)?),
                });
                schema = Some(s);
            }
            Some(prev) if *prev != s => {
                return Err(TraceError::invalid(
                    &src.path,
                    "the trace's files differ in columns (some have memory, some not)",
                ));
            }
            Some(_) => {}
        }
        match writer.as_mut().expect("opened above") {
            Writer::Parquet(w) => w.write_batch(&df).map_err(bad)?,
            Writer::Csv(w) => w.write_batch(&df).map_err(bad)?,
        }
        rows += df.height() as u64;
        Ok(())
    })?;
    match writer {
        Some(Writer::Parquet(w)) => {
            w.finish().map_err(bad)?;
        }
        Some(Writer::Csv(mut w)) => w.finish().map_err(bad)?,
        None => return Err(TraceError::invalid(&src.path, "the trace has no readings")),
    }
    Ok(rows)
}
