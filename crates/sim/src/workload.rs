//! Workload generators: CPU demand of a VM over time, as a fraction of its vCPUs.
//!
//! Each VM draws from its own PRNG stream (derived from the run seed and the VM's
//! index), so a VM's demand series does not change when other VMs or events are added.

use serde::{Deserialize, Serialize};

use crate::rng::Pcg32;
use scalelab_engine::input::{InputError, check_non_negative, check_positive, ensure};

/// How a VM's demand evolves. Values are fractions of the VM's vCPUs (1.0 = all busy);
/// demand may exceed 1 (the VM wants more than it has).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WorkloadSpec {
    Constant {
        level: f64,
        #[serde(default)]
        noise: f64,
    },
    /// mean + amplitude x sin(2 pi (t + phase) / period) + N(0, noise).
    Diurnal {
        mean: f64,
        amplitude: f64,
        #[serde(default = "day_s")]
        period_s: f64,
        #[serde(default)]
        phase_s: f64,
        #[serde(default)]
        noise: f64,
        /// Each VM's phase is shifted by a uniform draw in [0, phase_jitter_s).
        #[serde(default)]
        phase_jitter_s: f64,
        /// Each VM's mean is scaled by a uniform draw in [1 - j, 1 + j].
        #[serde(default)]
        mean_jitter: f64,
    },
    /// A base level with spikes starting with probability `spike_prob` per sample.
    Bursts {
        base: f64,
        spike_level: f64,
        spike_prob: f64,
        spike_duration_s: f64,
        #[serde(default)]
        noise: f64,
    },
    /// Gaussian steps, reflected into [min, max].
    RandomWalk {
        start: f64,
        step_sd: f64,
        #[serde(default)]
        min: f64,
        #[serde(default = "one")]
        max: f64,
    },
    /// `before` until `at_s`, then `after`.
    Step {
        before: f64,
        after: f64,
        at_s: f64,
        #[serde(default)]
        noise: f64,
    },
    /// Alternates `on_s` at `on_level` and `off_s` at `off_level`.
    OnOff {
        on_level: f64,
        off_level: f64,
        on_s: f64,
        off_s: f64,
        #[serde(default)]
        phase_s: f64,
    },
    /// Replays samples `interval_s` apart (held between samples); after the last one it
    /// repeats from the start when `repeat`, else holds the last value.
    Replay {
        samples: Vec<f64>,
        interval_s: f64,
        #[serde(default)]
        repeat: bool,
    },
    /// Each VM of the group replays one VM of a real trace (see [`TraceSource`]).
    Trace(TraceSource),
}

/// Trace formats scalelab-traces reads. Named here so a scenario with a misspelt
/// format is refused when it is parsed, with the field's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceFormat {
    /// PlanetLab CoMon (as shipped with CloudSim): a directory, one file per VM.
    Planetlab,
    /// Bitbrains GWA-T-12 (fastStorage, Rnd): one `;`+TAB separated file per VM.
    Bitbrains,
    /// Azure Public Dataset V1/V2 `vm_cpu_readings` (long, no header, maybe gzip).
    Azure,
    /// Alibaba cluster-trace-v2018 `machine_usage`.
    AlibabaMachine,
    /// Alibaba cluster-trace-v2018 `container_usage`.
    AlibabaContainer,
    /// `vm_id, timestamp, cpu[, memory]` with a header, CSV or Parquet.
    Generic,
}

impl TraceFormat {
    pub const ALL: [TraceFormat; 6] = [
        Self::Planetlab,
        Self::Bitbrains,
        Self::Azure,
        Self::AlibabaMachine,
        Self::AlibabaContainer,
        Self::Generic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planetlab => "planetlab",
            Self::Bitbrains => "bitbrains",
            Self::Azure => "azure",
            Self::AlibabaMachine => "alibaba_machine",
            Self::AlibabaContainer => "alibaba_container",
            Self::Generic => "generic",
        }
    }
}

impl std::str::FromStr for TraceFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        scalelab_engine::model::by_name(&Self::ALL, Self::as_str, s, "trace format")
    }
}

