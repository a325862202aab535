//! The help overlay: every key and what it does.

use super::*;

pub const HELP: &[(&str, &str)] = &[
    ("space", "play / pause"),
    ("← →", "step one event back / forward"),
    (", .", "step one control interval back / forward"),
    ("+ -", "faster / slower playback"),
    ("g G", "go to start / end"),
    ("/", "jump to a time (5400, 90m, 1:30:00), Enter to go"),
    ("Tab", "move focus: cluster, migrations, events"),
    ("↑ ↓", "select a node / migration, scroll the log"),
    ("Enter", "migration details"),
    (
        "f",
        "cycle the event filter (all, failures, migrations, scaling, lifecycle)",
    ),
    ("mouse", "wheel scrolls the panel under it, click selects"),
    ("?", "this help"),
    ("Esc", "close a popup"),
    ("q, Ctrl-C", "quit"),
];

pub fn render_help(f: &mut Frame, area: Rect) {
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(
                    format!("  {k:<10}"),
                    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
                ),
                Span::raw(*v),
            ])
        })
        .collect();
    let popup = centered(area, 70, 70);
    f.render_widget(Clear, popup);
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" keys (? or Esc to close) ")),
        popup,
    );
}
