//! Trace groups of scenarios: selection, windows, resampling, gap policies, shapes and
//! memory series, errors; and the shipped trace scenarios run with the invariant checker
//! on data generated in their formats (a clone has no real traces).

use scalelab_testkit::runs;

use std::path::{Path, PathBuf};

use scalelab_sim::workload::{TraceVm, WorkloadSpec};
use scalelab_sim::{Scenario, Simulation, scenario};
use scalelab_traces::TraceError;
use scalelab_traces::load::{GroupReport, load_scenario};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn scenario(duration_s: u64, sample_s: u64, workload: &str, extra: &str) -> Scenario {
    let text = format!(
        r#"
name = "t"
duration_s = {duration_s}
control_interval_s = {sample_s}
sample_interval_s = {sample_s}

[[nodes]]
name = "n"
count = 4
cores = 64
memory_mib = 1048576
nic_mbps = 10000

[[vms]]
name = "tr"
vcpus = 2
memory_mib = 1024
{extra}
workload = {workload}

[[vms]]
name = "synthetic"
count = 2
vcpus = 1
memory_mib = 1024
workload = {{ kind = "constant", level = 0.3 }}
"#
    );
    Scenario::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn load(sc: &mut Scenario) -> Result<Vec<GroupReport>, TraceError> {
    load_scenario(sc, &fixtures())
}

fn series(sc: &Scenario) -> Vec<TraceVm> {
    match &sc.vms[0].workload {
        WorkloadSpec::Trace(t) => t.series.as_ref().unwrap().as_ref().clone(),
        w => panic!("not a trace: {w:?}"),
    }
}

fn ids(v: &[TraceVm]) -> Vec<&str> {
    v.iter().map(|t| t.trace_id.as_str()).collect()
}

fn approx(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
    }
}

#[test]
fn all_busiest_sample_and_ids_select_vms() {
    let pl = r#"{ kind = "trace", path = "planetlab", format = "planetlab" }"#;
    let mut sc = scenario(1200, 300, pl, "");
    let rep = load(&mut sc).unwrap();
    assert_eq!(sc.vms[0].count, 3, "select = all sets the count");
    let s = series(&sc);
    assert_eq!(ids(&s), ["vm_a", "vm_b", "vm_c"]);
    approx(&s[0].cpu, &[0.1, 0.2, 0.3, 0.4]);
    approx(&s[1].cpu, &[0.05, 0.05, 0.95, 0.05]);
    assert!(s[0].memory.is_none());
    assert_eq!(
        (rep[0].trace_vms, rep[0].selected, rep[0].gap_samples),
        (3, 3, 0)
    );

    let busiest = r#"{ kind = "trace", path = "planetlab", select = "busiest" }"#;
    let mut sc = scenario(1200, 300, busiest, "count = 2");
    load(&mut sc).unwrap();
    assert_eq!(ids(&series(&sc)), ["vm_c", "vm_b"], "means 65 > 27.5 > 25");

    let sample = r#"{ kind = "trace", path = "planetlab", select = "sample", sample_seed = 9 }"#;
    let picks: Vec<Vec<String>> = (0..2)
        .map(|_| {
            let mut sc = scenario(1200, 300, sample, "count = 2");
            load(&mut sc).unwrap();
            series(&sc).iter().map(|t| t.trace_id.clone()).collect()
        })
        .collect();
    assert_eq!(picks[0], picks[1], "the same seed picks the same VMs");
    assert_eq!(picks[0].len(), 2);
    let other = (0..20).any(|seed| {
        let w = sample.replace("sample_seed = 9", &format!("sample_seed = {seed}"));
        let mut sc = scenario(1200, 300, &w, "count = 2");
        load(&mut sc).unwrap();
        ids(&series(&sc)) != picks[0]
    });
    assert!(other, "other seeds pick other VMs");

    let by_id = r#"{ kind = "trace", path = "planetlab", select = "ids", ids = ["vm_c", "vm_a"] }"#;
    let mut sc = scenario(1200, 300, by_id, "");
    load(&mut sc).unwrap();
    assert_eq!(ids(&series(&sc)), ["vm_c", "vm_a"]);

    let e = load(&mut scenario(
        1200,
        300,
        &by_id.replace("vm_a", "vm_zz"),
        "",
    ))
    .unwrap_err();
    assert!(e.to_string().contains("vm_zz"), "{e}");
    let e = load(&mut scenario(1200, 300, busiest, "count = 5")).unwrap_err();
    assert!(e.to_string().contains("count = 5"), "{e}");
}

