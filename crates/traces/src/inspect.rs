//! `scalelab trace inspect`: what a trace holds, in one streaming pass whose memory
//! depends on the number of VMs, never on the file size (percentiles come from a
//! histogram with 0.01 % bins, intervals from a histogram of the gaps between a VM's
//! readings).

use std::collections::BTreeMap;
use std::fmt;

use polars::prelude::*;
use serde::Serialize;

use crate::{Chunk, Source, TraceError, col};

/// Percent values in 0.01 % bins: exact percentiles to 0.01 % in 80 KB.
#[derive(Debug, Clone)]
pub struct Histogram {
    bins: Vec<u64>,
    n: u64,
    sum: f64,
    max: f64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            bins: vec![0; 10_001],
            n: 0,
            sum: 0.0,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Histogram {
    pub fn add(&mut self, pct: f64) {
        // Rounded to the nearest bin (values are clamped to 0-100 before they get here).
        let bin = ((pct * 100.0 + 0.5) as usize).min(10_000);
        self.bins[bin] += 1;
        self.n += 1;
        self.sum += pct;
        self.max = self.max.max(pct);
    }

    pub fn percentile(&self, p: f64) -> f64 {
        if self.n == 0 {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.n as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &c) in self.bins.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return i as f64 / 100.0;
            }
        }
        100.0
    }

    pub fn summary(&self) -> Option<Dist> {
        (self.n > 0).then(|| Dist {
            mean: self.sum / self.n as f64,
            p50: self.percentile(50.0),
            p90: self.percentile(90.0),
            p95: self.percentile(95.0),
            p99: self.percentile(99.0),
            max: self.max,
        })
    }
}

/// Percent statistics of valid (clamped) values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Dist {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// Counts of values that were not usable as they stood.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Quality {
    /// Null in the canonical form: a format's invalid code (-1/101) or an empty field.
    pub invalid: u64,
    /// Outside 0-100 and clamped into it.
    pub clamped: u64,
}

