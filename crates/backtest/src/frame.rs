//! Sweep results as polars DataFrames: one row per run, aggregated per config (mean,
//! std, p95 across scenarios and seeds) and per (config, scenario), scored, ranked,
//! with the Pareto front; written as CSV and Parquet.

use std::path::Path;

use polars::prelude::*;
use polars_io::SerWriter;
use polars_io::csv::write::CsvWriter;
use polars_io::parquet::write::ParquetWriter;
use serde_json::Value;

use crate::exec::RunResult;
use crate::spec::{METRICS, Plan};
use scalelab_sim::human;

fn param_names(plan: &Plan) -> Vec<String> {
    plan.spec.parameters.keys().cloned().collect()
}

/// A parameter's value as a column cell: numbers stay numbers, the rest are text;
/// an unset parameter (config 0, the defaults) is null.
fn param_column(plan: &Plan, name: &str, ids: &[u32]) -> Column {
    let vals: Vec<Option<&Value>> = ids
        .iter()
        .map(|&id| plan.configs[id as usize].overrides.get(name))
        .collect();
    let col_name = format!("p:{name}");
    if vals.iter().all(|v| v.is_none_or(Value::is_number)) {
        let xs: Vec<Option<f64>> = vals.iter().map(|v| v.and_then(Value::as_f64)).collect();
        Column::new(col_name.into(), xs)
    } else {
        let xs: Vec<Option<String>> = vals
            .iter()
            .map(|v| {
                v.map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            })
            .collect();
        Column::new(col_name.into(), xs)
    }
}

/// Which policy a config is: "defaults", "config N" or a baseline's name.
fn label_column(plan: &Plan, ids: &[u32]) -> Column {
    Column::new(
        "policy".into(),
        ids.iter()
            .map(|&id| plan.configs[id as usize].label())
            .collect::<Vec<_>>(),
    )
}

/// One row per run.
pub fn runs_frame(plan: &Plan, results: &[RunResult]) -> PolarsResult<DataFrame> {
    let ids: Vec<u32> = results.iter().map(|r| r.config_id).collect();
    let mut cols = vec![
        Column::new("config_id".into(), ids.clone()),
        Column::new(
            "scenario".into(),
            results
                .iter()
                .map(|r| r.scenario.clone())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "seed".into(),
            results.iter().map(|r| r.seed).collect::<Vec<_>>(),
        ),
        Column::new(
            "run_key".into(),
            results.iter().map(|r| r.key.clone()).collect::<Vec<_>>(),
        ),
    ];
    cols.push(label_column(plan, &ids));
    for p in param_names(plan) {
        cols.push(param_column(plan, &p, &ids));
    }
    for m in METRICS {
        let xs: Vec<Option<f64>> = results
            .iter()
            .map(|r| r.metrics.get(m).copied().flatten())
            .collect();
        cols.push(Column::new(m.into(), xs));
    }
    DataFrame::new_infer_height(cols)
}

fn f64s(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<f64>>> {
    Ok(df.column(name)?.cast(&DataType::Float64)?.f64()?.to_vec())
}

/// Mean, sample standard deviation and 95th percentile (linear interpolation) of the
/// non-missing values, computed in a fixed order: polars' SIMD sums depend on buffer
/// alignment and can differ in the last bit between two identical inputs, and a
/// sweep's results must be byte-identical (across thread counts and shard merges).
fn stats(xs: &[f64]) -> (Option<f64>, Option<f64>, Option<f64>) {
    if xs.is_empty() {
        return (None, None, None);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let std = (xs.len() > 1)
        .then(|| (xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)).sqrt());
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let pos = 0.95 * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let p95 = sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64);
    (Some(mean), std, Some(p95))
}

/// Metric values of a runs frame grouped by `key`, in key order.
fn grouped<K: Ord + Clone>(
    runs: &DataFrame,
    keys: &[K],
    metric: &str,
) -> PolarsResult<std::collections::BTreeMap<K, Vec<f64>>> {
    let xs = f64s(runs, metric)?;
    let mut out: std::collections::BTreeMap<K, Vec<f64>> = std::collections::BTreeMap::new();
    for (k, x) in keys.iter().zip(xs) {
        let e = out.entry(k.clone()).or_default();
        if let Some(x) = x {
            e.push(x);
        }
    }
    Ok(out)
}

fn u32s(df: &DataFrame, name: &str) -> PolarsResult<Vec<u32>> {
    Ok(df
        .column(name)?
        .cast(&DataType::UInt32)?
        .u32()?
        .iter()
        .map(|x| x.unwrap_or(0))
        .collect())
}

