//! The plan's human-readable strings and its JSON: typed criteria and conditions are
//! written as the seed's sentences with their parameters in them and parsed back, and
//! [`MigrationPlan::write_json`] writes serde_json's exact bytes without serde's cost.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::*;

/// Seconds as the plan's text writes them ("10 minutes", "95 seconds"); a Display
/// rather than a String: the store writes these for every plan.
struct Duration(u64);

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s % 60 == 0 && s > 0 {
            let m = s / 60;
            write!(f, "{m} minute{}", if m == 1 { "" } else { "s" })
        } else {
            write!(f, "{s} seconds")
        }
    }
}

fn parse_duration(text: &str) -> Option<u64> {
    let mut it = text.split_whitespace();
    let n: u64 = it.next()?.parse().ok()?;
    match it.next()? {
        "minute" | "minutes" => Some(n * 60),
        "second" | "seconds" => Some(n),
        _ => None,
    }
}

/// The number right after `prefix` in `s`, e.g. `number_after("over 5000 ms", "over ")`.
fn number_after<T: FromStr>(s: &str, prefix: &str) -> Option<T> {
    let rest = &s[s.find(prefix)? + prefix.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// A leading memory size such as `2048MiB`, `2GB` or `2 GiB`, in MiB. GB is read as
/// GiB: the seed's "2GB" margin is the 2 GiB the issue asks for.
fn parse_mib(s: &str) -> Option<u64> {
    let s = s.trim_start();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let n: f64 = s[..end].parse().ok()?;
    let unit = s[end..].trim_start();
    let factor = if unit.starts_with("GiB") || unit.starts_with("GB") {
        1024.0
    } else if unit.starts_with("MiB") || unit.starts_with("MB") {
        1.0
    } else {
        return None;
    };
    Some((n * factor).round() as u64)
}

/// A number rounded to 2 decimals, without trailing zeros.
struct Num(f64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = round_to(self.0, 2);
        if r.fract() == 0.0 && r.abs() < 1e15 {
            // Integer printing: `{:.0}` takes float formatting's slow exact path, which
            // showed in the store's insert profile.
            write!(f, "{}", r as i64)
        } else if r.fract() == 0.0 {
            write!(f, "{r:.0}")
        } else {
            write!(f, "{r}")
        }
    }
}

const RESPONSIVE: &str = "VM remains responsive throughout migration";
const COMPLETES: &str = "Migration completes within ";
const IMPROVES: &str = "Resource utilization improves by at least ";
const NO_LOSS: &str = "No data loss or corruption detected";
const TIMEOUT: &str = "Migration fails to complete within timeout";
const UNRESPONSIVE: &str = "VM becomes unresponsive";
const INSUFFICIENT: &str = "Target node resources become insufficient";
const CONNECTIVITY: &str = "Network connectivity issues detected";

/// `base`, plus ` (detail)` when a parameter is stated.
fn with_detail(
    f: &mut fmt::Formatter<'_>,
    base: &str,
    detail: Option<impl FnOnce(&mut fmt::Formatter<'_>) -> fmt::Result>,
) -> fmt::Result {
    f.write_str(base)?;
    if let Some(d) = detail {
        f.write_str(" (")?;
        d(f)?;
        f.write_str(")")?;
    }
    Ok(())
}

/// The parenthesised detail after `base`, `None` when absent, `Err` for other text.
fn detail_of<'s>(s: &'s str, base: &str) -> Option<Result<Option<&'s str>, ()>> {
    let rest = s.strip_prefix(base)?;
    Some(if rest.is_empty() {
        Ok(None)
    } else {
        rest.strip_prefix(" (")
            .and_then(|r| r.strip_suffix(')'))
            .map(Some)
            .ok_or(())
    })
}

