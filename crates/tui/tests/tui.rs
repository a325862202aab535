//! Rendering of each panel on ratatui's TestBackend with a fixed run record, and
//! `update` for every key.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEventKind};
use scalelab_sim::RunRecord;
use scalelab_tui::model::{EventFilter, Focus, Model, Msg, RunView};
use scalelab_tui::view::{self, Areas};
use scalelab_tui::{key_to_msg, mouse_to_msg};

/// A fixed run: the shipped target-spike scenario (rollbacks, then a completed retry).
fn record() -> RunRecord {
    let text = include_str!("../../../scenarios/target-spike-rollback.toml");
    scalelab_sim::run_scenario_text(text, None, &mut |_, _| {}).expect("scenario runs")
}

fn model() -> Model {
    Model::new(vec![RunView::new(record(), "fixture")])
}

fn screen(model: &Model, w: u16, h: u16) -> (String, Areas) {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    let mut areas = Areas::default();
    t.draw(|f| areas = view::view(model, f)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut s = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            s.push_str(buf[(x, y)].symbol());
        }
        s.push('\n');
    }
    (s, areas)
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn press(m: &mut Model, c: KeyCode) {
    if let Some(msg) = key_to_msg(m, key(c)) {
        m.update(msg);
    }
}

#[test]
fn header_shows_scenario_seed_time_speed_and_state() {
    let mut m = model();
    m.update(Msg::Tick(0));
    let (s, _) = screen(&m, 140, 45);
    assert!(s.contains("target-spike-rollback (seed 2)"), "{s}");
    assert!(s.contains("t = 0:00:00 / 2:00:00"));
    assert!(s.contains("speed 5 min/s"));
    assert!(s.contains("paused"));
    m.update(Msg::TogglePlay);
    assert!(screen(&m, 140, 45).0.contains("playing"));
}

#[test]
fn cluster_panel_shows_every_node_with_its_utilization() {
    let mut m = model();
    m.update(Msg::StepInterval(1));
    let (s, _) = screen(&m, 140, 45);
    assert!(s.contains("cluster: 2 nodes"));
    assert!(s.contains("node-0 █"), "{s}");
    assert!(s.contains("node-1 █"));
    assert!(s.contains("overloaded"));
}

#[test]
fn migrations_table_shows_route_step_progress_and_outcome() {
    let mut m = model();
    // 60 s in: both first migrations are pre-copying.
    m.update(Msg::BeginJump);
    for c in "60".chars() {
        m.update(Msg::JumpChar(c));
    }
    m.update(Msg::Enter);
    let (s, _) = screen(&m, 140, 45);
    assert!(s.contains("node-0 → node-1"), "{s}");
    assert!(s.contains("memory_pre_c"));
    assert!(s.contains("running"));
    assert!(s.contains("▰"));
    // At the end they show their outcomes.
    m.update(Msg::End);
    let (s, _) = screen(&m, 140, 45);
    assert!(s.contains("rolled back"));
    assert!(s.contains("completed"));
}

#[test]
fn detail_shows_steps_criteria_and_rollback_reason() {
    let mut m = model();
    m.update(Msg::End);
    m.focus = Focus::Migrations;
    m.update(Msg::Enter);
    assert!(m.detail_open);
    let (s, _) = screen(&m, 140, 45);
    assert!(s.contains("migration detail"));
    assert!(s.contains("pre_migration_validation"));
    assert!(s.contains("timeout"));
    assert!(s.contains("FAIL") || s.contains("PASS"));
    assert!(
        s.contains("rollback reason: target node-1 would run at"),
        "{s}"
    );
    m.update(Msg::Escape);
    assert!(!m.detail_open);
}

#[test]
fn expected_vs_actual_panel_has_the_aggregate_and_rows() {
    let mut m = model();
    m.update(Msg::End);
    let (s, _) = screen(&m, 140, 45);
    assert!(s.contains("expected vs actual: MAE 0."), "{s}");
    assert!(s.contains("n=1") || s.contains("n=2"));
    assert!(s.contains("expected  actual"));
}

#[test]
fn event_log_shows_events_up_to_now_and_filters() {
    let mut m = model();
    m.update(Msg::End);
    let (s, _) = screen(&m, 140, 45);
    assert!(s.contains("load_spike"));
    assert!(s.contains("migration_start"));
    m.update(Msg::CycleFilter);
    assert_eq!(m.filter, EventFilter::Failures);
    let (s, _) = screen(&m, 140, 45);
    assert!(s.contains("rollback"));
    assert!(!s.contains("migration_start"), "{s}");
    // Before anything happened the log is empty.
    m.update(Msg::Start);
    let (s, _) = screen(&m, 140, 45);
    assert!(s.contains("events: 0 shown"));
}

