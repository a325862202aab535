//! Self-contained HTML reports: a run, two runs compared, a sweep, a validation suite.
//!
//! One file with inline SVG plots and no scripts, fonts or network fetches, so it opens
//! from disk in any browser, prints, and can be pasted into a review. Plots are drawn
//! with plotters' SVG backend; the numbers behind them are prepared in [`data`] (and
//! the sweep's in [`sweep`]) where tests check them by hand. Kept out of the engine and
//! the simulator: they produce records, this crate only reads them.

pub mod data;
pub mod html;
mod plot;
pub mod run;
pub mod sweep;
pub mod validation;

pub use html::Page;
pub use run::{RunOptions, compare_report, run_report};
pub use sweep::{Frame, SweepData, SweepMeta, Value, sweep_report};
pub use validation::{ValidationResult, validation_report};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A record or result that does not hold together (what is wrong with it).
    #[error("{0}")]
    Record(String),
    /// Input missing a part the report needs.
    #[error("{0}")]
    Input(String),
    /// The plotting library refused (a bug here, not in the input).
    #[error("drawing a plot failed: {0}")]
    Plot(String),
}
