//! Reports of real runs parse as documents with every plot in them, and the numbers
//! behind the plots are the record's own.

use std::collections::BTreeMap;

use scalelab_report::data;
use scalelab_report::sweep::{self, Frame, SweepData, SweepMeta, Value};
use scalelab_report::validation::{Study, StudyRun, ValidationResult, ValidationRow};
use scalelab_report::{RunOptions, compare_report, run_report, sweep_report, validation_report};
use scalelab_sim::record::{Outcome, RunRecord};
use scalelab_testkit::runs::{run_checked, shipped};

/// The figures of a report: (id, number of drawn SVG elements, caption text).
fn figures(html: &str) -> Vec<(String, usize, String)> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc =
        roxmltree::Document::parse_with_options(html, opts).expect("the report is well-formed");
    assert!(
        doc.descendants().all(|n| n.tag_name().name() != "script"),
        "no scripts"
    );
    for n in doc.descendants() {
        for a in n.attributes() {
            let v = a.value();
            assert!(
                !(a.name() == "href" || a.name() == "src") || !v.contains("://"),
                "no external reference: {v}"
            );
        }
    }
    doc.descendants()
        .filter(|n| n.tag_name().name() == "figure")
        .map(|f| {
            let svg = f
                .children()
                .find(|c| c.tag_name().name() == "svg")
                .expect("a figure holds an SVG");
            let drawn = svg
                .descendants()
                .filter(|d| {
                    matches!(
                        d.tag_name().name(),
                        "rect" | "polyline" | "path" | "circle" | "line" | "polygon"
                    )
                })
                .count();
            let caption: String = f
                .children()
                .find(|c| c.tag_name().name() == "figcaption")
                .expect("a figure has a caption")
                .descendants()
                .filter_map(|d| d.text())
                .collect();
            (f.attribute("id").unwrap_or("").to_string(), drawn, caption)
        })
        .collect()
}

fn ids(figs: &[(String, usize, String)]) -> Vec<&str> {
    figs.iter().map(|f| f.0.as_str()).collect()
}

#[test]
fn a_run_report_has_every_plot_with_a_caption() {
    let r = run_checked(&shipped("target-spike-rollback"), None);
    let html = run_report(&r, &RunOptions::default()).unwrap().to_html();
    let figs = figures(&html);
    for id in [
        "fig-heatmap",
        "fig-nodes",
        "fig-active-hosts",
        "fig-sla",
        "fig-timeline",
        "fig-estimate-0",
    ] {
        assert!(ids(&figs).contains(&id), "{id} missing: {:?}", ids(&figs));
    }
    for (id, drawn, caption) in &figs {
        assert!(*drawn > 10, "{id} draws only {drawn} elements");
        assert!(caption.len() > 40, "{id}: caption {caption:?}");
    }
    // Every axis label states a unit or a count.
    assert!(html.contains("time (h)"));
    assert!(html.contains("CPU utilization (%)"));
    assert!(html.contains("seconds since the migration started"));
    // Human tables: the summary shows the rollback rate as a percentage.
    assert!(html.contains("50 %"), "rollback rate of 2 in 4");
}

#[test]
fn power_plots_appear_only_with_power_models() {
    let with = run_checked(&shipped("hot-node-relief"), None);
    let without = run_checked(&shipped("mtbf-failures"), None);
    assert_eq!(with.series.power_w.len(), with.series.times_ms.len());
    assert!(without.series.power_w.is_empty());
    let f = |r: &RunRecord| figures(&run_report(r, &RunOptions::default()).unwrap().to_html());
    assert!(ids(&f(&with)).contains(&"fig-power"));
    assert!(!ids(&f(&without)).contains(&"fig-power"));
    // The power line integrates to the run's energy (trapezoids over the samples; the
    // record's energy integrates between events, so allow a sample's worth of drift).
    let pts = data::power_kw(&with.series);
    let kwh: f64 = pts
        .windows(2)
        .map(|w| (w[0].1 + w[1].1) / 2.0 * (w[1].0 - w[0].0))
        .sum();
    let e = with.metrics.energy_kwh.unwrap();
    assert!((kwh - e).abs() / e < 0.05, "{kwh} vs {e}");
}

