//! The flow table: a slab of fixed-size [`Flow`] slots, a hash index of 4-byte slot numbers, and
//! a lazy expiry heap ordered by deadline.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use hashbrown::HashTable;
use sfbflow_packet::{PacketView, TcpFlags};

use crate::{FlowKey, ServerPorts, Side, Transport};

/// How the initiator of a flow was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirectionBasis {
    /// The TCP handshake was seen: the SYN's sender (or the SYN-ACK's receiver) initiated.
    Syn,
    /// The sender of the first packet seen initiated.
    FirstPacket,
    /// The start was missed: the side on a documented server port is the responder.
    Port,
}

impl DirectionBasis {
    /// `"syn"`, `"first_packet"` or `"port"`, as in the output columns.
    pub fn as_str(self) -> &'static str {
        match self {
            DirectionBasis::Syn => "syn",
            DirectionBasis::FirstPacket => "first_packet",
            DirectionBasis::Port => "port",
        }
    }
}

/// Why a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndReason {
    /// TCP: FIN seen from both sides.
    Fin,
    /// TCP: a RST was seen.
    Rst,
    /// No packet for the idle timeout.
    Idle,
    /// A new connection (SYN) reused the 5-tuple.
    Reused,
    /// The table was full and this was the least recently active flow.
    Evicted,
    /// The input ended (or the run was stopped) while the flow was live.
    EndOfInput,
}

impl EndReason {
    /// Snake-case name, as in the output columns.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Fin => "fin",
            EndReason::Rst => "rst",
            EndReason::Idle => "idle",
            EndReason::Reused => "reused",
            EndReason::Evicted => "evicted",
            EndReason::EndOfInput => "end_of_input",
        }
    }
}

/// Direction of a packet within its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// From the initiator to the responder.
    ToResponder = 0,
    /// From the responder to the initiator.
    ToInitiator = 1,
}

/// Settings of a [`FlowTable`].
#[derive(Debug, Clone)]
pub struct FlowConfig {
    /// Idle timeout of UDP flows in nanoseconds; 0 = never.
    pub udp_idle_nanos: i64,
    /// Idle timeout of TCP flows in nanoseconds; 0 = never.
    pub tcp_idle_nanos: i64,
    /// How long a closed TCP flow (FIN both ways, or RST) stays to collect trailing packets
    /// before it is emitted; 0 = until a new SYN or the idle timeout.
    pub tcp_close_linger_nanos: i64,
    /// Bound on live flows; when a new flow would exceed it the least recently active is ended.
    pub max_flows: usize,
    /// Documented server ports: orient flows whose start was not captured.
    pub server_ports: ServerPorts,
}

/// Default idle timeout for UDP: 120 s.
const UDP_IDLE_NANOS: i64 = 120_000_000_000;
/// Default idle timeout for TCP: 3600 s.
const TCP_IDLE_NANOS: i64 = 3_600_000_000_000;
/// Default linger of a closed TCP flow: 2 s.
const TCP_LINGER_NANOS: i64 = 2_000_000_000;

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            udp_idle_nanos: UDP_IDLE_NANOS,
            tcp_idle_nanos: TCP_IDLE_NANOS,
            tcp_close_linger_nanos: TCP_LINGER_NANOS,
            max_flows: 1_000_000,
            server_ports: ServerPorts::new(),
        }
    }
}

impl FlowConfig {
    /// One idle timeout for both transports (`0` = never); a closed TCP flow then lingers at
    /// most as long as that timeout, forever when it is 0.
    pub fn with_idle_timeout(mut self, nanos: i64) -> Self {
        self.udp_idle_nanos = nanos;
        self.tcp_idle_nanos = nanos;
        self.tcp_close_linger_nanos = if nanos == 0 {
            0
        } else {
            TCP_LINGER_NANOS.min(nanos)
        };
        self
    }
}

// TCP state bits of a flow.
const SYN_INIT: u16 = 1; // SYN (no ACK) seen from the initiator
const SYNACK: u16 = 1 << 1; // SYN+ACK seen from the responder
const FIN_INIT: u16 = 1 << 2;
const FIN_RESP: u16 = 1 << 3;
const RST: u16 = 1 << 4;
const CLOSED: u16 = FIN_INIT | FIN_RESP;

/// A live flow: fixed size, no heap data. The fields every packet touches (the key it is
/// compared with, the state bits, the counters, the last time) come first and in this order
/// (`repr(C)`), so that a packet's update touches two cache lines of the slot, not three.
#[derive(Debug, Clone)]
#[repr(C)]
pub struct Flow {
    /// The canonical key.
    pub key: FlowKey,
    tcp_state: u16,
    /// The caller has no more use for this flow's payloads ([`FlowTable::payload_done`]).
    payload_done: bool,
    /// Which side of the key initiated.
    pub initiator: Side,
    // Three cold fields that fill the room before the counters' 8-byte alignment.
    /// How the initiator was decided.
    pub direction_basis: DirectionBasis,
    /// The tunnel the first packet came through.
    pub tunnel: sfbflow_packet::Tunnel,
    /// The outermost VLAN id of the first packet, if any.
    pub vlan: Option<u16>,
    /// Frames sent, indexed by [`Dir`].
    pub packets: [u64; 2],
    /// Original frame lengths summed, indexed by [`Dir`].
    pub bytes: [u64; 2],
    /// Transport payload bytes per the headers, indexed by [`Dir`].
    pub payload_bytes: [u64; 2],
    /// Capture time of the last packet.
    pub last_ts_nanos: i64,
    /// Capture time of the first packet.
    pub first_ts_nanos: i64,
    /// Creation order of the flow in this run (0, 1, 2 ...): a stable id.
    pub seq: u64,
    // Expiry bookkeeping: slot generation and the earliest deadline queued in the heap for it.
    queued_deadline: i64,
    generation: u32,
    /// Initial sequence number of the initiator's SYN (TCP).
    isn: u32,
}

