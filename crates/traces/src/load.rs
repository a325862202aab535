//! Trace-driven VM groups of a scenario: read the trace, pick the VMs, resample them
//! onto the scenario's grid and hand the series to the simulator.
//!
//! Per group the trace is streamed three times (its span and VMs; each VM's mean over
//! the window, which ranks the busiest and leaves out VMs without a valid reading; the
//! chosen VMs' readings), so memory holds the chosen VMs' series and nothing
//! proportional to the file.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;
use scalelab_sim::Scenario;
use scalelab_sim::rng::Pcg32;
use scalelab_sim::workload::{GapPolicy, TraceSelect, TraceSource, TraceVm, WorkloadSpec};

use crate::inspect::{Inspector, Quality};
use crate::read::natural_cmp;
use crate::resample::{Grid, Reading, resample};
use crate::{Chunk, Shape, TraceError, TraceFormat, col};

/// What loading one group did, for the run's output.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupReport {
    pub group: String,
    pub path: String,
    pub format: TraceFormat,
    /// VMs in the whole trace / with readings in the window.
    pub trace_vms: usize,
    pub window_vms: usize,
    pub selected: usize,
    pub select: TraceSelect,
    /// VMs left out because of a gap (`gap = "drop"`).
    pub dropped_for_gaps: usize,
    pub window_start_s: i64,
    pub samples_per_vm: usize,
    pub interval_s: u64,
    /// Grid cells filled across a gap, over all selected VMs.
    pub gap_samples: u64,
    pub cpu_quality: Quality,
    pub memory_quality: Option<Quality>,
    /// VMs whose vCPUs and memory came from the trace.
    pub shaped: usize,
}

impl fmt::Display for GroupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "trace {}: {} ({}), {} of {} VMs ({}{}), window from {} s, {} samples of {} s each; \
             {} samples filled across gaps; cpu: {} invalid, {} clamped",
            self.group,
            self.path,
            self.format.as_str(),
            self.selected,
            self.window_vms,
            format!("{:?}", self.select).to_lowercase(),
            if self.dropped_for_gaps > 0 {
                format!(", {} dropped for gaps", self.dropped_for_gaps)
            } else {
                String::new()
            },
            self.window_start_s,
            self.samples_per_vm,
            self.interval_s,
            self.gap_samples,
            self.cpu_quality.invalid,
            self.cpu_quality.clamped,
        )?;
        if let Some(m) = &self.memory_quality {
            write!(f, "; memory: {} invalid, {} clamped", m.invalid, m.clamped)?;
        }
        if self.shaped > 0 {
            write!(f, "; {} VM shapes from the trace", self.shaped)?;
        }
        Ok(())
    }
}

/// Resolve a trace path against the data directory.
pub fn resolve(data_dir: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        data_dir.join(p)
    }
}

/// The trace files a scenario needs that are not there, with a hint where to get them.
pub fn missing(sc: &Scenario, data_dir: &Path) -> Option<TraceError> {
    let mut missing = Vec::new();
    let mut format = None;
    for g in &sc.vms {
        if let WorkloadSpec::Trace(t) = &g.workload {
            for p in std::iter::once(&t.path).chain(&t.vmtable) {
                let full = resolve(data_dir, p);
                if !full.exists() {
                    missing.push(full);
                    format = format.or(t.format);
                }
            }
        }
    }
    (!missing.is_empty()).then_some(TraceError::Missing { missing, format })
}