#[test]
fn estimate_plots_use_the_records_numbers() {
    let r = run_checked(&shipped("mtbf-failures"), None);
    let est = data::estimates(&r);
    let util = est[0].stat.unwrap();
    assert_eq!(util.n, r.metrics.measured_migrations);
    assert!((util.mae - r.metrics.expected_vs_actual_mae.unwrap()).abs() < 1e-12);
    let e = &r.metrics.estimate_errors;
    for (k, stat) in [
        (1, e.source_utilization),
        (2, e.downtime_ms),
        (3, e.completion_s),
        (4, e.data_sent_mib),
    ] {
        let (mine, theirs) = (est[k].stat.unwrap(), stat.unwrap());
        assert_eq!(mine.n, theirs.n, "{}", est[k].name);
        assert!((mine.mae - theirs.mae).abs() < 1e-9, "{}", est[k].name);
        assert!((mine.bias - theirs.bias).abs() < 1e-9, "{}", est[k].name);
    }
}

#[test]
fn the_timeline_keeps_every_migration_that_did_not_complete() {
    let r = run_checked(&shipped("target-spike-rollback"), None);
    let (bars, total) = data::migration_bars(&r, 100);
    assert_eq!(
        (bars.len(), total),
        (r.migrations.len(), r.migrations.len())
    );
    let rolled = r
        .migrations
        .iter()
        .filter(|m| m.outcome == Some(Outcome::RolledBack))
        .count();
    assert!(rolled > 0);
    assert_eq!(bars.iter().filter(|b| b.rolled_back).count(), rolled);
    // With room for one bar, the one shown is a rollback.
    let (one, _) = data::migration_bars(&r, 1);
    assert!(one[0].rolled_back);
    // Steps start at or after the migration's start and reach their timeouts.
    for b in &bars {
        for s in &b.steps {
            assert!(s.start >= 0.0 && s.end >= s.start && s.timeout_end >= s.start);
        }
    }
}

#[test]
fn a_comparison_overlays_both_runs_and_diffs_their_metrics() {
    let a = run_checked(&shipped("hot-node-relief"), None);
    let b = run_checked(&shipped("hot-node-relief"), Some(99));
    let html = compare_report(&a, &b).unwrap().to_html();
    let figs = figures(&html);
    for id in [
        "fig-cmp-active",
        "fig-cmp-power",
        "fig-cmp-overload",
        "fig-cmp-util",
    ] {
        assert!(ids(&figs).contains(&id), "{id}");
    }
    let diff = scalelab_report::run::metric_diff(&a.metrics, &b.metrics);
    let mig = diff.iter().find(|r| r[0] == "migrations").unwrap();
    assert_eq!(mig[1], a.metrics.migrations.to_string());
    assert_eq!(mig[2], b.metrics.migrations.to_string());
}

#[test]
fn records_that_do_not_hold_together_are_refused() {
    let mut r = run_checked(&shipped("target-spike-rollback"), None);
    r.version = 99;
    let e = run_report(&r, &RunOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("newer"), "{e}");
    r.version = 1;
    r.series.power_w = vec![1.0];
    let e = run_report(&r, &RunOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("power_w"), "{e}");
}

/// Four configs over two parameters, two seeds, one scenario; objective = migrations.
fn sweep_data() -> SweepData {
    let num = |xs: &[f64]| xs.iter().map(|&x| Value::Num(x)).collect::<Vec<_>>();
    let text = |xs: &[&str]| {
        xs.iter()
            .map(|x| Value::Text(x.to_string()))
            .collect::<Vec<_>>()
    };
    let configs = Frame {
        names: [
            "config_id",
            "policy",
            "p:a",
            "p:b",
            "objective",
            "feasible",
            "rank",
            "pareto",
            "migrations_mean",
            "overload_time_frac_mean",
            "expected_vs_actual_mae_mean",
        ]
        .map(String::from)
        .to_vec(),
        columns: vec![
            num(&[1.0, 2.0, 3.0, 4.0]),
            text(&["config 1", "config 2", "config 3", "config 4"]),
            num(&[0.5, 0.5, 0.7, 0.7]),
            text(&["x", "y", "x", "y"]),
            num(&[3.0, 5.0, 2.0, 4.0]),
            text(&["true", "true", "true", "false"]),
            vec![
                Value::Num(2.0),
                Value::Num(3.0),
                Value::Num(1.0),
                Value::Null,
            ],
            text(&["false", "false", "true", "false"]),
            num(&[3.0, 5.0, 2.0, 4.0]),
            num(&[0.01, 0.02, 0.03, 0.04]),
            num(&[0.1, 0.1, 0.1, 0.1]),
        ],
    };
    // Runs: config c, seed s: migrations = objective(c) + (s == 2 ? 1 : -1).
    let mut cols: Vec<Vec<Value>> = vec![vec![]; 4];
    for (c, obj) in [(1.0, 3.0), (2.0, 5.0), (3.0, 2.0), (4.0, 4.0)] {
        for s in [1.0, 2.0] {
            cols[0].push(Value::Num(c));
            cols[1].push(Value::Text("sc".into()));
            cols[2].push(Value::Num(s));
            cols[3].push(Value::Num(if s == 2.0 { obj + 1.0 } else { obj - 1.0 }));
        }
    }
    SweepData {
        meta: SweepMeta {
            format: sweep::META_FORMAT.into(),
            version: sweep::META_VERSION,
            name: "hand".into(),
            parameters: vec!["a".into(), "b".into()],
            weights: BTreeMap::from([("migrations".to_string(), 1.0)]),
            constraints: BTreeMap::new(),
        },
        configs,
        runs: Frame {
            names: ["config_id", "scenario", "seed", "migrations"]
                .map(String::from)
                .to_vec(),
            columns: cols,
        },
    }
}

