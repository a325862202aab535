//! scalelab-testkit: what the crates' tests share, as a crate instead of files included
//! by path (never published).
//!
//! - [`mutate`]: structured mutation of valid documents for the parsers' property tests.
//! - [`runs`]: scenario runs with the invariant checker on, and the invariants every run
//!   record must satisfy.

pub mod mutate;
pub mod runs;
