//! scalelab-traces: public cluster traces as simulator input.
//!
//! Every format is read into one canonical long form, streamed in chunks of at most
//! [`read::CHUNK_BYTES`] so that memory does not grow with the file:
//!
//! | column      | type    | meaning                                              |
//! |-------------|---------|------------------------------------------------------|
//! | `vm`        | UInt32  | the VM: an index into [`Chunk::names`]               |
//! | `timestamp` | Int64   | seconds (the trace's own epoch)                      |
//! | `cpu`       | Float64 | percent of the VM's CPUs; null = invalid or missing  |
//! | `memory`    | Float64 | percent of the VM's memory (only when the trace has it) |
//!
//! Each format's module documents the quirks it handles. Values outside 0-100 are
//! clamped by the consumers ([`inspect`], [`load`]), which count them; the readers turn
//! a format's "invalid" codes into nulls, which are counted as invalid.
//!
//! - [`open`] finds a trace's files and its format (detected when not given).
//! - [`inspect`] summarizes a trace in bounded memory; [`convert`] writes the generic
//!   long format as Parquet; [`load`] turns trace groups of a scenario into workloads.

pub mod alibaba;
pub mod azure;
pub mod bitbrains;
pub mod convert;
pub mod generic;
pub mod inspect;
pub mod load;
pub mod planetlab;
pub mod read;
pub mod resample;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use polars::prelude::DataFrame;
pub use scalelab_sim::workload::TraceFormat;

/// One chunk of a trace in canonical form. VM ids are dictionary-coded: strings cost
/// a copy and a hash per row, and one-file-per-VM traces know the VM per file.
#[derive(Debug)]
pub struct Chunk<'a> {
    /// Columns `vm` (UInt32), `timestamp` (Int64, s), `cpu` (Float64, %) and, when the
    /// trace has it, `memory` (Float64, %).
    pub df: DataFrame,
    /// Every VM id seen so far, by code. Codes never change during a scan, and every
    /// scan of the same trace gives the same codes.
    pub names: &'a [String],
}

/// The consumer of a scan.
pub type ChunkFn<'a> = dyn FnMut(&Chunk<'_>) -> Result<(), TraceError> + 'a;

