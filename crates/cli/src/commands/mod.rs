//! One module per subcommand.

pub mod audit;
pub mod bench;
pub mod bench_inbox;
pub mod demo;
pub mod migrate;
pub mod patient;
pub mod playbook;
pub mod serve;
pub mod simulate;
pub mod staff;
pub mod token;
pub mod worker;
