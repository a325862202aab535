//! Pre-copy live-migration model (Clark et al., NSDI 2005).
//!
//! The engine uses it to turn a VM's memory, dirty rate and the path's bandwidth into
//! plan timeouts and downtime / completion estimates; the simulator uses the same stop
//! rule ([`PreCopyParams::stop_reason`]) while it moves real (simulated) bytes at
//! whatever bandwidth is available at each moment, so both agree when nothing changes.
//!
//! Notation (see `../shared/reference/domain-facts.md` section 2): M memory, R
//! bandwidth, D dirty rate, lambda = D / R. Round 0 sends M; round i sends what was
//! dirtied during round i-1 (M lambda^i). After n pre-copy rounds the remainder
//! M lambda^n moves during stop-and-copy with the VM paused.

use serde::{Deserialize, Serialize};

use crate::policy::MigrationConfig;

/// Convert megabits per second (how NICs are rated) into MiB per second (how memory is counted).
pub fn mbps_to_mib_s(mbps: f64) -> f64 {
    mbps * 1_000_000.0 / 8.0 / (1024.0 * 1024.0)
}

/// Why pre-copy stopped and stop-and-copy began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The remainder fits in the downtime target: the normal, converged case.
    DowntimeTarget,
    /// Round limit reached with more left than the downtime target allows.
    MaxRounds,
    /// Data limit (a multiple of memory) reached.
    MaxData,
}

/// Limits of one migration, independent of the VM.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PreCopyParams {
    pub downtime_target_s: f64,
    pub max_rounds: u32,
    pub max_data_factor: f64,
    pub writable_working_set_frac: f64,
    pub resume_s: f64,
    /// QEMU's auto-converge, when on.
    pub auto_converge: Option<AutoConverge>,
    /// Share of the flow's rate that carries memory ([`MigrationConfig::goodput_frac`]):
    /// [`estimate`] applies it to the bandwidth it is given.
    pub goodput_frac: f64,
}

/// QEMU's auto-converge (migration/ram.c): when the guest dirtied more than half of
/// what a round sent, twice, its vCPUs are throttled, first by `initial_frac`, then
/// `increment_frac` more each time, up to 99 %. A throttled guest runs and dirties
/// memory `1 - throttle` as fast (SimGrid likewise ties dirtying to CPU activity).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoConverge {
    pub initial_frac: f64,
    pub increment_frac: f64,
}

/// The most auto-converge throttles a guest (QEMU's `cpu-throttle` maximum).
pub const MAX_THROTTLE_FRAC: f64 = 0.99;

/// One migration's auto-converge state; the executor and the estimator step the same
/// rule, so a plan's estimate and the executor agree.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Throttle {
    /// Share of the guest's CPU taken away now.
    pub frac: f64,
    high_rounds: u32,
}

impl Throttle {
    /// After a pre-copy round that sent `sent_mib` while the guest dirtied
    /// `dirtied_mib`: the throttle for the next round.
    pub fn after_round(&mut self, ac: Option<&AutoConverge>, sent_mib: f64, dirtied_mib: f64) {
        let Some(ac) = ac else { return };
        if dirtied_mib > 0.5 * sent_mib {
            self.high_rounds += 1;
        }
        if self.high_rounds >= 2 {
            self.high_rounds = 0;
            let next = if self.frac == 0.0 {
                ac.initial_frac
            } else {
                self.frac + ac.increment_frac
            };
            self.frac = next.min(MAX_THROTTLE_FRAC);
        }
    }

    /// The dirty rate of a guest running at its full speed, as throttled now.
    pub fn dirty_rate(&self, full_rate_mib_s: f64) -> f64 {
        full_rate_mib_s * (1.0 - self.frac)
    }
}

impl From<&MigrationConfig> for PreCopyParams {
    fn from(c: &MigrationConfig) -> Self {
        Self {
            downtime_target_s: c.downtime_target_ms as f64 / 1000.0,
            max_rounds: c.max_rounds,
            max_data_factor: c.max_data_factor,
            writable_working_set_frac: c.writable_working_set_frac,
            resume_s: c.resume_ms as f64 / 1000.0,
            goodput_frac: c.goodput_frac,
            auto_converge: c.auto_converge.then_some(AutoConverge {
                initial_frac: c.auto_converge_initial_pct / 100.0,
                increment_frac: c.auto_converge_increment_pct / 100.0,
            }),
        }
    }
}

