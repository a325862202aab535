//! TUI benchmark: one full frame (every panel) of a large run.
//!
//! Run: `cargo bench --bench tui`. Goals: <= 5 ms for 1,000 nodes and 10,000 events;
//! a 100,000-VM run (10,000 nodes) must stay under 33 ms a frame for 30 fps playback.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use scalelab_sim::RunRecord;
use scalelab_sim::record::EventRecord;
use scalelab_tui::model::{Model, RunView};

/// A real run of `nodes` nodes for an hour, then padded with copies of its events
/// spread over the hour until it has `events` of them, and `placements` padded with
/// VM moves (what a 100,000-VM record carries).
fn record(nodes: u32, events: usize, placements: usize) -> RunRecord {
    let text = format!(
        r#"
name = "tui-bench"
seed = 3
duration_s = 3600
control_interval_s = 300
sample_interval_s = 60
[[nodes]]
name = "node"
count = {nodes}
cores = 16
memory_mib = 65536
nic_mbps = 10000
racks = ["r1", "r2", "r3", "r4"]
[[vms]]
name = "vm"
count = {vms}
vcpus = 4
memory_mib = 4096
dirty_rate_mib_s = 20
workload = {{ kind = "diurnal", mean = 0.7, amplitude = 0.3, period_s = 3600, noise = 0.05, phase_jitter_s = 3600 }}
"#,
        vms = nodes * 3
    );
    let mut r = scalelab_sim::run_scenario_text(&text, None, &mut |_, _| {}).expect("runs");
    let base: Vec<EventRecord> = r.events.clone();
    let mut i = 0;
    while r.events.len() < events && !base.is_empty() {
        let mut e = base[i % base.len()].clone();
        e.t_ms = (i as u64 * 3_600_000) / events as u64;
        r.events.push(e);
        i += 1;
    }
    r.events.sort_by_key(|e| e.t_ms);
    let mut k = 0u32;
    while r.placements.len() < placements {
        let mut p = r.placements[k as usize % r.vms.len()].clone();
        p.t_ms = 1_800_000;
        r.placements.push(p);
        k += 1;
    }
    r
}

fn frame(c: &mut Criterion, name: &str, rec: RunRecord) {
    let mut model = Model::new(vec![RunView::new(rec, "bench")]);
    model.time_ms = model.duration_ms() / 2;
    model.selected_migration = 0;
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    c.bench_function(name, |b| {
        b.iter(|| {
            terminal
                .draw(|f| {
                    black_box(scalelab_tui::view::view(&model, f));
                })
                .expect("draw");
        })
    });
}

fn frames(c: &mut Criterion) {
    frame(c, "frame_1000_nodes_10k_events", record(1000, 10_000, 0));
    frame(
        c,
        "frame_10000_nodes_100k_events_100k_placements",
        record(10_000, 100_000, 100_000),
    );
}

criterion_group!(benches, frames);
criterion_main!(benches);
