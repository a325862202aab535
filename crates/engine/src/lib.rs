//! scalelab-engine: the predictive VM-scaling engine.
//!
//! It watches per-VM utilization and forecasts and decides to scale up/down/out/in or
//! to live-MIGRATE a VM. A MIGRATE decision names its target node, the expected
//! utilization after migration, and a step-by-step plan with timeouts, success criteria
//! and rollback conditions (spec: `shared/seed/migration-action-clarity.md`).
//!
//! Pure logic: no files, no network, no clock (time is passed in), no global state, so
//! the simulator can run it deterministically and the same inputs always give the same
//! decisions.
//!
//! - [`model`]: the decision types (the project's JSON contract).
//! - [`policy`]: every threshold in one TOML-loadable config.
//! - [`rules`]: the MIGRATE rule and the scaling rules; [`triage`]: the round's split
//!   into MIGRATE candidates and scaling decisions, shared with the simulator.
//! - [`cluster`], [`planner`]: target selection, one planner round, and the plan
//!   builder ([`planner::build`]).
//! - [`precopy`]: the live-migration model behind plan timeouts and estimates.
//! - [`plan`]: the migration plan contract and its typed criteria (imports nothing
//!   from the crate), with its text/JSON codec.
//! - [`forecast`]: EWMA, Holt and Holt-Winters, and the accuracy score.
//! - [`engine`]: the seed's decision function and the batch decision.
//! - [`legacy`]: the `AutoScaler` map API.
//! - [`batch`]: the `scalelab decide` input format.
//! - [`input`]: parsing helpers whose errors name the field and line.
//! - [`fnv`]: FNV-1a, the stable hash every crate uses.

pub mod batch;
pub mod cluster;
pub mod consolidation;
pub mod engine;
pub mod fnv;
pub mod forecast;
pub mod input;
pub mod legacy;
pub mod model;
pub mod plan;
pub mod planner;
pub mod policy;
pub mod precopy;
pub mod rules;
pub mod triage;

pub use cluster::{ClusterIndex, ClusterSnapshot, NodeHealth, NodeSnapshot, VmSnapshot};
pub use consolidation::HostLoad;
pub use engine::{DecisionTuple, Engine, ResourceObservation, VmObservation};
pub use legacy::AutoScaler;
pub use model::{ForecasterKind, ResourceForecast, ResourceType, ScalingAction, ScalingDecision};
pub use plan::MigrationPlan;
pub use policy::PolicyConfig;
pub use rules::UtilStats;