impl PreCopyParams {
    /// The stop rule, checked after each pre-copy round: `rounds` done so far, `sent_mib`
    /// sent so far, `remainder_mib` dirty now, at `bandwidth_mib_s` available now.
    pub fn stop_reason(
        &self,
        memory_mib: f64,
        rounds: u32,
        sent_mib: f64,
        remainder_mib: f64,
        bandwidth_mib_s: f64,
    ) -> Option<StopReason> {
        if remainder_mib <= bandwidth_mib_s * self.downtime_target_s {
            Some(StopReason::DowntimeTarget)
        } else if rounds >= self.max_rounds {
            Some(StopReason::MaxRounds)
        } else if sent_mib + remainder_mib > self.max_data_factor * memory_mib {
            Some(StopReason::MaxData)
        } else {
            None
        }
    }

    /// Most that can be dirty at once.
    pub fn dirty_cap_mib(&self, memory_mib: f64) -> f64 {
        self.writable_working_set_frac * memory_mib
    }
}

/// What the model predicts for one migration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PreCopyEstimate {
    pub precopy_rounds: u32,
    pub precopy_time_s: f64,
    /// VM paused: remainder / bandwidth + resume time.
    pub downtime_s: f64,
    /// Pre-copy plus stop-and-copy.
    pub total_time_s: f64,
    /// Including the stop-and-copy remainder.
    pub data_sent_mib: f64,
    pub remainder_mib: f64,
    pub stop_reason: StopReason,
    /// lambda = D / R < 1: each round sends less than the one before (with
    /// auto-converge: once the guest is throttled as far as it goes).
    pub converges: bool,
    /// The guest's throttle when pre-copy ends (auto-converge; 0 without it).
    #[serde(default)]
    pub throttle_frac: f64,
}

/// Round-by-round model at constant dirty rate and bandwidth. O(rounds), at most
/// `max_rounds` iterations. Zero bandwidth gives infinite times rather than a panic.
/// `bandwidth_mib_s` is the flow's rate; only `p.goodput_frac` of it carries memory.
pub fn estimate(
    memory_mib: f64,
    dirty_rate_mib_s: f64,
    bandwidth_mib_s: f64,
    p: &PreCopyParams,
) -> PreCopyEstimate {
    let m = memory_mib.max(0.0);
    let d = dirty_rate_mib_s.max(0.0);
    let r = bandwidth_mib_s.max(0.0) * p.goodput_frac;
    let floor = if p.auto_converge.is_some() {
        1.0 - MAX_THROTTLE_FRAC
    } else {
        1.0
    };
    let converges = d * floor < r;
    if r <= 0.0 {
        return PreCopyEstimate {
            precopy_rounds: 0,
            precopy_time_s: f64::INFINITY,
            downtime_s: f64::INFINITY,
            total_time_s: f64::INFINITY,
            data_sent_mib: 0.0,
            remainder_mib: m,
            stop_reason: StopReason::MaxRounds,
            converges: false,
            throttle_frac: 0.0,
        };
    }
    let cap = p.dirty_cap_mib(m);
    let mut to_send = m;
    let mut sent = 0.0;
    let mut t = 0.0;
    let mut rounds = 0;
    let mut throttle = Throttle::default();
    let reason = loop {
        let dt = to_send / r;
        let round = to_send;
        sent += to_send;
        t += dt;
        rounds += 1;
        to_send = (throttle.dirty_rate(d) * dt).min(cap);
        if let Some(reason) = p.stop_reason(m, rounds, sent, to_send, r) {
            break reason;
        }
        throttle.after_round(p.auto_converge.as_ref(), round, to_send);
    };
    let downtime = to_send / r + p.resume_s;
    PreCopyEstimate {
        precopy_rounds: rounds,
        precopy_time_s: t,
        downtime_s: downtime,
        total_time_s: t + downtime,
        data_sent_mib: sent + to_send,
        remainder_mib: to_send,
        stop_reason: reason,
        converges,
        throttle_frac: throttle.frac,
    }
}