#[test]
fn sweep_plot_data_by_hand() {
    let d = sweep_data();
    assert_eq!(d.run_objective(0), 2.0);
    // a = 0.5: configs 1 (3) and 2 (5): best 3, its seeds 2 and 4; a = 0.7: config 3.
    let c = sweep::param_curve(&d, "a");
    assert!(c.categories.is_empty());
    assert_eq!(c.best, vec![(0.5, 3.0), (0.7, 2.0)]);
    assert_eq!(c.band, vec![(0.5, 2.0, 4.0), (0.7, 1.0, 3.0)]);
    assert_eq!(c.all.len(), 4);
    // b is text: categories x, y at 0, 1; best of x is config 3 (2), of y config 4 (4).
    let c = sweep::param_curve(&d, "b");
    assert_eq!(c.categories, vec!["x", "y"]);
    assert_eq!(c.best, vec![(0.0, 2.0), (1.0, 4.0)]);
    let (rows, cols, cells) = sweep::param_grid(&d, "a", "b");
    assert_eq!(
        (rows, cols),
        (
            vec!["0.5".to_string(), "0.7".into()],
            vec!["x".to_string(), "y".into()]
        )
    );
    assert_eq!(cells, vec![vec![3.0, 5.0], vec![2.0, 4.0]]);
    let (rest, front) = sweep::pareto_points(&d, "overload_time_frac_mean", "migrations_mean");
    assert_eq!(front, vec![(3.0, 2.0)]);
    assert_eq!(rest.len(), 3);
    let figs = figures(&sweep_report(&d).unwrap().to_html());
    for id in [
        "fig-pareto-0",
        "fig-param-0",
        "fig-param-1",
        "fig-param-grid",
        "fig-scenario-0",
    ] {
        assert!(ids(&figs).contains(&id), "{id} missing: {:?}", ids(&figs));
    }
}

#[test]
fn a_sweep_missing_a_column_is_refused_by_name() {
    let mut d = sweep_data();
    let i = d
        .configs
        .names
        .iter()
        .position(|n| n == "objective")
        .unwrap();
    d.configs.names[i] = "something".into();
    let e = sweep_report(&d).unwrap_err().to_string();
    assert!(e.contains("configs") && e.contains("objective"), "{e}");
}

#[test]
fn a_validation_report_shows_each_metric_beside_the_reference() {
    let row = |run: &str, metric: &str, s: f64, r: f64, ok| ValidationRow {
        run: run.into(),
        metric: metric.into(),
        scalelab: s,
        reference: r,
        tolerance: Some("5 %".into()),
        ok,
    };
    let m = run_checked(&shipped("hot-node-relief"), None).metrics;
    let v = ValidationResult {
        format: scalelab_report::validation::FORMAT.into(),
        version: 1,
        suite: "hand".into(),
        reference: "a peer".into(),
        rows: vec![
            row("THR", "energy_kwh", 198.0, 198.08, true),
            row("IQR", "energy_kwh", 150.0, 193.63, false),
            row("THR", "migrations", 27_740.0, 27_728.0, true),
            row("IQR", "migrations", 27_594.0, 27_592.0, true),
        ],
        studies: vec![Study {
            label: "the peer's model".into(),
            runs: vec![StudyRun {
                run: "THR".into(),
                metrics: m,
            }],
        }],
    };
    let html = validation_report(&v).unwrap().to_html();
    let figs = figures(&html);
    assert_eq!(
        ids(&figs),
        vec!["fig-validation-0", "fig-validation-1", "fig-studies-esv"]
    );
    assert!(
        html.contains("27,740") && html.contains("27,728"),
        "counts with separators"
    );
    assert!(html.contains("3 of 4 numbers within tolerance"));
    let mut newer = v.clone();
    newer.version = 2;
    assert!(
        validation_report(&newer)
            .unwrap_err()
            .to_string()
            .contains("newer")
    );
}