/// Which of a trace's VMs a group takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceSelect {
    /// Every VM with data in the window; the group's `count` becomes their number.
    #[default]
    All,
    /// The `count` VMs with the highest mean CPU in the window (ties by id).
    Busiest,
    /// `count` VMs drawn at random with `sample_seed` (PCG32), independent of the run seed
    /// so that sweeping seeds does not change which VMs are replayed.
    Sample,
    /// The VMs listed in `ids`, in that order.
    Ids,
}

/// What a sample time inside a gap (no reading for more than 1.5 trace intervals) gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapPolicy {
    /// The last reading before the gap: the simulator replays what was last measured and
    /// never invents a trend (default).
    #[default]
    Hold,
    /// Linear between the readings on either side (CloudSim's treatment of PlanetLab).
    Interpolate,
    /// VMs with a gap in the window are left out (and counted in the report).
    Drop,
}

/// A trace-driven VM group: where the data is and how it becomes workloads.
///
/// The simulator does not read files (its callers do, through scalelab-traces, which
/// fills `series`); a scenario whose trace was not loaded is refused by
/// [`crate::Simulation::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceSource {
    /// File or directory, relative to the trace data directory (`--trace-dir` or
    /// `SCALELAB_TRACE_DIR`) unless absolute.
    pub path: String,
    /// Detected from the data when absent.
    #[serde(default)]
    pub format: Option<TraceFormat>,
    /// Azure `vmtable` (cores and memory per VM), relative like `path`.
    #[serde(default)]
    pub vmtable: Option<String>,
    #[serde(default)]
    pub select: TraceSelect,
    /// For `select = "ids"`.
    #[serde(default)]
    pub ids: Vec<String>,
    #[serde(default)]
    pub sample_seed: u64,
    /// Where the window starts, in seconds after the trace's first reading; the window
    /// is as long as the scenario.
    #[serde(default)]
    pub offset_s: u64,
    #[serde(default)]
    pub gap: GapPolicy,
    /// Loop the window when the scenario runs longer than the trace has data; without
    /// it such a scenario is refused.
    #[serde(default)]
    pub repeat: bool,
    /// Multiplies every CPU value (e.g. 2.0 to replay a fleet under twice its load).
    #[serde(default = "one")]
    pub cpu_scale: f64,
    /// Take each VM's vCPUs and memory from the trace where it has them (Bitbrains,
    /// Azure with a vmtable) instead of the group's `vcpus` and `memory_mib`.
    #[serde(default)]
    pub shape_from_trace: bool,
    /// Filled by the loader: one entry per VM of the group, in order.
    #[serde(skip)]
    pub series: Option<std::sync::Arc<Vec<TraceVm>>>,
}

/// One trace VM resampled to the scenario's sample interval: sample `k` is the demand
/// at `k * interval_s` into the run.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceVm {
    /// The VM's id in the trace (file name, Azure hash, Alibaba machine id ...).
    pub trace_id: String,
    pub interval_s: u64,
    /// CPU demand as a fraction of the VM's vCPUs.
    pub cpu: Vec<f32>,
    /// Resident memory as a fraction of the VM's memory, when the trace has it.
    pub memory: Option<Vec<f32>>,
    pub vcpus: Option<u32>,
    pub memory_mib: Option<u64>,
    /// Seconds into the window of the VM's first reading and of the end of its last
    /// (the window's length when the VM reads to its end; the run's when the window
    /// loops): when the VM existed, for VMs that arrive and leave with their trace.
    pub span_s: (u64, u64),
}

impl TraceVm {
    fn index(&self, t_s: f64, repeat: bool) -> usize {
        let i = (t_s / self.interval_s.max(1) as f64).floor().max(0.0) as usize;
        if repeat {
            i % self.cpu.len().max(1)
        } else {
            i.min(self.cpu.len().saturating_sub(1))
        }
    }
}

fn day_s() -> f64 {
    86_400.0
}
fn one() -> f64 {
    1.0
}

