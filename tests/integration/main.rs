//! End-to-end tests of the `scalelab` binary: one integration-test binary, one module
//! per subcommand.

mod calibrate;
mod check;
mod decide;
mod replay;
mod report;
mod run;
mod store;
mod sweep;
mod trace;
mod util;
mod validate;
