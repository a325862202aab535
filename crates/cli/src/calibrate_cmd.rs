//! `scalelab calibrate`: fit the estimators to stored runs' expected-vs-actual pairs and
//! write the calibrated policy.

use std::path::Path;

use anyhow::{Context, Result, bail};
use scalelab_backtest::calibrate::calibrate;
use scalelab_sim::record::RunRecord;
use scalelab_store::Store;

use crate::files::{write_atomic_with, write_json_atomic};

pub struct Options<'a> {
    /// Run ids or record files; empty = every run stored in `db`.
    pub inputs: &'a [String],
    pub db: &'a Path,
    pub base: Option<&'a Path>,
    pub out: &'a Path,
    pub json: Option<&'a Path>,
}

pub fn run(o: &Options) -> Result<()> {
    let base = crate::load_policy(o.base)?;
    let records = load(o)?;
    let what = records
        .iter()
        .map(|(_, name)| name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let slices: Vec<&[scalelab_sim::record::MigrationRecord]> = records
        .iter()
        .map(|(r, _)| r.migrations.as_slice())
        .collect();
    let c = calibrate(&base, &slices).with_context(|| what.clone())?;
    let toml = c.policy.to_toml_string();
    let header = format!(
        "# Calibrated by `scalelab calibrate` from {} measured migrations of {}.\n\
         # Held-out error on target utilization (k-fold by {}): fixed factor {:.4}, \
         model-based {}.\n",
        c.fixed_factor.n,
        what,
        c.folds_by,
        c.fixed_factor.mae_held_out,
        c.model_based
            .as_ref()
            .map_or("not measured".to_string(), |m| format!(
                "{:.4}",
                m.mae_held_out
            )),
    );
    write_atomic_with(o.out, |w| {
        w.write_all(header.as_bytes())?;
        w.write_all(toml.as_bytes())
    })?;
    if let Some(p) = o.json {
        write_json_atomic(p, &c)?;
    }
    print!("{}", c.to_text());
    println!("calibrated policy: {}", o.out.display());
    Ok(())
}

/// The records to learn from, each with a name for messages.
fn load(o: &Options) -> Result<Vec<(RunRecord, String)>> {
    if !o.inputs.is_empty() {
        return o
            .inputs
            .iter()
            .map(|s| crate::replay::load_record(s, o.db))
            .collect();
    }
    if !o.db.exists() {
        bail!(
            "{}: no such database, and no runs named: store runs with `scalelab run`, or \
             name run records",
            o.db.display()
        );
    }
    let store = Store::open_read_only(o.db)?;
    let ids: Vec<i64> = store.list_runs(None)?.iter().rev().map(|r| r.id).collect();
    if ids.is_empty() {
        bail!("{}: no stored runs to calibrate from", o.db.display());
    }
    drop(store);
    ids.iter()
        .map(|id| crate::replay::load_record(&id.to_string(), o.db))
        .collect()
}
