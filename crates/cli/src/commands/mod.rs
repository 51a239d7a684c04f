//! One module per subcommand.

pub mod migrate;
pub mod patient;
pub mod serve;
