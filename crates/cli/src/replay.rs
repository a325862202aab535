//! `scalelab replay`, `scalelab compare`: find the run(s), hand them to the TUI.

use std::path::Path;

use anyhow::{Context, Result, bail};
use scalelab_sim::RunRecord;
use scalelab_store::Store;
use scalelab_tui::model::{Model, RunView};

/// A run given as a run-record file, a stored run id, or a scenario file (run first).
pub fn load_run(spec: &str, db: &Path) -> Result<RunView> {
    let (record, label) = load_record(spec, db)?;
    Ok(RunView::new(record, label))
}

/// The record of a run given as `load_run` takes it, and a label for it.
pub fn load_record(spec: &str, db: &Path) -> Result<(RunRecord, String)> {
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
        return Ok((record, format!("run {id}")));
    }
    if path.extension().is_some_and(|e| e == "toml") {
        let (record, _) = crate::run::run_file(path, None, true)?;
        let label = record.scenario.name.clone();
        return Ok((record, label));
    }
    let record = read_record(path)?;
    let label = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| spec.to_string());
    Ok((record, label))
}

/// A run record file, plain or gzip-compressed (told by its first bytes, not its name).
pub fn read_record(path: &Path) -> Result<RunRecord> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        use std::io::Read;
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .with_context(|| format!("{}: not a readable gzip file", path.display()))?;
        s
    } else {
        String::from_utf8(bytes).with_context(|| format!("{}: not UTF-8 text", path.display()))?
    };
    parse_record(&text, &path.display().to_string())
}

fn parse_record(text: &str, what: &str) -> Result<RunRecord> {
    // The plain parser is about twice as fast on a 400 MB record; the one that names the
    // failing field runs only when there is a failure to name.
    let parsed = serde_json::from_str::<RunRecord>(text)
        .or_else(|_| scalelab_engine::input::from_json_str::<RunRecord>(text));
    let record: RunRecord = match parsed {
        Ok(r) => r,
        Err(e) => {
            // A newer format may not parse at all: say so rather than name a field.
            if let Some(v) = head_version(text)
                && v > scalelab_sim::record::VERSION
            {
                bail!(
                    "{what}: run record version {v} is newer than this scalelab reads ({})",
                    scalelab_sim::record::VERSION
                );
            }
            return Err(anyhow::Error::new(e).context(format!("{what}: not a scalelab run record")));
        }
    };
    record
        .validate()
        .map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    Ok(record)
}

/// The `"version": N` near the start of a record, without parsing the rest.
fn head_version(text: &str) -> Option<u32> {
    let mut n = text.len().min(4096);
    while !text.is_char_boundary(n) {
        n -= 1;
    }
    let head = &text[..n];
    let at = head.find("\"version\"")? + "\"version\"".len();
    let rest = head[at..].trim_start().strip_prefix(':')?.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_plain_and_gzip_compressed() {
        let text = include_str!("../../../scenarios/hot-node-relief.toml");
        let record = scalelab_sim::run_scenario_text(text, None, &mut |_, _| {}).unwrap();
        let dir = std::env::temp_dir().join(format!("scalelab-gz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (plain, gz) = (dir.join("r.run.json"), dir.join("r.run.json.gz"));
        crate::run::write_record(&record, &plain).unwrap();
        crate::run::write_record(&record, &gz).unwrap();
        let (a, b) = (std::fs::read(&plain).unwrap(), std::fs::read(&gz).unwrap());
        assert_eq!(&b[..2], &[0x1f, 0x8b], "gzip magic");
        assert!(b.len() * 3 < a.len() * 2, "{} vs {}", b.len(), a.len());
        assert_eq!(read_record(&plain).unwrap(), record);
        assert_eq!(read_record(&gz).unwrap(), record);
        // A cut-off gzip file is one clear error, not a panic.
        std::fs::write(&gz, &b[..b.len() / 2]).unwrap();
        let e = read_record(&gz).unwrap_err().to_string();
        assert!(e.contains("r.run.json.gz"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