impl fmt::Display for SuccessCriterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RemainsResponsive { max_pause_ms } => with_detail(
                f,
                RESPONSIVE,
                max_pause_ms
                    .map(|ms| move |f: &mut fmt::Formatter<'_>| write!(f, "no pause over {ms} ms")),
            ),
            Self::CompletesWithin { max_duration_s } => {
                write!(f, "{COMPLETES}{}", Duration(*max_duration_s))
            }
            Self::UtilizationImproves {
                min_improvement_pct,
            } => write!(f, "{IMPROVES}{}%", Num(*min_improvement_pct)),
            Self::NoDataLoss => f.write_str(NO_LOSS),
        }
    }
}

impl FromStr for SuccessCriterion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parsed = if let Some(d) = detail_of(s, RESPONSIVE) {
            d.ok().and_then(|d| match d {
                None => Some(Self::RemainsResponsive { max_pause_ms: None }),
                Some(d) => number_after(d, "no pause over ").map(|ms| Self::RemainsResponsive {
                    max_pause_ms: Some(ms),
                }),
            })
        } else if let Some(rest) = s.strip_prefix(COMPLETES) {
            parse_duration(rest).map(|max_duration_s| Self::CompletesWithin { max_duration_s })
        } else if let Some(rest) = s.strip_prefix(IMPROVES) {
            rest.strip_suffix('%')
                .and_then(|n| n.parse().ok())
                .map(|min_improvement_pct| Self::UtilizationImproves {
                    min_improvement_pct,
                })
        } else if s == NO_LOSS {
            Some(Self::NoDataLoss)
        } else {
            None
        };
        parsed.ok_or_else(|| format!("unrecognized success criterion {s:?}"))
    }
}

impl fmt::Display for RollbackCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout { timeout_s } => with_detail(
                f,
                TIMEOUT,
                timeout_s.map(|s| move |f: &mut fmt::Formatter<'_>| write!(f, "{}", Duration(s))),
            ),
            Self::Unresponsive { max_pause_ms } => with_detail(
                f,
                UNRESPONSIVE,
                max_pause_ms.map(|ms| {
                    move |f: &mut fmt::Formatter<'_>| write!(f, "no response for over {ms} ms")
                }),
            ),
            Self::TargetInsufficient { limits } => with_detail(
                f,
                INSUFFICIENT,
                limits.map(|l| {
                    move |f: &mut fmt::Formatter<'_>| {
                        write!(
                            f,
                            "CPU above {}% with the VM, or free memory below {} MiB",
                            Num(l.cpu_ceiling_frac * 100.0),
                            l.min_free_memory_mib
                        )
                    }
                }),
            ),
            Self::ConnectivityLost { min_bandwidth_mbps } => with_detail(
                f,
                CONNECTIVITY,
                min_bandwidth_mbps.map(|b| {
                    move |f: &mut fmt::Formatter<'_>| write!(f, "bandwidth below {} Mbps", Num(b))
                }),
            ),
        }
    }
}

impl FromStr for RollbackCondition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        /// Bare string -> `None`; a detail -> `Some(parse(detail))`, failing if unreadable.
        fn param<T>(
            d: Option<Result<Option<&str>, ()>>,
            parse: impl Fn(&str) -> Option<T>,
        ) -> Option<Option<T>> {
            match d? {
                Ok(None) => Some(None),
                Ok(Some(detail)) => parse(detail).map(Some),
                Err(()) => None,
            }
        }
        let parsed = if s.starts_with(TIMEOUT) {
            param(detail_of(s, TIMEOUT), parse_duration)
                .map(|timeout_s| Self::Timeout { timeout_s })
        } else if s.starts_with(UNRESPONSIVE) {
            param(detail_of(s, UNRESPONSIVE), |d| number_after(d, "for over "))
                .map(|max_pause_ms| Self::Unresponsive { max_pause_ms })
        } else if s.starts_with(INSUFFICIENT) {
            param(detail_of(s, INSUFFICIENT), |d| {
                Some(TargetLimits {
                    cpu_ceiling_frac: number_after::<f64>(d, "CPU above ")? / 100.0,
                    min_free_memory_mib: number_after(d, "memory below ")?,
                })
            })
            .map(|limits| Self::TargetInsufficient { limits })
        } else if s.starts_with(CONNECTIVITY) {
            param(detail_of(s, CONNECTIVITY), |d| {
                number_after(d, "bandwidth below ")
            })
            .map(|min_bandwidth_mbps| Self::ConnectivityLost { min_bandwidth_mbps })
        } else {
            None
        };
        parsed.ok_or_else(|| format!("unrecognized rollback condition {s:?}"))
    }
}

