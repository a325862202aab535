//! `scalelab trace inspect|convert`, and loading the traces of trace-driven scenarios.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow};
use scalelab_sim::Scenario;
use scalelab_sim::workload::WorkloadSpec;
use scalelab_traces::{TraceError, TraceFormat, convert, inspect, load};

use crate::files::write_atomic_with;

static TRACE_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Set once from `--trace-dir` / `SCALELAB_TRACE_DIR`.
pub fn set_trace_dir(dir: PathBuf) {
    let _ = TRACE_DIR.set(dir);
}

pub fn trace_dir() -> &'static Path {
    TRACE_DIR.get_or_init(|| PathBuf::from("traces"))
}

/// Load the traces of every trace-driven VM group of `sc` (parsed from `path`),
/// printing what was loaded on stderr. Scenarios without traces are left alone.
pub fn load_traces(sc: &mut Scenario, path: &Path) -> Result<()> {
    if !sc
        .vms
        .iter()
        .any(|g| matches!(g.workload, WorkloadSpec::Trace(_)))
    {
        return Ok(());
    }
    let dir = trace_dir();
    match load::load_scenario(sc, dir) {
        Ok(reports) => {
            for r in reports {
                eprintln!("{r}");
            }
            Ok(())
        }
        Err(e @ TraceError::Missing { .. }) => Err(anyhow!(
            "{}: {e}; the trace data directory is {} (set it with --trace-dir or \
             SCALELAB_TRACE_DIR)",
            path.display(),
            dir.display()
        )),
        Err(e) => Err(anyhow!(e)).with_context(|| path.display().to_string()),
    }
}

fn parse_format(f: Option<&str>) -> Result<Option<TraceFormat>> {
    f.map(|s| {
        s.parse::<TraceFormat>()
            .map_err(|e| anyhow!("--format: {e}"))
    })
    .transpose()
}

pub fn inspect(path: &Path, format: Option<&str>, json: bool) -> Result<()> {
    let src = scalelab_traces::open(path, parse_format(format)?)?;
    let report = inspect::inspect(&src)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("serializing the report")?
        );
    } else {
        print!("{report}");
    }
    Ok(())
}

pub fn convert(path: &Path, format: Option<&str>, out: &Path) -> Result<()> {
    let src = scalelab_traces::open(path, parse_format(format)?)?;
    let kind = convert::OutFormat::from_path(out);
    let mut rows = 0;
    write_atomic_with(out, |w| {
        rows = convert::convert(&src, w, kind).map_err(std::io::Error::other)?;
        Ok(())
    })?;
    println!(
        "wrote {rows} readings of {} ({}) to {}",
        src.path.display(),
        src.format.as_str(),
        out.display()
    );
    Ok(())
}
