//! sfbflow as a library: the pipeline that the `sfbflow` binary, the integration tests and the
//! benchmarks share. See `ARCHITECTURE.md` for the path of a packet through the crates.

pub mod evidence;
pub mod infer;
pub mod pipeline;

pub use sfbflow_capture as capture;
pub use sfbflow_catalogue as catalogue;
pub use sfbflow_flow as flow;
pub use sfbflow_inspect as inspect;
pub use sfbflow_packet as packet;
pub use sfbflow_sink as sink;
