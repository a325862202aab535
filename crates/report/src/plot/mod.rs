//! Charts drawn with plotters' SVG backend. Each chart type takes the data the
//! `data` module prepared (already aggregated to what the eye can tell apart) and
//! returns SVG text; none of them computes a number a reader relies on.

mod bars;
mod heatmap;
mod lines;
mod scatter;
mod timeline;

pub use bars::{BarChart, bars};
pub use heatmap::{HeatChart, heatmap};
pub use lines::{Line, LineChart, lines};
pub use scatter::{ScatterChart, ScatterGroup, scatter};
pub use timeline::{TimelineChart, timeline};

use plotters::prelude::*;

use crate::ReportError;

/// Width and height of a full-width plot, in CSS pixels.
pub const WIDE: (u32, u32) = (1000, 380);
/// A plot that shares a row or stands small.
pub const SQUARE: (u32, u32) = (480, 420);

pub const FONT: &str = "sans-serif";

/// Distinguishable colours (Okabe-Ito, safe for colour-blind readers), in the order
/// series take them.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

pub const FAILURE: RGBColor = RGBColor(200, 0, 0);
pub const GREY: RGBColor = RGBColor(160, 160, 160);

/// Draw into a string-backed SVG of `size`, white background.
pub fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Result<(), String>,
) -> Result<String, ReportError> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        draw(&root).map_err(ReportError::Plot)?;
        root.present().map_err(plot_err)?;
    }
    Ok(buf)
}

pub fn plot_err<E: std::fmt::Display>(e: E) -> ReportError {
    ReportError::Plot(e.to_string())
}

/// plotters' errors as text, for `?` inside drawing closures.
pub fn e<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A range that plotters can draw even when the data is one point or empty.
pub fn span(lo: f64, hi: f64) -> std::ops::Range<f64> {
    if !lo.is_finite() || !hi.is_finite() {
        return 0.0..1.0;
    }
    if hi - lo < 1e-12 {
        let pad = if lo.abs() > 1e-12 {
            lo.abs() * 0.1
        } else {
            1.0
        };
        return (lo - pad)..(hi + pad);
    }
    let pad = (hi - lo) * 0.04;
    (lo - pad)..(hi + pad)
}

/// Min and max of finite values.
pub fn extent(xs: impl IntoIterator<Item = f64>) -> (f64, f64) {
    xs.into_iter()
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        })
}

/// The chart type every plot here draws on: two f64 axes on an SVG.
pub type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    plotters::coord::cartesian::Cartesian2d<
        plotters::coord::types::RangedCoordf64,
        plotters::coord::types::RangedCoordf64,
    >,
>;

/// The series legend, boxed, at `pos`: one look for every plot.
pub fn legend<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    pos: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(pos)
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(200, 200, 200))
        .label_font((FONT, 12))
        .draw()
        .map_err(e)
}

/// Axis tick text for an axis spanning `r`: as many decimals as neighbouring ticks
/// need to differ (`87.82`, `87.84` on a narrow axis; `1,200` on a wide one).
pub fn ticks(r: &std::ops::Range<f64>) -> impl Fn(&f64) -> String + use<> {
    let w = (r.end - r.start).abs();
    let d = if w > 0.0 && w.is_finite() {
        (-(w / 10.0).log10().floor()).clamp(0.0, 12.0) as usize
    } else {
        0
    };
    move |v: &f64| {
        if d == 0 {
            scalelab_sim::human::count_f(v.round() + 0.0)
        } else {
            format!("{v:.d$}")
        }
    }
}