/// Load every trace group of `sc` (setting its `count` and series) and re-validate.
pub fn load_scenario(sc: &mut Scenario, data_dir: &Path) -> Result<Vec<GroupReport>, TraceError> {
    if let Some(e) = missing(sc, data_dir) {
        return Err(e);
    }
    let dt = sc.sample_interval_s() as i64;
    let duration = sc.duration_s as i64;
    let mut reports = Vec::new();
    for (i, g) in sc.vms.iter_mut().enumerate() {
        let WorkloadSpec::Trace(t) = &mut g.workload else {
            continue;
        };
        let label = format!("vms[{i}] {}", g.name);
        let (series, report) = load_group(t, g.count as usize, dt, duration, data_dir, &label)?;
        g.count = series.len() as u32;
        t.series = Some(Arc::new(series));
        reports.push(report);
    }
    sc.validate().map_err(|e| TraceError::Invalid {
        path: PathBuf::from(&sc.name),
        message: format!("after loading traces: {e}"),
    })?;
    Ok(reports)
}

/// A reading checked and clamped, counted in `total` when it lies in the window; NaN
/// when invalid.
fn checked(total: &mut Quality, v: Option<f64>, in_window: bool) -> f32 {
    let mut q = Quality::default();
    let v = q.take(v);
    if in_window {
        total.invalid += q.invalid;
        total.clamped += q.clamped;
    }
    v.map_or(f32::NAN, |v| v as f32)
}

fn err(path: &Path, e: PolarsError) -> TraceError {
    TraceError::invalid(path, e.to_string())
}

/// Iterate a canonical chunk's rows as (vm code, t, cpu, memory).
fn rows(
    chunk: &Chunk<'_>,
    mut f: impl FnMut(usize, i64, Option<f64>, Option<f64>),
) -> PolarsResult<()> {
    let df = &chunk.df;
    let ids = df.column(col::VM)?.u32()?;
    let ts = df.column(col::TIMESTAMP)?.i64()?;
    let cpu = df.column(col::CPU)?.f64()?;
    let mut mem = match df.column(col::MEMORY) {
        Ok(c) => Some(c.f64()?.iter()),
        Err(_) => None,
    };
    for ((id, t), c) in ids.iter().zip(ts.iter()).zip(cpu.iter()) {
        let m = mem.as_mut().and_then(|m| m.next()).flatten();
        if let (Some(id), Some(t)) = (id, t) {
            f(id as usize, t, c, m);
        }
    }
    Ok(())
}