/// Closed form for `n` pre-copy rounds at constant rates, without the working-set cap:
/// total sent M(1 - lambda^(n+1)) / (1 - lambda) including the stop-and-copy remainder
/// M lambda^n, total time that over R, downtime M lambda^n / R (plus `resume_s`).
/// Returns (data_sent_mib, total_transfer_s, downtime_s).
pub fn closed_form(
    memory_mib: f64,
    dirty_rate_mib_s: f64,
    bandwidth_mib_s: f64,
    n: u32,
    resume_s: f64,
) -> (f64, f64, f64) {
    let lambda = dirty_rate_mib_s / bandwidth_mib_s;
    let n = n as i32;
    let sent = if (lambda - 1.0).abs() < 1e-12 {
        memory_mib * (n as f64 + 1.0)
    } else {
        memory_mib * (1.0 - lambda.powi(n + 1)) / (1.0 - lambda)
    };
    let downtime = memory_mib * lambda.powi(n) / bandwidth_mib_s;
    (sent, sent / bandwidth_mib_s, downtime + resume_s)
}

/// Closed-form number of pre-copy rounds until the remainder fits the downtime target:
/// the smallest n >= 1 with M lambda^n <= R x target, capped at `max_rounds`.
pub fn closed_form_rounds(
    memory_mib: f64,
    dirty_rate_mib_s: f64,
    bandwidth_mib_s: f64,
    p: &PreCopyParams,
) -> u32 {
    let lambda = dirty_rate_mib_s / bandwidth_mib_s;
    let budget = bandwidth_mib_s * p.downtime_target_s;
    if lambda <= 0.0 {
        return 1;
    }
    if lambda >= 1.0 {
        return p.max_rounds;
    }
    let n = ((budget / memory_mib).ln() / lambda.ln()).ceil();
    (n.max(1.0) as u32).min(p.max_rounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_converge_throttles_a_guest_that_outruns_the_link_until_it_converges() {
        // 4 GiB dirtied at 150 MiB/s over 1 Gbit/s (119 MiB/s): lambda 1.26, never
        // converges on its own; the data limit ends it with most of memory still dirty.
        // (QEMU has no data limit; with Xen's 3 x memory the throttle has no time.)
        let mut p = params();
        p.max_data_factor = 10.0;
        let bw = mbps_to_mib_s(1000.0);
        let plain = estimate(4096.0, 150.0, bw, &p);
        assert!(!plain.converges);
        assert_eq!(plain.throttle_frac, 0.0);
        assert!(plain.downtime_s > 20.0, "{plain:?}");
        p.auto_converge = Some(AutoConverge {
            initial_frac: 0.2,
            increment_frac: 0.1,
        });
        let ac = estimate(4096.0, 150.0, bw, &p);
        assert!(ac.converges);
        assert_eq!(ac.stop_reason, StopReason::DowntimeTarget, "{ac:?}");
        assert!(ac.downtime_s < 0.4, "{ac:?}");
        // The throttle climbs 20 %, 30 %, ... in steps of every second high round.
        assert!(ac.throttle_frac >= 0.2 && ac.throttle_frac <= MAX_THROTTLE_FRAC);
        let steps = ((ac.throttle_frac - 0.2) / 0.1).round();
        assert!(
            (ac.throttle_frac - (0.2 + 0.1 * steps)).abs() < 1e-9,
            "{ac:?}"
        );
        // A guest the link outruns anyway is not throttled.
        let calm = estimate(4096.0, 20.0, bw, &p);
        assert_eq!(calm.throttle_frac, 0.0);
        let mut off = params();
        off.max_data_factor = 10.0;
        assert_eq!(calm, estimate(4096.0, 20.0, bw, &off));
    }

    #[test]
    fn the_throttle_rule_needs_two_high_rounds_and_stops_at_99_percent() {
        let ac = AutoConverge {
            initial_frac: 0.2,
            increment_frac: 0.5,
        };
        let mut t = Throttle::default();
        t.after_round(Some(&ac), 100.0, 60.0);
        assert_eq!(t.frac, 0.0, "one high round is not enough");
        t.after_round(Some(&ac), 100.0, 40.0);
        assert_eq!(t.frac, 0.0, "a low round does not count");
        t.after_round(Some(&ac), 100.0, 60.0);
        assert_eq!(t.frac, 0.2);
        for _ in 0..2 {
            t.after_round(Some(&ac), 100.0, 90.0);
        }
        assert!((t.frac - 0.7).abs() < 1e-12);
        for _ in 0..2 {
            t.after_round(Some(&ac), 100.0, 90.0);
        }
        assert_eq!(t.frac, MAX_THROTTLE_FRAC);
        let mut off = Throttle::default();
        off.after_round(None, 100.0, 99.0);
        off.after_round(None, 100.0, 99.0);
        assert_eq!(off.frac, 0.0);
    }

    /// The defaults with every bit of the flow carrying memory, so the round model can
    /// be checked against the closed form at the bandwidth given.
    fn params() -> PreCopyParams {
        PreCopyParams {
            goodput_frac: 1.0,
            ..PreCopyParams::from(&MigrationConfig::default())
        }
    }

    #[test]
    fn unit_conversion() {
        // 1 Gbit/s = 119.2 MiB/s.
        assert!((mbps_to_mib_s(1000.0) - 119.209_289_55).abs() < 1e-6);
    }

    #[test]
    fn agrees_with_closed_form() {
        let p = params();
        for &(m, d, r) in &[
            (4096.0, 20.0, 119.2),
            (8192.0, 60.0, 119.2),
            (1024.0, 1.0, 1192.0),
            (16384.0, 100.0, 300.0),
        ] {
            let e = estimate(m, d, r, &p);
            assert_eq!(e.stop_reason, StopReason::DowntimeTarget);
            let n = closed_form_rounds(m, d, r, &p);
            assert_eq!(e.precopy_rounds, n, "rounds for {m} {d} {r}");
            let (sent, total, down) = closed_form(m, d, r, n, p.resume_s);
            assert!(
                (e.data_sent_mib - sent).abs() < 1e-6 * sent,
                "{e:?} vs {sent}"
            );
            assert!((e.total_time_s - (total + p.resume_s)).abs() < 1e-6 * total);
            assert!((e.downtime_s - down).abs() < 1e-9);
            assert!(e.downtime_s <= p.downtime_target_s + p.resume_s + 1e-12);
        }
    }

    #[test]
    fn goodput_slows_the_transfer_by_its_share() {
        // No dirtying: one round of M at 97 % of R.
        let p = PreCopyParams::from(&MigrationConfig::default());
        assert_eq!(p.goodput_frac, 0.97);
        let e = estimate(970.0, 0.0, 100.0, &p);
        assert!((e.precopy_time_s - 10.0).abs() < 1e-9, "{e:?}");
    }

    #[test]
    fn hand_computed_example() {
        // M = 1000 MiB, R = 100 MiB/s, D = 50 MiB/s: lambda = 0.5; target 300 ms -> 30 MiB.
        // Rounds send 1000, 500, 250, 125, 62.5 (5 rounds); remainder 31.25 > 30, so a
        // sixth round sends 31.25, leaving 15.625 <= 30.
        let p = PreCopyParams {
            downtime_target_s: 0.3,
            max_rounds: 29,
            max_data_factor: 3.0,
            writable_working_set_frac: 1.0,
            resume_s: 0.0,
            auto_converge: None,
            goodput_frac: 1.0,
        };
        let e = estimate(1000.0, 50.0, 100.0, &p);
        assert_eq!(e.precopy_rounds, 6);
        assert!((e.remainder_mib - 15.625).abs() < 1e-9);
        assert!((e.precopy_time_s - 19.6875).abs() < 1e-9);
        assert!((e.downtime_s - 0.15625).abs() < 1e-9);
        assert!((e.data_sent_mib - 1984.375).abs() < 1e-9);
        assert!(e.converges);
    }

    #[test]
    fn non_converging_hits_a_limit() {
        let p = params();
        let e = estimate(4096.0, 150.0, 119.2, &p);
        assert!(!e.converges);
        assert!(matches!(
            e.stop_reason,
            StopReason::MaxData | StopReason::MaxRounds
        ));
        assert!(e.downtime_s > 10.0, "{e:?}");
        // The working-set cap bounds the remainder.
        assert!(e.remainder_mib <= 0.9 * 4096.0 + 1e-9);
    }

    #[test]
    fn zero_bandwidth_is_infinite_not_a_panic() {
        let e = estimate(1024.0, 1.0, 0.0, &params());
        assert!(e.total_time_s.is_infinite());
        assert!(!e.converges);
    }

    #[test]
    fn idle_vm_is_one_round() {
        let e = estimate(2048.0, 0.0, 119.2, &params());
        assert_eq!(e.precopy_rounds, 1);
        assert!((e.precopy_time_s - 2048.0 / 119.2).abs() < 1e-9);
    }
}