/// Aggregate per config: `{metric}_mean`, `_std`, `_p95`, plus `runs`, `objective`,
/// `feasible`, `rank` (1 = best feasible) and `pareto`.
pub fn configs_frame(plan: &Plan, runs: &DataFrame) -> PolarsResult<DataFrame> {
    let keys = u32s(runs, "config_id")?;
    let mut ids: Vec<u32> = keys.clone();
    ids.sort_unstable();
    ids.dedup();
    let n = ids.len();
    let count: Vec<u32> = ids
        .iter()
        .map(|id| keys.iter().filter(|k| *k == id).count() as u32)
        .collect();
    let mut cols = vec![
        Column::new("config_id".into(), ids.clone()),
        Column::new("runs".into(), count),
    ];
    let mut means: std::collections::BTreeMap<&str, Vec<Option<f64>>> = Default::default();
    for m in METRICS {
        let g = grouped(runs, &keys, m)?;
        let st: Vec<_> = ids
            .iter()
            .map(|id| stats(g.get(id).map_or(&[][..], |v| v)))
            .collect();
        let mean: Vec<Option<f64>> = st.iter().map(|s| s.0).collect();
        cols.push(Column::new(format!("{m}_mean").into(), mean.clone()));
        cols.push(Column::new(
            format!("{m}_std").into(),
            st.iter().map(|s| s.1).collect::<Vec<_>>(),
        ));
        cols.push(Column::new(
            format!("{m}_p95").into(),
            st.iter().map(|s| s.2).collect::<Vec<_>>(),
        ));
        means.insert(m, mean);
    }
    let mut df = DataFrame::new_infer_height(cols)?;
    // Objective and constraints on the means.
    let mut objective = vec![0.0; n];
    for (m, w) in &plan.weights {
        if let Some(xs) = means.get(m.as_str()) {
            for (o, x) in objective.iter_mut().zip(xs) {
                *o += w * x.unwrap_or(0.0);
            }
        }
    }
    let mut feasible = vec![true; n];
    for (m, c) in &plan.constraints {
        if let Some(xs) = means.get(m.as_str()) {
            for (f, x) in feasible.iter_mut().zip(xs) {
                if let Some(x) = x
                    && (c.max.is_some_and(|mx| *x > mx + 1e-12)
                        || c.min.is_some_and(|mn| *x < mn - 1e-12))
                {
                    *f = false;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).filter(|&i| feasible[i]).collect();
    order.sort_by(|&a, &b| {
        objective[a]
            .total_cmp(&objective[b])
            .then(ids[a].cmp(&ids[b]))
    });
    let mut rank: Vec<Option<u32>> = vec![None; n];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = Some(r as u32 + 1);
    }
    // Pareto front over (overload time, migrations, expected-vs-actual error).
    let axis = |m: &str, i: usize, missing: f64| means[m][i].unwrap_or(missing);
    let point = |i: usize| -> [f64; 3] {
        [
            axis("overload_time_frac", i, f64::INFINITY),
            axis("migrations", i, f64::INFINITY),
            // No migration measured: no error to speak of.
            axis("expected_vs_actual_mae", i, 0.0),
        ]
    };
    let pareto: Vec<bool> = (0..n)
        .map(|i| {
            let p = point(i);
            !(0..n).any(|j| {
                let q = point(j);
                j != i
                    && q.iter().zip(&p).all(|(a, b)| a <= b)
                    && q.iter().zip(&p).any(|(a, b)| a < b)
            })
        })
        .collect();
    df.with_column(label_column(plan, &ids))?;
    for p in param_names(plan) {
        df.with_column(param_column(plan, &p, &ids))?;
    }
    df.with_column(Column::new("objective".into(), objective))?;
    df.with_column(Column::new("feasible".into(), feasible))?;
    df.with_column(Column::new("rank".into(), rank))?;
    df.with_column(Column::new("pareto".into(), pareto))?;
    Ok(df)
}

/// Means per (config, scenario).
pub fn scenarios_frame(runs: &DataFrame) -> PolarsResult<DataFrame> {
    let ids = u32s(runs, "config_id")?;
    let names: Vec<String> = runs
        .column("scenario")?
        .str()?
        .iter()
        .map(|s| s.unwrap_or_default().to_string())
        .collect();
    let keys: Vec<(u32, String)> = ids.into_iter().zip(names).collect();
    let mut uniq = keys.clone();
    uniq.sort();
    uniq.dedup();
    let mut cols = vec![
        Column::new(
            "config_id".into(),
            uniq.iter().map(|k| k.0).collect::<Vec<_>>(),
        ),
        Column::new(
            "scenario".into(),
            uniq.iter().map(|k| k.1.clone()).collect::<Vec<_>>(),
        ),
    ];
    for m in METRICS {
        let g = grouped(runs, &keys, m)?;
        let mean: Vec<Option<f64>> = uniq
            .iter()
            .map(|k| stats(g.get(k).map_or(&[][..], |v| v)).0)
            .collect();
        cols.push(Column::new(m.into(), mean));
    }
    DataFrame::new_infer_height(cols)
}

/// The columns a person reads first, best first.
pub fn leaderboard(plan: &Plan, configs: &DataFrame, top: usize) -> PolarsResult<DataFrame> {
    let mut cols: Vec<Expr> = vec![col("rank"), col("config_id"), col("policy")];
    for p in param_names(plan) {
        cols.push(col(format!("p:{p}")));
    }
    for (c, short) in [
        ("objective", "objective"),
        ("feasible", "feasible"),
        ("pareto", "pareto"),
        ("overload_time_frac_mean", "overload"),
        ("migrations_mean", "migrations"),
        ("rollback_rate_mean", "rollback"),
        ("total_downtime_ms_mean", "downtime"),
        ("data_loss_events_mean", "data_loss"),
        ("expected_vs_actual_mae_mean", "exp_vs_act_mae"),
    ] {
        cols.push(col(c).alias(short));
    }
    configs
        .clone()
        .lazy()
        .select(cols)
        .sort_by_exprs(
            [col("feasible"), col("objective"), col("config_id")],
            SortMultipleOptions::default().with_order_descending_multi([true, false, false]),
        )
        .limit(top as u32)
        .collect()
}

pub fn write_csv(df: &mut DataFrame, path: &Path) -> PolarsResult<()> {
    let mut f = std::fs::File::create(path)?;
    CsvWriter::new(&mut f).include_header(true).finish(df)
}

pub fn write_parquet(df: &mut DataFrame, path: &Path) -> PolarsResult<()> {
    let f = std::fs::File::create(path)?;
    ParquetWriter::new(f).finish(df).map(|_| ())
}

/// Write Parquet with file-level key-value metadata, atomically: into `PATH.tmp`,
/// synced, then renamed over `path`, so a reader (a merge on another node, a killed
/// task resubmitted) sees the whole file or none.
pub fn write_parquet_atomic(
    df: &mut DataFrame,
    path: &Path,
    metadata: Vec<(String, String)>,
) -> PolarsResult<()> {
    use polars_io::parquet::write::KeyValueMetadata;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let f = std::fs::File::create(&tmp)?;
    let written = ParquetWriter::new(&f)
        .with_key_value_metadata(Some(KeyValueMetadata::from_static(metadata)))
        .finish(df)
        .map(|_| ())
        .and_then(|()| f.sync_all().map_err(Into::into))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(Into::into));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// A Parquet file's key-value metadata (empty when it has none).
pub fn read_parquet_metadata(path: &Path) -> PolarsResult<Vec<(String, Option<String>)>> {
    use polars_io::SerReader;
    let f = std::fs::File::open(path)?;
    let mut r = polars_io::parquet::read::ParquetReader::new(f);
    let meta = r.get_metadata()?;
    Ok(meta
        .key_value_metadata()
        .iter()
        .flatten()
        .map(|kv| (kv.key.clone(), kv.value.clone()))
        .collect())
}

/// Read a Parquet file back (shard merging and tests).
pub fn read_parquet(path: &Path) -> PolarsResult<DataFrame> {
    use polars_io::SerReader;
    let f = std::fs::File::open(path)?;
    polars_io::parquet::read::ParquetReader::new(f).finish()
}

/// A table of a DataFrame for a person (every column): counts with separators,
/// durations in their unit, fractions as percentages with the unit in the header
/// ([`scalelab_sim::human`]); swept parameters (`p:*`) exactly as configured. Data files
/// keep the exact values.
pub fn to_text(df: &DataFrame) -> String {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let headers: Vec<String> = names
        .iter()
        .map(|n| {
            if n.starts_with("p:") {
                n.clone()
            } else {
                human::header(n)
            }
        })
        .collect();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for i in 0..df.height() {
        let Ok(row) = df.get_row(i) else { continue };
        rows.push(
            row.0
                .iter()
                .zip(&names)
                .map(|(v, name)| {
                    let num = match v {
                        AnyValue::Float64(x) => Some(*x),
                        AnyValue::Float32(x) => Some(*x as f64),
                        _ => None,
                    };
                    match (v, num) {
                        (AnyValue::Null, _) => "-".to_string(),
                        (_, Some(x)) if name.starts_with("p:") => exact(x),
                        (_, Some(x)) => human::metric(name, x),
                        (AnyValue::String(s), _) => s.to_string(),
                        (AnyValue::Boolean(b), _) => if *b { "yes" } else { "no" }.to_string(),
                        (other, _) => other.to_string(),
                    }
                })
                .collect(),
        );
    }
    human::text_table(&headers, &rows, 0)
}

/// A parameter value as written in a sweep file (`0.6`, not `0.6000`).
fn exact(x: f64) -> String {
    let s = format!("{x}");
    if s.contains('e') { format!("{x:e}") } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_by_hand() {
        let (mean, std, p95) = stats(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(mean, Some(2.5));
        // sample variance = (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3
        assert!((std.unwrap() - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        // position 0.95 * 3 = 2.85: 3 + 0.85 * (4 - 3)
        assert!((p95.unwrap() - 3.85).abs() < 1e-15);
        assert_eq!(stats(&[7.0]), (Some(7.0), None, Some(7.0)));
        assert_eq!(stats(&[]), (None, None, None));
    }
}
