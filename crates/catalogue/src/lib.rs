//! The documented flows of the Skype for Business Server 2015 protocol-workloads poster as data,
//! the deployment topology, and the verdict for a flow.
//!
//! This module holds the verdict vocabulary that every output row carries.

mod role;
mod verdict;

pub use role::Role;
pub use verdict::{Basis, Finding, Verdict, Workload};

mod ports;

pub use ports::documented_server_ports;
