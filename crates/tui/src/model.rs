//! The model and its pure `update`: everything the screen shows is derived from this
//! state, and simulated time lives here (the view never reads a clock).

use scalelab_sim::record::{EventKind, EventRecord, MigrationRecord, RunRecord};

/// Which panel keys like Up/Down act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Cluster,
    Migrations,
    Events,
}

impl Focus {
    fn next(self) -> Self {
        match self {
            Self::Cluster => Self::Migrations,
            Self::Migrations => Self::Events,
            Self::Events => Self::Cluster,
        }
    }
}

/// Which events the log shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventFilter {
    All,
    Failures,
    Migrations,
    Scaling,
    /// VMs arriving, leaving or refused, and hosts switching off and on: how the
    /// fleet's size changed.
    Lifecycle,
}

impl EventFilter {
    fn next(self) -> Self {
        match self {
            Self::All => Self::Failures,
            Self::Failures => Self::Migrations,
            Self::Migrations => Self::Scaling,
            Self::Scaling => Self::Lifecycle,
            Self::Lifecycle => Self::All,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Failures => "failures",
            Self::Migrations => "migrations",
            Self::Scaling => "scaling",
            Self::Lifecycle => "lifecycle",
        }
    }

    pub fn accepts(self, k: EventKind) -> bool {
        match self {
            Self::All => true,
            Self::Failures => k.is_failure(),
            Self::Migrations => matches!(
                k,
                EventKind::MigrationStart
                    | EventKind::MigrationSwitchover
                    | EventKind::MigrationEnd
                    | EventKind::Rollback
                    | EventKind::DataLoss
            ),
            Self::Scaling => matches!(
                k,
                EventKind::ScaleUp
                    | EventKind::ScaleDown
                    | EventKind::ScaleOut
                    | EventKind::ScaleIn
            ),
            Self::Lifecycle => matches!(
                k,
                EventKind::VmArrival
                    | EventKind::VmDeparture
                    | EventKind::ArrivalRefused
                    | EventKind::HostPowerOff
                    | EventKind::HostPowerOn
            ),
        }
    }
}

/// Input, already decoded from the terminal (so `update` stays testable).
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    TogglePlay,
    /// Next / previous event.
    StepEvent(i32),
    /// Next / previous control interval.
    StepInterval(i32),
    Faster,
    Slower,
    Start,
    End,
    /// `/`: start typing a time.
    BeginJump,
    JumpChar(char),
    JumpBackspace,
    /// Enter: confirm the jump, or open details.
    Enter,
    Escape,
    FocusNext,
    /// Up / Down (or mouse wheel) in the focused panel.
    Move(i32),
    /// Mouse wheel over a panel: move its selection without changing focus.
    ScrollPanel(Focus, i32),
    /// Click on a row of a panel.
    Select(Focus, usize),
    CycleFilter,
    ToggleHelp,
    Quit,
    /// Wall-clock milliseconds since the last tick, while playing.
    Tick(u64),
}

/// One run as the UI needs it.
#[derive(Debug)]
pub struct RunView {
    pub record: RunRecord,
    /// Index into `record.series.times_ms` for each node's current sample is found by
    /// binary search; nothing else needs precomputing.
    pub label: String,
}

impl RunView {
    pub fn new(record: RunRecord, label: impl Into<String>) -> Self {
        Self {
            record,
            label: label.into(),
        }
    }

    pub fn duration_ms(&self) -> u64 {
        self.record.scenario.duration_ms
    }

    /// The latest series sample at or before `t`.
    pub fn sample_at(&self, t: u64) -> Option<usize> {
        let times = &self.record.series.times_ms;
        let n = times.partition_point(|&x| x <= t);
        n.checked_sub(1)
    }

    /// Events up to and including `t`.
    pub fn events_until(&self, t: u64) -> &[EventRecord] {
        let n = self.record.events.partition_point(|e| e.t_ms <= t);
        &self.record.events[..n]
    }

    /// Migrations started at or before `t`.
    pub fn migrations_until(&self, t: u64) -> &[MigrationRecord] {
        let n = self
            .record
            .migrations
            .partition_point(|m| m.started_ms <= t);
        &self.record.migrations[..n]
    }