fn load_group(
    t: &TraceSource,
    count: usize,
    dt: i64,
    duration: i64,
    data_dir: &Path,
    label: &str,
) -> Result<(Vec<TraceVm>, GroupReport), TraceError> {
    let path = resolve(data_dir, &t.path);
    let src = crate::open(&path, t.format)?;
    let invalid = |m: String| TraceError::invalid(&path, format!("{label}: {m}"));

    // Pass 1: span, VMs, interval.
    let mut ins = Inspector::default();
    src.scan(&mut |chunk| ins.add(chunk).map_err(|e| err(&path, e)))?;
    let Some((first, last)) = ins.span_s() else {
        return Err(invalid("the trace has no readings".into()));
    };
    let interval = ins.interval_s().unwrap_or(dt).max(1);
    let start = first + t.offset_s as i64;
    let data_end = last + interval;
    if start >= data_end {
        return Err(invalid(format!(
            "offset_s = {} starts after the trace's last reading ({} s after its first)",
            t.offset_s,
            last - first
        )));
    }
    let mut end = start + duration;
    if end > data_end {
        if !t.repeat {
            return Err(invalid(format!(
                "the trace covers {} s from the window start (offset_s = {}) but the scenario \
                 runs {duration} s; set repeat = true to loop it, or shorten duration_s",
                data_end - start,
                t.offset_s
            )));
        }
        end = data_end;
    }
    let cells = ((end - start) as u64).div_ceil(dt as u64).max(1) as usize;
    let grid = Grid {
        start_s: start,
        dt_s: dt,
        cells,
        trace_interval_s: interval,
    };
    let names = ins.names();
    let mut candidates: Vec<usize> = (0..names.len())
        .filter(|&k| {
            let (a, b) = ins.vm_span_s(k);
            a < end && b >= start
        })
        .collect();
    candidates.sort_by(|&a, &b| natural_cmp(&names[a], &names[b]));

    // Pass 2: per candidate, the window's mean (VMs whose every reading in the window is
    // invalid are no candidates) and, for drop, whether it has a gap.
    let mut dropped = 0;
    let mut means: HashMap<usize, f64> = HashMap::new();
    {
        // Codes are the same on every scan of a trace, so they index directly.
        let mut want = vec![false; names.len()];
        for &k in &candidates {
            want[k] = true;
        }
        let mut acc: HashMap<usize, (f64, u64, Vec<Reading>)> = HashMap::new();
        let check_gaps = t.gap == GapPolicy::Drop;
        src.scan(&mut |chunk| {
            rows(chunk, |k, ts, c, _| {
                if ts < start - 2 * interval
                    || ts >= end + 2 * interval
                    || !want.get(k).copied().unwrap_or(false)
                {
                    return;
                }
                let e = acc.entry(k).or_default();
                if let Some(c) = c.filter(|c| c.is_finite())
                    && ts >= start
                    && ts < end
                {
                    e.0 += c.clamp(0.0, 100.0);
                    e.1 += 1;
                }
                if check_gaps {
                    e.2.push((ts, c.unwrap_or(f64::NAN) as f32));
                }
            })
            .map_err(|e| err(&path, e))
        })?;
        for (&k, (sum, n, _)) in &acc {
            if *n > 0 {
                means.insert(k, sum / *n as f64);
            }
        }
        candidates.retain(|k| means.contains_key(k));
        if check_gaps {
            candidates.retain(|k| {
                let keep = acc
                    .get_mut(k)
                    .and_then(|e| resample(&mut e.2, &grid, GapPolicy::Drop))
                    .is_some();
                dropped += usize::from(!keep);
                keep
            });
        }
    }

    // VMs with valid readings in the window (before drop's gap screening).
    let window_vms = candidates.len() + dropped;
    let need = |what: &str| {
        if count > candidates.len() {
            Err(invalid(format!(
                "count = {count} {what} VMs asked for, but the window has only {}{}",
                candidates.len(),
                if dropped > 0 {
                    format!(" without gaps ({dropped} dropped)")
                } else {
                    String::new()
                }
            )))
        } else {
            Ok(())
        }
    };
    let chosen: Vec<usize> = match t.select {
        TraceSelect::All => candidates.clone(),
        TraceSelect::Busiest => {
            need("busiest")?;
            let mut c = candidates.clone();
            c.sort_by(|a, b| {
                let (ma, mb) = (means.get(a).unwrap_or(&0.0), means.get(b).unwrap_or(&0.0));
                mb.total_cmp(ma)
                    .then_with(|| natural_cmp(&names[*a], &names[*b]))
            });
            c.truncate(count);
            c
        }
        TraceSelect::Sample => {
            need("sampled")?;
            let mut c = candidates.clone();
            let mut rng = Pcg32::new(t.sample_seed, 0x7ace);
            for i in 0..count {
                let j = i + rng.below((c.len() - i) as u64) as usize;
                c.swap(i, j);
            }
            c.truncate(count);
            c
        }
        TraceSelect::Ids => {
            let by_name: HashMap<&str, usize> = names
                .iter()
                .enumerate()
                .map(|(k, n)| (n.as_str(), k))
                .collect();
            let mut c = Vec::new();
            for id in &t.ids {
                let Some(&k) = by_name.get(id.as_str()) else {
                    return Err(invalid(format!("VM {id:?} is not in the trace")));
                };
                if !candidates.contains(&k) {
                    return Err(invalid(format!(
                        "VM {id:?} has no usable readings in the window"
                    )));
                }
                c.push(k);
            }
            c
        }
    };
    if chosen.is_empty() {
        return Err(invalid(
            "no VM of the trace has readings in the window".into(),
        ));
    }

    // Pass 3: the chosen VMs' readings around the window.
    let mut slot: Vec<Option<usize>> = vec![None; names.len()];
    for (i, &k) in chosen.iter().enumerate() {
        slot[k] = Some(i);
    }
    let mut cpu: Vec<Vec<Reading>> = vec![Vec::new(); chosen.len()];
    let mut mem: Vec<Vec<Reading>> = vec![Vec::new(); chosen.len()];
    let (mut cpu_q, mut mem_q) = (Quality::default(), Quality::default());
    let mut has_memory = false;
    src.scan(&mut |chunk| {
        has_memory |= chunk.df.column(col::MEMORY).is_ok();
        rows(chunk, |k, ts, c, m| {
            if ts < start - 2 * interval || ts >= end + 2 * interval {
                return;
            }
            let Some(i) = slot.get(k).copied().flatten() else {
                return;
            };
            let in_window = ts >= start && ts < end;
            cpu[i].push((ts, checked(&mut cpu_q, c, in_window)));
            if has_memory {
                mem[i].push((ts, checked(&mut mem_q, m, in_window)));
            }
        })
        .map_err(|e| err(&path, e))
    })?;

    let shapes: HashMap<String, Shape> = if t.shape_from_trace {
        let ids: BTreeSet<String> = chosen.iter().map(|&k| names[k].clone()).collect();
        match (src.format, &t.vmtable) {
            (TraceFormat::Bitbrains, _) => crate::bitbrains::shapes(&src.files, &ids)?,
            (TraceFormat::Azure, Some(vt)) => crate::azure::shapes(&resolve(data_dir, vt), &ids)?,
            (f, _) => {
                return Err(invalid(format!(
                    "shape_from_trace: the {} format has no VM sizes (Bitbrains has them, \
                     Azure with a vmtable)",
                    f.as_str()
                )));
            }
        }
    } else {
        HashMap::new()
    };

    let mut out = Vec::with_capacity(chosen.len());
    let mut gap_samples = 0;
    let mut shaped = 0;
    // With drop, VMs were screened in pass 2; what is filled here is ordinary upsampling.
    let policy = if t.gap == GapPolicy::Drop {
        GapPolicy::Hold
    } else {
        t.gap
    };
    for (i, &k) in chosen.iter().enumerate() {
        let Some((c, gaps)) = resample(&mut cpu[i], &grid, policy) else {
            return Err(invalid(format!(
                "VM {:?} has no valid CPU reading in the window",
                names[k]
            )));
        };
        gap_samples += gaps;
        let m = resample(&mut mem[i], &grid, policy).map(|(m, _)| m);
        let shape = shapes.get(&names[k]).copied().unwrap_or_default();
        shaped += usize::from(shape.vcpus.is_some() || shape.memory_mib.is_some());
        let (first, last) = ins.vm_span_s(k);
        let window = (end - start) as u64;
        let span_s = if t.repeat {
            (0, duration.max(0) as u64)
        } else {
            (
                (first - start).max(0) as u64,
                ((last + interval - start).max(0) as u64).min(window),
            )
        };
        out.push(TraceVm {
            span_s,
            trace_id: names[k].clone(),
            interval_s: dt as u64,
            cpu: c.into_iter().map(|v| v / 100.0).collect(),
            memory: m.map(|m| m.into_iter().map(|v| v / 100.0).collect()),
            vcpus: shape.vcpus,
            memory_mib: shape.memory_mib,
        });
    }
    let report = GroupReport {
        group: label.to_string(),
        path: t.path.clone(),
        format: src.format,
        trace_vms: names.len(),
        window_vms,
        selected: out.len(),
        select: t.select,
        dropped_for_gaps: dropped,
        window_start_s: start,
        samples_per_vm: cells,
        interval_s: dt as u64,
        gap_samples,
        cpu_quality: cpu_q,
        memory_quality: has_memory.then_some(mem_q),
        shaped,
    };
    Ok((out, report))
}
