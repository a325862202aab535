//! `scalelab run`: run a scenario, print a summary, write the run record.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use scalelab_sim::record::{Outcome, RunMetrics, RunRecord};
use scalelab_sim::{ParsedScenario, RunOptions, run_scenario};

use crate::files::{read, write_atomic_with};

/// Parse and run a scenario file, with a progress bar on a terminal for long runs.
/// Returns the record and the wall-clock time the simulation took.
pub fn run_file(path: &Path, seed: Option<u64>, limits: bool) -> Result<(RunRecord, Duration)> {
    let text = read(path)?;
    let mut p = ParsedScenario::parse(&text).with_context(|| path.display().to_string())?;
    crate::warn_deprecated_scenario(path, &p.scenario);
    crate::trace_cmd::load_traces(&mut p.scenario, path)?;
    let opts = RunOptions {
        seed,
        check_limits: limits,
        reject_violations: false,
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = ProgressBar::new(1000);
        b.set_style(
            ProgressStyle::with_template("{spinner} simulating {bar:40} {percent:>3}% eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        // Short runs finish before the bar would be worth drawing.
        b.enable_steady_tick(Duration::from_millis(200));
        b
    });
    let started = std::time::Instant::now();
    let record = run_scenario(p.scenario, p.content_hash, opts, &mut |now, end| {
        if let Some(b) = &bar {
            b.set_position(now * 1000 / end.max(1));
        }
    })
    .with_context(|| path.display().to_string());
    let took = started.elapsed();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok((record?, took))
}

pub fn default_out(record: &RunRecord) -> PathBuf {
    PathBuf::from(format!(
        "{}-seed{}.run.json",
        record.scenario.name, record.scenario.seed
    ))
}

/// The wall-clock line: how fast the simulator ran (not part of the record, which
/// must not depend on the machine).
pub fn speed(r: &RunRecord, took: Duration) -> String {
    let secs = took.as_secs_f64().max(1e-9);
    format!(
        "simulated {:.1} h in {:.3} s ({:.2} M VM-ticks/s)\n",
        r.scenario.duration_ms as f64 / 3_600_000.0,
        secs,
        r.metrics.vm_ticks as f64 / secs / 1e6
    )
}

/// Write a run record as JSON, gzip-compressed when the path ends in `.gz` (a day of
/// CloudSim's experiment is 27 MB of JSON and about a tenth of that compressed).
pub fn write_record(record: &RunRecord, out: &Path) -> Result<()> {
    let gz = out.extension().is_some_and(|e| e == "gz");
    write_atomic_with(out, |w| {
        if gz {
            let mut z = flate2::write::GzEncoder::new(w, flate2::Compression::fast());
            serde_json::to_writer(&mut z, record).map_err(std::io::Error::other)?;
            z.finish().map(|_| ())
        } else {
            serde_json::to_writer(w, record).map_err(std::io::Error::other)
        }
    })
}

use scalelab_sim::human::{count, duration_ms, number, percent};

/// The human summary printed after a run.
pub fn summary(r: &RunRecord) -> String {
    let hours = r.scenario.duration_ms as f64 / 3_600_000.0;
    let header = format!(
        "scenario {} (seed {}): {hours:.1} h simulated, {} VMs on {} nodes\n",
        r.scenario.name,
        r.scenario.seed,
        r.vms.len(),
        r.nodes.len()
    );
    let mut s = metrics_summary(&header, &r.metrics);
    if !r.invariant_violations.is_empty() {
        s += &format!(
            "INVARIANT VIOLATIONS ({}): {}\n",
            r.invariant_violations.len(),
            r.invariant_violations.join("; ")
        );
    }
    s
}

/// The metric lines of a summary, after `header`.
pub fn metrics_summary(header: &str, m: &RunMetrics) -> String {
    let by = |o: Outcome| m.migrations_by_outcome.get(&o).copied().unwrap_or(0);
    let mut s = header.to_string();
    s += &format!(
        "migrations: {} started: {} completed, {} rolled back, {} failed after switchover, \
         {} data loss, {} in progress at end (rollback rate {})\n",
        count(m.migrations.into()),
        count(by(Outcome::Completed).into()),
        count(by(Outcome::RolledBack).into()),
        count(by(Outcome::FailedAfterSwitchover).into()),
        count(by(Outcome::DataLoss).into()),
        count(by(Outcome::InProgressAtEnd).into()),
        percent(m.rollback_rate)
    );
    match (m.expected_vs_actual_mae, m.expected_vs_actual_bias) {
        (Some(mae), Some(bias)) => {
            s += &format!(
                "expected vs actual utilization after migration: MAE {mae:.3}, bias {bias:+.3} \
                 (actual - expected, {} measured)\n",
                count(m.measured_migrations.into())
            )
        }
        _ => s += "expected vs actual utilization after migration: nothing measured\n",
    }
    let est: Vec<String> = m
        .estimate_errors
        .named()
        .iter()
        .filter_map(|(name, st)| {
            st.map(|st| format!("{name} MAE {:.3} bias {:+.3} ({})", st.mae, st.bias, st.n))
        })
        .collect();
    if !est.is_empty() {
        s += &format!("expected vs actual, other estimates: {}\n", est.join("; "));
    }
    s += &format!(
        "SLA: overload time {}, PDM {}, SLAV {}, unmet demand {} core-s\n",
        percent(m.overload_time_frac),
        percent(m.pdm),
        number(m.slav),
        number(m.unmet_demand_core_s)
    );
    s += &format!(
        "downtime: {} of VM downtime ({} in migration pauses); data-loss events: {}\n",
        duration_ms(m.total_downtime_ms as f64),
        duration_ms(m.migration_downtime_ms as f64),
        count(m.data_loss_events.into())
    );
    let decisions: Vec<String> = m
        .decisions_by_action
        .iter()
        .map(|(a, n)| match m.unapplied_decisions_by_action.get(a) {
            // Most of a busy day's scale decisions can be held back (cooldown,
            // hysteresis, a full host): say how many, or the count reads as actions.
            Some(&held) if held > 0 => {
                format!("{a} {} ({} not carried out)", count(*n), count(held))
            }
            _ => format!("{a} {}", count(*n)),
        })
        .collect();
    s += &format!("decisions: {}\n", decisions.join(", "));
    if let Some(e) = m.energy_kwh {
        s += &format!("energy: {} kWh\n", number(e));
    }
    if let Some(active) = m.active_host_s {
        s += &format!(
            "hosts: {} shutdowns, {} power-ons, {} active; ESV {}\n",
            count(m.host_shutdowns.into()),
            count(m.host_power_ons.into()),
            duration_ms(active * 1000.0),
            number(m.esv.unwrap_or(0.0))
        );
    }
    if m.vm_arrivals > 0 || m.vm_departures > 0 || m.refused_arrivals > 0 {
        s += &format!(
            "VMs: {} arrived, {} departed, {} refused on arrival\n",
            count(m.vm_arrivals.into()),
            count(m.vm_departures.into()),
            count(m.refused_arrivals.into())
        );
    }
    s
}