    /// Whether a migration is in flight at `t`.
    pub fn in_flight(m: &MigrationRecord, t: u64) -> bool {
        m.started_ms <= t && m.ended_ms.is_none_or(|e| t < e)
    }
}

#[derive(Debug)]
pub struct Model {
    pub runs: Vec<RunView>,
    pub time_ms: u64,
    pub playing: bool,
    /// Simulated seconds per wall-clock second.
    pub speed: f64,
    pub focus: Focus,
    pub selected_node: usize,
    pub selected_migration: usize,
    /// Lines scrolled back from the newest event.
    pub log_scroll: usize,
    pub filter: EventFilter,
    pub detail_open: bool,
    pub help_open: bool,
    /// Text typed after `/`, while jumping.
    pub jump: Option<String>,
    /// A one-line message (bad jump input and the like).
    pub status: Option<String>,
    pub quit: bool,
}

pub const SPEEDS: [f64; 12] = [
    1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0,
];

impl Model {
    /// A model over one run (replay) or two (compare, synchronized time).
    pub fn new(runs: Vec<RunView>) -> Self {
        Self {
            runs,
            time_ms: 0,
            playing: false,
            speed: 300.0,
            focus: Focus::Migrations,
            selected_node: 0,
            selected_migration: 0,
            log_scroll: 0,
            filter: EventFilter::All,
            detail_open: false,
            help_open: false,
            jump: None,
            status: None,
            quit: false,
        }
    }

    pub fn primary(&self) -> &RunView {
        &self.runs[0]
    }

    pub fn duration_ms(&self) -> u64 {
        self.runs
            .iter()
            .map(RunView::duration_ms)
            .max()
            .unwrap_or(0)
    }

    pub fn control_interval_ms(&self) -> u64 {
        self.primary().record.scenario.control_interval_ms.max(1)
    }

    fn set_time(&mut self, t: u64) {
        self.time_ms = t.min(self.duration_ms());
        if self.time_ms == self.duration_ms() {
            self.playing = false;
        }
    }

    /// Event times of every run, for stepping one event at a time.
    fn next_event_time(&self, forward: bool) -> Option<u64> {
        let t = self.time_ms;
        let mut best: Option<u64> = None;
        for r in &self.runs {
            let ev = &r.record.events;
            let cand = if forward {
                let i = ev.partition_point(|e| e.t_ms <= t);
                ev.get(i).map(|e| e.t_ms)
            } else {
                let i = ev.partition_point(|e| e.t_ms < t);
                i.checked_sub(1).map(|i| ev[i].t_ms)
            };
            if let Some(c) = cand {
                best = Some(match best {
                    None => c,
                    Some(b) if forward => b.min(c),
                    Some(b) => b.max(c),
                });
            }
        }
        best
    }

    fn node_count(&self) -> usize {
        self.primary().record.nodes.len()
    }

    fn migration_count(&self) -> usize {
        self.primary().migrations_until(self.time_ms).len()
    }

    fn move_in(&mut self, focus: Focus, delta: i32) {
        let step = |v: usize, n: usize| -> usize {
            if n == 0 {
                0
            } else {
                (v as i64 + delta as i64).clamp(0, n as i64 - 1) as usize
            }
        };
        match focus {
            Focus::Cluster => self.selected_node = step(self.selected_node, self.node_count()),
            Focus::Migrations => {
                self.selected_migration = step(self.selected_migration, self.migration_count())
            }
            Focus::Events => {
                // Up scrolls back in time (away from the newest line).
                let n = self.primary().events_until(self.time_ms).len();
                self.log_scroll = (self.log_scroll as i64 - delta as i64)
                    .clamp(0, n.saturating_sub(1) as i64)
                    as usize;
            }
        }
    }

