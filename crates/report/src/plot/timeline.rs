//! One bar per migration: its steps coloured in order, each step's timeout as an outline
//! behind it, and its end marked (rollback, data loss).

use plotters::prelude::*;

use super::{FONT, color, e, svg, ticks};
use crate::ReportError;
use crate::data::Bar;

#[derive(Debug, Clone, Default)]
pub struct TimelineChart {
    pub size: (u32, u32),
    pub x_desc: String,
    /// Names of the step kinds, in the order of `Bar::steps[k].kind`.
    pub step_names: Vec<String>,
    pub bars: Vec<Bar>,
}

pub fn timeline(c: &TimelineChart) -> Result<String, ReportError> {
    let n = c.bars.len().max(1);
    let x_min = 0.0;
    let x_max = c
        .bars
        .iter()
        .flat_map(|b| b.steps.iter().map(|s| s.timeout_end.max(s.end)))
        .fold(1.0, f64::max);
    let pad = ((x_max - x_min) * 0.02).max(1e-6);
    let xt = ticks(&(x_min..x_max));
    svg(c.size, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(if n <= 60 { 190 } else { 40 })
            .build_cartesian_2d((x_min - pad)..(x_max + pad), 0.0..n as f64)
            .map_err(e)?;
        let bars = &c.bars;
        let yfmt = |v: &f64| {
            let r = n as f64 - v - 0.5;
            let i = r.round();
            if n <= 60 && (r - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < bars.len() {
                bars[i as usize].label.clone()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(c.x_desc.as_str())
            .y_desc(if n > 60 {
                "migrations (by start time)"
            } else {
                ""
            })
            .axis_desc_style((FONT, 14))
            .label_style((FONT, 12))
            .x_label_formatter(&xt)
            .y_label_formatter(&yfmt)
            .y_labels(if n <= 60 { n * 2 + 1 } else { 0 })
            .light_line_style(RGBColor(240, 240, 240))
            .draw()
            .map_err(e)?;
        let h = 0.38;
        for (r, b) in c.bars.iter().enumerate() {
            let y = n as f64 - r as f64 - 0.5;
            for s in &b.steps {
                if s.timeout_end > s.start {
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(s.start, y - h), (s.timeout_end, y + h)],
                            RGBColor(120, 120, 120).mix(0.6).stroke_width(1),
                        )))
                        .map_err(e)?;
                }
                let fill = if s.failed {
                    super::FAILURE.filled()
                } else {
                    color(s.kind).filled()
                };
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(s.start, y - h * 0.75), (s.end.max(s.start), y + h * 0.75)],
                        fill,
                    )))
                    .map_err(e)?;
            }
            if b.data_loss || b.rolled_back {
                let col = if b.data_loss { super::FAILURE } else { BLACK };
                chart
                    .draw_series(std::iter::once(Cross::new(
                        (b.end, y),
                        5,
                        col.stroke_width(2),
                    )))
                    .map_err(e)?;
            }
        }
        // A legend of step colours, drawn as dummy series.
        for (k, name) in c.step_names.iter().enumerate() {
            let col = color(k);
            chart
                .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())
                .map_err(e)?
                .label(name.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], col.filled()));
        }
        chart
            .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())
            .map_err(e)?
            .label("failed / timed-out step")
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 5), (x + 14, y + 5)], super::FAILURE.filled())
            });
        super::legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })
}
