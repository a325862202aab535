//! The utilization chart: the selected node's (or VM's host's) utilization over time.

use super::*;

/// The utilization series of a node as chart points (time in hours).
pub(super) fn node_points(run: &RunView, node: usize) -> Vec<(f64, f64)> {
    let s = &run.record.series;
    s.times_ms
        .iter()
        .zip(&s.node_util)
        .map(|(&t, row)| {
            (
                t as f64 / 3_600_000.0,
                row.get(node).copied().unwrap_or(0.0) as f64,
            )
        })
        .collect()
}

/// The utilization of whatever host a VM was on, over time.
pub(super) fn vm_host_points(run: &RunView, vm: u32) -> Vec<(f64, f64)> {
    let placements: Vec<_> = run
        .record
        .placements
        .iter()
        .filter(|p| p.vm == vm)
        .collect();
    let s = &run.record.series;
    s.times_ms
        .iter()
        .zip(&s.node_util)
        .filter_map(|(&t, row)| {
            let i = placements.partition_point(|p| p.t_ms <= t);
            let node = placements.get(i.checked_sub(1)?)?.node?;
            Some((
                t as f64 / 3_600_000.0,
                row.get(node as usize).copied()? as f64,
            ))
        })
        .collect()
}

pub fn render_chart(model: &Model, run: &RunView, f: &mut Frame, area: Rect) {
    let t = model.time_ms;
    let node = model
        .selected_node
        .min(run.record.nodes.len().saturating_sub(1));
    let node_id = run.record.nodes.get(node).map_or("-", |n| n.id.as_str());
    let mig = run.migrations_until(t).get(model.selected_migration);
    let node_pts = node_points(run, node);
    let vm_pts = mig.map(|m| vm_host_points(run, m.vm)).unwrap_or_default();
    let hours = run.duration_ms() as f64 / 3_600_000.0;
    let now = t as f64 / 3_600_000.0;
    let ymax = node_pts
        .iter()
        .chain(&vm_pts)
        .map(|p| p.1)
        .fold(1.0f64, f64::max)
        .ceil();
    let cursor = vec![(now, 0.0), (now, ymax)];
    // Decision markers: migrations touching the node (start times), and the windows
    // they ran for, drawn along the top.
    let mut starts = Vec::new();
    let mut windows = Vec::new();
    for m in &run.record.migrations {
        if m.source as usize == node || m.target as usize == node {
            let s = m.started_ms as f64 / 3_600_000.0;
            let e = m.ended_ms.unwrap_or(m.started_ms) as f64 / 3_600_000.0;
            starts.push((s, ymax * 0.95));
            let steps = 8;
            for k in 0..=steps {
                windows.push((s + (e - s) * k as f64 / steps as f64, ymax * 0.9));
            }
        }
    }
    let mut datasets = vec![
        Dataset::default()
            .name(format!("{node_id} util"))
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::Green))
            .data(&node_pts),
    ];
    let vm_name = mig.map(|m| format!("{} host", m.vm_id)).unwrap_or_default();
    if !vm_pts.is_empty() {
        datasets.push(
            Dataset::default()
                .name(vm_name)
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(Color::Magenta))
                .data(&vm_pts),
        );
    }
    datasets.push(
        Dataset::default()
            .name("migrations")
            .marker(Marker::Dot)
            .graph_type(GraphType::Scatter)
            .style(Style::new().fg(SOURCE))
            .data(&windows),
    );
    datasets.push(
        Dataset::default()
            .marker(Marker::Block)
            .graph_type(GraphType::Scatter)
            .style(Style::new().fg(Color::Red))
            .data(&starts),
    );
    datasets.push(
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::White))
            .data(&cursor),
    );
    let chart = Chart::new(datasets)
        .block(Block::bordered().title(format!(
            " utilization: {node_id} and the selected VM's host "
        )))
        .x_axis(
            Axis::default()
                .bounds([0.0, hours.max(1e-9)])
                .labels([Line::from("0 h"), Line::from(format!("{hours:.1} h"))]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, ymax])
                .labels([Line::from("0"), Line::from(format!("{ymax:.0}"))]),
        );
    f.render_widget(chart, area);
}