/// Highest demand a workload may ask for: 10x the VM's vCPUs. Larger values are a unit
/// mistake (percent for fraction).
pub const MAX_LEVEL: f64 = 10.0;

fn level(path: &str, v: f64) -> Result<(), InputError> {
    ensure(
        v.is_finite() && (0.0..=MAX_LEVEL).contains(&v),
        path,
        || format!("must be a fraction of the VM's vCPUs between 0 and {MAX_LEVEL}, got {v}"),
    )
}

impl WorkloadSpec {
    pub fn validate(&self) -> Result<(), InputError> {
        match self {
            Self::Constant { level: l, noise } => {
                level("level", *l)?;
                check_non_negative("noise", *noise)
            }
            Self::Diurnal {
                mean,
                amplitude,
                period_s,
                phase_s,
                noise,
                phase_jitter_s,
                mean_jitter,
            } => {
                level("mean", *mean)?;
                level("amplitude", *amplitude)?;
                check_positive("period_s", *period_s)?;
                ensure(phase_s.is_finite(), "phase_s", || "must be finite".into())?;
                check_non_negative("noise", *noise)?;
                check_non_negative("phase_jitter_s", *phase_jitter_s)?;
                ensure((0.0..=1.0).contains(mean_jitter), "mean_jitter", || {
                    format!("must be between 0 and 1, got {mean_jitter}")
                })
            }
            Self::Bursts {
                base,
                spike_level,
                spike_prob,
                spike_duration_s,
                noise,
            } => {
                level("base", *base)?;
                level("spike_level", *spike_level)?;
                ensure((0.0..=1.0).contains(spike_prob), "spike_prob", || {
                    format!("must be a probability between 0 and 1, got {spike_prob}")
                })?;
                check_positive("spike_duration_s", *spike_duration_s)?;
                check_non_negative("noise", *noise)
            }
            Self::RandomWalk {
                start,
                step_sd,
                min,
                max,
            } => {
                level("start", *start)?;
                check_non_negative("step_sd", *step_sd)?;
                level("min", *min)?;
                level("max", *max)?;
                ensure(min < max, "min", || {
                    format!("must be below max ({max}), got {min}")
                })?;
                ensure(start >= min && start <= max, "start", || {
                    format!("must be between min ({min}) and max ({max}), got {start}")
                })
            }
            Self::Step {
                before,
                after,
                at_s,
                noise,
            } => {
                level("before", *before)?;
                level("after", *after)?;
                check_non_negative("at_s", *at_s)?;
                check_non_negative("noise", *noise)
            }
            Self::OnOff {
                on_level,
                off_level,
                on_s,
                off_s,
                phase_s,
            } => {
                level("on_level", *on_level)?;
                level("off_level", *off_level)?;
                check_positive("on_s", *on_s)?;
                check_positive("off_s", *off_s)?;
                check_non_negative("phase_s", *phase_s)
            }
            Self::Replay {
                samples,
                interval_s,
                ..
            } => {
                ensure(!samples.is_empty(), "samples", || {
                    "must not be empty".into()
                })?;
                for (i, s) in samples.iter().enumerate() {
                    level(&format!("samples[{i}]"), *s)?;
                }
                check_positive("interval_s", *interval_s)
            }
            Self::Trace(t) => {
                ensure(!t.path.trim().is_empty(), "path", || {
                    "must name a trace file or directory".into()
                })?;
                ensure(
                    t.cpu_scale.is_finite() && t.cpu_scale > 0.0 && t.cpu_scale <= MAX_LEVEL,
                    "cpu_scale",
                    || format!("must be > 0 and at most {MAX_LEVEL}, got {}", t.cpu_scale),
                )?;
                match t.select {
                    TraceSelect::Ids => ensure(!t.ids.is_empty(), "ids", || {
                        "select = \"ids\" needs at least one id".into()
                    }),
                    _ => ensure(t.ids.is_empty(), "ids", || {
                        "only used with select = \"ids\"".into()
                    }),
                }
            }
        }
    }
}