/// Where each public dataset can be downloaded, for messages about missing data.
pub fn download_hint(format: Option<TraceFormat>) -> &'static str {
    match format {
        Some(TraceFormat::Planetlab) => {
            "PlanetLab CoMon traces: https://github.com/beloglazov/planetlab-workload-traces \
             (also in CloudSim's modules/cloudsim-examples/src/main/resources/workload/planetlab)"
        }
        Some(TraceFormat::Bitbrains) => {
            "Bitbrains GWA-T-12: http://gwa.ewi.tudelft.nl/datasets/gwa-t-12-bitbrains"
        }
        Some(TraceFormat::Azure) => {
            "Azure Public Dataset: https://github.com/Azure/AzurePublicDataset"
        }
        Some(TraceFormat::AlibabaMachine | TraceFormat::AlibabaContainer) => {
            "Alibaba cluster-trace-v2018: https://github.com/alibaba/clusterdata/tree/master/cluster-trace-v2018"
        }
        Some(TraceFormat::Generic) => {
            "generic traces are the user's own: `scalelab trace convert` writes them"
        }
        None => {
            "PlanetLab: https://github.com/beloglazov/planetlab-workload-traces, \
             Bitbrains: http://gwa.ewi.tudelft.nl/datasets/gwa-t-12-bitbrains, \
             Azure: https://github.com/Azure/AzurePublicDataset, \
             Alibaba: https://github.com/alibaba/clusterdata"
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file does not match its format; `line` is 1-based.
    #[error("{}:{line}: {message}", path.display())]
    Format {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("trace data missing: {}; {}", missing.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "), download_hint(*format))]
    Missing {
        missing: Vec<PathBuf>,
        format: Option<TraceFormat>,
    },
}

impl TraceError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn format(path: &Path, line: usize, message: impl Into<String>) -> Self {
        Self::Format {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(path: &Path, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// A trace on disk: its format and its data files in reading order.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub format: TraceFormat,
    pub files: Vec<PathBuf>,
    /// The files' size, when a scan has already seen it (a thousand small files
    /// cost as much to stat again as to read).
    disk_bytes: OnceLock<u64>,
}

impl Source {
    /// Total bytes on disk (compressed size for .gz files).
    pub fn bytes(&self) -> u64 {
        *self.disk_bytes.get_or_init(|| {
            let files = read::SmallFiles::new(&self.files, u64::MAX);
            self.files.iter().filter_map(|f| files.size(f)).sum()
        })
    }

    /// Stream the trace in canonical chunks (see the crate docs), in a fixed order.
    pub fn scan(&self, f: &mut ChunkFn<'_>) -> Result<(), TraceError> {
        match self.format {
            TraceFormat::Planetlab => {
                let disk = planetlab::scan(&self.files, f)?;
                // Only a complete scan knows the total (`f` may stop it early).
                let _ = self.disk_bytes.set(disk);
                Ok(())
            }
            TraceFormat::Bitbrains => bitbrains::scan(&self.files, f),
            TraceFormat::Azure => azure::scan(&self.files, f),
            TraceFormat::AlibabaMachine => alibaba::scan(&self.files, alibaba::Table::Machine, f),
            TraceFormat::AlibabaContainer => {
                alibaba::scan(&self.files, alibaba::Table::Container, f)
            }
            TraceFormat::Generic => generic::scan(&self.files, f),
        }
    }
}

/// Find a trace's files and format. A directory is read file by file in natural name
/// order (`2.csv` before `10.csv`), hidden files skipped.
pub fn open(path: &Path, format: Option<TraceFormat>) -> Result<Source, TraceError> {
    let meta = std::fs::metadata(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            TraceError::Missing {
                missing: vec![path.to_path_buf()],
                format,
            }
        } else {
            TraceError::io(path, e)
        }
    })?;
    let files = if meta.is_dir() {
        read::list_dir(path)?
    } else {
        vec![path.to_path_buf()]
    };
    if files.is_empty() {
        return Err(TraceError::invalid(path, "directory holds no trace files"));
    }
    // Azure downloads keep the vmtable beside the readings: read only the readings.
    let readings: Vec<PathBuf> = files
        .iter()
        .filter(|f| f.to_string_lossy().contains("vm_cpu_readings"))
        .cloned()
        .collect();
    let files = if readings.is_empty() || format.is_some_and(|f| f != TraceFormat::Azure) {
        files
    } else {
        readings
    };
    let format = match format {
        Some(f) => f,
        None => detect(path, &files)?,
    };
    Ok(Source {
        path: path.to_path_buf(),
        format,
        files,
        disk_bytes: OnceLock::new(),
    })
}

/// Guess the format from file names and the first line of the first file.
pub fn detect(path: &Path, files: &[PathBuf]) -> Result<TraceFormat, TraceError> {
    let first = &files[0];
    let name = first
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.ends_with(".parquet") {
        return Ok(TraceFormat::Generic);
    }
    let line = read::first_line(first)?;
    let hint = || {
        format!(
            "cannot tell the trace format from its first line {:?}; give --format (one of {})",
            shorten(&line),
            TraceFormat::ALL.map(|f| f.as_str()).join(", ")
        )
    };
    if line.starts_with("Timestamp") && line.contains(';') {
        return Ok(TraceFormat::Bitbrains);
    }
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let lower: Vec<String> = fields.iter().map(|f| f.to_lowercase()).collect();
    if ["vm_id", "timestamp", "cpu"]
        .iter()
        .all(|c| lower.iter().any(|f| f == c))
    {
        return Ok(TraceFormat::Generic);
    }
    let numeric = |s: &str| s.is_empty() || s.parse::<f64>().is_ok();
    let detected = match fields.len() {
        1 if fields[0].parse::<f64>().is_ok() => Some(TraceFormat::Planetlab),
        5 if numeric(fields[0]) && !numeric(fields[1]) => Some(TraceFormat::Azure),
        9 if !numeric(fields[0]) && numeric(fields[1]) => Some(TraceFormat::AlibabaMachine),
        11 if !numeric(fields[0]) && !numeric(fields[1]) => Some(TraceFormat::AlibabaContainer),
        _ => None,
    };
    detected.ok_or_else(|| {
        let file = if path.is_dir() { first } else { path };
        TraceError::format(file, 1, hint())
    })
}

pub(crate) fn shorten(s: &str) -> String {
    if s.chars().count() > 80 {
        let mut t: String = s.chars().take(77).collect();
        t.push_str("...");
        t
    } else {
        s.to_string()
    }
}

/// Canonical column names.
pub mod col {
    /// The code column of [`crate::Chunk`].
    pub const VM: &str = "vm";
    /// The id column of the generic format.
    pub const VM_ID: &str = "vm_id";
    pub const TIMESTAMP: &str = "timestamp";
    pub const CPU: &str = "cpu";
    pub const MEMORY: &str = "memory";
}

/// A VM's size as a trace states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shape {
    pub vcpus: Option<u32>,
    pub memory_mib: Option<u64>,
}
