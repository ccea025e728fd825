//! Bidirectional TCP and UDP flows, built from [`sfbflow_packet::PacketView`]s.
//!
//! The table is sans-IO: time is the capture time of the packets it is fed, never the wall
//! clock, so an offline run and a live run over the same packets end the same flows at the same
//! moments. A flow ends on a TCP close (FIN from both sides, or RST, then a short linger for the
//! trailing ACKs), on its idle timeout, when the table is full (`max_flows`, the least recently
//! active flow goes first) or at the end of input; ended flows are queued as [`FlowRecord`]s for
//! the caller to drain.
//!
//! Memory per live flow is fixed: one [`Flow`] slot in a slab, a 4-byte index in the hash table
//! and one or two 16-byte entries in the expiry heap. Nothing grows per packet.

mod key;
mod ports;
mod table;

pub use key::{FlowKey, Side, Transport};
pub use ports::ServerPorts;
pub use table::{
    Dir, DirectionBasis, EndReason, Flow, FlowConfig, FlowRecord, FlowTable, PacketResult,
    TableStats,
};