/// A VM's workload while the simulation runs.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Shared by the VMs of a group: a replayed series is stored once.
    spec: std::sync::Arc<WorkloadSpec>,
    rng: Pcg32,
    /// Per-VM draws made once (jittered mean and phase).
    mean_scale: f64,
    phase_shift_s: f64,
    walk: f64,
    spike_until_s: f64,
    /// Which VM of a trace group this is.
    trace_index: usize,
}

impl Workload {
    pub fn new(spec: impl Into<std::sync::Arc<WorkloadSpec>>, mut rng: Pcg32) -> Self {
        let spec = spec.into();
        let (mean_scale, phase_shift_s) = match &*spec {
            WorkloadSpec::Diurnal {
                phase_jitter_s,
                mean_jitter,
                ..
            } => {
                let m = 1.0 + mean_jitter * (2.0 * rng.uniform() - 1.0);
                let p = phase_jitter_s * rng.uniform();
                (m, p)
            }
            _ => (1.0, 0.0),
        };
        let walk = match &*spec {
            WorkloadSpec::RandomWalk { start, .. } => *start,
            _ => 0.0,
        };
        Self {
            spec,
            rng,
            mean_scale,
            phase_shift_s,
            walk,
            spike_until_s: f64::NEG_INFINITY,
            trace_index: 0,
        }
    }

    /// The workload of the `index`-th VM of a trace group.
    pub fn trace_member(spec: std::sync::Arc<WorkloadSpec>, index: usize, rng: Pcg32) -> Self {
        let mut w = Self::new(spec, rng);
        w.trace_index = index;
        w
    }

    /// The trace VM this member replays, and whether its window loops.
    pub fn trace_vm(&self) -> Option<(&TraceVm, bool)> {
        match &*self.spec {
            WorkloadSpec::Trace(t) => t
                .series
                .as_ref()
                .and_then(|s| s.get(self.trace_index))
                .map(|v| (v, t.repeat)),
            _ => None,
        }
    }

    /// Resident memory as a fraction of the VM's memory at `t_s`, when a trace says.
    pub fn resident_frac(&self, t_s: f64) -> Option<f64> {
        let (vm, repeat) = self.trace_vm()?;
        let mem = vm.memory.as_ref()?;
        mem.get(vm.index(t_s, repeat)).map(|&m| m as f64)
    }

    /// Demand at time `t_s`; called once per sample, in increasing time.
    pub fn sample(&mut self, t_s: f64) -> f64 {
        let v = match &*self.spec {
            WorkloadSpec::Constant { level, noise } => level + noise_of(&mut self.rng, *noise),
            WorkloadSpec::Diurnal {
                mean,
                amplitude,
                period_s,
                phase_s,
                noise,
                ..
            } => {
                let x = std::f64::consts::TAU * (t_s + phase_s + self.phase_shift_s) / period_s;
                mean * self.mean_scale + amplitude * x.sin() + noise_of(&mut self.rng, *noise)
            }
            WorkloadSpec::Bursts {
                base,
                spike_level,
                spike_prob,
                spike_duration_s,
                noise,
            } => {
                if t_s >= self.spike_until_s && self.rng.chance(*spike_prob) {
                    self.spike_until_s = t_s + spike_duration_s;
                }
                let l = if t_s < self.spike_until_s {
                    *spike_level
                } else {
                    *base
                };
                l + noise_of(&mut self.rng, *noise)
            }
            WorkloadSpec::RandomWalk {
                step_sd, min, max, ..
            } => {
                let mut w = self.walk + step_sd * self.rng.normal();
                if w < *min {
                    w = 2.0 * min - w;
                }
                if w > *max {
                    w = 2.0 * max - w;
                }
                self.walk = w.clamp(*min, *max);
                self.walk
            }
            WorkloadSpec::Step {
                before,
                after,
                at_s,
                noise,
            } => (if t_s < *at_s { *before } else { *after }) + noise_of(&mut self.rng, *noise),
            WorkloadSpec::OnOff {
                on_level,
                off_level,
                on_s,
                off_s,
                phase_s,
            } => {
                let pos = (t_s + phase_s).rem_euclid(on_s + off_s);
                if pos < *on_s { *on_level } else { *off_level }
            }
            WorkloadSpec::Replay {
                samples,
                interval_s,
                repeat,
            } => {
                let i = (t_s / interval_s).floor().max(0.0) as usize;
                let i = if *repeat {
                    i % samples.len()
                } else {
                    i.min(samples.len() - 1)
                };
                samples[i]
            }
            WorkloadSpec::Trace(t) => match self.trace_vm() {
                Some((vm, repeat)) => {
                    vm.cpu.get(vm.index(t_s, repeat)).copied().unwrap_or(0.0) as f64 * t.cpu_scale
                }
                None => 0.0,
            },
        };
        v.clamp(0.0, MAX_LEVEL)
    }
}

