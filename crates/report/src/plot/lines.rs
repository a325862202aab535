//! Lines over a shared x axis, with optional spread bands, vertical event marks and
//! category labels on x.

use plotters::prelude::*;

use super::{FONT, color, e, extent, span, svg, ticks};
use crate::ReportError;

#[derive(Debug, Clone, Default)]
pub struct Line {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// (x, low, high): a shaded spread around the line.
    pub band: Vec<(f64, f64, f64)>,
    pub dashed: bool,
    /// Draw the points as dots as well as joining them.
    pub dots: bool,
}

#[derive(Debug, Clone, Default)]
pub struct LineChart {
    pub size: (u32, u32),
    pub x_desc: String,
    pub y_desc: String,
    pub lines: Vec<Line>,
    /// Vertical marks: (x, colour index into the failure/grey pair: 0 failure, 1 grey).
    pub marks: Vec<(f64, u8)>,
    /// Category names for x = 0, 1, 2, ... (a non-numeric parameter).
    pub categories: Vec<String>,
    /// Force the y range to start at 0 (counts, power).
    pub y_from_zero: bool,
}

pub fn lines(c: &LineChart) -> Result<String, ReportError> {
    let (x0, x1) = extent(c.lines.iter().flat_map(|l| {
        l.points
            .iter()
            .map(|p| p.0)
            .chain(l.band.iter().map(|b| b.0))
    }));
    let (mut y0, y1) = extent(c.lines.iter().flat_map(|l| {
        l.points
            .iter()
            .map(|p| p.1)
            .chain(l.band.iter().flat_map(|b| [b.1, b.2]))
    }));
    if c.y_from_zero {
        y0 = y0.min(0.0);
    }
    let xr = if c.categories.is_empty() {
        span(x0, x1)
    } else {
        -0.5..(c.categories.len() as f64 - 0.5)
    };
    let yr = span(y0, y1);
    let cats = c.categories.clone();
    let (xt, yt) = (ticks(&xr), ticks(&yr));
    svg(c.size, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(70)
            .build_cartesian_2d(xr.clone(), yr.clone())
            .map_err(e)?;
        let xfmt = |v: &f64| {
            if cats.is_empty() {
                xt(v)
            } else {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < cats.len() {
                    cats[i as usize].clone()
                } else {
                    String::new()
                }
            }
        };
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(c.x_desc.as_str())
            .y_desc(c.y_desc.as_str())
            .axis_desc_style((FONT, 14))
            .label_style((FONT, 12))
            .x_label_formatter(&xfmt)
            .y_label_formatter(&yt)
            .light_line_style(RGBColor(240, 240, 240));
        if !cats.is_empty() {
            mesh.x_labels(cats.len().max(2) * 2 + 1);
        }
        mesh.draw().map_err(e)?;
        for &(x, kind) in &c.marks {
            let col = if kind == 0 {
                super::FAILURE.mix(0.5)
            } else {
                super::GREY.mix(0.5)
            };
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, yr.start), (x, yr.end)],
                    col.stroke_width(1),
                )))
                .map_err(e)?;
        }
        for (i, l) in c.lines.iter().enumerate() {
            let col = color(i);
            if !l.band.is_empty() {
                let mut poly: Vec<(f64, f64)> = l.band.iter().map(|b| (b.0, b.2)).collect();
                poly.extend(l.band.iter().rev().map(|b| (b.0, b.1)));
                chart
                    .draw_series(std::iter::once(Polygon::new(poly, col.mix(0.18).filled())))
                    .map_err(e)?;
            }
            let style = col.stroke_width(2);
            let drawn = if l.dashed {
                chart
                    .draw_series(DashedLineSeries::new(l.points.iter().copied(), 6, 4, style))
                    .map_err(e)?
            } else {
                chart
                    .draw_series(LineSeries::new(l.points.iter().copied(), style))
                    .map_err(e)?
            };
            if !l.name.is_empty() {
                drawn.label(l.name.as_str()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2))
                });
            }
            if l.dots {
                chart
                    .draw_series(l.points.iter().map(|&p| Circle::new(p, 3, col.filled())))
                    .map_err(e)?;
            }
        }
        if c.lines.iter().filter(|l| !l.name.is_empty()).count() > 1 {
            super::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    })
}
