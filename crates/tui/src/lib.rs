//! scalelab-tui: replay a run, or compare two, in the terminal.
//!
//! Model / update / view (ratatui's Elm architecture): [`model::Model`] holds all
//! state including simulated time, [`model::Model::update`] changes it in response to
//! a [`model::Msg`] without any I/O, and [`view::view`] renders it, one function per
//! panel. [`run`] is the only part that touches the terminal and the wall clock.

pub mod model;
pub mod view;

use std::io;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyEvent, KeyEventKind,
    KeyModifiers, MouseEventKind,
};
use ratatui::crossterm::execute;
use ratatui::layout::{Position, Rect};

use model::{Focus, Model, Msg};
use view::Areas;

/// Map a key to a message (pure, for tests and the loop alike).
pub fn key_to_msg(model: &Model, key: KeyEvent) -> Option<Msg> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Msg::Quit);
    }
    if model.jump.is_some() {
        return match key.code {
            KeyCode::Enter => Some(Msg::Enter),
            KeyCode::Esc => Some(Msg::Escape),
            KeyCode::Backspace => Some(Msg::JumpBackspace),
            KeyCode::Char(c) => Some(Msg::JumpChar(c)),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Char(' ') => Msg::TogglePlay,
        KeyCode::Right => Msg::StepEvent(1),
        KeyCode::Left => Msg::StepEvent(-1),
        KeyCode::Char('.') => Msg::StepInterval(1),
        KeyCode::Char(',') => Msg::StepInterval(-1),
        KeyCode::Char('+') | KeyCode::Char('=') => Msg::Faster,
        KeyCode::Char('-') => Msg::Slower,
        KeyCode::Char('g') | KeyCode::Home => Msg::Start,
        KeyCode::Char('G') | KeyCode::End => Msg::End,
        KeyCode::Char('/') => Msg::BeginJump,
        KeyCode::Tab => Msg::FocusNext,
        KeyCode::Enter => Msg::Enter,
        KeyCode::Esc => Msg::Escape,
        KeyCode::Up | KeyCode::Char('k') => Msg::Move(-1),
        KeyCode::Down | KeyCode::Char('j') => Msg::Move(1),
        KeyCode::PageUp => Msg::Move(-10),
        KeyCode::PageDown => Msg::Move(10),
        KeyCode::Char('f') => Msg::CycleFilter,
        KeyCode::Char('?') => Msg::ToggleHelp,
        KeyCode::Char('q') => Msg::Quit,
        _ => return None,
    })
}

fn inside(r: Rect, col: u16, row: u16) -> bool {
    r.contains(Position::new(col, row))
}

/// Map a mouse event to a message, given where the panels were drawn.
pub fn mouse_to_msg(areas: &Areas, kind: MouseEventKind, col: u16, row: u16) -> Option<Msg> {
    let panel = [
        (areas.cluster, Focus::Cluster),
        (areas.migrations, Focus::Migrations),
        (areas.events, Focus::Events),
    ]
    .into_iter()
    .find(|(r, _)| inside(*r, col, row))?;
    match kind {
        MouseEventKind::ScrollDown => Some(Msg::ScrollPanel(panel.1, 1)),
        MouseEventKind::ScrollUp => Some(Msg::ScrollPanel(panel.1, -1)),
        MouseEventKind::Down(_) => {
            // Rows below the border (and the table header for migrations).
            let header = if panel.1 == Focus::Migrations { 2 } else { 1 };
            let offset = row.saturating_sub(panel.0.y + header) as usize;
            match panel.1 {
                Focus::Events => Some(Msg::Select(Focus::Events, 0)),
                f => Some(Msg::Select(f, offset)),
            }
        }
        _ => None,
    }
}

/// Run the UI until the user quits. The terminal is restored on return, on error and
/// on panic (ratatui's panic hook plus ours for mouse capture); Ctrl-C arrives as a
/// key in raw mode and quits like `q`.
pub fn run(mut model: Model) -> io::Result<()> {
    let mut terminal = ratatui::init();
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(io::stdout(), DisableMouseCapture);
        prev(info);
    }));
    let result = (|| -> io::Result<()> {
        execute!(io::stdout(), EnableMouseCapture)?;
        let frame_budget = Duration::from_millis(33);
        let mut last = Instant::now();
        let mut areas = Areas::default();
        while !model.quit {
            terminal.draw(|f| areas = view::view(&model, f))?;
            let wait = frame_budget.saturating_sub(last.elapsed());
            if event::poll(wait)? {
                match event::read()? {
                    Event::Key(k) => {
                        if let Some(msg) = key_to_msg(&model, k) {
                            model.update(msg);
                        }
                    }
                    Event::Mouse(m) => {
                        if let Some(msg) = mouse_to_msg(&areas, m.kind, m.column, m.row) {
                            model.update(msg);
                        }
                    }
                    // A resize simply redraws at the new size on the next pass.
                    _ => {}
                }
            }
            let now = Instant::now();
            let elapsed = now.duration_since(last).as_millis() as u64;
            if elapsed >= frame_budget.as_millis() as u64 {
                model.update(Msg::Tick(elapsed));
                last = now;
            }
        }
        Ok(())
    })();
    let _ = execute!(io::stdout(), DisableMouseCapture);
    ratatui::restore();
    result
}
