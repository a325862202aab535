//! Parsing of user-written TOML and JSON into typed values, with errors that name the
//! field path and line, so every crate reports bad input the same way.
//!
//! Parsing text is pure logic; reading the file is the caller's job, and the caller
//! prefixes the file name.

use serde::de::DeserializeOwned;

/// Where and why a document failed to parse or validate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{message}", location(.line), path_prefix(.path))]
pub struct InputError {
    /// Field path such as `vms[2].memory_mib`; empty when the document as a whole is bad.
    pub path: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    pub message: String,
}

fn location(line: &Option<usize>) -> String {
    line.map(|l| format!("line {l}: ")).unwrap_or_default()
}

fn path_prefix(path: &str) -> String {
    if path.is_empty() || path == "." {
        String::new()
    } else {
        format!("{path}: ")
    }
}

impl InputError {
    pub fn field(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            line: None,
            message: message.into(),
        }
    }

    /// Prefix the path with an outer field, for errors found while validating a nested value.
    pub fn within(mut self, outer: &str) -> Self {
        self.path = if self.path.is_empty() {
            outer.to_string()
        } else if self.path.starts_with('[') {
            format!("{outer}{}", self.path)
        } else {
            format!("{outer}.{}", self.path)
        };
        self
    }
}

fn line_of(src: &str, offset: usize) -> usize {
    src.as_bytes()[..offset.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// First line of a message: toml and serde errors can span several lines, and the
/// project's rule is one line per error.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Deserialize TOML, reporting the field path of the first error.
pub fn from_toml_str<T: DeserializeOwned>(src: &str) -> Result<T, InputError> {
    let de = toml::Deserializer::parse(src).map_err(|e| InputError {
        path: String::new(),
        line: e.span().map(|s| line_of(src, s.start)),
        message: one_line(e.message()),
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        InputError {
            path: if path == "." { String::new() } else { path },
            line: inner.span().map(|s| line_of(src, s.start)),
            message: one_line(inner.message()),
        }
    })
}

/// Deserialize JSON, reporting the field path and line of the first error.
pub fn from_json_str<T: DeserializeOwned>(src: &str) -> Result<T, InputError> {
    let mut de = serde_json::Deserializer::from_str(src);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        InputError {
            path: if path == "." { String::new() } else { path },
            line: Some(inner.line()).filter(|&l| l > 0),
            message: one_line(&strip_json_position(&inner.to_string())),
        }
    })?;
    de.end().map_err(|e| InputError {
        path: String::new(),
        line: Some(e.line()),
        message: one_line(&strip_json_position(&e.to_string())),
    })?;
    Ok(value)
}

/// serde_json appends " at line L column C"; the line is reported separately.
fn strip_json_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Fail with a field error unless `ok`.
pub fn ensure(ok: bool, path: &str, message: impl FnOnce() -> String) -> Result<(), InputError> {
    if ok {
        Ok(())
    } else {
        Err(InputError::field(path, message()))
    }
}

/// A finite number within `[lo, hi]`.
pub fn check_range(path: &str, v: f64, lo: f64, hi: f64) -> Result<(), InputError> {
    ensure(v.is_finite() && v >= lo && v <= hi, path, || {
        format!("must be between {lo} and {hi}, got {v}")
    })
}

/// A finite number strictly above zero.
pub fn check_positive(path: &str, v: f64) -> Result<(), InputError> {
    ensure(v.is_finite() && v > 0.0, path, || {
        format!("must be > 0, got {v}")
    })
}

/// A finite number at or above zero.
pub fn check_non_negative(path: &str, v: f64) -> Result<(), InputError> {
    ensure(v.is_finite() && v >= 0.0, path, || {
        format!("must be >= 0, got {v}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        memory_mib: u64,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        vms: Vec<Inner>,
    }

    #[test]
    fn toml_error_names_path_and_line() {
        let src = "[[vms]]\nmemory_mib = 1\n[[vms]]\nmemory_mib = \"x\"\n";
        let err = from_toml_str::<Doc>(src).unwrap_err();
        assert_eq!(err.path, "vms[1].memory_mib");
        assert_eq!(err.line, Some(4));
        let text = err.to_string();
        assert!(text.starts_with("line 4: vms[1].memory_mib: "), "{text}");
        assert!(!text.contains('\n'));
    }

    #[test]
    fn toml_unknown_key_is_rejected() {
        let err = from_toml_str::<Doc>("[[vms]]\nmemory_mib = 1\ncolour = 2\n").unwrap_err();
        assert!(err.message.contains("colour"), "{err}");
        assert_eq!(err.path, "vms[0].colour");
    }

    #[test]
    fn json_error_names_path_and_line() {
        let src = "{\"vms\": [\n{\"memory_mib\": 1},\n{\"memory_mib\": -3}\n]}";
        let err = from_json_str::<Doc>(src).unwrap_err();
        assert_eq!(err.path, "vms[1].memory_mib");
        assert_eq!(err.line, Some(3));
        assert!(!err.message.contains(" at line "));
    }

    #[test]
    fn json_trailing_garbage_is_an_error() {
        assert!(from_json_str::<Doc>("{\"vms\": []} x").is_err());
    }

    #[test]
    fn within_prefixes_paths() {
        let e = InputError::field("alpha", "bad").within("forecast");
        assert_eq!(e.path, "forecast.alpha");
        let e = InputError::field("[3].id", "bad").within("vms");
        assert_eq!(e.path, "vms[3].id");
    }
}
