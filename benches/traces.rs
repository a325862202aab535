//! Trace reading throughput and memory.
//!
//! Run: `cargo bench --bench traces`. Goals: reading the 1,052 PlanetLab files of one
//! day and a 1 GB Azure readings file at >= 100 MB/s, with peak memory of
//! `scalelab trace inspect` independent of the file's size. PlanetLab is measured twice:
//! `_scan` is the reading alone (files to canonical chunks, what every use pays), the
//! other adds `trace inspect`'s statistics. Criterion prints MiB/s: 100 MB/s is 95.4.
//!
//! Data: `../shared/traces/planetlab/20110303` when present (else 1,052 files in the
//! same format are generated); the Azure file is generated (long format, 2,000 VMs,
//! 300 s readings) under the system temp dir and kept for the next run. Its size is
//! `SCALELAB_TRACE_BENCH_MB` (default 1024; 64 in criterion's `--test` mode, as CI runs).
//! After the timings, the bench runs `scalelab trace inspect` on the file and on one an
//! eighth its size in child processes and prints both peak RSS figures.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput};
use scalelab_traces::{TraceFormat, inspect, open};

fn data_dir() -> PathBuf {
    let d = std::env::temp_dir().join("scalelab-bench-data");
    std::fs::create_dir_all(&d).expect("bench data dir");
    d
}

/// PCG-style generator: the files are the same on every machine.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn planetlab_dir() -> PathBuf {
    let real =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/traces/planetlab/20110303");
    if real.is_dir() {
        return real;
    }
    let dir = data_dir().join("planetlab-20110303-generated");
    if dir.join("vm1051").exists() {
        return dir;
    }
    std::fs::create_dir_all(&dir).expect("planetlab dir");
    let mut r = Lcg(1);
    for v in 0..1052 {
        let mut s = String::new();
        for _ in 0..288 {
            s.push_str(&format!("{}\n", r.next() % 40));
        }
        std::fs::write(dir.join(format!("vm{v}")), s).expect("write");
    }
    dir
}

fn azure_file(mb: u64) -> PathBuf {
    let path = data_dir().join(format!("vm_cpu_readings-{mb}mb.csv"));
    let want = mb << 20;
    if std::fs::metadata(&path).is_ok_and(|m| m.len() >= want) {
        return path;
    }
    let mut r = Lcg(7);
    let vms: Vec<String> = (0..2000)
        .map(|_| {
            (0..4)
                .map(|_| format!("{:010x}", r.next()))
                .collect::<String>()
        })
        .collect();
    let tmp = path.with_extension("tmp");
    let mut w =
        std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp).expect("create"));
    let mut written = 0u64;
    let mut t = 0u64;
    while written < want {
        for v in &vms {
            let avg = (r.next() % 10_000) as f64 / 100.0;
            let line = format!(
                "{t},{v},{:.6},{:.6},{avg:.6}\n",
                avg * 0.5,
                (avg * 1.5).min(100.0)
            );
            written += line.len() as u64;
            w.write_all(line.as_bytes()).expect("write");
        }
        t += 300;
    }
    w.flush().expect("flush");
    drop(w);
    std::fs::rename(&tmp, &path).expect("rename");
    path
}

/// Reading alone: every file into canonical chunks, as `load` and `convert` consume them.
fn scan_all(path: &Path, format: TraceFormat) -> usize {
    let src = open(path, Some(format)).expect("trace opens");
    let mut rows = 0;
    src.scan(&mut |c| {
        rows += c.df.height();
        Ok(())
    })
    .expect("trace reads");
    rows
}

/// Reading and `trace inspect`'s statistics (histograms, gaps) on top.
fn read_all(path: &Path, format: TraceFormat) -> u64 {
    let src = open(path, Some(format)).expect("trace opens");
    inspect::inspect(&src).expect("trace reads").rows
}

/// Peak RSS (VmHWM) of `scalelab trace inspect PATH`, polled from /proc while it runs.
fn peak_rss_kib(path: &Path) -> Option<u64> {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scalelab"))
        .args(["trace", "inspect"])
        .arg(path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let status = format!("/proc/{}/status", child.id());
    let mut peak = None;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status)
            && let Some(l) = s.lines().find(|l| l.starts_with("VmHWM:"))
        {
            peak = l
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse().ok())
                .or(peak);
        }
        if child.try_wait().ok()?.is_some() {
            return peak;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--test");
    let mb: u64 = std::env::var("SCALELAB_TRACE_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 64 } else { 1024 });
    let pl = planetlab_dir();
    let pl_bytes: u64 = std::fs::read_dir(&pl)
        .expect("planetlab dir")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    let az = azure_file(mb);
    let az_bytes = std::fs::metadata(&az).expect("azure file").len();

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    let mut g = c.benchmark_group("traces");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(pl_bytes));
    g.bench_function("planetlab_day_1052_files_scan", |b| {
        b.iter(|| scan_all(&pl, TraceFormat::Planetlab))
    });
    g.bench_function("planetlab_day_1052_files", |b| {
        b.iter(|| read_all(&pl, TraceFormat::Planetlab))
    });
    g.throughput(Throughput::Bytes(az_bytes));
    g.measurement_time(Duration::from_secs(if mb >= 512 { 60 } else { 10 }));
    g.bench_function(format!("azure_readings_{mb}mb"), |b| {
        b.iter(|| read_all(&az, TraceFormat::Azure))
    });
    g.finish();
    c.final_summary();

    let small = azure_file((mb / 8).max(8));
    match (peak_rss_kib(&small), peak_rss_kib(&az)) {
        (Some(a), Some(b)) => println!(
            "peak RSS of `scalelab trace inspect`: {} MiB for {} MB, {} MiB for {} MB",
            a / 1024,
            std::fs::metadata(&small)
                .map(|m| m.len() >> 20)
                .unwrap_or(0),
            b / 1024,
            az_bytes >> 20
        ),
        _ => println!("peak RSS: could not be read from /proc on this machine"),
    }
}
