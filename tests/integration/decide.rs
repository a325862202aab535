use serde_json::Value;

use crate::util::{TempDir, assert_one_line_error, p, scalelab, stdout};

const SAMPLE: &str = "examples/decide-input.json";

fn lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

#[test]
fn decide_on_the_shipped_sample_prints_json_decisions() {
    let o = scalelab(&["decide", "--input", SAMPLE]);
    assert!(o.status.success(), "{o:?}");
    let ds = lines(&stdout(&o));
    // 9 VMs x (cpu, memory)
    assert_eq!(ds.len(), 18);
    let migrations: Vec<_> = ds.iter().filter(|d| d["action"] == "migrate").collect();
    assert!(!migrations.is_empty());
    for m in &migrations {
        let plan = &m["migration_plan"];
        assert_eq!(plan["target_node_id"], m["target_node_id"]);
        assert_eq!(plan["execution_steps"].as_array().unwrap().len(), 5);
        // target_value is the expected utilization after migration: the same number as
        // the plan's, not one an executor would see as a mismatch.
        let tv = m["target_value"].as_f64().unwrap();
        let expected = plan["expected_utilization_improvement"]["expected_utilization"]
            .as_f64()
            .unwrap();
        assert_eq!(tv, expected);
        assert!(tv < m["current_value"].as_f64().unwrap());
    }
    // Same input, same output.
    assert_eq!(
        stdout(&scalelab(&["decide", "--input", SAMPLE])),
        stdout(&o)
    );
}

#[test]
fn legacy_flag_prints_legacy_maps() {
    let o = scalelab(&["decide", "--input", SAMPLE, "--legacy"]);
    assert!(o.status.success());
    for m in lines(&stdout(&o)) {
        let is_migrate = m["action"] == "migrate";
        assert_eq!(m.get("migration_details").is_some(), is_migrate);
        assert_eq!(m.get("target_node_id").is_some(), is_migrate);
        assert!(m.get("migration_plan").is_none());
    }
}

#[test]
fn a_policy_file_changes_the_decisions() {
    let dir = TempDir::new("policy");
    // Thresholds above anything in the sample: nothing migrates.
    let pol = dir.write(
        "strict.toml",
        "migrate_avg = 0.9\nmigrate_current = 0.95\n[planner]\ntarget_cpu_ceiling = 0.7\n",
    );
    let o = scalelab(&["decide", "--input", SAMPLE, "--policy", p(&pol)]);
    assert!(o.status.success(), "{o:?}");
    assert!(lines(&stdout(&o)).iter().all(|d| d["action"] != "migrate"));
}

#[test]
fn bad_input_is_one_line_naming_file_and_field() {
    let dir = TempDir::new("bad");
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(crate::util::root().join(SAMPLE)).unwrap())
            .unwrap();
    v["cluster"]["vms"][2]["node_id"] = "node-99".into();
    let f = dir.write("unknown-node.json", &v.to_string());
    let o = scalelab(&["decide", "--input", p(&f)]);
    assert_one_line_error(
        &o,
        &["unknown-node.json", "cluster.vms[2].node_id", "node-99"],
    );

    v["cluster"]["vms"][2]["node_id"] = "node-01".into();
    v["cluster"]["nodes"][1]["cores"] = (-8).into();
    let f = dir.write("negative.json", &v.to_string());
    let o = scalelab(&["decide", "--input", p(&f)]);
    assert_one_line_error(&o, &["negative.json", "cluster.nodes[1].cores", "> 0"]);

    let f = dir.write(
        "nan.json",
        "{\n\"timestamp_ms\": 1,\n\"sample_interval_s\": NaN\n}",
    );
    let o = scalelab(&["decide", "--input", p(&f)]);
    assert_one_line_error(&o, &["nan.json", "line 3"]);

    let f = dir.write(
        "missing.json",
        "{\"timestamp_ms\": 1, \"sample_interval_s\": 300}",
    );
    let o = scalelab(&["decide", "--input", p(&f)]);
    assert_one_line_error(&o, &["missing.json", "missing field `cluster`"]);

    let o = scalelab(&["decide", "--input", "no/such/file.json"]);
    assert_one_line_error(&o, &["no/such/file.json", "cannot read"]);
}

#[test]
fn bad_policy_is_one_line_naming_file_and_field() {
    let dir = TempDir::new("badpolicy");
    let f = dir.write("p.toml", "[planner]\ntarget_cpu_ceiling = 0.9\n");
    let o = scalelab(&["decide", "--input", SAMPLE, "--policy", p(&f)]);
    assert_one_line_error(
        &o,
        &["p.toml", "planner.target_cpu_ceiling", "migrate_current"],
    );
    let f = dir.write("q.toml", "migrate_avg = 0.7\nsurprise = 1\n");
    let o = scalelab(&["policy", "--policy", p(&f)]);
    assert_one_line_error(&o, &["q.toml", "surprise"]);
}

#[test]
fn policy_prints_a_loadable_toml() {
    let o = scalelab(&["policy"]);
    assert!(o.status.success());
    let dir = TempDir::new("roundtrip");
    let f = dir.write("p.toml", &stdout(&o));
    let o2 = scalelab(&["policy", "--policy", p(&f)]);
    assert_eq!(stdout(&o2), stdout(&o));
    assert!(stdout(&o).contains("migrate_avg = 0.7"));
}