#[test]
fn chart_panel_names_the_selected_node() {
    let m = model();
    let (s, _) = screen(&m, 140, 45);
    assert!(s.contains("utilization: node-0"));
}

#[test]
fn a_small_terminal_gets_a_message() {
    let (s, areas) = screen(&model(), 60, 20);
    assert!(s.contains("Terminal too small: 60x20"), "{s}");
    assert_eq!(areas.cluster.width, 0);
}

#[test]
fn compare_shows_both_runs_and_a_metric_diff() {
    let a = record();
    let mut b = record();
    b.metrics.migrations += 3;
    let m = Model::new(vec![RunView::new(a, "A base"), RunView::new(b, "B tuned")]);
    let (s, _) = screen(&m, 140, 45);
    assert!(s.contains("compare A base | B tuned"));
    assert!(s.contains("metrics (whole runs"));
    // Counts read as counts: "+3", not "+3.000".
    assert!(
        s.lines()
            .any(|l| l.contains("migrations") && l.contains("+3") && !l.contains("+3.0")),
        "{s}"
    );
    assert_eq!(s.matches("cluster: 2 nodes").count(), 2);
}

#[test]
fn every_key_updates_the_model() {
    let mut m = model();
    let dur = m.duration_ms();
    let iv = m.control_interval_ms();
    press(&mut m, KeyCode::Char(' '));
    assert!(m.playing);
    m.update(Msg::Tick(1000));
    assert_eq!(m.time_ms, 300_000, "1 s of wall time at 5 min/s");
    press(&mut m, KeyCode::Char(' '));
    assert!(!m.playing);
    press(&mut m, KeyCode::Char('g'));
    assert_eq!(m.time_ms, 0);
    press(&mut m, KeyCode::Right);
    let next = m
        .primary()
        .record
        .events
        .iter()
        .find(|e| e.t_ms > 0)
        .unwrap()
        .t_ms;
    assert_eq!(m.time_ms, next, "right goes to the next event");
    press(&mut m, KeyCode::Right);
    let t2 = m.time_ms;
    assert!(t2 > next);
    press(&mut m, KeyCode::Left);
    assert_eq!(m.time_ms, next, "left goes back to the previous one");
    press(&mut m, KeyCode::Char('.'));
    assert_eq!(m.time_ms % iv, 0);
    let t = m.time_ms;
    press(&mut m, KeyCode::Char('.'));
    assert_eq!(m.time_ms, t + iv);
    press(&mut m, KeyCode::Char(','));
    assert_eq!(m.time_ms, t);
    let s = m.speed;
    press(&mut m, KeyCode::Char('+'));
    assert!(m.speed > s);
    press(&mut m, KeyCode::Char('-'));
    press(&mut m, KeyCode::Char('-'));
    assert!(m.speed < s);
    press(&mut m, KeyCode::Char('G'));
    assert_eq!(m.time_ms, dur);
    press(&mut m, KeyCode::Char('/'));
    assert!(m.jump.is_some());
    for c in "1:30:00".chars() {
        press(&mut m, KeyCode::Char(c));
    }
    press(&mut m, KeyCode::Char('x'));
    press(&mut m, KeyCode::Backspace);
    press(&mut m, KeyCode::Enter);
    assert_eq!(m.time_ms, 5_400_000);
    press(&mut m, KeyCode::Char('/'));
    for c in "soon".chars() {
        press(&mut m, KeyCode::Char(c));
    }
    press(&mut m, KeyCode::Enter);
    assert!(m.status.as_deref().unwrap().contains("cannot read"));
    assert_eq!(m.time_ms, 5_400_000);
    press(&mut m, KeyCode::Char('/'));
    press(&mut m, KeyCode::Esc);
    assert!(m.jump.is_none());
    let f = m.focus;
    press(&mut m, KeyCode::Tab);
    assert_ne!(m.focus, f);
    m.focus = Focus::Cluster;
    press(&mut m, KeyCode::Down);
    assert_eq!(m.selected_node, 1);
    press(&mut m, KeyCode::Down);
    assert_eq!(m.selected_node, 1, "clamped to the last node");
    press(&mut m, KeyCode::Up);
    assert_eq!(m.selected_node, 0);
    m.focus = Focus::Migrations;
    press(&mut m, KeyCode::Down);
    assert_eq!(m.selected_migration, 1);
    press(&mut m, KeyCode::Enter);
    assert!(m.detail_open);
    press(&mut m, KeyCode::Esc);
    assert!(!m.detail_open);
    m.focus = Focus::Events;
    press(&mut m, KeyCode::Up);
    assert_eq!(m.log_scroll, 1);
    press(&mut m, KeyCode::Char('f'));
    assert_eq!(m.filter, EventFilter::Failures);
    assert_eq!(m.log_scroll, 0);
    press(&mut m, KeyCode::Char('?'));
    assert!(m.help_open);
    let (s, _) = screen(&m, 140, 45);
    for (k, _) in view::HELP {
        assert!(s.contains(k), "help lists {k}");
    }
    press(&mut m, KeyCode::Char('?'));
    assert!(!m.help_open);
    press(&mut m, KeyCode::Char('q'));
    assert!(m.quit);
    let mut m = model();
    m.update(key_to_msg(&m, KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)).unwrap());
    assert!(m.quit);
}

