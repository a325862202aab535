//! Structured mutation for property tests of the parsers: take a valid document, replace
//! a few of its values (anywhere in the tree) with hostile ones or remove them, and hand
//! the result to the parser, which must answer with a value or an error, never a panic.
//! Used by every crate's `props` tests.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

/// A hostile value: extremes, wrong types, empty containers, or `Null` (= remove it).
pub fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(1),
            Just(2),
            Just(u32::MAX as i64 + 1),
            Just(i64::MAX)
        ]
        .prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just(0.0f64),
            Just(-0.5),
            Just(1e300),
            Just(1e-300),
            Just(0.999),
            Just(1.5)
        ]
        .prop_map(Value::from),
        "[a-z_0-9-]{0,12}".prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Array(vec![])),
        Just(Value::Object(Default::default())),
        Just(Value::Null),
    ]
}

/// Up to four (position, new value) edits.
pub fn edits() -> impl Strategy<Value = Vec<(Index, Value)>> {
    prop::collection::vec((any::<Index>(), leaf()), 1..4)
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Ix(usize),
}

fn walk(v: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                at.push(Step::Key(k.clone()));
                walk(c, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                at.push(Step::Ix(i));
                walk(c, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn set(v: &mut Value, path: &[Step], new: Value) {
    let Some((last, parents)) = path.split_last() else {
        *v = new;
        return;
    };
    let mut cur = v;
    for s in parents {
        cur = match (s, cur) {
            (Step::Key(k), Value::Object(m)) => match m.get_mut(k) {
                Some(c) => c,
                None => return,
            },
            (Step::Ix(i), Value::Array(a)) => match a.get_mut(*i) {
                Some(c) => c,
                None => return,
            },
            _ => return,
        };
    }
    match (last, cur) {
        (Step::Key(k), Value::Object(m)) if new.is_null() => {
            m.remove(k);
        }
        (Step::Key(k), Value::Object(m)) => {
            m.insert(k.clone(), new);
        }
        (Step::Ix(i), Value::Array(a)) if *i < a.len() => {
            if new.is_null() {
                a.remove(*i);
            } else {
                a[*i] = new;
            }
        }
        _ => {}
    }
}

/// `base` with the edits applied at positions chosen among all its nodes.
pub fn apply(base: &Value, edits: &[(Index, Value)]) -> Value {
    let mut v = base.clone();
    for (ix, new) in edits {
        let mut paths = Vec::new();
        walk(&v, &mut Vec::new(), &mut paths);
        let p = &paths[ix.index(paths.len())];
        set(&mut v, p, new.clone());
    }
    v
}

/// A TOML document as a JSON value (TOML's types map onto JSON's).
pub fn toml_to_json(text: &str) -> Value {
    let t: toml::Table = toml::from_str(text).expect("a valid TOML base document");
    serde_json::to_value(t).expect("TOML as JSON")
}

/// Back to TOML text, when the mutated value still has a TOML form (it has none with
/// a null or a mixed-type array in some positions).
pub fn json_to_toml(v: &Value) -> Option<String> {
    toml::to_string(v).ok()
}

/// Test configuration: `cases` cases from a fixed seed so CI is repeatable;
/// `PROPTEST_CASES` and `PROPTEST_RNG_SEED` override both for longer or other runs.
pub fn config(cases: u32) -> ProptestConfig {
    use proptest::test_runner::RngSeed;
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = cases;
    }
    if matches!(c.rng_seed, RngSeed::Random) {
        c.rng_seed = RngSeed::Fixed(0x5ca1_e1ab);
    }
    c.failure_persistence = None;
    c
}
