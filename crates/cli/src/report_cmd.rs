//! `scalelab report`: one self-contained HTML file from a run, two runs, a sweep output
//! directory or a validation result.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use polars::prelude::{DataFrame, DataType};
use scalelab_report::{Frame, Page, RunOptions, SweepData, SweepMeta, ValidationResult, Value};

use crate::files::write_atomic_with;
use crate::replay::load_record;

pub struct Options<'a> {
    pub inputs: &'a [String],
    pub out: &'a Path,
    /// Node ids to draw as lines in a run report.
    pub nodes: &'a [String],
    pub db: &'a Path,
}

pub fn report(o: &Options<'_>) -> Result<()> {
    if let Some(dir) = o.out.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        bail!(
            "{}: cannot write the report: directory {} does not exist",
            o.out.display(),
            dir.display()
        );
    }
    let page = match o.inputs {
        [one] => single(one, o)?,
        [a, b] => {
            if !o.nodes.is_empty() {
                bail!("--nodes applies to the report of one run, not to a comparison");
            }
            let (ra, _) = load_record(a, o.db)?;
            let (rb, _) = load_record(b, o.db)?;
            scalelab_report::compare_report(&ra, &rb).map_err(|e| anyhow!("{a} vs {b}: {e}"))?
        }
        _ => bail!(
            "report takes one input (a run record, a stored run id, a sweep directory or a \
             validation result) or two runs to compare, not {}",
            o.inputs.len()
        ),
    };
    let html = page.to_html();
    write_atomic_with(o.out, |w| w.write_all(html.as_bytes()))?;
    eprintln!(
        "wrote {} ({} plots, {})",
        o.out.display(),
        page.figure_count(),
        human_bytes(html.len())
    );
    Ok(())
}

fn human_bytes(n: usize) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1 << 20) as f64)
    } else {
        format!("{:.0} KiB", n as f64 / 1024.0)
    }
}

fn single(spec: &str, o: &Options<'_>) -> Result<Page> {
    let path = Path::new(spec);
    if path.is_dir() {
        let data = read_sweep(path)?;
        return scalelab_report::sweep_report(&data)
            .map_err(|e| anyhow!("{}: {e}", path.display()));
    }
    if path.is_file() && is_validation(path)? {
        let text = crate::files::read(path)?;
        let v: ValidationResult = scalelab_engine::input::from_json_str(&text)
            .with_context(|| format!("{}: not a scalelab validation result", path.display()))?;
        return scalelab_report::validation_report(&v)
            .map_err(|e| anyhow!("{}: {e}", path.display()));
    }
    let (record, label) = load_record(spec, o.db)?;
    let nodes = o
        .nodes
        .iter()
        .map(|id| {
            record
                .nodes
                .iter()
                .position(|n| &n.id == id)
                .ok_or_else(|| anyhow!("--nodes: {label} has no node {id:?}"))
        })
        .collect::<Result<Vec<_>>>()?;
    scalelab_report::run_report(&record, &RunOptions { nodes }).map_err(|e| anyhow!("{label}: {e}"))
}

/// Whether a file is a validation result (its opening names the format); run records,
/// plain or gzip-compressed, are everything else.
fn is_validation(path: &Path) -> Result<bool> {
    let mut head = vec![0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(String::from_utf8_lossy(&head[..n]).contains(scalelab_report::validation::FORMAT))
}

/// A sweep output directory as the report reads it: `configs.parquet`, `runs.parquet`
/// and `sweep.json`.
pub fn read_sweep(dir: &Path) -> Result<SweepData> {
    let table = |name: &str| -> Result<Frame> {
        let path = dir.join(format!("{name}.parquet"));
        if !path.is_file() {
            bail!(
                "{}: no {name}.parquet: not a sweep output directory (`scalelab sweep` and \
                 `scalelab merge` write one)",
                dir.display()
            );
        }
        let df = scalelab_backtest::frame::read_parquet(&path)
            .with_context(|| format!("{}: cannot read as Parquet", path.display()))?;
        to_frame(&df).with_context(|| path.display().to_string())
    };
    let configs = table("configs")?;
    let runs = table("runs")?;
    let meta_path = dir.join(scalelab_report::sweep::META_FILE);
    let meta: SweepMeta = if meta_path.is_file() {
        let text = crate::files::read(&meta_path)?;
        let meta: SweepMeta = scalelab_engine::input::from_json_str(&text)
            .with_context(|| format!("{}: not a sweep description", meta_path.display()))?;
        if meta.version > scalelab_report::sweep::META_VERSION {
            bail!(
                "{}: sweep description version {} is newer than this scalelab reads ({})",
                meta_path.display(),
                meta.version,
                scalelab_report::sweep::META_VERSION
            );
        }
        meta
    } else {
        // Written before sweeps described themselves: the parameters are the `p:`
        // columns and the objective the default one.
        eprintln!(
            "warning: {}: missing; scoring runs with the default objective weights",
            meta_path.display()
        );
        SweepMeta {
            format: scalelab_report::sweep::META_FORMAT.into(),
            version: scalelab_report::sweep::META_VERSION,
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            parameters: configs
                .names
                .iter()
                .filter_map(|n| n.strip_prefix("p:").map(str::to_string))
                .collect(),
            weights: scalelab_backtest::spec::DEFAULT_WEIGHTS
                .iter()
                .map(|(k, w)| (k.to_string(), *w))
                .collect(),
            constraints: Default::default(),
        }
    };
    let data = SweepData {
        meta,
        configs,
        runs,
    };
    data.check()
        .map_err(|e| anyhow!("{}: {e}", dir.display()))?;
    Ok(data)
}

/// A DataFrame as plain columns: numbers as numbers, booleans and text as text.
fn to_frame(df: &DataFrame) -> Result<Frame> {
    let mut f = Frame::default();
    for c in df.columns() {
        let values: Vec<Value> = match c.dtype() {
            DataType::String => c
                .str()?
                .iter()
                .map(|v| v.map_or(Value::Null, |s| Value::Text(s.to_string())))
                .collect(),
            DataType::Boolean => c
                .bool()?
                .iter()
                .map(|v| v.map_or(Value::Null, |b| Value::Text(b.to_string())))
                .collect(),
            dt if dt.is_primitive_numeric() => c
                .cast(&DataType::Float64)?
                .f64()?
                .iter()
                .map(|v| v.map_or(Value::Null, Value::Num))
                .collect(),
            other => bail!(
                "column {:?} has type {other}, not a number or text",
                c.name()
            ),
        };
        f.names.push(c.name().to_string());
        f.columns.push(values);
    }
    Ok(f)
}
