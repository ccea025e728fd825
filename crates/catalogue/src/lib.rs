//! The documented flows of the Skype for Business Server 2015 protocol-workloads poster as data,
//! the deployment topology, and the verdict for a flow.
//!
//! This module holds the verdict vocabulary that every output row carries.

pub mod certs;
mod classify;
mod role;
pub mod signin;
mod verdict;

pub use classify::{Classification, Classifier, FlowFacts};
pub use role::Role;
pub use verdict::{Basis, Finding, Verdict, Workload};

mod ports;

pub use ports::documented_server_ports;

mod topology;

pub use topology::{
    IpNet, PORT_KEYS, PortOverrides, RoleSet, Topology, TopologyError, TopologyProblem,
    ranges_contain, template as topology_template,
};

mod index;
mod render;
mod rules;

pub use index::{BUILTIN_TOML, Catalogue};
pub use render::{CSV_HEADER, render_csv, render_json, render_table};
pub use rules::{
    CatalogueError, PATHS, PortSpec, PortSpecError, Problem, Protocol, Rule, Security, Transports,
};