    /// Parse `/` input: seconds, `m:ss`, `h:mm:ss`, or with a unit (`90m`, `2h`, `30s`).
    pub fn parse_time(s: &str) -> Option<u64> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        if s.contains(':') {
            let parts: Vec<u64> = s
                .split(':')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            if parts.len() > 3 {
                return None;
            }
            return Some(parts.iter().fold(0, |acc, p| acc * 60 + p) * 1000);
        }
        let (num, mult) = match s.chars().last()? {
            'h' => (&s[..s.len() - 1], 3_600_000.0),
            'm' => (&s[..s.len() - 1], 60_000.0),
            's' => (&s[..s.len() - 1], 1000.0),
            _ => (s, 1000.0),
        };
        let v: f64 = num.parse().ok()?;
        (v.is_finite() && v >= 0.0).then(|| (v * mult).round() as u64)
    }

    /// The one place state changes. No I/O, no clock: `Tick` carries elapsed time.
    pub fn update(&mut self, msg: Msg) {
        if let Some(buf) = &mut self.jump {
            match msg {
                Msg::JumpChar(c) => {
                    buf.push(c);
                    return;
                }
                Msg::JumpBackspace => {
                    buf.pop();
                    return;
                }
                Msg::Enter => {
                    let text = self.jump.take().unwrap_or_default();
                    match Self::parse_time(&text) {
                        Some(t) => {
                            self.set_time(t);
                            self.status = None;
                        }
                        None => {
                            self.status = Some(format!(
                                "cannot read {text:?} as a time (try 5400, 90m, 1:30:00)"
                            ))
                        }
                    }
                    return;
                }
                Msg::Escape => {
                    self.jump = None;
                    return;
                }
                Msg::Quit | Msg::Tick(_) => {}
                _ => return,
            }
        }
        match msg {
            Msg::TogglePlay => {
                if self.time_ms >= self.duration_ms() {
                    self.time_ms = 0;
                }
                self.playing = !self.playing;
            }
            Msg::StepEvent(d) => {
                self.playing = false;
                if let Some(t) = self.next_event_time(d > 0) {
                    self.set_time(t);
                }
            }
            Msg::StepInterval(d) => {
                self.playing = false;
                let iv = self.control_interval_ms();
                let t = if d > 0 {
                    (self.time_ms / iv + 1) * iv
                } else {
                    (self.time_ms.saturating_sub(1) / iv) * iv
                };
                self.set_time(t);
            }
            Msg::Faster => {
                let i = SPEEDS
                    .iter()
                    .position(|&s| s > self.speed)
                    .unwrap_or(SPEEDS.len() - 1);
                self.speed = SPEEDS[i];
            }
            Msg::Slower => {
                let i = SPEEDS.iter().rposition(|&s| s < self.speed).unwrap_or(0);
                self.speed = SPEEDS[i];
            }
            Msg::Start => self.set_time(0),
            Msg::End => self.set_time(self.duration_ms()),
            Msg::BeginJump => {
                self.playing = false;
                self.jump = Some(String::new());
            }
            Msg::JumpChar(_) | Msg::JumpBackspace => {}
            Msg::Enter => {
                if self.focus == Focus::Migrations && self.migration_count() > 0 {
                    self.detail_open = true;
                }
            }
            Msg::Escape => {
                self.detail_open = false;
                self.help_open = false;
                self.status = None;
            }
            Msg::FocusNext => self.focus = self.focus.next(),
            Msg::Move(d) => self.move_in(self.focus, d),
            Msg::ScrollPanel(f, d) => self.move_in(f, d),
            Msg::Select(f, i) => {
                self.focus = f;
                match f {
                    Focus::Cluster => {
                        self.selected_node = i.min(self.node_count().saturating_sub(1))
                    }
                    Focus::Migrations => {
                        self.selected_migration = i.min(self.migration_count().saturating_sub(1))
                    }
                    Focus::Events => {}
                }
            }
            Msg::CycleFilter => {
                self.filter = self.filter.next();
                self.log_scroll = 0;
            }
            Msg::ToggleHelp => self.help_open = !self.help_open,
            Msg::Quit => self.quit = true,
            Msg::Tick(wall_ms) => {
                if self.playing {
                    let advance = (wall_ms as f64 * self.speed).round() as u64;
                    self.set_time(self.time_ms.saturating_add(advance.max(1)));
                }
            }
        }
        // Keep the migration selection valid as time moves.
        let n = self.migration_count();
        if n == 0 {
            self.selected_migration = 0;
            self.detail_open = false;
        } else if self.selected_migration >= n {
            self.selected_migration = n - 1;
        }
    }
}
