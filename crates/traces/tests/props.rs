//! Property tests of the trace readers: lines built from each format's tokens and from
//! hostile ones (invalid codes, huge or negative numbers, text, wrong separators, empty
//! fields, CRLF) give a report or an error naming the file, never a panic; a report
//! never counts more readings than the file has lines.

use proptest::prelude::*;
use scalelab_testkit::mutate;
use scalelab_traces::{TraceFormat, inspect, open};

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..110).prop_map(|v| v.to_string()),
        (0i64..2_000_000_000).prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| v.to_string()),
        prop_oneof![
            Just("-1"),
            Just("101"),
            Just(""),
            Just("NaN"),
            Just("inf"),
            Just("1e308"),
            Just("-0"),
            Just("vm_1"),
            Just("m_1"),
            Just("c_2"),
            Just("x7Kp+q/AbC="),
            Just("\"quoted,field\""),
            Just("Timestamp [ms]"),
        ]
        .prop_map(str::to_string),
    ]
}

fn line() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(token(), 1..12),
        prop_oneof![Just(","), Just(";\t"), Just(";"), Just(" ")],
        prop_oneof![Just("\n"), Just("\r\n")],
    )
        .prop_map(|(fields, sep, eol)| fields.join(sep) + eol)
}

fn header() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("vm_id,timestamp,cpu,memory\n".to_string()),
        Just("Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\tCPU usage [%];\tMemory capacity provisioned [KB];\tMemory usage [KB];\tDisk read throughput [KB/s];\tDisk write throughput [KB/s];\tNetwork received throughput [KB/s];\tNetwork transmitted throughput [KB/s]\n".to_string()),
    ]
}

proptest! {
    #![proptest_config(mutate::config(256))]

    #[test]
    fn readers_report_or_fail_cleanly(h in header(), lines in prop::collection::vec(line(), 0..40)) {
        let dir = std::env::temp_dir().join(format!("scalelab-props-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = h + &lines.concat();
        let n_lines = text.lines().count() as u64;
        let path = dir.join("t.csv");
        std::fs::write(&path, &text).unwrap();
        for f in TraceFormat::ALL.into_iter().map(Some).chain([None]) {
            if let Ok(src) = open(&path, f) {
                match inspect::inspect(&src) {
                    Ok(r) => prop_assert!(r.rows <= n_lines, "{} rows from {} lines", r.rows, n_lines),
                    Err(e) => prop_assert!(e.to_string().contains("t.csv"), "{e}"),
                }
            }
        }
    }
}
