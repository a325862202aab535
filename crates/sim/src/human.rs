//! Numbers as a person reads them: counts with thousands separators, durations in the
//! unit that keeps them short (`250 ms`, `14.6 h`), fractions as percentages with the
//! digits that matter. Every table a person reads (summaries, leaderboards, reports)
//! goes through here, so a metric looks the same wherever it is shown; data files
//! (CSV, Parquet, JSON) keep the exact values and never use this.
//!
//! A metric's unit comes from its name, by the workspace's naming rule (`_ms`, `_s`,
//! `_frac`, `_kwh`, `_mib`, `_core_s`): [`unit_of`] reads it, so a new metric that follows
//! the rule is shown right without being listed.

/// What a metric's value measures, as read from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Things counted (migrations, events): integers, or a mean of them.
    Count,
    /// Milliseconds of time.
    Ms,
    /// Seconds of time.
    Seconds,
    /// A fraction of a whole, shown as a percentage.
    Frac,
    Kwh,
    Mib,
    CoreSeconds,
    /// A plain number without a unit (an objective score, an error in utilization).
    Plain,
}

impl Unit {
    /// The unit as a column header shows it (durations carry theirs in each cell).
    pub fn label(self) -> Option<&'static str> {
        match self {
            Unit::Frac => Some("%"),
            Unit::Kwh => Some("kWh"),
            Unit::Mib => Some("MiB"),
            Unit::CoreSeconds => Some("core-s"),
            Unit::Count | Unit::Ms | Unit::Seconds | Unit::Plain => None,
        }
    }
}

/// Statistic suffixes that aggregated columns carry after the metric's own name.
const STAT_SUFFIXES: [&str; 3] = ["_mean", "_std", "_p95"];

/// The unit of a metric or column, from its name.
pub fn unit_of(name: &str) -> Unit {
    let mut n = name.strip_prefix("p:").unwrap_or(name);
    for s in STAT_SUFFIXES {
        if let Some(base) = n.strip_suffix(s) {
            n = base;
            break;
        }
    }
    // Errors of an estimate carry the estimate's unit before their own suffix.
    let n = n
        .strip_suffix("_mae")
        .or_else(|| n.strip_suffix("_bias"))
        .unwrap_or(n);
    match n {
        "migrations"
        | "data_loss_events"
        | "data_loss"
        | "host_shutdowns"
        | "host_power_ons"
        | "vm_departures"
        | "vm_arrivals"
        | "refused_arrivals"
        | "measured_migrations"
        | "runs"
        | "rank"
        | "config_id"
        | "seed"
        | "vm_ticks" => Unit::Count,
        "overload" | "rollback" | "rollback_rate" | "pdm" | "slatah" => Unit::Frac,
        "downtime" => Unit::Ms,
        _ if n.ends_with("_frac") || n.ends_with("_pct") => Unit::Frac,
        _ if n.ends_with("_core_s") => Unit::CoreSeconds,
        _ if n.ends_with("_ms") || n.contains("_ms_") => Unit::Ms,
        _ if n.ends_with("_s") || n.contains("_s_") => Unit::Seconds,
        _ if n.ends_with("_kwh") => Unit::Kwh,
        _ if n.ends_with("_mib") || n.contains("_mib_") => Unit::Mib,
        _ if n.ends_with("_events") || n.ends_with("_count") => Unit::Count,
        _ => Unit::Plain,
    }
}

/// A column header: the metric's name with its unit when the unit is fixed.
pub fn header(name: &str) -> String {
    match unit_of(name).label() {
        Some(u) => format!("{name} ({u})"),
        None => name.to_string(),
    }
}

/// `value` of metric `name` for a person: see [`unit_of`]. `-` for a missing or
/// non-finite value.
pub fn metric(name: &str, value: f64) -> String {
    if !value.is_finite() {
        return "-".into();
    }
    let unit = unit_of(name);
    // `_pct` columns are already percentages.
    if unit == Unit::Frac && name.ends_with("_pct") {
        return percent(value / 100.0);
    }
    match unit {
        Unit::Count => count_f(value),
        Unit::Ms => duration_ms(value),
        Unit::Seconds => duration_ms(value * 1000.0),
        Unit::Frac => percent_number(value),
        Unit::Kwh | Unit::Mib | Unit::CoreSeconds | Unit::Plain => number(value),
    }
}

/// `value` of metric `name` with its unit in the text (`3.75 %`, `198 kWh`), for tables
/// where one column holds many metrics.
pub fn with_unit(name: &str, value: f64) -> String {
    let v = metric(name, value);
    match unit_of(name).label() {
        Some(u) if v != "-" => format!("{v} {u}"),
        _ => v,
    }
}

/// `27728` as `27,728`.
pub fn count(n: u64) -> String {
    group(&n.to_string())
}

/// A count, or a mean of counts: `27,728`, `20.2`, `0.5`.
pub fn count_f(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let s = group(&format!("{}", v.abs() as u64));
        return if v < 0.0 { format!("-{s}") } else { s };
    }
    number(v)
}

/// A plain number with the digits that matter: three significant digits below 1,000,
/// whole numbers with separators above (`0.000123`, `14.6`, `198`, `52,133,989`).
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    // Rounding noise (1e-16 from a subtraction) reads as zero, not as a number.
    if v.abs() < 1e-12 {
        return "0".into();
    }
    let a = v.abs();
    let sign = if v < 0.0 { "-" } else { "" };
    if a >= 999.5 {
        return format!("{sign}{}", group(&format!("{:.0}", a)));
    }
    if a < 1e-4 {
        return format!("{v:.2e}");
    }
    // Decimals for three significant digits.
    let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{a:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{sign}{s}")
}

