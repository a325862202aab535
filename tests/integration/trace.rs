//! `scalelab trace inspect|convert` and trace-driven runs.

use crate::util::{TempDir, assert_one_line_error, bin, scalelab, stderr, stdout};

const BB: &str = "crates/traces/tests/fixtures/bitbrains";

#[test]
fn inspect_prints_what_a_trace_holds() {
    let o = scalelab(&["trace", "inspect", BB]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "(bitbrains)",
        "VMs         2",
        "readings    12",
        "interval    300 s",
        "gaps        1 in 1 VMs, longest 1500 s",
        "0 invalid, 1 clamped",
        "memory      mean 37.50 %",
    ] {
        assert!(out.contains(needle), "{needle:?} missing in\n{out}");
    }
    let o = scalelab(&["trace", "inspect", BB, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(v["vms"], 2);
    assert_eq!(v["cpu_quality"]["clamped"], 1);
}

#[test]
fn convert_writes_the_generic_format() {
    let t = TempDir::new("convert");
    let out = t.path("bb.parquet");
    let o = scalelab(&["trace", "convert", BB, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("wrote 12 readings"), "{}", stdout(&o));
    let o = scalelab(&["trace", "inspect", out.to_str().unwrap()]);
    let text = stdout(&o);
    assert!(
        text.contains("(generic)") && text.contains("VMs         2"),
        "{text}"
    );
    let csv = t.path("bb.csv");
    let o = scalelab(&["trace", "convert", BB, "-o", csv.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let body = std::fs::read_to_string(&csv).unwrap();
    assert!(body.starts_with("vm_id,timestamp,cpu,memory\n"), "{body}");
}

#[test]
fn bad_traces_and_flags_are_one_line_errors() {
    let t = TempDir::new("badtrace");
    let f = t.write("r.csv", "0,vm1,1,2,3\n300,vm1,oops,2,3\n");
    let o = scalelab(&["trace", "inspect", f.to_str().unwrap(), "--format", "azure"]);
    assert_one_line_error(&o, &["r.csv:2", "oops"]);
    let o = scalelab(&["trace", "inspect", BB, "--format", "excel"]);
    assert_one_line_error(&o, &["--format", "excel", "planetlab"]);
    let o = scalelab(&["trace", "inspect", "no/such/trace"]);
    assert_one_line_error(&o, &["no/such/trace", "missing"]);
}

#[test]
fn trace_scenarios_without_data_say_what_is_missing_and_where_to_get_it() {
    let t = TempDir::new("nodata");
    let db = t.path("s.db");
    let o = bin()
        .args([
            "--db",
            db.to_str().unwrap(),
            "run",
            "scenarios/planetlab-day.toml",
        ])
        .env("SCALELAB_TRACE_DIR", t.path("empty"))
        .output()
        .unwrap();
    assert_one_line_error(
        &o,
        &[
            "planetlab-day.toml",
            "planetlab/20110303",
            "github.com/beloglazov/planetlab-workload-traces",
            "SCALELAB_TRACE_DIR",
        ],
    );
}

#[test]
fn trace_scenarios_run_and_store_with_a_trace_dir() {
    let t = TempDir::new("tracerun");
    let day = t.0.join("planetlab/20110303");
    std::fs::create_dir_all(&day).unwrap();
    for v in 0..130u64 {
        let text: String = (0..288u64)
            .map(|i| format!("{}\n", (v * 13 + i * 7) % 90))
            .collect();
        std::fs::write(day.join(format!("vm{v}")), text).unwrap();
    }
    let db = t.path("s.db");
    let out = t.path("pl.run.json");
    let o = bin()
        .args([
            "--db",
            db.to_str().unwrap(),
            "--trace-dir",
            t.0.to_str().unwrap(),
            "run",
            "scenarios/planetlab-day.toml",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("trace vms[0] pl: planetlab/20110303 (planetlab), 120 of 130 VMs (busiest)"),
        "{err}"
    );
    assert!(stdout(&o).contains("130 VMs on 10 nodes"), "{}", stdout(&o));
    let rec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let text = serde_json::to_string(&rec).unwrap();
    assert!(
        !text.contains(t.0.to_str().unwrap()),
        "the run record does not leak the machine's trace path"
    );
}