fn noise_of(rng: &mut Pcg32, sd: f64) -> f64 {
    if sd > 0.0 { sd * rng.normal() } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(spec: WorkloadSpec, times: &[f64]) -> Vec<f64> {
        spec.validate().unwrap();
        let mut w = Workload::new(spec, Pcg32::new(1, 1));
        times.iter().map(|&t| w.sample(t)).collect()
    }

    #[test]
    fn constant_and_step() {
        assert_eq!(
            run(
                WorkloadSpec::Constant {
                    level: 0.4,
                    noise: 0.0
                },
                &[0.0, 10.0]
            ),
            [0.4, 0.4]
        );
        let s = WorkloadSpec::Step {
            before: 0.2,
            after: 0.9,
            at_s: 100.0,
            noise: 0.0,
        };
        assert_eq!(run(s, &[0.0, 99.0, 100.0]), [0.2, 0.2, 0.9]);
    }

    #[test]
    fn diurnal_follows_the_sine() {
        let s = WorkloadSpec::Diurnal {
            mean: 0.5,
            amplitude: 0.3,
            period_s: 400.0,
            phase_s: 0.0,
            noise: 0.0,
            phase_jitter_s: 0.0,
            mean_jitter: 0.0,
        };
        let v = run(s, &[0.0, 100.0, 200.0, 300.0]);
        for (a, b) in v.iter().zip([0.5, 0.8, 0.5, 0.2]) {
            assert!((a - b).abs() < 1e-12, "{v:?}");
        }
    }

    #[test]
    fn on_off_and_replay() {
        let s = WorkloadSpec::OnOff {
            on_level: 0.9,
            off_level: 0.1,
            on_s: 10.0,
            off_s: 20.0,
            phase_s: 0.0,
        };
        assert_eq!(
            run(s, &[0.0, 9.0, 10.0, 29.0, 30.0]),
            [0.9, 0.9, 0.1, 0.1, 0.9]
        );
        let r = WorkloadSpec::Replay {
            samples: vec![0.1, 0.2, 0.3],
            interval_s: 60.0,
            repeat: false,
        };
        assert_eq!(
            run(r, &[0.0, 59.0, 60.0, 150.0, 1000.0]),
            [0.1, 0.1, 0.2, 0.3, 0.3]
        );
        let r = WorkloadSpec::Replay {
            samples: vec![0.1, 0.2],
            interval_s: 60.0,
            repeat: true,
        };
        assert_eq!(run(r, &[0.0, 60.0, 120.0]), [0.1, 0.2, 0.1]);
    }

    #[test]
    fn random_walk_stays_in_bounds_and_bursts_spike() {
        let s = WorkloadSpec::RandomWalk {
            start: 0.5,
            step_sd: 0.2,
            min: 0.1,
            max: 0.9,
        };
        let times: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        assert!(run(s, &times).iter().all(|v| (0.1..=0.9).contains(v)));
        let b = WorkloadSpec::Bursts {
            base: 0.2,
            spike_level: 0.95,
            spike_prob: 0.05,
            spike_duration_s: 5.0,
            noise: 0.0,
        };
        let v = run(b, &times);
        assert!(v.contains(&0.95) && v.contains(&0.2));
    }

    #[test]
    fn same_stream_same_series() {
        let s = WorkloadSpec::Constant {
            level: 0.5,
            noise: 0.1,
        };
        let t: Vec<f64> = (0..50).map(|i| i as f64).collect();
        assert_eq!(run(s.clone(), &t), run(s, &t));
    }

    #[test]
    fn invalid_specs_name_the_field() {
        let e = WorkloadSpec::Constant {
            level: 75.0,
            noise: 0.0,
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.path, "level");
        let e = WorkloadSpec::RandomWalk {
            start: 0.5,
            step_sd: 0.1,
            min: 0.6,
            max: 0.4,
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.path, "min");
    }

    #[derive(Debug, Deserialize)]
    struct Holder {
        workload: WorkloadSpec,
    }

    #[test]
    fn trace_specs_parse_and_unknown_keys_are_refused() {
        let h: Holder = toml::from_str(
            r#"workload = { kind = "trace", path = "planetlab/20110303", format = "planetlab", select = "busiest" }"#,
        )
        .unwrap();
        let WorkloadSpec::Trace(t) = &h.workload else {
            panic!("not a trace: {:?}", h.workload)
        };
        assert_eq!(t.format, Some(TraceFormat::Planetlab));
        assert_eq!(t.select, TraceSelect::Busiest);
        assert_eq!(
            (t.gap, t.cpu_scale, t.repeat),
            (GapPolicy::Hold, 1.0, false)
        );
        h.workload.validate().unwrap();
        let bad =
            toml::from_str::<Holder>(r#"workload = { kind = "trace", path = "x", colour = 1 }"#)
                .unwrap_err();
        assert!(bad.to_string().contains("colour"), "{bad}");
        let bad = toml::from_str::<Holder>(
            r#"workload = { kind = "trace", path = "x", format = "csv" }"#,
        )
        .unwrap_err();
        assert!(bad.to_string().contains("csv"), "{bad}");
        let ids: Holder =
            toml::from_str(r#"workload = { kind = "trace", path = "x", select = "ids" }"#).unwrap();
        assert_eq!(ids.workload.validate().unwrap_err().path, "ids");
    }

    #[test]
    fn trace_members_replay_their_own_series() {
        let vm = |id: &str, cpu: Vec<f32>, mem: Option<Vec<f32>>| TraceVm {
            trace_id: id.into(),
            interval_s: 60,
            cpu,
            memory: mem,
            vcpus: None,
            memory_mib: None,
            span_s: (0, 180),
        };
        let mut src: Holder =
            toml::from_str(r#"workload = { kind = "trace", path = "x", cpu_scale = 2.0 }"#)
                .unwrap();
        let WorkloadSpec::Trace(t) = &mut src.workload else {
            unreachable!()
        };
        t.series = Some(std::sync::Arc::new(vec![
            vm("a", vec![0.1, 0.2], None),
            vm("b", vec![0.3, 0.4, 0.5], Some(vec![0.5, 0.6, 0.7])),
        ]));
        let spec = std::sync::Arc::new(src.workload);
        let mut a = Workload::trace_member(spec.clone(), 0, Pcg32::new(1, 1));
        let mut b = Workload::trace_member(spec, 1, Pcg32::new(2, 1));
        let times = [0.0, 60.0, 120.0, 600.0];
        let va: Vec<f64> = times.iter().map(|&t| a.sample(t)).collect();
        let vb: Vec<f64> = times.iter().map(|&t| b.sample(t)).collect();
        let close = |x: &[f64], y: &[f64]| x.iter().zip(y).all(|(p, q)| (p - q).abs() < 1e-6);
        assert!(close(&va, &[0.2, 0.4, 0.4, 0.4]), "{va:?}");
        assert!(close(&vb, &[0.6, 0.8, 1.0, 1.0]), "{vb:?}");
        assert_eq!(a.resident_frac(0.0), None);
        assert!((b.resident_frac(61.0).unwrap() - 0.6).abs() < 1e-6);
    }
}