/// A fraction as a percentage with its unit: `0.0375` -> `3.75 %`.
pub fn percent(frac: f64) -> String {
    if !frac.is_finite() {
        return "-".into();
    }
    format!("{} %", percent_number(frac))
}

/// A fraction as a percentage without the sign, for columns whose header has it.
pub fn percent_number(frac: f64) -> String {
    number(frac * 100.0)
}

/// Milliseconds in the unit that keeps them short: `250 ms`, `14.6 s`, `3.5 min`,
/// `14.6 h`, `2.3 d`.
pub fn duration_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return "-".into();
    }
    let a = ms.abs();
    let (v, unit) = if a == 0.0 {
        return "0 s".into();
    } else if a < 1000.0 {
        (ms, "ms")
    } else if a < 60_000.0 {
        (ms / 1000.0, "s")
    } else if a < 3_600_000.0 {
        (ms / 60_000.0, "min")
    } else if a < 86_400_000.0 {
        (ms / 3_600_000.0, "h")
    } else {
        (ms / 86_400_000.0, "d")
    };
    format!("{} {unit}", number(v))
}

/// Thousands separators in a run of digits (callers format whole numbers only).
fn group(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A table with a header row, columns separated by two spaces, the first `left`
/// (names) aligned left and the rest (numbers) right: what the CLI prints.
pub fn text_table(headers: &[String], rows: &[Vec<String>], left: usize) -> String {
    let widths: Vec<usize> = (0..headers.len())
        .map(|c| {
            std::iter::once(&headers[c])
                .chain(rows.iter().filter_map(|r| r.get(c)))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut s = String::new();
    for r in std::iter::once(headers).chain(rows.iter().map(Vec::as_slice)) {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (v, w))| {
                if c < left {
                    format!("{v:<w$}")
                } else {
                    format!("{v:>w$}")
                }
            })
            .collect();
        s.push_str(line.join("  ").trim_end());
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(27_728), "27,728");
        assert_eq!(count(52_133_989), "52,133,989");
        assert_eq!(count_f(2.0), "2");
        assert_eq!(count_f(20.1667), "20.2");
        assert_eq!(count_f(-1234.0), "-1,234");
    }

    #[test]
    fn numbers_keep_three_significant_digits() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(0.1454), "0.145");
        assert_eq!(number(19.4629), "19.5");
        assert_eq!(number(198.08), "198");
        assert_eq!(number(1.5), "1.5");
        assert_eq!(number(-0.0312), "-0.0312");
        assert_eq!(number(17_680_000.4), "17,680,000");
        assert_eq!(number(0.00004), "4.00e-5");
    }

    #[test]
    fn durations_pick_their_unit() {
        assert_eq!(duration_ms(0.0), "0 s");
        assert_eq!(duration_ms(250.0), "250 ms");
        assert_eq!(duration_ms(14_600.0), "14.6 s");
        assert_eq!(duration_ms(210_000.0), "3.5 min");
        assert_eq!(duration_ms(52_560_000.0), "14.6 h");
        assert_eq!(duration_ms(2.0 * 86_400_000.0), "2 d");
    }

    #[test]
    fn fractions_are_percentages() {
        assert_eq!(percent(0.0375), "3.75 %");
        assert_eq!(percent(0.000366), "0.0366 %");
        assert_eq!(percent(1.0), "100 %");
        assert_eq!(percent(0.0), "0 %");
    }

    #[test]
    fn units_come_from_names() {
        assert_eq!(unit_of("total_downtime_ms_mean"), Unit::Ms);
        assert_eq!(unit_of("downtime_error_ms_mae"), Unit::Ms);
        assert_eq!(unit_of("completion_error_s_bias_p95"), Unit::Seconds);
        assert_eq!(unit_of("overload_time_frac"), Unit::Frac);
        assert_eq!(unit_of("rollback_rate_mean"), Unit::Frac);
        assert_eq!(unit_of("migrations_std"), Unit::Count);
        assert_eq!(unit_of("energy_kwh_mean"), Unit::Kwh);
        assert_eq!(unit_of("data_sent_error_mib_mae"), Unit::Mib);
        assert_eq!(unit_of("unmet_demand_core_s"), Unit::CoreSeconds);
        assert_eq!(unit_of("expected_vs_actual_mae"), Unit::Plain);
        assert_eq!(unit_of("objective"), Unit::Plain);
        assert_eq!(header("overload_time_frac"), "overload_time_frac (%)");
        assert_eq!(header("migrations"), "migrations");
        assert_eq!(metric("total_downtime_ms", 17_680_000.0), "4.91 h");
        assert_eq!(metric("overload_time_frac_mean", 0.0003661), "0.0366");
        assert_eq!(metric("migrations_mean", 2.0), "2");
        assert_eq!(metric("energy_kwh", f64::NAN), "-");
        assert_eq!(with_unit("pdm", 0.0375), "3.75 %");
        assert_eq!(with_unit("energy_kwh", 198.08), "198 kWh");
        assert_eq!(with_unit("migrations", 27_728.0), "27,728");
    }

    #[test]
    fn tables_align_right() {
        let t = text_table(
            &["a".into(), "bbb".into()],
            &[vec!["1".into(), "2".into()], vec!["100".into(), "x".into()]],
            1,
        );
        assert_eq!(t, "a    bbb\n1      2\n100    x\n");
    }
}
