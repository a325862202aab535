//! Points in groups, with an optional y = x diagonal (expected against actual) and
//! highlighted points (a Pareto front).

use plotters::prelude::*;

use super::{FONT, color, e, extent, span, svg, ticks};
use crate::ReportError;

#[derive(Debug, Clone, Default)]
pub struct ScatterGroup {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Larger, outlined dots.
    pub emphasis: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ScatterChart {
    pub size: (u32, u32),
    pub x_desc: String,
    pub y_desc: String,
    pub groups: Vec<ScatterGroup>,
    /// Draw y = x and use one range for both axes.
    pub diagonal: bool,
    /// A line of text above the plot area (the error statistics of an estimate).
    pub note: String,
}

pub fn scatter(c: &ScatterChart) -> Result<String, ReportError> {
    let all = || c.groups.iter().flat_map(|g| g.points.iter());
    let (x0, x1) = extent(all().map(|p| p.0));
    let (y0, y1) = extent(all().map(|p| p.1));
    let (xr, yr) = if c.diagonal {
        let r = span(x0.min(y0), x1.max(y1));
        (r.clone(), r)
    } else {
        (span(x0, x1), span(y0, y1))
    };
    let (xt, yt) = (ticks(&xr), ticks(&yr));
    svg(c.size, |root| {
        if !c.note.is_empty() {
            root.draw(&Text::new(c.note.as_str(), (70, 6), (FONT, 13).into_font()))
                .map_err(e)?;
        }
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .margin_top(if c.note.is_empty() { 12 } else { 26 })
            .x_label_area_size(42)
            .y_label_area_size(64)
            .build_cartesian_2d(xr.clone(), yr.clone())
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(c.x_desc.as_str())
            .y_desc(c.y_desc.as_str())
            .axis_desc_style((FONT, 14))
            .label_style((FONT, 12))
            .x_label_formatter(&xt)
            .y_label_formatter(&yt)
            .light_line_style(RGBColor(240, 240, 240))
            .draw()
            .map_err(e)?;
        if c.diagonal {
            chart
                .draw_series(DashedLineSeries::new(
                    [(xr.start, xr.start), (xr.end, xr.end)],
                    6,
                    4,
                    BLACK.mix(0.5).stroke_width(1),
                ))
                .map_err(e)?;
        }
        for (i, g) in c.groups.iter().enumerate() {
            let col = color(i);
            let (r, style) = if g.emphasis {
                (5, col.filled().stroke_width(1))
            } else {
                (3, col.mix(0.6).filled())
            };
            let drawn = chart
                .draw_series(g.points.iter().map(|&p| Circle::new(p, r, style)))
                .map_err(e)?;
            if !g.name.is_empty() {
                drawn
                    .label(g.name.as_str())
                    .legend(move |(x, y)| Circle::new((x + 9, y), 4, col.filled()));
            }
        }
        // The diagonal is explained by the caption; a legend box would hide the corner
        // where a large error lies.
        if c.groups.iter().filter(|g| !g.name.is_empty()).count() > 1 {
            super::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    })
}