impl Flow {
    /// The direction of a packet sent from `side`.
    #[inline]
    pub fn dir_of(&self, side: Side) -> Dir {
        if side == self.initiator {
            Dir::ToResponder
        } else {
            Dir::ToInitiator
        }
    }

    /// The initiator's address and port.
    pub fn initiator_endpoint(&self) -> (sfbflow_packet::Addr, u16) {
        self.key.endpoint(self.initiator)
    }

    /// The responder's address and port.
    pub fn responder_endpoint(&self) -> (sfbflow_packet::Addr, u16) {
        self.key.endpoint(match self.initiator {
            Side::Lo => Side::Hi,
            Side::Hi => Side::Lo,
        })
    }

    /// Whether the TCP handshake's SYN was seen.
    pub fn syn_seen(&self) -> bool {
        self.tcp_state & (SYN_INIT | SYNACK) != 0
    }

    fn closed(&self) -> bool {
        self.tcp_state & RST != 0 || self.tcp_state & CLOSED == CLOSED
    }
}

/// An ended flow, as handed to the sinks.
#[derive(Debug, Clone)]
pub struct FlowRecord {
    /// The flow's final state.
    pub flow: Flow,
    /// Why it ended.
    pub end_reason: EndReason,
    /// The slab slot the flow had (a caller keeping per-slot state reads it before the slot is
    /// reused by the next flow created).
    pub slot: u32,
}

/// What the table did with one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketResult {
    /// The slab slot of the packet's flow (valid until the flow ends).
    pub slot: u32,
    /// The packet's direction within the flow.
    pub dir: Dir,
    /// Whether this packet started the flow.
    pub new_flow: bool,
    /// Whether the caller still wants this flow's payloads (until it calls
    /// [`FlowTable::payload_done`]). Read from the slot the packet has just updated, so a caller
    /// that keeps per-flow state elsewhere need not touch it for flows it is done with.
    pub wants_payload: bool,
}

/// Counters of the table, for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Flows created.
    pub flows_created: u64,
    /// Flows ended by the idle timeout.
    pub flows_idle: u64,
    /// Flows ended early because the table was full.
    pub flows_evicted: u64,
    /// Most flows live at once.
    pub peak_live_flows: u64,
    /// Packets whose timestamp was earlier than one already seen.
    pub packets_out_of_order: u64,
}

/// The bidirectional flow table.
pub struct FlowTable {
    cfg: FlowConfig,
    hasher: foldhash::fast::FixedState,
    index: HashTable<u32>,
    slots: Vec<Flow>,
    live: Vec<bool>,
    free: Vec<u32>,
    heap: BinaryHeap<Reverse<(i64, u32, u32)>>,
    ended: Vec<FlowRecord>,
    /// Slots still to end by [`FlowTable::finish_some`], newest first.
    finishing: Option<Vec<u32>>,
    next_seq: u64,
    now: i64,
    stats: TableStats,
}

impl std::fmt::Debug for FlowTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowTable")
            .field("live", &self.index.len())
            .field("stats", &self.stats)
            .finish()
    }
}

const NEVER: i64 = i64::MAX;

impl FlowTable {
    /// An empty table.
    pub fn new(cfg: FlowConfig) -> Self {
        FlowTable {
            cfg,
            hasher: foldhash::fast::FixedState::with_seed(0x5fbf_1044),
            index: HashTable::new(),
            slots: Vec::new(),
            live: Vec::new(),
            free: Vec::new(),
            heap: BinaryHeap::new(),
            ended: Vec::new(),
            finishing: None,
            next_seq: 0,
            now: i64::MIN,
            stats: TableStats::default(),
        }
    }

    /// Live flows.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no flow is live.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The table's counters.
    pub fn stats(&self) -> &TableStats {
        &self.stats
    }

    /// The live flow in `slot`, if any.
    pub fn flow(&self, slot: u32) -> Option<&Flow> {
        let i = slot as usize;
        if self.live.get(i).copied().unwrap_or(false) {
            self.slots.get(i)
        } else {
            None
        }
    }

    /// Whether ended flows are waiting to be drained.
    #[inline]
    pub fn has_ended(&self) -> bool {
        !self.ended.is_empty()
    }

    /// Hands every ended flow, in the order they ended, to `f`.
    pub fn drain_ended(&mut self, mut f: impl FnMut(FlowRecord)) {
        for rec in self.ended.drain(..) {
            f(rec);
        }
    }