#[test]
fn windows_resampling_and_repeat() {
    let pl = r#"{ kind = "trace", path = "planetlab", select = "ids", ids = ["vm_a"] }"#;
    // Upsampled to 60 s: held for five samples each.
    let mut sc = scenario(1200, 60, pl, "");
    load(&mut sc).unwrap();
    let s = series(&sc);
    assert_eq!(s[0].interval_s, 60);
    assert_eq!(s[0].cpu.len(), 20);
    approx(&s[0].cpu[3..7], &[0.1, 0.1, 0.2, 0.2]);
    // Interpolated instead.
    let mut sc = scenario(
        1200,
        60,
        &pl.replace(" }", r#", gap = "interpolate" }"#),
        "",
    );
    load(&mut sc).unwrap();
    approx(
        &series(&sc)[0].cpu[0..6],
        &[0.1, 0.12, 0.14, 0.16, 0.18, 0.2],
    );
    // Downsampled to 600 s: means of two readings.
    let mut sc = scenario(1200, 600, pl, "");
    load(&mut sc).unwrap();
    approx(&series(&sc)[0].cpu, &[0.15, 0.35]);
    // A window by offset.
    let mut sc = scenario(600, 300, &pl.replace(" }", ", offset_s = 300 }"), "");
    load(&mut sc).unwrap();
    approx(&series(&sc)[0].cpu, &[0.2, 0.3]);
    // Longer than the data: refused unless repeated.
    let e = load(&mut scenario(3600, 300, pl, "")).unwrap_err();
    assert!(e.to_string().contains("repeat = true"), "{e}");
    let mut sc = scenario(3600, 300, &pl.replace(" }", ", repeat = true }"), "");
    load(&mut sc).unwrap();
    approx(&series(&sc)[0].cpu, &[0.1, 0.2, 0.3, 0.4]);
    let e = load(&mut scenario(
        600,
        300,
        &pl.replace(" }", ", offset_s = 5000 }"),
        "",
    ))
    .unwrap_err();
    assert!(e.to_string().contains("offset_s"), "{e}");
}

#[test]
fn gap_policies_shapes_and_memory_from_bitbrains() {
    let bb = r#"{ kind = "trace", path = "bitbrains", shape_from_trace = true }"#;
    let mut sc = scenario(2700, 300, bb, "");
    let rep = load(&mut sc).unwrap();
    let s = series(&sc);
    assert_eq!(ids(&s), ["2", "10"]);
    // VM 2: 10; mean(20, 100 clamped); held 100; 40; held across the 1,500 s gap; 50.
    approx(&s[0].cpu, &[0.1, 0.6, 1.0, 0.4, 0.4, 0.4, 0.4, 0.4, 0.5]);
    approx(s[0].memory.as_ref().unwrap(), &[0.5; 9]);
    approx(s[1].memory.as_ref().unwrap(), &[0.25; 9]);
    assert_eq!((s[0].vcpus, s[0].memory_mib), (Some(2), Some(8192)));
    assert_eq!((s[1].vcpus, s[1].memory_mib), (Some(1), Some(4096)));
    let r = &rep[0];
    assert_eq!(
        r.gap_samples, 6,
        "4 in VM 2's hole, 2 after VM 10's last reading"
    );
    assert_eq!((r.cpu_quality.clamped, r.shaped), (1, 2));
    assert!(r.memory_quality.is_some());

    let mut sc = scenario(
        2700,
        300,
        &bb.replace(" }", r#", gap = "interpolate" }"#),
        "",
    );
    load(&mut sc).unwrap();
    approx(&series(&sc)[0].cpu[3..8], &[0.4, 0.42, 0.44, 0.46, 0.48]);

    // Drop leaves out VMs with a gap in the window, and says so.
    let drop = bb.replace(" }", r#", gap = "drop" }"#);
    let mut sc = scenario(900, 300, &drop, "");
    load(&mut sc).unwrap();
    assert_eq!(series(&sc).len(), 2, "no gap in the first 900 s");
    let mut sc = scenario(1800, 300, &drop, "");
    let rep = load(&mut sc).unwrap();
    assert_eq!(ids(&series(&sc)), ["10"]);
    assert_eq!(rep[0].dropped_for_gaps, 1);

    // Shapes need a format that has them.
    let e = load(&mut scenario(
        600,
        300,
        r#"{ kind = "trace", path = "planetlab", shape_from_trace = true }"#,
        "",
    ))
    .unwrap_err();
    assert!(e.to_string().contains("no VM sizes"), "{e}");
    let az = r#"{ kind = "trace", path = "azure", vmtable = "azure/vmtable.csv", shape_from_trace = true }"#;
    let mut sc = scenario(1800, 300, az, "");
    load(&mut sc).unwrap();
    let s = series(&sc);
    // Byte order: upper case first.
    assert_eq!((s[0].trace_id.as_str(), s[0].vcpus), ("Zz9=", Some(32)));
    assert_eq!(
        (s[1].trace_id.as_str(), s[1].vcpus),
        ("x7Kp+q/AbC=", Some(4))
    );
    assert_eq!(
        (s[0].memory_mib, s[1].memory_mib),
        (Some(131_072), Some(8192))
    );
}

#[test]
fn missing_data_names_every_file_and_the_download() {
    let w = r#"{ kind = "trace", path = "nope/20110303", format = "planetlab", vmtable = "nope/vmtable.csv" }"#;
    let e = load(&mut scenario(600, 300, w, "")).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("nope/20110303") && msg.contains("nope/vmtable.csv"),
        "{msg}"
    );
    assert!(msg.contains("github.com/beloglazov"), "{msg}");
}

#[test]
fn trace_vms_run_with_memory_series_and_shapes() {
    let bb = r#"{ kind = "trace", path = "bitbrains", shape_from_trace = true }"#;
    let mut sc = scenario(2700, 300, bb, r#"nodes = ["n-0"]"#);
    load(&mut sc).unwrap();
    sc.sim.check_invariants = true;
    let r = Simulation::new(sc, "h".into(), None)
        .unwrap()
        .run(&mut |_, _| {});
    runs::assert_invariants(&r);
    let vm = |id: &str| r.vms.iter().find(|v| v.id == id).unwrap();
    assert_eq!((vm("tr-0").vcpus, vm("tr-0").memory_mib), (2, 8192));
    assert_eq!((vm("tr-1").vcpus, vm("tr-1").memory_mib), (1, 4096));
    assert_eq!(
        (vm("synthetic-0").vcpus, vm("synthetic-0").memory_mib),
        (1, 1024)
    );
}

/// Write PlanetLab-format files (one integer per line) for `n` VMs.
fn planetlab_day(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut x: u64 = 42;
    for v in 0..n {
        let mut text = String::new();
        let base = (v * 7 % 60) as u64;
        for _ in 0..288 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push_str(&format!("{}\n", (base + (x >> 58)).min(100)));
        }
        std::fs::write(dir.join(format!("host{v}_slice")), text).unwrap();
    }
}

/// Write Bitbrains-format files covering `days` with a gap on day 15.
fn bitbrains_month(dir: &Path, ids: &[&str], days: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let t0 = 1_372_629_804u64;
    for (k, id) in ids.iter().enumerate() {
        let mut text = String::from(
            "Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\tCPU usage [%];\tMemory capacity provisioned [KB];\tMemory usage [KB];\tDisk read throughput [KB/s];\tDisk write throughput [KB/s];\tNetwork received throughput [KB/s];\tNetwork transmitted throughput [KB/s]\n",
        );
        for i in 0..days * 288 {
            if (15 * 288..15 * 288 + 300).contains(&i) {
                continue;
            }
            let t = t0 + i * 300 + (i % 3);
            let cpu = 20.0 + 70.0 * (((i + k as u64 * 50) % 288) as f64 / 288.0);
            text.push_str(&format!(
                "{t};\t{c};\t{mhz}.0;\t{u:.3};\t{cpu:.3};\t{p}.0;\t{m}.0;\t0.0;\t1.0;\t0.5;\t0.5\n",
                c = k + 1,
                mhz = 2400 * (k + 1),
                u = 24.0 * cpu * (k + 1) as f64,
                p = 4_194_304 * (k + 1),
                m = 1_048_576 + 1000 * (i % 100),
            ));
        }
        std::fs::write(dir.join(format!("{id}.csv")), text).unwrap();
    }
}

#[test]
fn shipped_trace_scenarios_run_clean_on_generated_data() {
    let data = std::env::temp_dir().join(format!("scalelab-shipped-traces-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    planetlab_day(&data.join("planetlab/20110303"), 150);
    bitbrains_month(&data.join("bitbrains-rnd/2013-7"), &["1", "407", "12"], 18);
    let dir = runs::scenarios_dir();
    let mut ran = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut sc = Scenario::from_toml_str(&text).unwrap();
        if !sc
            .vms
            .iter()
            .any(|g| matches!(g.workload, WorkloadSpec::Trace(_)))
        {
            continue;
        }
        // Without the data: a clear error, no panic.
        let mut bare = sc.clone();
        let e = load_scenario(&mut bare, &data.join("absent")).unwrap_err();
        assert!(matches!(e, TraceError::Missing { .. }), "{e}");
        let reports =
            load_scenario(&mut sc, &data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!reports.is_empty());
        sc.sim.check_invariants = true;
        let a = Simulation::new(sc.clone(), scenario::content_hash(&text), None)
            .unwrap()
            .run(&mut |_, _| {});
        runs::assert_invariants(&a);
        assert!(a.metrics.vm_ticks > 0);
        let b = Simulation::new(sc, scenario::content_hash(&text), None)
            .unwrap()
            .run(&mut |_, _| {});
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap(),
            "{}: deterministic",
            path.display()
        );
        ran += 1;
    }
    assert!(ran >= 2, "at least two trace scenarios ship, found {ran}");
    std::fs::remove_dir_all(&data).unwrap();
}

#[test]
fn vms_without_a_valid_reading_in_the_window_are_not_candidates() {
    let dir = std::env::temp_dir().join(format!("scalelab-novalid-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // VM "dead" has only invalid (empty) CPU values.
    let mut text = String::from("vm_id,timestamp,cpu\n");
    for k in 0..4 {
        text.push_str(&format!("ok,{},{}\n", 300 * k, 10 * (k + 1)));
        text.push_str(&format!("dead,{},\n", 300 * k));
    }
    std::fs::write(dir.join("g.csv"), text).unwrap();
    let w = r#"{ kind = "trace", path = "g.csv" }"#;
    let mut sc = scenario(1200, 300, w, "");
    let rep = load_scenario(&mut sc, &dir).unwrap();
    assert_eq!(ids(&series(&sc)), ["ok"]);
    assert_eq!((rep[0].trace_vms, rep[0].window_vms), (2, 1));
    assert_eq!(
        rep[0].cpu_quality.invalid, 0,
        "only the chosen VMs' values are counted"
    );
    let e = load_scenario(
        &mut scenario(
            1200,
            300,
            &w.replace(" }", r#", select = "ids", ids = ["dead"] }"#),
            "",
        ),
        &dir,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("\"dead\" has no usable readings"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn each_vm_knows_when_its_readings_start_and_end() {
    let dir = std::env::temp_dir().join(format!("scalelab-span-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // "full" reads at 0..900 s, "late" from 600 s, "early" until 300 s; 300 s apart.
    let mut text = String::from("vm_id,timestamp,cpu\n");
    for k in 0..4 {
        text.push_str(&format!("full,{},20\n", 300 * k));
        if k >= 2 {
            text.push_str(&format!("late,{},30\n", 300 * k));
        }
        if k <= 1 {
            text.push_str(&format!("early,{},40\n", 300 * k));
        }
    }
    std::fs::write(dir.join("g.csv"), text).unwrap();
    let mut sc = scenario(
        1200,
        300,
        r#"{ kind = "trace", path = "g.csv" }"#,
        "count = 3",
    );
    load_scenario(&mut sc, &dir).unwrap();
    let spans: Vec<_> = series(&sc)
        .iter()
        .map(|v| (v.trace_id.clone(), v.span_s))
        .collect();
    // From the first reading to the end of the last one's interval, within the window.
    assert_eq!(
        spans,
        [
            ("early".to_string(), (0, 600)),
            ("full".to_string(), (0, 1200)),
            ("late".to_string(), (600, 1200)),
        ]
    );
    // A window that loops has every VM for the whole run.
    let mut sc = scenario(
        2400,
        300,
        r#"{ kind = "trace", path = "g.csv", repeat = true }"#,
        "count = 3",
    );
    load_scenario(&mut sc, &dir).unwrap();
    assert!(series(&sc).iter().all(|v| v.span_s == (0, 2400)));
    std::fs::remove_dir_all(&dir).unwrap();
}