/// `Vec<T>` as a JSON array of T's Display strings, parsed back with FromStr.
pub(super) mod as_strings {
    use super::*;

    pub fn serialize<T: fmt::Display, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| x.to_string()))
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<Vec<T>, D::Error>
    where
        T: FromStr<Err = String>,
        D: Deserializer<'de>,
    {
        let raw = Vec::<String>::deserialize(d)?;
        raw.iter()
            .map(|s| s.parse().map_err(serde::de::Error::custom))
            .collect()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequirementStrings {
    target_node_cpu_available: String,
    target_node_memory_available: String,
    network_bandwidth_required: String,
}

impl ResourceRequirements {
    /// The three strings of the JSON, as (key, text): one place for their wording.
    fn texts(&self) -> [(&'static str, String); 3] {
        [
            (
                "target_node_cpu_available",
                format!(">{}%", Num(self.cpu_available_frac * 100.0)),
            ),
            (
                "target_node_memory_available",
                format!(
                    ">{}MiB + VM_size ({}MiB)",
                    self.memory_margin_mib, self.vm_memory_mib
                ),
            ),
            (
                "network_bandwidth_required",
                format!("{}Mbps minimum", Num(self.min_bandwidth_mbps)),
            ),
        ]
    }
}

impl Serialize for ResourceRequirements {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let [(_, cpu), (_, memory), (_, bandwidth)] = self.texts();
        RequirementStrings {
            target_node_cpu_available: cpu,
            target_node_memory_available: memory,
            network_bandwidth_required: bandwidth,
        }
        .serialize(s)
    }
}

impl MigrationPlan {
    /// Append the plan's JSON to `out`: byte for byte what `serde_json::to_writer`
    /// writes (tests hold the two together), several times faster. The store writes a
    /// plan with every MIGRATE decision, and serde's path (each string escaped a byte at
    /// a time, a String per criterion) took a core's third while SQLite, on the other
    /// core, waited for CPU. Strings that need no escaping are copied whole; any that do
    /// go through serde_json.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Every field named: a field added to the plan without being added here does
        // not compile.
        let MigrationPlan {
            migration_type: MigrationType::LiveMigration,
            source_vm_id,
            target_node_id,
            expected_utilization_improvement:
                ExpectedImprovement {
                    current_utilization,
                    expected_utilization,
                    improvement_percentage,
                },
            execution_steps,
            success_criteria,
            rollback_conditions,
            resource_requirements,
            estimated_downtime_seconds,
            estimated_completion_minutes,
        } = self;
        out.extend_from_slice(br#"{"migration_type":"live_migration","source_vm_id":"#);
        json::string(out, source_vm_id);
        out.extend_from_slice(br#","target_node_id":"#);
        json::string(out, target_node_id);
        out.extend_from_slice(br#","expected_utilization_improvement":{"current_utilization":"#);
        json::number(out, *current_utilization);
        out.extend_from_slice(br#","expected_utilization":"#);
        json::number(out, *expected_utilization);
        out.extend_from_slice(br#","improvement_percentage":"#);
        json::number(out, *improvement_percentage);
        out.extend_from_slice(br#"},"execution_steps":["#);
        for (i, step) in execution_steps.iter().enumerate() {
            let ExecutionStep {
                step,
                action,
                description,
                timeout_seconds,
            } = step;
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(br#"{"step":"#);
            json::integer(out, u64::from(*step));
            out.extend_from_slice(br#","action":""#);
            out.extend_from_slice(action.as_str().as_bytes());
            out.extend_from_slice(br#"","description":"#);
            json::string(out, description);
            out.extend_from_slice(br#","timeout_seconds":"#);
            json::integer(out, *timeout_seconds);
            out.push(b'}');
        }
        out.extend_from_slice(br#"],"success_criteria":"#);
        json::displayed(out, success_criteria);
        out.extend_from_slice(br#","rollback_conditions":"#);
        json::displayed(out, rollback_conditions);
        out.extend_from_slice(br#","resource_requirements":{"#);
        for (i, (key, text)) in resource_requirements.texts().iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::string(out, key);
            out.push(b':');
            json::string(out, text);
        }
        out.extend_from_slice(br#"},"estimated_downtime_seconds":"#);
        json::number(out, *estimated_downtime_seconds);
        out.extend_from_slice(br#","estimated_completion_minutes":"#);
        json::number(out, *estimated_completion_minutes);
        out.push(b'}');
    }
}

/// The pieces of [`MigrationPlan::write_json`], each as serde_json writes it.
mod json {
    use std::fmt::Display;
    use std::io::Write;

    /// No escape needed: serde_json escapes only `"`, `\\` and control characters.
    fn plain(s: &[u8]) -> bool {
        // No early exit: the compiler can then check many bytes at a time.
        s.iter()
            .fold(true, |ok, &b| ok & (b >= 0x20) & (b != b'"') & (b != b'\\'))
    }

    pub fn string(out: &mut Vec<u8>, s: &str) {
        if plain(s.as_bytes()) {
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        } else {
            serde_json::to_writer(&mut *out, s).expect("a string serializes");
        }
    }

    pub fn number(out: &mut Vec<u8>, v: f64) {
        serde_json::to_writer(&mut *out, &v).expect("a number serializes");
    }

    pub fn integer(out: &mut Vec<u8>, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        out.extend_from_slice(&digits[i..]);
    }

    /// A JSON array of the items' Display strings, written in place.
    pub fn displayed<T: Display>(out: &mut Vec<u8>, items: &[T]) {
        out.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let start = out.len();
            out.push(b'"');
            write!(out, "{item}").expect("writing to a Vec");
            if plain(&out[start + 1..]) {
                out.push(b'"');
            } else {
                let text = item.to_string();
                out.truncate(start);
                string(out, &text);
            }
        }
        out.push(b']');
    }
}

impl<'de> Deserialize<'de> for ResourceRequirements {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let r = RequirementStrings::deserialize(d)?;
        let bad = |field: &str, v: &str| D::Error::custom(format!("{field}: cannot read {v:?}"));
        let cpu: f64 = number_after(&r.target_node_cpu_available, ">")
            .ok_or_else(|| bad("target_node_cpu_available", &r.target_node_cpu_available))?;
        let mem = &r.target_node_memory_available;
        let margin = mem
            .strip_prefix('>')
            .and_then(parse_mib)
            .ok_or_else(|| bad("target_node_memory_available", mem))?;
        // The seed writes ">2GB + VM_size" without the VM's size: 0 = not stated.
        let vm = match mem.split_once("VM_size (") {
            Some((_, rest)) => {
                parse_mib(rest).ok_or_else(|| bad("target_node_memory_available", mem))?
            }
            None => 0,
        };
        let bw: f64 = number_after(&format!(" {}", r.network_bandwidth_required), " ")
            .ok_or_else(|| bad("network_bandwidth_required", &r.network_bandwidth_required))?;
        Ok(Self {
            // Plans state the fraction to 4 decimals (a percent to 2): rounding the same
            // way gives back the very double that was written (50.24 / 100 alone is one
            // ulp off 0.5024).
            cpu_available_frac: round_to(cpu / 100.0, 4),
            memory_margin_mib: margin,
            vm_memory_mib: vm,
            min_bandwidth_mbps: bw,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planner::build::tests::sample_plan;

    /// `write_json` is serde_json's output, byte for byte, for the seed's plan, built
    /// plans, and plans with every kind of string and number serde_json treats apart.
    #[test]
    fn fast_json_is_serde_json_byte_for_byte() {
        let seed: MigrationPlan =
            serde_json::from_str(include_str!("../../tests/fixtures/seed_plan.json")).unwrap();
        let strings = [
            "vm-001",
            "",
            "quote \" and backslash \\",
            "tab\tnew\nline\u{1}\u{1f}",
            "unicode é ✓ 𝄞",
            "del \u{7f} ok",
        ];
        let numbers = [
            0.0,
            -0.0,
            0.56,
            1.0 / 3.0,
            30.0,
            1e300,
            5e-324,
            f64::NAN,
            f64::INFINITY,
            -1.5,
        ];
        let mut state = 1u64;
        let mut pick = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % n
        };
        let mut plans = vec![seed, sample_plan()];
        for _ in 0..500 {
            let mut p = sample_plan();
            p.source_vm_id = strings[pick(strings.len())].to_string();
            p.target_node_id = strings[pick(strings.len())].to_string();
            let e = &mut p.expected_utilization_improvement;
            e.current_utilization = numbers[pick(numbers.len())];
            e.expected_utilization = numbers[pick(numbers.len())];
            e.improvement_percentage = numbers[pick(numbers.len())];
            p.estimated_downtime_seconds = numbers[pick(numbers.len())];
            p.estimated_completion_minutes = numbers[pick(numbers.len())];
            for step in &mut p.execution_steps {
                step.description = strings[pick(strings.len())].to_string();
                step.timeout_seconds = [0, 1, 30, u64::MAX][pick(4)];
                step.step = [0, 1, u32::MAX][pick(3)];
            }
            p.execution_steps.truncate(pick(6));
            p.success_criteria = vec![
                SuccessCriterion::RemainsResponsive {
                    max_pause_ms: [None, Some(0), Some(u64::MAX)][pick(3)],
                },
                SuccessCriterion::CompletesWithin {
                    max_duration_s: [0, 59, 600, 86_400][pick(4)],
                },
                SuccessCriterion::UtilizationImproves {
                    min_improvement_pct: numbers[pick(numbers.len())],
                },
                SuccessCriterion::NoDataLoss,
            ];
            p.success_criteria.truncate(pick(5));
            p.rollback_conditions = vec![
                RollbackCondition::Timeout {
                    timeout_s: [None, Some(3_600)][pick(2)],
                },
                RollbackCondition::Unresponsive {
                    max_pause_ms: [None, Some(500)][pick(2)],
                },
                RollbackCondition::TargetInsufficient {
                    limits: [
                        None,
                        Some(TargetLimits {
                            cpu_ceiling_frac: numbers[pick(numbers.len())],
                            min_free_memory_mib: 2048,
                        }),
                    ][pick(2)],
                },
                RollbackCondition::ConnectivityLost {
                    min_bandwidth_mbps: [None, Some(numbers[pick(numbers.len())])][pick(2)],
                },
            ];
            p.rollback_conditions.truncate(pick(5));
            p.resource_requirements.cpu_available_frac = numbers[pick(numbers.len())];
            p.resource_requirements.min_bandwidth_mbps = numbers[pick(numbers.len())];
            p.resource_requirements.vm_memory_mib = [0, 4096, u64::MAX][pick(3)];
            plans.push(p);
        }
        for p in &plans {
            let mut fast = b"prefix".to_vec();
            p.write_json(&mut fast);
            let serde = serde_json::to_vec(p).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&fast[6..]),
                String::from_utf8_lossy(&serde)
            );
        }
    }

    #[test]
    fn resource_requirements_read_back_the_double_written() {
        // 50.24 / 100 is one ulp above 0.5024: a record read back must equal the one
        // written, so the reader rounds as the writer does.
        for frac in [0.5024, 0.425, 0.3333, 0.0001, 1.0, 0.1 + 0.2] {
            let r = ResourceRequirements {
                cpu_available_frac: round_to(frac, 4),
                memory_margin_mib: 2048,
                vm_memory_mib: 8192,
                min_bandwidth_mbps: 100.0,
            };
            let back: ResourceRequirements =
                serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
            assert_eq!(back, r, "{frac}");
        }
    }

    #[test]
    fn strings_round_trip() {
        let crits = [
            SuccessCriterion::RemainsResponsive {
                max_pause_ms: Some(5000),
            },
            SuccessCriterion::RemainsResponsive { max_pause_ms: None },
            SuccessCriterion::CompletesWithin {
                max_duration_s: 600,
            },
            SuccessCriterion::CompletesWithin { max_duration_s: 95 },
            SuccessCriterion::UtilizationImproves {
                min_improvement_pct: 20.0,
            },
            SuccessCriterion::UtilizationImproves {
                min_improvement_pct: 12.5,
            },
            SuccessCriterion::NoDataLoss,
        ];
        for c in crits {
            assert_eq!(c.to_string().parse::<SuccessCriterion>().unwrap(), c);
        }
        let conds = [
            RollbackCondition::Timeout {
                timeout_s: Some(900),
            },
            RollbackCondition::Timeout { timeout_s: None },
            RollbackCondition::Unresponsive {
                max_pause_ms: Some(5000),
            },
            RollbackCondition::Unresponsive { max_pause_ms: None },
            RollbackCondition::TargetInsufficient {
                limits: Some(TargetLimits {
                    cpu_ceiling_frac: 0.7,
                    min_free_memory_mib: 4096,
                }),
            },
            RollbackCondition::TargetInsufficient { limits: None },
            RollbackCondition::ConnectivityLost {
                min_bandwidth_mbps: Some(100.0),
            },
            RollbackCondition::ConnectivityLost {
                min_bandwidth_mbps: None,
            },
        ];
        for c in conds {
            assert_eq!(c.to_string().parse::<RollbackCondition>().unwrap(), c);
        }
        assert_eq!(
            SuccessCriterion::CompletesWithin {
                max_duration_s: 600
            }
            .to_string(),
            "Migration completes within 10 minutes"
        );
        assert_eq!(
            SuccessCriterion::UtilizationImproves {
                min_improvement_pct: 20.0
            }
            .to_string(),
            "Resource utilization improves by at least 20%"
        );
        assert!("Something else".parse::<SuccessCriterion>().is_err());
        assert!("Something else".parse::<RollbackCondition>().is_err());
    }

    #[test]
    fn seed_strings_without_parameters_still_parse() {
        // Plans written from the seed's example carry no parameters; they must load.
        assert_eq!(
            "VM remains responsive throughout migration"
                .parse::<SuccessCriterion>()
                .unwrap(),
            SuccessCriterion::RemainsResponsive { max_pause_ms: None }
        );
        assert_eq!(
            "VM becomes unresponsive"
                .parse::<RollbackCondition>()
                .unwrap(),
            RollbackCondition::Unresponsive { max_pause_ms: None }
        );
        // A detail that cannot be read is an error, not a silent default.
        assert!(
            "VM becomes unresponsive (soon)"
                .parse::<RollbackCondition>()
                .is_err()
        );
        assert!(
            "Migration completes within a while"
                .parse::<SuccessCriterion>()
                .is_err()
        );
    }

    #[test]
    fn plan_json_round_trips() {
        let plan = sample_plan();
        let json = serde_json::to_string(&plan).unwrap();
        let back: MigrationPlan = serde_json::from_str(&json).unwrap();
        assert_eq!(back, plan);
    }
}
