//! Grouped bars: categories on x, one bar per group in each (scalelab beside the
//! reference, one model beside another).

use plotters::prelude::*;

use super::{FONT, color, e, extent, svg, ticks};
use crate::ReportError;

#[derive(Debug, Clone, Default)]
pub struct BarChart {
    pub size: (u32, u32),
    pub y_desc: String,
    pub categories: Vec<String>,
    /// (group name, one value per category; NaN = no bar).
    pub groups: Vec<(String, Vec<f64>)>,
}

pub fn bars(c: &BarChart) -> Result<String, ReportError> {
    let (_, hi) = extent(c.groups.iter().flat_map(|g| g.1.iter().copied()));
    let hi = if hi.is_finite() && hi > 0.0 {
        hi * 1.12
    } else {
        1.0
    };
    let n = c.categories.len().max(1);
    let k = c.groups.len().max(1);
    let yt = ticks(&(0.0..hi));
    svg(c.size, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5..(n as f64 - 0.5), 0.0..hi)
            .map_err(e)?;
        let cats = &c.categories;
        let xfmt = |v: &f64| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < cats.len() {
                cats[i as usize].clone()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_desc(c.y_desc.as_str())
            .axis_desc_style((FONT, 14))
            .label_style((FONT, 12))
            .x_label_formatter(&xfmt)
            .x_labels(n * 2 + 1)
            .y_label_formatter(&yt)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(e)?;
        let w = 0.8 / k as f64;
        for (g, (name, values)) in c.groups.iter().enumerate() {
            let col = color(g);
            chart
                .draw_series(
                    values
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.is_finite())
                        .map(|(i, &v)| {
                            let x0 = i as f64 - 0.4 + g as f64 * w;
                            Rectangle::new([(x0, 0.0), (x0 + w * 0.92, v)], col.filled())
                        }),
                )
                .map_err(e)?
                .label(name.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], col.filled()));
        }
        super::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}