    fn hash(&self, key: &FlowKey) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(key)
    }

    fn idle_nanos(&self, t: Transport) -> i64 {
        match t {
            Transport::Tcp => self.cfg.tcp_idle_nanos,
            Transport::Udp => self.cfg.udp_idle_nanos,
        }
    }

    /// When `flow` ends if nothing else happens. Ordering key of the expiry heap: flows that
    /// never time out are still ordered by last activity (for eviction), after every real
    /// deadline.
    fn deadline(&self, flow: &Flow) -> (i64, bool) {
        let (wait, real) = if flow.key.transport == Transport::Tcp && flow.closed() {
            match self.cfg.tcp_close_linger_nanos {
                0 => (
                    self.idle_nanos(Transport::Tcp),
                    self.cfg.tcp_idle_nanos != 0,
                ),
                n => (n, true),
            }
        } else {
            let idle = self.idle_nanos(flow.key.transport);
            (idle, idle != 0)
        };
        if real {
            (flow.last_ts_nanos.saturating_add(wait), true)
        } else {
            // Ordered after all real deadlines, by last activity.
            (i64::MAX / 2 + flow.last_ts_nanos / 2, false)
        }
    }

    /// Accounts one packet at capture time `ts_nanos` and returns its flow slot and direction.
    /// Flows that end because of it (or because time passed) are queued for
    /// [`drain_ended`](Self::drain_ended).
    #[inline]
    pub fn packet(&mut self, view: &PacketView<'_>, ts_nanos: i64) -> Option<PacketResult> {
        self.packet_with(view, ts_nanos, true)
    }

    /// Like [`packet`](Self::packet), for a frame whose timestamp the caller does not trust
    /// (far ahead of the capture's clock, say): the flow records `ts_nanos`, but capture time
    /// stays where it is, so nothing expires because of it.
    pub fn packet_off_clock(
        &mut self,
        view: &PacketView<'_>,
        ts_nanos: i64,
    ) -> Option<PacketResult> {
        self.packet_with(view, ts_nanos, false)
    }

    #[inline(always)]
    fn packet_with(
        &mut self,
        view: &PacketView<'_>,
        ts_nanos: i64,
        clock: bool,
    ) -> Option<PacketResult> {
        let transport = Transport::from_proto(view.proto)?;
        if clock {
            if ts_nanos < self.now {
                self.stats.packets_out_of_order += 1;
            } else {
                self.now = ts_nanos;
                self.expire_due();
            }
        }
        let (key, side) = FlowKey::new(transport, view.src, view.src_port, view.dst, view.dst_port);
        let hash = self.hash(&key);
        let found = {
            let slots = &self.slots;
            self.index
                .find(hash, |&s| {
                    slots.get(s as usize).is_some_and(|f| f.key == key)
                })
                .copied()
        };
        let flags = view.tcp_flags;
        let syn_only = transport == Transport::Tcp
            && flags.contains(TcpFlags::SYN)
            && !flags.contains(TcpFlags::ACK);
        let (slot, new_flow) = match found {
            Some(slot) => {
                // A SYN is a new connection on the 5-tuple when its ISN differs from the
                // flow's initial SYN, or, if that was not seen, when the flow was closed. A SYN
                // repeating the initial ISN (a retry after a RST) continues the attempt.
                let restart = syn_only
                    && self.slots.get(slot as usize).is_some_and(|f| {
                        if f.tcp_state & SYN_INIT != 0 {
                            view.tcp_seq != f.isn
                        } else {
                            f.closed()
                        }
                    });
                if restart {
                    let reason = self
                        .slots
                        .get(slot as usize)
                        .map_or(EndReason::Reused, |f| {
                            if f.tcp_state & RST != 0 {
                                EndReason::Rst
                            } else if f.closed() {
                                EndReason::Fin
                            } else {
                                EndReason::Reused
                            }
                        });
                    self.end_flow(slot, hash, reason);
                    (self.create(key, hash, side, view, ts_nanos), true)
                } else {
                    (slot, false)
                }
            }
            None => (self.create(key, hash, side, view, ts_nanos), true),
        };
        let tcp_closing = transport == Transport::Tcp
            && (flags.contains(TcpFlags::FIN) || flags.contains(TcpFlags::RST));
        let flow = self.slots.get_mut(slot as usize)?;
        let wants_payload = !flow.payload_done;
        let was_closed = flow.closed();
        let dir = flow.dir_of(side);
        let d = dir as usize;
        if let (Some(p), Some(b), Some(pb)) = (
            flow.packets.get_mut(d),
            flow.bytes.get_mut(d),
            flow.payload_bytes.get_mut(d),
        ) {
            *p += u64::from(view.frames);
            *b += view.wire_len;
            // Headers may claim more payload than the frame had (a tunnelled IP header is not
            // bounded by the outer lengths): never more than the frame's bytes.
            *pb += u64::from(view.payload_len).min(view.wire_len);
        }
        if ts_nanos > flow.last_ts_nanos {
            flow.last_ts_nanos = ts_nanos;
        }
        if transport == Transport::Tcp {
            if flags.contains(TcpFlags::SYN) {
                if flags.contains(TcpFlags::ACK) {
                    if dir == Dir::ToInitiator {
                        flow.tcp_state |= SYNACK;
                    }
                } else if dir == Dir::ToResponder && flow.tcp_state & SYN_INIT == 0 {
                    flow.tcp_state |= SYN_INIT;
                    flow.isn = view.tcp_seq;
                }
            }
            if tcp_closing {
                if flags.contains(TcpFlags::RST) {
                    flow.tcp_state |= RST;
                }
                if flags.contains(TcpFlags::FIN) {
                    flow.tcp_state |= match dir {
                        Dir::ToResponder => FIN_INIT,
                        Dir::ToInitiator => FIN_RESP,
                    };
                }
                if !was_closed && flow.closed() {
                    // The deadline moves earlier: queue the linger deadline.
                    let (deadline, _) = self.deadline_of(slot);
                    self.queue(slot, deadline);
                }
            }
        }
        Some(PacketResult {
            slot,
            dir,
            new_flow,
            wants_payload,
        })
    }

    /// Marks a live flow's payloads as of no more use to the caller: its later packets come back
    /// with `wants_payload` false. A new flow in the slot starts wanting them again.
    pub fn payload_done(&mut self, slot: u32) {
        if let Some(f) = self.slots.get_mut(slot as usize) {
            f.payload_done = true;
        }
    }

    fn deadline_of(&self, slot: u32) -> (i64, bool) {
        match self.slots.get(slot as usize) {
            Some(f) => self.deadline(f),
            None => (NEVER, false),
        }
    }

    fn queue(&mut self, slot: u32, deadline: i64) {
        if let Some(f) = self.slots.get_mut(slot as usize)
            && deadline < f.queued_deadline
        {
            f.queued_deadline = deadline;
            self.heap.push(Reverse((deadline, slot, f.generation)));
        }
    }

    fn create(
        &mut self,
        key: FlowKey,
        hash: u64,
        side: Side,
        view: &PacketView<'_>,
        ts_nanos: i64,
    ) -> u32 {
        if self.index.len() >= self.cfg.max_flows.max(1) {
            self.evict_one();
        }
        let (initiator, basis) = self.orient(&key, side, view);
        let flow = Flow {
            key,
            initiator,
            direction_basis: basis,
            first_ts_nanos: ts_nanos,
            last_ts_nanos: ts_nanos,
            packets: [0; 2],
            bytes: [0; 2],
            payload_bytes: [0; 2],
            seq: self.next_seq,
            vlan: view.vlan,
            tunnel: view.tunnel,
            isn: 0,
            tcp_state: 0,
            payload_done: false,
            generation: 0,
            queued_deadline: NEVER,
        };
        self.next_seq += 1;
        self.stats.flows_created += 1;
        let slot = match self.free.pop() {
            Some(s) => {
                let i = s as usize;
                if let (Some(dst), Some(l)) = (self.slots.get_mut(i), self.live.get_mut(i)) {
                    let generation = dst.generation.wrapping_add(1);
                    *dst = Flow { generation, ..flow };
                    *l = true;
                }
                s
            }
            None => {
                let s = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
                self.slots.push(flow);
                self.live.push(true);
                s
            }
        };
        let slots = &self.slots;
        let hasher = &self.hasher;
        self.index.insert_unique(hash, slot, |&s| {
            use std::hash::BuildHasher;
            slots.get(s as usize).map_or(0, |f| hasher.hash_one(f.key))
        });
        let live = self.index.len() as u64;
        if live > self.stats.peak_live_flows {
            self.stats.peak_live_flows = live;
        }
        let (deadline, _) = self.deadline_of(slot);
        self.queue(slot, deadline);
        slot
    }

    /// Decides the initiator of a new flow from its first packet.
    fn orient(&self, key: &FlowKey, side: Side, view: &PacketView<'_>) -> (Side, DirectionBasis) {
        let other = match side {
            Side::Lo => Side::Hi,
            Side::Hi => Side::Lo,
        };
        let flags = view.tcp_flags;
        if key.transport == Transport::Tcp && flags.contains(TcpFlags::SYN) {
            return if flags.contains(TcpFlags::ACK) {
                (other, DirectionBasis::Syn)
            } else {
                (side, DirectionBasis::Syn)
            };
        }
        let ports = &self.cfg.server_ports;
        let src_server = ports.contains(key.transport, view.src_port);
        let dst_server = ports.contains(key.transport, view.dst_port);
        match key.transport {
            Transport::Tcp => match (src_server, dst_server) {
                (true, false) => (other, DirectionBasis::Port),
                (false, true) => (side, DirectionBasis::Port),
                // Both or neither documented: the lower port is the service.
                _ if view.src_port < view.dst_port => (other, DirectionBasis::Port),
                _ if view.dst_port < view.src_port => (side, DirectionBasis::Port),
                _ => (side, DirectionBasis::FirstPacket),
            },
            Transport::Udp => {
                if src_server && !dst_server {
                    (other, DirectionBasis::Port)
                } else {
                    (side, DirectionBasis::FirstPacket)
                }
            }
        }
    }

    fn end_flow(&mut self, slot: u32, hash: u64, reason: EndReason) {
        let i = slot as usize;
        if !self.live.get(i).copied().unwrap_or(false) {
            return;
        }
        if let Ok(entry) = self.index.find_entry(hash, |&s| s == slot) {
            entry.remove();
        }
        if let Some(l) = self.live.get_mut(i) {
            *l = false;
        }
        if let Some(f) = self.slots.get_mut(i) {
            f.queued_deadline = NEVER;
            self.ended.push(FlowRecord {
                flow: f.clone(),
                end_reason: reason,
                slot,
            });
        }
        self.free.push(slot);
        match reason {
            EndReason::Idle => self.stats.flows_idle += 1,
            EndReason::Evicted => self.stats.flows_evicted += 1,
            _ => {}
        }
    }

    fn slot_hash(&self, slot: u32) -> u64 {
        self.slots
            .get(slot as usize)
            .map_or(0, |f| self.hash(&f.key))
    }

    /// Ends every flow whose deadline has passed at the current capture time.
    fn expire_due(&mut self) {
        while let Some(&Reverse((deadline, slot, generation))) = self.heap.peek() {
            if deadline > self.now {
                break;
            }
            self.heap.pop();
            let Some(f) = self.slots.get(slot as usize) else {
                continue;
            };
            let live = self.live.get(slot as usize).copied().unwrap_or(false);
            if !live || f.generation != generation || f.queued_deadline != deadline {
                continue; // stale entry
            }
            let (actual, real) = self.deadline(f);
            if !real {
                // Never times out: its key only orders it for eviction. Put it back and stop:
                // every later entry is of the same kind.
                self.heap.push(Reverse((deadline, slot, generation)));
                break;
            }
            if actual <= self.now {
                let reason = if f.closed() {
                    if f.tcp_state & RST != 0 {
                        EndReason::Rst
                    } else {
                        EndReason::Fin
                    }
                } else {
                    EndReason::Idle
                };
                let hash = self.slot_hash(slot);
                self.end_flow(slot, hash, reason);
            } else if let Some(f) = self.slots.get_mut(slot as usize) {
                f.queued_deadline = NEVER;
                self.queue(slot, actual);
            }
        }
    }

    /// Ends the least recently active flow (the table is full).
    fn evict_one(&mut self) {
        while let Some(Reverse((deadline, slot, generation))) = self.heap.pop() {
            let Some(f) = self.slots.get(slot as usize) else {
                continue;
            };
            let live = self.live.get(slot as usize).copied().unwrap_or(false);
            if !live || f.generation != generation || f.queued_deadline != deadline {
                continue;
            }
            let (actual, _) = self.deadline(f);
            if actual > deadline {
                // Active since it was queued: requeue at its real place and look again.
                if let Some(f) = self.slots.get_mut(slot as usize) {
                    f.queued_deadline = NEVER;
                }
                self.queue(slot, actual);
                continue;
            }
            let hash = self.slot_hash(slot);
            self.end_flow(slot, hash, EndReason::Evicted);
            return;
        }
    }

    /// Advances capture time without a packet (e.g. a live capture went quiet) and ends the
    /// flows whose deadline has passed.
    pub fn advance_to(&mut self, ts_nanos: i64) {
        if ts_nanos > self.now {
            self.now = ts_nanos;
            self.expire_due();
        }
    }

    /// The capture's clock jumped (by more than the caller tolerates, either way): every live
    /// flow ends as at the end of input, oldest first, and capture time goes on from `ts_nanos`,
    /// earlier or later. Without it, a clock set back by years would leave every later flow
    /// "out of order" with deadlines that never come.
    pub fn rebase(&mut self, ts_nanos: i64) {
        self.finish();
        self.now = ts_nanos;
    }

    /// Ends every live flow (end of input or shutdown), oldest first.
    pub fn finish(&mut self) {
        while self.finish_some(usize::MAX) {}
    }

    /// Ends up to `max` live flows (end of input or shutdown), oldest first, and returns whether
    /// any are left: a caller that drains the ended flows between calls keeps the queue of
    /// ended flows (and its memory) small however many flows were live.
    pub fn finish_some(&mut self, max: usize) -> bool {
        let order = match self.finishing.take() {
            Some(order) => order,
            None => {
                // The slots in their order (a walk through memory, where the index's order
                // jumps about), mostly oldest first already: slots are reused only as flows end.
                let mut live: Vec<(u64, u32)> = self
                    .slots
                    .iter()
                    .zip(&self.live)
                    .zip(0u32..)
                    .filter(|((_, live), _)| **live)
                    .map(|((f, _), s)| (f.seq, s))
                    .collect();
                // Newest first, so that the oldest is popped from the end (`seq` is unique).
                live.sort_unstable_by_key(|&(seq, _)| std::cmp::Reverse(seq));
                live.into_iter().map(|(_, s)| s).collect()
            }
        };
        let mut order = order;
        for _ in 0..max {
            let Some(slot) = order.pop() else { break };
            let hash = self.slot_hash(slot);
            self.end_flow(slot, hash, EndReason::EndOfInput);
        }
        if order.is_empty() {
            self.heap.clear();
            false
        } else {
            self.finishing = Some(order);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sfbflow_packet::{Addr, IpProto, Tunnel};

    const S: i64 = 1_000_000_000;
    const C: [u8; 4] = [10, 0, 0, 1];
    const SRV: [u8; 4] = [10, 0, 0, 2];

    fn pkt(
        src: [u8; 4],
        sp: u16,
        dst: [u8; 4],
        dp: u16,
        proto: IpProto,
        flags: u8,
        seq: u32,
    ) -> PacketView<'static> {
        PacketView {
            src: Addr::from_v4(src),
            dst: Addr::from_v4(dst),
            proto,
            src_port: sp,
            dst_port: dp,
            tcp_flags: TcpFlags(flags),
            tcp_seq: seq,
            tcp_ack: 0,
            payload: &[],
            payload_len: 10,
            frames: 1,
            wire_len: 60,
            vlan: None,
            tunnel: Tunnel::None,
        }
    }

    fn tcp(from_client: bool, flags: u8, seq: u32) -> PacketView<'static> {
        if from_client {
            pkt(C, 40000, SRV, 5061, IpProto::TCP, flags, seq)
        } else {
            pkt(SRV, 5061, C, 40000, IpProto::TCP, flags, seq)
        }
    }

    const SYN: u8 = TcpFlags::SYN.0;
    const ACK: u8 = TcpFlags::ACK.0;
    const FIN: u8 = TcpFlags::FIN.0;
    const RSTF: u8 = TcpFlags::RST.0;

    fn ended(t: &mut FlowTable) -> Vec<FlowRecord> {
        let mut v = Vec::new();
        t.drain_ended(|r| v.push(r));
        v
    }

    fn table(cfg: FlowConfig) -> FlowTable {
        FlowTable::new(cfg)
    }

    #[test]
    fn handshake_sets_initiator_and_counts_per_direction() {
        let mut t = table(FlowConfig::default());
        // The SYN-ACK arrives first (capture started mid-handshake): the receiver initiated.
        let r = t.packet(&tcp(false, SYN | ACK, 7), 0).expect("tcp");
        assert!(r.new_flow);
        assert_eq!(r.dir, Dir::ToInitiator);
        t.packet(&tcp(true, ACK, 1), S);
        t.packet(&tcp(true, ACK, 1), 2 * S);
        t.finish();
        let v = ended(&mut t);
        assert_eq!(v.len(), 1);
        let f = &v[0].flow;
        assert_eq!(f.direction_basis, DirectionBasis::Syn);
        assert_eq!(f.initiator_endpoint(), (Addr::from_v4(C), 40000));
        assert_eq!(f.packets, [2, 1]);
        assert_eq!(f.bytes, [120, 60]);
        assert_eq!(f.payload_bytes, [20, 10]);
        assert_eq!((f.first_ts_nanos, f.last_ts_nanos), (0, 2 * S));
        assert_eq!(v[0].end_reason, EndReason::EndOfInput);
    }

    #[test]
    fn midstream_tcp_is_oriented_by_the_server_port() {
        let mut ports = ServerPorts::new();
        ports.insert(Transport::Tcp, 5061);
        let mut t = table(FlowConfig {
            server_ports: ports,
            ..FlowConfig::default()
        });
        // First packet seen goes from the server to the client.
        t.packet(&tcp(false, ACK, 5), 0);
        t.finish();
        let f = &ended(&mut t)[0].flow;
        assert_eq!(f.direction_basis, DirectionBasis::Port);
        assert_eq!(f.responder_endpoint(), (Addr::from_v4(SRV), 5061));
        assert_eq!(f.packets, [0, 1]);
    }

    #[test]
    fn midstream_tcp_without_documented_port_takes_the_lower_port() {
        let mut t = table(FlowConfig::default());
        t.packet(&pkt(C, 8443, SRV, 50123, IpProto::TCP, ACK, 1), 0);
        t.finish();
        let f = &ended(&mut t)[0].flow;
        assert_eq!(f.direction_basis, DirectionBasis::Port);
        assert_eq!(f.responder_endpoint().1, 8443);
    }

    #[test]
    fn udp_first_packet_initiates_unless_it_comes_from_a_server_port() {
        let mut ports = ServerPorts::new();
        ports.insert(Transport::Udp, 53);
        let mut t = table(FlowConfig {
            server_ports: ports,
            ..FlowConfig::default()
        });
        t.packet(&pkt(C, 5000, SRV, 6000, IpProto::UDP, 0, 0), 0);
        // A DNS answer whose query was not captured.
        t.packet(&pkt(SRV, 53, C, 33000, IpProto::UDP, 0, 0), 0);
        t.finish();
        let v = ended(&mut t);
        assert_eq!(v[0].flow.direction_basis, DirectionBasis::FirstPacket);
        assert_eq!(v[0].flow.initiator_endpoint().1, 5000);
        assert_eq!(v[1].flow.direction_basis, DirectionBasis::Port);
        assert_eq!(v[1].flow.responder_endpoint().1, 53);
    }

    #[test]
    fn fin_both_ways_ends_after_the_linger_and_keeps_the_last_ack() {
        let mut t = table(FlowConfig::default());
        t.packet(&tcp(true, SYN, 100), 0);
        t.packet(&tcp(false, SYN | ACK, 900), 1);
        t.packet(&tcp(true, FIN | ACK, 101), S);
        t.packet(&tcp(false, FIN | ACK, 901), S + 1);
        assert!(!t.has_ended(), "the flow lingers for the last ACK");
        t.packet(&tcp(true, ACK, 102), S + 2);
        // Another flow's packet 3 s later moves capture time past the 2 s linger.
        t.packet(&pkt(SRV, 1, C, 2, IpProto::UDP, 0, 0), 4 * S);
        let v = ended(&mut t);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].end_reason, EndReason::Fin);
        assert_eq!(v[0].flow.packets, [3, 2]);
    }

    #[test]
    fn syn_with_a_new_isn_after_rst_starts_a_new_flow() {
        let mut t = table(FlowConfig::default().with_idle_timeout(0));
        t.packet(&tcp(true, SYN, 100), 0);
        t.packet(&tcp(false, RSTF | ACK, 0), 1);
        // The same SYN again (connection refused, retried): the same attempt.
        let r = t.packet(&tcp(true, SYN, 100), S).expect("tcp");
        assert!(!r.new_flow);
        t.packet(&tcp(false, RSTF | ACK, 0), S + 1);
        let r = t.packet(&tcp(true, SYN, 200), 10 * S).expect("tcp");
        assert!(r.new_flow);
        let v = ended(&mut t);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].end_reason, EndReason::Rst);
        assert_eq!(v[0].flow.packets, [2, 2]);
        assert_eq!(t.len(), 1);
        assert_eq!(t.flow(r.slot).map(|f| f.seq), Some(1));
    }

    #[test]
    fn syn_after_a_midstream_flow_closed_starts_a_new_flow() {
        let mut t = table(FlowConfig::default().with_idle_timeout(0));
        t.packet(&tcp(true, ACK, 100), 0);
        t.packet(&tcp(true, FIN | ACK, 101), 1);
        t.packet(&tcp(false, FIN | ACK, 900), 2);
        let r = t.packet(&tcp(true, SYN, 7), 3).expect("tcp");
        assert!(r.new_flow);
        assert_eq!(ended(&mut t)[0].end_reason, EndReason::Fin);
    }

    #[test]
    fn retransmitted_syn_stays_but_a_new_isn_is_a_new_connection() {
        let mut t = table(FlowConfig::default());
        t.packet(&tcp(true, SYN, 100), 0);
        let r = t.packet(&tcp(true, SYN, 100), S).expect("tcp");
        assert!(!r.new_flow, "a retransmitted SYN belongs to the same flow");
        let r = t.packet(&tcp(true, SYN, 5555), 2 * S).expect("tcp");
        assert!(r.new_flow, "a SYN with another ISN is port reuse");
        assert_eq!(ended(&mut t)[0].end_reason, EndReason::Reused);
    }

    #[test]
    fn idle_timeout_ends_flows_on_capture_time_and_zero_never_does() {
        let mut t = table(FlowConfig::default());
        t.packet(&pkt(C, 5000, SRV, 3478, IpProto::UDP, 0, 0), 0);
        t.packet(&pkt(C, 5000, SRV, 3478, IpProto::UDP, 0, 0), 100 * S);
        t.advance_to(219 * S);
        assert!(!t.has_ended(), "120 s after the last packet, not the first");
        t.advance_to(221 * S);
        let v = ended(&mut t);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].end_reason, EndReason::Idle);
        assert_eq!(t.stats().flows_idle, 1);

        let mut t = table(FlowConfig::default().with_idle_timeout(0));
        t.packet(&pkt(C, 5000, SRV, 3478, IpProto::UDP, 0, 0), 0);
        t.advance_to(i64::MAX / 2);
        assert!(!t.has_ended());
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn a_packet_after_the_timeout_starts_a_new_flow() {
        let mut t = table(FlowConfig::default().with_idle_timeout(60 * S));
        let a = pkt(C, 5000, SRV, 3478, IpProto::UDP, 0, 0);
        t.packet(&a, 0);
        let r = t.packet(&a, 61 * S).expect("udp");
        assert!(r.new_flow);
        assert_eq!(ended(&mut t).len(), 1);
    }

    #[test]
    fn max_flows_evicts_the_least_recently_active() {
        let mut t = table(FlowConfig {
            max_flows: 2,
            ..FlowConfig::default()
        });
        t.packet(&pkt(C, 1, SRV, 10, IpProto::UDP, 0, 0), 0);
        t.packet(&pkt(C, 2, SRV, 10, IpProto::UDP, 0, 0), 1);
        t.packet(&pkt(C, 1, SRV, 10, IpProto::UDP, 0, 0), 2); // flow 1 active again
        t.packet(&pkt(C, 3, SRV, 10, IpProto::UDP, 0, 0), 3); // table full
        let v = ended(&mut t);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].end_reason, EndReason::Evicted);
        assert_eq!(v[0].flow.initiator_endpoint().1, 2);
        assert_eq!(t.len(), 2);
        assert_eq!(t.stats().flows_evicted, 1);
        assert_eq!(t.stats().peak_live_flows, 2);
    }

    #[test]
    fn many_flows_keep_every_packet_and_reuse_slots() {
        let mut t = table(FlowConfig {
            max_flows: 1000,
            ..FlowConfig::default().with_idle_timeout(5 * S)
        });
        let mut total = 0u64;
        for i in 0..20_000u32 {
            let port = u16::try_from(i % 3000).unwrap_or(0);
            t.packet(
                &pkt(C, port, SRV, 53, IpProto::UDP, 0, 0),
                i64::from(i) * S / 100,
            );
            t.drain_ended(|r| total += r.flow.packets[0] + r.flow.packets[1]);
        }
        t.finish();
        t.drain_ended(|r| total += r.flow.packets[0] + r.flow.packets[1]);
        assert_eq!(total, 20_000, "every packet is in exactly one ended flow");
        assert!(t.slots.len() <= 1000, "slots are reused: {}", t.slots.len());
        assert!(t.heap.is_empty());
    }

    #[test]
    fn the_end_of_input_ends_the_live_flows_oldest_first_whatever_their_slots() {
        let mut t = table(FlowConfig::default().with_idle_timeout(10 * S));
        // Ports 1..=6 open flows 0..=5 at 0 s; 1, 3 and 5 go on, the rest idle out at 10 s and
        // free their slots, which ports 7..=9 (flows 6..=8) then take over.
        for port in 1..=6u16 {
            t.packet(&pkt(C, port, SRV, 53, IpProto::UDP, 0, 0), 0);
        }
        for port in [1u16, 3, 5] {
            t.packet(&pkt(C, port, SRV, 53, IpProto::UDP, 0, 0), 8 * S);
        }
        t.advance_to(11 * S);
        let idled: Vec<u64> = ended(&mut t).iter().map(|r| r.flow.seq).collect();
        assert_eq!(idled, [1, 3, 5]);
        for port in 7..=9u16 {
            t.packet(&pkt(C, port, SRV, 53, IpProto::UDP, 0, 0), 12 * S);
        }
        assert_eq!(t.slots.len(), 6, "the new flows reuse the freed slots");
        t.finish();
        let order: Vec<(u64, u16)> = ended(&mut t)
            .iter()
            .map(|r| (r.flow.seq, r.flow.key.lo_port.min(r.flow.key.hi_port)))
            .collect();
        assert_eq!(order, [(0, 1), (2, 3), (4, 5), (6, 7), (7, 8), (8, 9)]);
    }

    #[test]
    fn out_of_order_timestamps_are_counted_not_fatal() {
        let mut t = table(FlowConfig::default());
        t.packet(&tcp(true, SYN, 1), 10 * S);
        t.packet(&tcp(false, SYN | ACK, 2), 5 * S);
        assert_eq!(t.stats().packets_out_of_order, 1);
        t.finish();
        let f = &ended(&mut t)[0].flow;
        assert_eq!((f.first_ts_nanos, f.last_ts_nanos), (10 * S, 10 * S));
    }

    /// Found by the `pipeline` fuzz target: an IP header inside a Geneve tunnel claimed 63 KB
    /// in a frame of a few hundred bytes, and the flow's payload bytes exceeded its bytes.
    #[test]
    fn payload_bytes_never_exceed_the_bytes_of_the_frames() {
        let mut t = table(FlowConfig::default());
        let mut v = tcp(true, SYN, 1);
        v.payload_len = 63_615;
        v.wire_len = 300;
        t.packet(&v, S);
        t.finish();
        let f = &ended(&mut t)[0].flow;
        assert_eq!(f.bytes[0], 300);
        assert_eq!(f.payload_bytes[0], 300);
    }

    #[test]
    fn a_clock_set_back_by_decades_keeps_idle_timeouts_working() {
        let decades = 40 * 365 * 86_400 * S;
        let mut t = table(FlowConfig::default());
        t.packet(&tcp(true, SYN, 1), decades);
        t.rebase(10 * S);
        let first = ended(&mut t);
        assert_eq!(first.len(), 1, "the live flow ends at the jump");
        assert_eq!(first[0].end_reason, EndReason::EndOfInput);
        let udp = pkt(C, 5000, SRV, 53, IpProto::UDP, 0, 0);
        t.packet(&udp, 11 * S);
        assert_eq!(t.stats().packets_out_of_order, 0);
        // The UDP flow idles out 120 s later, on the new clock.
        t.packet(&tcp(true, SYN, 7), 200 * S);
        let idle = ended(&mut t);
        assert_eq!(idle.len(), 1);
        assert_eq!(idle[0].end_reason, EndReason::Idle);
    }

    #[test]
    fn flow_slot_stays_small() {
        assert!(
            std::mem::size_of::<Flow>() <= 136,
            "Flow is {} bytes",
            std::mem::size_of::<Flow>()
        );
        // What a packet touches lies in the first 104 bytes: two cache lines of a slot that
        // starts anywhere in the first 24 bytes of a line, never more than three.
        let hot_end = std::mem::offset_of!(Flow, last_ts_nanos) + 8;
        assert!(
            hot_end <= 104,
            "the per-packet fields end at byte {hot_end}"
        );
        assert!(std::mem::offset_of!(Flow, key) == 0);
    }
}