impl Quality {
    /// Check one value: `Some(clamped percent)` or `None` when invalid.
    pub fn take(&mut self, v: Option<f64>) -> Option<f64> {
        match v {
            Some(x) if x.is_finite() => {
                if !(0.0..=100.0).contains(&x) {
                    self.clamped += 1;
                }
                Some(x.clamp(0.0, 100.0))
            }
            _ => {
                self.invalid += 1;
                None
            }
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct VmAcc {
    first_t: i64,
    last_t: Option<i64>,
    max_delta: i64,
}

/// Gap lengths above this many seconds share one histogram bin (their exact maximum is
/// kept separately), so the histogram stays bounded whatever the timestamps.
const MAX_DELTA_KEY: i64 = 7 * 86_400;
const SHORT_DELTAS: usize = 4_096;

/// Streaming accumulator behind [`inspect`].
#[derive(Debug, Default)]
pub struct Inspector {
    names: Vec<String>,
    acc: Vec<VmAcc>,
    rows: u64,
    start: Option<i64>,
    end: Option<i64>,
    /// Gaps between a VM's readings up to ~an hour, counted by the second; longer ones in
    /// `long_deltas` (bounded by [`MAX_DELTA_KEY`]).
    deltas: Vec<u64>,
    long_deltas: BTreeMap<i64, u64>,
    longest: i64,
    cpu: Histogram,
    mem: Histogram,
    has_memory: bool,
    cpu_q: Quality,
    mem_q: Quality,
    out_of_order: u64,
    duplicates: u64,
}

impl Inspector {
    pub fn add(&mut self, chunk: &Chunk<'_>) -> PolarsResult<()> {
        let df = &chunk.df;
        if self.names.len() < chunk.names.len() {
            self.names
                .extend_from_slice(&chunk.names[self.names.len()..]);
            self.acc.resize(chunk.names.len(), VmAcc::default());
        }
        if self.deltas.is_empty() {
            self.deltas = vec![0; SHORT_DELTAS];
        }
        let ids = df.column(col::VM)?.u32()?;
        let ts = df.column(col::TIMESTAMP)?.i64()?;
        let cpu = df.column(col::CPU)?.f64()?;
        let mem = match df.column(col::MEMORY) {
            Ok(c) => Some(c.f64()?),
            Err(_) => None,
        };
        self.has_memory |= mem.is_some();
        // Fast path: contiguous columns without nulls are read as plain slices (the
        // usual case; polars' optional iterators cost more than the work per row).
        if let (Ok(k), Ok(t), Ok(c), None) =
            (ids.cont_slice(), ts.cont_slice(), cpu.cont_slice(), &mem)
        {
            // Readings come in runs of one VM's (whole files, or sorted rows): its
            // clock is followed a run at a time and the values in one tight loop.
            let mut i = 0;
            while i < k.len() {
                let run = k[i..].iter().take_while(|&&x| x == k[i]).count();
                self.times(k[i] as usize, &t[i..i + run]);
                i += run;
            }
            self.rows += c.len() as u64;
            for &v in c {
                if let Some(v) = self.cpu_q.take(Some(v)) {
                    self.cpu.add(v);
                }
            }
            return Ok(());
        }
        let mut mem_iter = mem.map(|m| m.iter());
        for ((id, t), c) in ids.iter().zip(ts.iter()).zip(cpu.iter()) {
            let m = mem_iter.as_mut().and_then(|it| it.next()).flatten();
            let (Some(k), Some(t)) = (id, t) else {
                continue;
            };
            let m = if mem_iter.is_some() { Some(m) } else { None };
            self.row(k as usize, t, c, m);
        }
        Ok(())
    }

    /// One reading; `m` is `None` when the trace has no memory column and `Some(None)`
    /// for an invalid memory value.
    #[inline]
    fn row(&mut self, k: usize, t: i64, c: Option<f64>, m: Option<Option<f64>>) {
        self.rows += 1;
        self.times(k, std::slice::from_ref(&t));
        if let Some(v) = self.cpu_q.take(c) {
            self.cpu.add(v);
        }
        if let Some(m) = m
            && let Some(v) = self.mem_q.take(m)
        {
            self.mem.add(v);
        }
    }

    /// One VM's readings' times, in the order read.
    fn times(&mut self, k: usize, ts: &[i64]) {
        let (Some(&lo), Some(&hi)) = (ts.iter().min(), ts.iter().max()) else {
            return;
        };
        self.start = Some(self.start.map_or(lo, |s| s.min(lo)));
        self.end = Some(self.end.map_or(hi, |e| e.max(hi)));
        let a = &mut self.acc[k];
        let (mut first, mut last, mut widest) = match a.last_t {
            Some(last) => (a.first_t, last, a.max_delta),
            None => (ts[0], ts[0], a.max_delta),
        };
        let skip = usize::from(a.last_t.is_none());
        for &t in &ts[skip..] {
            let d = t - last;
            if d < 0 {
                self.out_of_order += 1;
            } else if d == 0 {
                self.duplicates += 1;
            } else {
                if (d as usize) < SHORT_DELTAS {
                    self.deltas[d as usize] += 1;
                } else {
                    *self.long_deltas.entry(d.min(MAX_DELTA_KEY)).or_insert(0) += 1;
                }
                widest = widest.max(d);
                last = t;
            }
            first = first.min(t);
        }
        self.longest = self.longest.max(widest);
        a.first_t = first;
        a.last_t = Some(last);
        a.max_delta = widest;
    }

    /// The most common gap between a VM's readings: robust to the jitter of Bitbrains
    /// (299/300/301 s) and to the occasional outage.
    pub fn interval_s(&self) -> Option<i64> {
        self.deltas
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(d, n)| (d as i64, *n))
            .chain(self.long_deltas.iter().map(|(d, n)| (*d, *n)))
            .max_by_key(|(d, n)| (*n, std::cmp::Reverse(*d)))
            .map(|(d, _)| d)
    }

    /// Readings more than `limit` seconds after their VM's previous one.
    fn gaps_above(&self, limit: i64) -> u64 {
        let short: u64 = self.deltas.iter().skip((limit + 1).max(0) as usize).sum();
        short
            + self
                .long_deltas
                .range(limit + 1..)
                .map(|(_, n)| n)
                .sum::<u64>()
    }

    /// First and last reading of the whole trace.
    pub fn span_s(&self) -> Option<(i64, i64)> {
        self.start.zip(self.end)
    }

    /// Every VM id of the trace, by code.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// First and last reading of VM `k` (an index of [`Self::vms`]).
    pub fn vm_span_s(&self, k: usize) -> (i64, i64) {
        let a = &self.acc[k];
        (a.first_t, a.last_t.unwrap_or(a.first_t))
    }

    pub fn finish(self, source: &Source) -> Report {
        let interval_s = self.interval_s();
        let (gaps, vms_with_gaps) = match interval_s {
            Some(i) => {
                let limit = i + i / 2;
                (
                    self.gaps_above(limit),
                    self.acc.iter().filter(|a| a.max_delta > limit).count() as u64,
                )
            }
            None => (0, 0),
        };
        Report {
            path: source.path.display().to_string(),
            format: source.format.as_str().to_string(),
            files: source.files.len() as u64,
            bytes: source.bytes(),
            vms: self.acc.iter().filter(|a| a.last_t.is_some()).count() as u64,
            rows: self.rows,
            start_s: self.start,
            end_s: self.end,
            interval_s,
            cpu: self.cpu.summary(),
            memory: if self.has_memory {
                self.mem.summary()
            } else {
                None
            },
            cpu_quality: self.cpu_q,
            memory_quality: self.has_memory.then_some(self.mem_q),
            gaps,
            vms_with_gaps,
            longest_gap_s: (self.longest > 0).then_some(self.longest),
            out_of_order: self.out_of_order,
            duplicates: self.duplicates,
        }
    }
}

/// What `trace inspect` prints (text or JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub path: String,
    pub format: String,
    pub files: u64,
    pub bytes: u64,
    pub vms: u64,
    pub rows: u64,
    pub start_s: Option<i64>,
    pub end_s: Option<i64>,
    /// Most common time between two readings of a VM.
    pub interval_s: Option<i64>,
    pub cpu: Option<Dist>,
    pub memory: Option<Dist>,
    pub cpu_quality: Quality,
    pub memory_quality: Option<Quality>,
    /// Readings more than 1.5 intervals after the VM's previous one.
    pub gaps: u64,
    pub vms_with_gaps: u64,
    pub longest_gap_s: Option<i64>,
    /// Readings earlier than the VM's previous one (the loader sorts them).
    pub out_of_order: u64,
    /// Readings at the same time as the VM's previous one (the loader averages them).
    pub duplicates: u64,
}

/// Read a whole trace once and summarize it.
pub fn inspect(source: &Source) -> Result<Report, TraceError> {
    let mut ins = Inspector::default();
    source.scan(&mut |chunk| {
        ins.add(chunk)
            .map_err(|e| TraceError::invalid(&source.path, e.to_string()))
    })?;
    Ok(ins.finish(source))
}

fn duration(s: i64) -> String {
    if s >= 86_400 {
        format!("{s} s ({:.1} days)", s as f64 / 86_400.0)
    } else if s >= 3_600 {
        format!("{s} s ({:.1} h)", s as f64 / 3_600.0)
    } else {
        format!("{s} s")
    }
}

fn dist(f: &mut fmt::Formatter<'_>, name: &str, d: &Option<Dist>) -> fmt::Result {
    match d {
        Some(d) => writeln!(
            f,
            "{name:<12}mean {:.2} %  p50 {:.2} %  p90 {:.2} %  p95 {:.2} %  p99 {:.2} %  max {:.2} %",
            d.mean, d.p50, d.p90, d.p95, d.p99, d.max
        ),
        None => writeln!(f, "{name:<12}none"),
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "trace       {} ({})", self.path, self.format)?;
        writeln!(
            f,
            "files       {} ({:.1} MB)",
            self.files,
            self.bytes as f64 / 1e6
        )?;
        writeln!(f, "VMs         {}", self.vms)?;
        writeln!(f, "readings    {}", self.rows)?;
        match (self.start_s, self.end_s) {
            (Some(a), Some(b)) => writeln!(f, "time span   {a} .. {b} s ({})", duration(b - a))?,
            _ => writeln!(f, "time span   none")?,
        }
        match self.interval_s {
            Some(i) => writeln!(f, "interval    {} (most common)", duration(i))?,
            None => writeln!(f, "interval    unknown (no VM has two readings)")?,
        }
        dist(f, "cpu", &self.cpu)?;
        if self.memory_quality.is_some() {
            dist(f, "memory", &self.memory)?;
        } else {
            writeln!(f, "memory      not in this trace")?;
        }
        writeln!(
            f,
            "gaps        {} in {} VMs{}",
            self.gaps,
            self.vms_with_gaps,
            match self.longest_gap_s {
                Some(l) if self.gaps > 0 => format!(", longest {}", duration(l)),
                _ => String::new(),
            }
        )?;
        let q = |q: &Quality| format!("{} invalid, {} clamped into 0-100 %", q.invalid, q.clamped);
        writeln!(f, "cpu values  {}", q(&self.cpu_quality))?;
        if let Some(m) = &self.memory_quality {
            writeln!(f, "mem values  {}", q(m))?;
        }
        writeln!(
            f,
            "order       {} out of order, {} duplicate timestamps",
            self.out_of_order, self.duplicates
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn chunk(rows: &[(u32, i64, f64)], memory: bool) -> DataFrame {
        let mut cols = vec![
            Column::new(col::VM.into(), rows.iter().map(|r| r.0).collect::<Vec<_>>()),
            Column::new(
                col::TIMESTAMP.into(),
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            ),
            Column::new(
                col::CPU.into(),
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            ),
        ];
        if memory {
            cols.push(Column::new(
                col::MEMORY.into(),
                rows.iter().map(|_| 50.0).collect::<Vec<_>>(),
            ));
        }
        DataFrame::new(rows.len(), cols).unwrap()
    }

    /// The slice path (a VM's run of readings at a time) counts exactly what the
    /// row-at-a-time path counts: gaps, out-of-order and duplicate readings, spans.
    #[test]
    fn runs_of_a_vm_are_counted_as_rows_one_by_one() {
        let mut state = 7u64;
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % n
        };
        let names: Vec<String> = (0..5).map(|k| format!("vm{k}")).collect();
        let mut rows = Vec::new();
        let mut clock = [0i64; 5];
        for _ in 0..3_000 {
            // Runs of one VM; steps forward, repeated, backward and long gaps.
            let k = next(5) as usize;
            for _ in 0..1 + next(20) {
                clock[k] += [300, 300, 300, 0, -600, 301, 7_200, 700_000][next(8) as usize];
                rows.push((k as u32, clock[k], next(12_000) as f64 / 100.0));
            }
        }
        let source = Source {
            path: "t".into(),
            format: crate::TraceFormat::Generic,
            files: Vec::new(),
            disk_bytes: OnceLock::new(),
        };
        let mut fast = Inspector::default();
        for part in rows.chunks(997) {
            fast.add(&Chunk {
                df: chunk(part, false),
                names: &names,
            })
            .unwrap();
        }
        // With a memory column the inspector takes the row-at-a-time path.
        let mut slow = Inspector::default();
        slow.add(&Chunk {
            df: chunk(&rows, true),
            names: &names,
        })
        .unwrap();
        let (a, b) = (fast.finish(&source), slow.finish(&source));
        assert!(a.out_of_order > 0 && a.duplicates > 0 && a.gaps > 0);
        assert_eq!(
            (
                a.rows,
                a.start_s,
                a.end_s,
                a.interval_s,
                a.gaps,
                a.vms_with_gaps
            ),
            (
                b.rows,
                b.start_s,
                b.end_s,
                b.interval_s,
                b.gaps,
                b.vms_with_gaps
            )
        );
        assert_eq!(
            (
                a.longest_gap_s,
                a.out_of_order,
                a.duplicates,
                a.cpu,
                a.cpu_quality
            ),
            (
                b.longest_gap_s,
                b.out_of_order,
                b.duplicates,
                b.cpu,
                b.cpu_quality
            )
        );
    }
}