#[test]
fn playing_stops_at_the_end() {
    let mut m = model();
    m.update(Msg::TogglePlay);
    for _ in 0..1000 {
        m.update(Msg::Tick(1000));
    }
    assert_eq!(m.time_ms, m.duration_ms());
    assert!(!m.playing);
    // Space at the end starts over.
    m.update(Msg::TogglePlay);
    assert_eq!(m.time_ms, 0);
}

#[test]
fn mouse_scrolls_and_clicks_where_it_is() {
    let mut m = model();
    m.update(Msg::End);
    let (_, areas) = screen(&m, 140, 45);
    let c = areas.cluster;
    let msg = mouse_to_msg(&areas, MouseEventKind::ScrollDown, c.x + 2, c.y + 2).unwrap();
    assert_eq!(msg, Msg::ScrollPanel(Focus::Cluster, 1));
    m.update(msg);
    assert_eq!(m.selected_node, 1);
    let mg = areas.migrations;
    let msg = mouse_to_msg(
        &areas,
        MouseEventKind::Down(MouseButton::Left),
        mg.x + 3,
        mg.y + 3,
    )
    .unwrap();
    m.update(msg);
    assert_eq!(m.focus, Focus::Migrations);
    assert_eq!(m.selected_migration, 1);
    assert!(mouse_to_msg(&areas, MouseEventKind::ScrollDown, 0, 0).is_none());
}

#[test]
fn time_parsing() {
    assert_eq!(Model::parse_time("5400"), Some(5_400_000));
    assert_eq!(Model::parse_time("90m"), Some(5_400_000));
    assert_eq!(Model::parse_time("1.5h"), Some(5_400_000));
    assert_eq!(Model::parse_time("1:30:00"), Some(5_400_000));
    assert_eq!(Model::parse_time("2:05"), Some(125_000));
    assert_eq!(Model::parse_time("-3"), None);
    assert_eq!(Model::parse_time("1:2:3:4"), None);
    assert_eq!(Model::parse_time(""), None);
}

#[test]
fn the_lifecycle_filter_shows_vms_arriving_and_leaving() {
    // A target-spike run with one more VM that arrives at 10 min and leaves at 20.
    let text = include_str!("../../../scenarios/target-spike-rollback.toml").to_string()
        + r#"
[[vms]]
name = "visitor"
vcpus = 1
memory_mib = 1024
arrive_s = 600
depart_s = 1200
workload = { kind = "constant", level = 0.2 }
"#;
    let r = scalelab_sim::run_scenario_text(&text, None, &mut |_, _| {}).expect("runs");
    assert_eq!((r.metrics.vm_arrivals, r.metrics.vm_departures), (1, 1));
    let mut m = Model::new(vec![RunView::new(r, "fixture")]);
    m.update(Msg::End);
    for _ in 0..4 {
        m.update(Msg::CycleFilter);
    }
    assert_eq!(m.filter, EventFilter::Lifecycle);
    let (s, _) = screen(&m, 140, 45);
    assert!(
        s.contains("vm_arrival") && s.contains("vm_departure"),
        "{s}"
    );
    assert!(
        !s.contains("migration_start") && !s.contains("load_spike"),
        "{s}"
    );
    assert!(s.contains("visitor"), "{s}");
}

#[test]
fn a_summary_record_opens_and_says_its_migrations_are_not_in_it() {
    let full = record();
    let summary = full.summary();
    assert!(summary.validate().is_ok());
    assert!(summary.migrations.is_empty() && full.metrics.migrations > 0);
    // Failures and rollbacks stay in the log; the milestones go with the migrations.
    assert!(summary.events.iter().any(|e| e.kind.is_failure()));
    let m = Model::new(vec![RunView::new(summary, "summary")]);
    let (s, _) = screen(&m, 140, 45);
    let want = format!(
        "migrations: {} started, not in this summary",
        full.metrics.migrations
    );
    assert!(s.contains(&want), "{s}");
}
