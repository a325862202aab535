//! Every trace reader on the same bytes (written to a file, as users give them), and
//! format detection.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalelab_traces::{TraceFormat, inspect, open};

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("scalelab-fuzz-trace-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    // The first byte picks the file name: some formats look at the extension.
    let (name, body) = match data.split_first() {
        Some((b, rest)) if b % 4 == 0 => ("t.parquet", rest),
        Some((b, rest)) if b % 4 == 1 => ("t.csv.gz", rest),
        Some((_, rest)) => ("t.csv", rest),
        None => ("t.csv", data),
    };
    let path = dir.join(name);
    if std::fs::write(&path, body).is_err() {
        return;
    }
    for f in TraceFormat::ALL.into_iter().map(Some).chain([None]) {
        if let Ok(src) = open(&path, f) {
            let _ = inspect::inspect(&src);
        }
    }
    let _ = std::fs::remove_file(&path);
});
