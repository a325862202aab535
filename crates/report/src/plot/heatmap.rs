//! A heat map over rows (nodes or a parameter's values) and columns (time bins or a
//! second parameter), with point marks on top. Cells of one colour step that touch
//! along a row are drawn as one rectangle, which keeps a 10,000-node day's map small.

use plotters::prelude::*;

use super::{FONT, GREY, e, svg, ticks};
use crate::ReportError;

#[derive(Debug, Clone, Default)]
pub struct HeatChart {
    pub size: (u32, u32),
    pub x_desc: String,
    pub y_desc: String,
    /// Column edges on x (one more than columns), in the x unit.
    pub x_edges: Vec<f64>,
    /// Labels of rows, top to bottom (empty: none drawn).
    pub row_labels: Vec<String>,
    /// Labels of columns (categorical x); empty when x is numeric.
    pub col_labels: Vec<String>,
    /// `cells[row][col]`; NaN is drawn grey (nothing there: off, down, not run).
    pub cells: Vec<Vec<f64>>,
    /// Value at the top of the colour scale; values above it take the top colour.
    pub max: f64,
    /// Point marks: (x, row, kind) with kind 0 = failure (red cross), 1 = migration
    /// start (dark tick).
    pub marks: Vec<(f64, usize, u8)>,
    /// Write each cell's value in it (small grids).
    pub annotate: bool,
}

/// Colour steps of the scale: white-ish through orange to dark red at `max`.
const STEPS: usize = 20;

fn ramp(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    // Yellow-orange-red, light to dark: readable in print and for most colour vision.
    let stops = [
        (0.0, (255.0, 255.0, 204.0)),
        (0.35, (254.0, 178.0, 76.0)),
        (0.7, (240.0, 59.0, 32.0)),
        (1.0, (128.0, 0.0, 38.0)),
    ];
    let mut k = 0;
    while k + 2 < stops.len() && t > stops[k + 1].0 {
        k += 1;
    }
    let (t0, a) = stops[k];
    let (t1, b) = stops[k + 1];
    let f = ((t - t0) / (t1 - t0)).clamp(0.0, 1.0);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The colour step of a value, or None for a missing one.
pub fn step(v: f64, max: f64) -> Option<usize> {
    if !v.is_finite() {
        return None;
    }
    let max = if max > 0.0 { max } else { 1.0 };
    Some(((v / max).clamp(0.0, 1.0) * STEPS as f64).round() as usize)
}

pub fn heatmap(c: &HeatChart) -> Result<String, ReportError> {
    let rows = c.cells.len().max(1);
    let cols = c.x_edges.len().saturating_sub(1).max(1);
    let (x0, x1) = (
        c.x_edges.first().copied().unwrap_or(0.0),
        c.x_edges.last().copied().unwrap_or(1.0),
    );
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let legend_w = 70;
    let xt = ticks(&(x0..x1));
    let bt = ticks(&(0.0..c.max.max(1e-9)));
    svg(c.size, |root| {
        let (plot, legend) = root.split_horizontally(c.size.0 - legend_w);
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(if c.row_labels.is_empty() { 40 } else { 90 })
            .build_cartesian_2d(x0..x1, 0.0..rows as f64)
            .map_err(e)?;
        let labels = &c.row_labels;
        let col_labels = &c.col_labels;
        let edges = &c.x_edges;
        let yfmt = |v: &f64| {
            // Row r spans [rows - r - 1, rows - r): label at its middle.
            let r = rows as f64 - v - 0.5;
            let i = r.round();
            if (r - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
                labels[i as usize].clone()
            } else {
                String::new()
            }
        };
        let xfmt = |v: &f64| {
            if col_labels.is_empty() {
                return xt(v);
            }
            (0..col_labels.len())
                .find(|&k| ((edges[k] + edges[k + 1]) / 2.0 - v).abs() < 1e-6)
                .map(|k| col_labels[k].clone())
                .unwrap_or_default()
        };
        let mut mesh = chart.configure_mesh();
        mesh.disable_mesh()
            .x_desc(c.x_desc.as_str())
            .y_desc(c.y_desc.as_str())
            .axis_desc_style((FONT, 14))
            .label_style((FONT, 12))
            .x_label_formatter(&xfmt)
            .y_label_formatter(&yfmt);
        if !labels.is_empty() {
            mesh.y_labels(rows * 2 + 1);
        } else {
            mesh.y_labels(0);
        }
        if !col_labels.is_empty() {
            mesh.x_labels(cols * 2 + 1);
        }
        mesh.draw().map_err(e)?;
        let mut rects = Vec::new();
        for (r, row) in c.cells.iter().enumerate() {
            let (y_lo, y_hi) = ((rows - r - 1) as f64, (rows - r) as f64);
            let mut k = 0;
            while k < row.len().min(cols) {
                let s = step(row[k], c.max);
                let mut end = k + 1;
                while end < row.len().min(cols) && step(row[end], c.max) == s {
                    end += 1;
                }
                let fill = match s {
                    Some(s) => ramp(s as f64 / STEPS as f64).filled(),
                    None => GREY.mix(0.35).filled(),
                };
                rects.push(Rectangle::new([(edges[k], y_lo), (edges[end], y_hi)], fill));
                k = end;
            }
        }
        chart.draw_series(rects).map_err(e)?;
        if c.annotate {
            for (r, row) in c.cells.iter().enumerate() {
                for (k, v) in row.iter().enumerate().take(cols) {
                    if !v.is_finite() {
                        continue;
                    }
                    let pos = ((edges[k] + edges[k + 1]) / 2.0, (rows - r) as f64 - 0.5);
                    let dark = step(*v, c.max).is_some_and(|s| s > STEPS * 6 / 10);
                    let style = TextStyle::from((FONT, 12).into_font())
                        .color(if dark { &WHITE } else { &BLACK })
                        .pos(plotters::style::text_anchor::Pos::new(
                            plotters::style::text_anchor::HPos::Center,
                            plotters::style::text_anchor::VPos::Center,
                        ));
                    chart
                        .draw_series(std::iter::once(Text::new(
                            scalelab_sim::human::number(*v),
                            pos,
                            style,
                        )))
                        .map_err(e)?;
                }
            }
        }
        for &(x, r, kind) in &c.marks {
            let y = (rows - r.min(rows - 1)) as f64 - 0.5;
            if kind == 0 {
                chart
                    .draw_series(std::iter::once(Cross::new(
                        (x, y),
                        5,
                        super::FAILURE.stroke_width(2),
                    )))
                    .map_err(e)?;
            } else {
                chart
                    .draw_series(std::iter::once(TriangleMarker::new(
                        (x, y),
                        4,
                        BLACK.mix(0.7).filled(),
                    )))
                    .map_err(e)?;
            }
        }
        // The colour scale.
        let mut bar = ChartBuilder::on(&legend)
            .margin_top(12)
            .margin_bottom(54)
            .margin_right(8)
            .y_label_area_size(40)
            .build_cartesian_2d(0.0..1.0, 0.0..c.max.max(1e-9))
            .map_err(e)?;
        bar.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .label_style((FONT, 11))
            .y_label_formatter(&bt)
            .y_labels(5)
            .draw()
            .map_err(e)?;
        let top = c.max.max(1e-9);
        bar.draw_series((0..STEPS).map(|s| {
            let (a, b) = (s as f64 / STEPS as f64, (s + 1) as f64 / STEPS as f64);
            Rectangle::new(
                [(0.0, a * top), (1.0, b * top)],
                ramp((s as f64 + 0.5) / STEPS as f64).filled(),
            )
        }))
        .map_err(e)?;
        Ok(())
    })
}
