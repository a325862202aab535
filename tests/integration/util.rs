use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Repository root (where the shipped examples and scenarios live).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run the binary from the repository root. Tests that do not pass `--db` get a
/// database in a throwaway directory, never the developer's `scalelab.db`.
pub fn scalelab(args: &[&str]) -> Output {
    let scratch = std::env::temp_dir().join(format!("scalelab-test-db-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&scratch);
    Command::new(env!("CARGO_BIN_EXE_scalelab"))
        .args(args)
        .current_dir(root())
        .env("SCALELAB_DB", scratch.join("default.db"))
        .output()
        .expect("the scalelab binary runs")
}

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_scalelab"));
    c.current_dir(root());
    c
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh temporary directory under the target dir, removed by the caller's drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "scalelab-test-{}-{}-{name}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    pub fn write(&self, file: &str, content: &str) -> PathBuf {
        let p = self.path(file);
        std::fs::write(&p, content).expect("write temp file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Assert a failed run with exactly one line of error naming every needle.
pub fn assert_one_line_error(o: &Output, needles: &[&str]) {
    assert!(!o.status.success(), "expected failure, got success");
    assert_ne!(
        o.status.code(),
        Some(101),
        "a panic is not an error message"
    );
    let err = stderr(o);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    assert!(err.starts_with("error: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} missing from {err}");
    }
}

pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}
