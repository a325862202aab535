//! Run-record files: parse, validate, and open the valid ones in the TUI (model,
//! a few key presses, a frame).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use scalelab_sim::RunRecord;
use scalelab_tui::model::{Model, Msg, RunView};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(record) = scalelab_engine::input::from_json_str::<RunRecord>(text) else { return };
    if record.validate().is_err() {
        return;
    }
    let mut model = Model::new(vec![RunView::new(record, "fuzz")]);
    let mut term = Terminal::new(TestBackend::new(100, 30)).expect("test backend");
    for msg in [Msg::End, Msg::StepEvent(-1), Msg::FocusNext, Msg::Move(1), Msg::Enter, Msg::Tick(5_000)] {
        model.update(msg);
        term.draw(|f| {
            scalelab_tui::view::view(&model, f);
        })
        .expect("draw");
    }
});
