use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{TempDir, assert_one_line_error, p, scalelab};

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    fn capture(&self) -> String {
        let o = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "t"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut c = self.cmd();
        c.args(["send-keys", "-t", "t"]);
        c.args(keys);
        assert!(c.status().unwrap().success());
    }

    /// Poll the screen until it contains `needle` (the UI redraws every 33 ms).
    fn wait_for(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.capture();
            if s.contains(needle) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{needle:?} never appeared; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn alive(&self) -> bool {
        self.cmd()
            .args(["has-session", "-t", "t"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .cmd()
            .arg("kill-server")
            .stderr(std::process::Stdio::null())
            .status();
    }
}

#[test]
fn replay_in_a_real_terminal_keys_in_screen_checked() {
    if !tmux_available() {
        eprintln!(
            "tmux not installed: skipping the terminal end-to-end test (.ci/run installs it)"
        );
        return;
    }
    let dir = TempDir::new("tmux");
    let rec = dir.path("r.json");
    let o = scalelab(&[
        "run",
        "scenarios/target-spike-rollback.toml",
        "--no-store",
        "-o",
        p(&rec),
    ]);
    assert!(o.status.success());
    let t = Tmux {
        socket: format!("scalelab-test-{}", std::process::id()),
    };
    let command = format!("{} replay {}", env!("CARGO_BIN_EXE_scalelab"), p(&rec));
    let ok = t
        .cmd()
        .args([
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "140",
            "-y",
            "45",
            &command,
        ])
        .status()
        .unwrap();
    assert!(ok.success());
    let s = t.wait_for("target-spike-rollback (seed 2)");
    assert!(s.contains("paused"));
    assert!(s.contains("cluster: 2 nodes"));
    // Jump to 1:30 into the run: the spike has hit and both migrations rolled back.
    t.keys(&["/"]);
    t.wait_for("jump to time");
    t.keys(&["5400", "Enter"]);
    t.wait_for("t = 1:30:00");
    // The screen is redrawn in pieces; wait for each expected text, never assume it.
    t.wait_for("rolled back");
    t.keys(&["f"]);
    t.wait_for("log filter: failures");
    t.keys(&["Enter"]);
    t.wait_for("migration detail");
    t.wait_for("rollback reason: target node-1 would run at");
    t.keys(&["Escape", "?"]);
    t.wait_for("keys (? or Esc to close)");
    t.keys(&["Escape", "space"]);
    t.wait_for("playing");
    t.keys(&["q"]);
    let start = Instant::now();
    while t.alive() {
        assert!(start.elapsed() < Duration::from_secs(5), "q did not quit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn replay_finds_stored_runs_and_reports_bad_input() {
    let dir = TempDir::new("replayerr");
    let db = dir.path("r.db");
    let o = scalelab(&[
        "--db",
        p(&db),
        "run",
        "scenarios/hot-node-relief.toml",
        "-o",
        p(&dir.path("x.json")),
    ]);
    assert!(o.status.success());
    // Found and loaded: it only stops because the test's stdout is not a terminal.
    let o = scalelab(&["--db", p(&db), "replay", "1"]);
    assert_one_line_error(&o, &["needs a terminal"]);
    let o = scalelab(&["--db", p(&db), "replay", "9"]);
    assert_one_line_error(&o, &["r.db", "no run with id 9"]);
    let bad = dir.write("bad.json", "{\"format\": \"something\"}");
    let o = scalelab(&["replay", p(&bad)]);
    assert_one_line_error(&o, &["bad.json", "not a scalelab run record"]);
    let o = scalelab(&["compare", p(&dir.path("x.json")), "missing.json"]);
    assert_one_line_error(&o, &["missing.json", "cannot read"]);
}
