//! Each reader on small fixtures written in the exact public formats (tests/fixtures),
//! format detection, errors that name the file and line, and conversion round trips.

use std::path::{Path, PathBuf};

use scalelab_traces::inspect::{Report, inspect};
use scalelab_traces::{TraceError, TraceFormat, convert, open};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("scalelab-traces-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn report(rel: &str, format: Option<TraceFormat>) -> Report {
    let src = open(&fixtures().join(rel), format).unwrap();
    inspect(&src).unwrap()
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

#[test]
fn planetlab_files_line_up_in_time() {
    let r = report("planetlab", None);
    assert_eq!(r.format, "planetlab");
    assert_eq!((r.files, r.vms, r.rows), (3, 3, 12));
    assert_eq!(
        (r.start_s, r.end_s, r.interval_s),
        (Some(0), Some(900), Some(300))
    );
    let cpu = r.cpu.unwrap();
    close(cpu.mean, 470.0 / 12.0);
    assert_eq!((cpu.p50, cpu.max), (30.0, 95.0));
    assert_eq!(
        (r.gaps, r.cpu_quality.invalid, r.cpu_quality.clamped),
        (0, 0, 0)
    );
    assert!(r.memory.is_none() && r.memory_quality.is_none());
}

/// Hundreds of files (several parallel batches) come back in natural name order with
/// their own rows, whatever worker read them: plain, gzip, empty, a large file, CRLF.
#[test]
fn planetlab_many_files_keep_their_order_and_rows() {
    use std::io::Write;
    let dir = tmp("pl-many");
    let n = 700;
    let mut expect: Vec<Vec<f64>> = Vec::new();
    let mut disk = 0;
    for k in 0..n {
        let rows = match k {
            450 => 0,
            300 => 30_000,
            _ => 1 + k % 5,
        };
        let vals: Vec<f64> = (0..rows).map(|i| ((k * 7 + i) % 101) as f64).collect();
        let nl = if k % 3 == 0 { "\r\n" } else { "\n" };
        let text: String = vals.iter().map(|v| format!("{v}{nl}")).collect();
        let bytes = if k == 37 {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(text.as_bytes()).unwrap();
            enc.finish().unwrap()
        } else {
            text.into_bytes()
        };
        disk += bytes.len() as u64;
        std::fs::write(dir.join(format!("vm{k}")), bytes).unwrap();
        expect.push(vals);
    }
    let src = open(&dir, Some(TraceFormat::Planetlab)).unwrap();
    let mut got: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut names = Vec::new();
    src.scan(&mut |c| {
        let vm = c.df.column("vm").unwrap().u32().unwrap();
        let ts = c.df.column("timestamp").unwrap().i64().unwrap();
        let cpu = c.df.column("cpu").unwrap().f64().unwrap();
        for ((k, t), v) in vm
            .into_no_null_iter()
            .zip(ts.into_no_null_iter())
            .zip(cpu.into_no_null_iter())
        {
            let vals = &mut got[k as usize];
            assert_eq!(t, 300 * vals.len() as i64, "vm{k}");
            vals.push(v);
        }
        names = c.names.to_vec();
        Ok(())
    })
    .unwrap();
    assert_eq!(got, expect);
    assert_eq!(names, (0..n).map(|k| format!("vm{k}")).collect::<Vec<_>>());
    // The scan counted the bytes on disk (the gzip file's compressed size).
    assert_eq!(src.bytes(), disk);
    let r = inspect(&src).unwrap();
    // The empty file is a VM without readings.
    assert_eq!((r.files, r.vms, r.bytes), (n as u64, n as u64 - 1, disk));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bitbrains_jitter_gaps_and_cpu_above_100() {
    let r = report("bitbrains", None);
    assert_eq!(r.format, "bitbrains");
    assert_eq!((r.vms, r.rows), (2, 12));
    assert_eq!(r.start_s, Some(1_372_629_804), "timestamps are seconds");
    assert_eq!(r.interval_s, Some(300), "jitter does not hide the interval");
    assert_eq!(
        (r.gaps, r.vms_with_gaps, r.longest_gap_s),
        (1, 1, Some(1500))
    );
    assert_eq!(r.cpu_quality.clamped, 1, "107 % is clamped and counted");
    assert_eq!(r.cpu.unwrap().max, 100.0);
    close(r.memory.unwrap().mean, 37.5);
}

#[test]
fn azure_reads_plain_and_gzip_files_and_the_vmtable() {
    let r = report("azure", None);
    assert_eq!(r.format, "azure");
    assert_eq!(
        (r.files, r.vms, r.rows),
        (2, 2, 12),
        "vmtable.csv is not a readings file"
    );
    assert_eq!(
        (r.start_s, r.end_s, r.interval_s),
        (Some(0), Some(1500), Some(300))
    );
    close(r.cpu.unwrap().mean, 60.0);
    let ids = ["x7Kp+q/AbC=".to_string(), "Zz9=".to_string()]
        .into_iter()
        .collect();
    let shapes =
        scalelab_traces::azure::shapes(&fixtures().join("azure/vmtable.csv"), &ids).unwrap();
    assert_eq!(shapes.len(), 2);
    assert_eq!(shapes["x7Kp+q/AbC="].vcpus, Some(4));
    assert_eq!(shapes["x7Kp+q/AbC="].memory_mib, Some(8192));
    assert_eq!(shapes["Zz9="].vcpus, Some(32), ">24 cores");
    assert_eq!(shapes["Zz9="].memory_mib, Some(131_072), ">64 GB");
}

#[test]
fn alibaba_invalid_codes_are_counted_not_used() {
    let r = report("alibaba/machine_usage.csv", None);
    assert_eq!(r.format, "alibaba_machine");
    assert_eq!((r.vms, r.rows), (2, 13));
    assert_eq!(r.cpu_quality.invalid, 3, "-1, 101 and an empty field");
    assert_eq!(r.memory_quality.unwrap().invalid, 2);
    assert_eq!(r.out_of_order, 1);
    assert_eq!(r.interval_s, Some(9));
    let c = report("alibaba/container_usage.csv", None);
    assert_eq!(c.format, "alibaba_container");
    assert_eq!((c.vms, c.rows), (2, 5));
    assert_eq!((c.cpu_quality.invalid, c.cpu_quality.clamped), (1, 1));
}

#[test]
fn generic_csv_by_header_names() {
    let r = report("generic/fleet.csv", None);
    assert_eq!(r.format, "generic");
    assert_eq!((r.vms, r.rows), (2, 10));
    assert_eq!(
        (r.start_s, r.interval_s),
        (Some(0), Some(60)),
        "0.4 s rounds to 0"
    );
    close(r.cpu.unwrap().mean, 32.0);
    close(r.memory.unwrap().mean, 42.5);
}

#[test]
fn conversion_round_trips_through_parquet_and_csv() {
    let dir = tmp("convert");
    for (rel, fmt) in [
        ("planetlab", TraceFormat::Planetlab),
        ("bitbrains", TraceFormat::Bitbrains),
        ("azure", TraceFormat::Azure),
        ("alibaba/machine_usage.csv", TraceFormat::AlibabaMachine),
        ("alibaba/container_usage.csv", TraceFormat::AlibabaContainer),
        ("generic/fleet.csv", TraceFormat::Generic),
    ] {
        let src = open(&fixtures().join(rel), Some(fmt)).unwrap();
        let before = inspect(&src).unwrap();
        for (ext, kind) in [
            ("parquet", convert::OutFormat::Parquet),
            ("csv", convert::OutFormat::Csv),
        ] {
            let out = dir.join(format!("{}.{ext}", fmt.as_str()));
            let f = std::fs::File::create(&out).unwrap();
            let rows = convert::convert(&src, f, kind).unwrap();
            assert_eq!(rows, before.rows, "{rel}");
            let after = inspect(&open(&out, None).unwrap()).unwrap();
            assert_eq!(after.format, "generic");
            // Everything but where it came from is the same.
            let strip = |r: &Report| Report {
                path: String::new(),
                format: String::new(),
                files: 0,
                bytes: 0,
                ..r.clone()
            };
            assert_eq!(strip(&after), strip(&before), "{rel} via {ext}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn format_error(path: &Path, format: Option<TraceFormat>) -> (PathBuf, usize, String) {
    let e = open(path, format).and_then(|s| inspect(&s)).unwrap_err();
    match e {
        TraceError::Format {
            path,
            line,
            message,
        } => (path, line, message),
        other => panic!("expected a format error, got {other}"),
    }
}

#[test]
fn malformed_files_are_named_with_their_line() {
    let dir = tmp("bad");
    let pl = dir.join("pl");
    std::fs::create_dir_all(&pl).unwrap();
    write(&pl, "a", "1\n2\n");
    let bad = write(&pl, "b", "1\n2\nlots\n4\n");
    let (p, line, msg) = format_error(&pl, Some(TraceFormat::Planetlab));
    assert_eq!((p, line), (bad, 3));
    assert!(msg.contains("lots"), "{msg}");

    let az = write(&dir, "az.csv", "0,vm1,1,2,3\n300,vm1,1,2,3\n600,vm1,1\n");
    let (p, line, msg) = format_error(&az, Some(TraceFormat::Azure));
    assert_eq!((p, line), (az.clone(), 3));
    assert!(msg.contains("expected 5 fields"), "{msg}");
    let az2 = write(&dir, "az2.csv", "0,vm1,1,2,3\nx,vm1,1,2,3\n");
    assert_eq!(format_error(&az2, Some(TraceFormat::Azure)).1, 2);

    let bbdir = dir.join("bb");
    std::fs::create_dir_all(&bbdir).unwrap();
    let good = std::fs::read_to_string(fixtures().join("bitbrains/10.csv")).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines[4] = "1372631000;\t1;\tfast;\t1;\t1;\t1;\t1;\t1;\t1;\t1;\t1";
    let bb = write(&bbdir, "7.csv", &(lines.join("\n") + "\n"));
    let (p, line, msg) = format_error(&bb, Some(TraceFormat::Bitbrains));
    assert_eq!((p, line), (bb, 5));
    assert!(msg.contains("fast"), "{msg}");
    let nohdr = write(&bbdir, "8.csv", "1;\t2\n");
    assert_eq!(format_error(&nohdr, Some(TraceFormat::Bitbrains)).1, 1);

    let gen_ = write(&dir, "g.csv", "vm_id,timestamp,cpu\na,0,1\nb,,2\n");
    assert_eq!(format_error(&gen_, Some(TraceFormat::Generic)).1, 3);
    let nocol = write(&dir, "h.csv", "vm,time,cpu\na,0,1\n");
    let (_, line, msg) = format_error(&nocol, Some(TraceFormat::Generic));
    assert_eq!(line, 1);
    assert!(msg.contains("vm_id"), "{msg}");

    // Detection refuses what it cannot tell, naming the file and line 1.
    let odd = write(&dir, "odd.txt", "hello;world\n");
    let (p, line, msg) = format_error(&odd, None);
    assert_eq!((p, line), (odd, 1));
    assert!(msg.contains("--format"), "{msg}");
    // Not a Parquet file at all.
    let fake = write(&dir, "fake.parquet", "vm_id,timestamp,cpu\n");
    let e = open(&fake, None).and_then(|s| inspect(&s)).unwrap_err();
    assert!(e.to_string().contains("fake.parquet"), "{e}");
    // Missing data names the path and where to download it.
    let e = open(&dir.join("nowhere"), Some(TraceFormat::Planetlab)).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("nowhere") && msg.contains("planetlab-workload-traces"),
        "{msg}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn detection_of_every_format() {
    for (rel, want) in [
        ("planetlab", "planetlab"),
        ("planetlab/vm_a", "planetlab"),
        ("bitbrains", "bitbrains"),
        ("bitbrains/2.csv", "bitbrains"),
        ("azure", "azure"),
        ("azure/vm_cpu_readings-file-2-of-2.csv.gz", "azure"),
        ("alibaba/machine_usage.csv", "alibaba_machine"),
        ("alibaba/container_usage.csv", "alibaba_container"),
        ("generic/fleet.csv", "generic"),
    ] {
        let s = open(&fixtures().join(rel), None).unwrap();
        assert_eq!(s.format.as_str(), want, "{rel}");
    }
}
