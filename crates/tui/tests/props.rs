//! Property test: any run record that parses and validates opens in the TUI without a
//! panic, through every panel, key and a jump, at any terminal size. Records come from
//! files and databases, so they are user input.

use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use scalelab_sim::RunRecord;
use scalelab_testkit::mutate::{apply, config, edits};
use scalelab_tui::model::{Focus, Model, Msg, RunView};
use scalelab_tui::view;

fn base() -> serde_json::Value {
    static B: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    B.get_or_init(|| {
        let text = include_str!("../../../scenarios/target-spike-rollback.toml");
        let r = scalelab_sim::run_scenario_text(text, None, &mut |_, _| {}).expect("runs");
        serde_json::to_value(r).unwrap()
    })
    .clone()
}

const MSGS: [Msg; 16] = [
    Msg::End,
    Msg::StepEvent(-1),
    Msg::StepInterval(-3),
    Msg::FocusNext,
    Msg::Move(5),
    Msg::Enter,
    Msg::Escape,
    Msg::FocusNext,
    Msg::Move(-2),
    Msg::Enter,
    Msg::CycleFilter,
    Msg::Select(Focus::Migrations, 3),
    Msg::ScrollPanel(Focus::Events, 40),
    Msg::Start,
    Msg::TogglePlay,
    Msg::Tick(3_600_000),
];

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn valid_records_open_in_the_tui(e in edits(), w in 20u16..160, h in 5u16..50) {
        let text = serde_json::to_string(&apply(&base(), &e)).unwrap();
        let Ok(r) = scalelab_engine::input::from_json_str::<RunRecord>(&text) else {
            return Ok(());
        };
        if r.validate().is_err() {
            return Ok(());
        }
        let mut model = Model::new(vec![RunView::new(r.clone(), "a"), RunView::new(r, "b")]);
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        for msg in MSGS {
            model.update(msg);
            term.draw(|f| {
                view::view(&model, f);
            })
            .unwrap();
        }
        for c in "/1:00:00".chars() {
            model.update(Msg::JumpChar(c));
        }
        model.update(Msg::Enter);
        term.draw(|f| {
            view::view(&model, f);
        })
        .unwrap();
    }
}
