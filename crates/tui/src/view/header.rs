//! The header bar: the run (or the two runs), the replay clock, speed and state.

use super::*;

pub fn render_header(model: &Model, f: &mut Frame, area: Rect) {
    let run = &model.primary().record;
    let state = if model.playing {
        Span::styled(
            "▶ playing",
            Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
        )
    } else {
        Span::styled(
            "⏸ paused",
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        )
    };
    let scenario = if model.runs.len() > 1 {
        format!("compare {} | {}", model.runs[0].label, model.runs[1].label)
    } else {
        format!("{} (seed {})", run.scenario.name, run.scenario.seed)
    };
    let line = Line::from(vec![
        Span::styled(scenario, Style::new().add_modifier(Modifier::BOLD)),
        Span::raw("   t = "),
        Span::styled(
            format!(
                "{} / {}",
                fmt_time(model.time_ms),
                fmt_time(model.duration_ms())
            ),
            Style::new().fg(Color::Cyan),
        ),
        Span::raw(format!("   speed {}   ", fmt_speed(model.speed))),
        state,
        Span::raw(format!("   log filter: {}", model.filter.label())),
    ]);
    f.render_widget(
        Paragraph::new(line).block(Block::bordered().title(" scalelab replay ")),
        area,
    );
}
