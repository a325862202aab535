//! scalelab-backtest: threshold sweeps over scenarios and seeds, results as polars
//! DataFrames (CSV, Parquet) and rows in the SQLite store.
//!
//! - [`spec`]: the sweep file and its expansion into configurations.
//! - [`calibrate`]: the estimators fitted to measured runs, judged on held-out runs.
//! - [`exec`]: running every (config, scenario, seed) on all cores, deterministically.
//! - [`frame`]: DataFrames, aggregation, objective, ranking, Pareto front, files.
//! - [`shard`]: sweeps split over many machines: shard identity, progress journals,
//!   merge checks, per-shard time estimates.

pub mod calibrate;
pub mod exec;
pub mod frame;
pub mod shard;
pub mod spec;
