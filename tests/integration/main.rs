//! End-to-end tests of the `scalelab` binary: one integration-test binary, one module
//! per subcommand.

mod decide;
mod replay;
mod run;
mod store;
mod util;
