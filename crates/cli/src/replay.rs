//! `scalelab replay`, `scalelab compare`: find the run(s), hand them to the TUI.

use std::path::Path;

use anyhow::{Context, Result, bail};
use scalelab_sim::RunRecord;
use scalelab_store::Store;
use scalelab_tui::model::{Model, RunView};

/// A run given as a run-record file, a stored run id, or a scenario file (run first).
pub fn load_run(spec: &str, db: &Path) -> Result<RunView> {
    let path = Path::new(spec);
    if !path.exists()
        && let Ok(id) = spec.parse::<i64>()
    {
        if !db.exists() {
            bail!("{}: no such database to look up run {id} in", db.display());
        }
        let store = Store::open_read_only(db)?;
        let record = match store.run_record_json(id)? {
            Some(json) => parse_record(&json, &format!("{}: run {id}", db.display()))?,
            None => {
                let summary = store.run_summary(id)?;
                let p = summary.record_path.with_context(|| {
                    format!(
                        "{}: run {id} has neither a stored record nor a file",
                        db.display()
                    )
                })?;
                read_record(Path::new(&p))?
            }
        };
        return Ok(RunView::new(record, format!("run {id}")));
    }
    if path.extension().is_some_and(|e| e == "toml") {
        let (record, _) = crate::run::run_file(path, None, true)?;
        let label = record.scenario.name.clone();
        return Ok(RunView::new(record, label));
    }
    let record = read_record(path)?;
    let label = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| spec.to_string());
    Ok(RunView::new(record, label))
}

fn read_record(path: &Path) -> Result<RunRecord> {
    let text = crate::files::read(path)?;
    parse_record(&text, &path.display().to_string())
}

fn parse_record(text: &str, what: &str) -> Result<RunRecord> {
    let record: RunRecord = scalelab_engine::input::from_json_str(text)
        .with_context(|| format!("{what}: not a scalelab run record"))?;
    record
        .validate()
        .map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    Ok(record)
}

fn ensure_terminal() -> Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        bail!("replay needs a terminal (stdout is not one); use `scalelab runs show` for text");
    }
    Ok(())
}

pub fn replay(spec: &str, db: &Path) -> Result<()> {
    let run = load_run(spec, db)?;
    ensure_terminal()?;
    scalelab_tui::run(Model::new(vec![run])).context("terminal")
}

pub fn compare(a: &str, b: &str, db: &Path) -> Result<()> {
    let mut ra = load_run(a, db)?;
    let mut rb = load_run(b, db)?;
    ra.label = format!("A {}", ra.label);
    rb.label = format!("B {}", rb.label);
    ensure_terminal()?;
    scalelab_tui::run(Model::new(vec![ra, rb])).context("terminal")
}
