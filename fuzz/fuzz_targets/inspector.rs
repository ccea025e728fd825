//! The flow inspector over a sequence of segments of one flow (probes, TCP reassembly, the
//! deeper TLS/SIP/DNS/STUN reads). Input: a byte choosing TCP or UDP and the ports, then
//! segments as `pieces`: the tag's low bit is the direction, bit 1 marks a segment cut by the
//! snapshot length, and the upper six bits move its sequence number (retransmissions, overlaps,
//! gaps, segments out of order).
#![no_main]

use sfbflow::flow::Transport;
use sfbflow_inspect::sip::MAX_VALUE_BYTES;
use sfbflow_inspect::{FlowInspector, Message, Outputs, Segment};

/// Server ports the first byte chooses from: SIP, SIP/TLS, TLS, DNS, mDNS, STUN, TURN, media.
const PORTS: [u16; 8] = [5060, 5061, 443, 53, 5353, 3478, 50_000, 5062];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [how, rest @ ..] = data else {
        return;
    };
    let transport = if how & 1 == 0 { Transport::Tcp } else { Transport::Udp };
    let server = PORTS[usize::from(how >> 1) % PORTS.len()];
    let client = 50_000 + u16::from(how >> 4);
    let mut inspector = FlowInspector::new();
    let mut out = Outputs::default();
    let mut next_seq = [1_000u32, 9_000_000u32];
    let mut events = 0usize;
    let mut bytes = 0usize;
    for (tag, payload) in sfbflow_fuzz::pieces(rest) {
        let dir = usize::from(tag & 1);
        let shift = i64::from(tag >> 2) - 32;
        let seq = (i64::from(next_seq[dir]) + shift * 7) as u32;
        let (src_port, dst_port) = if dir == 0 { (client, server) } else { (server, client) };
        let seg = Segment {
            transport,
            dir,
            src_port,
            dst_port,
            seq: if transport == Transport::Tcp { seq } else { 0 },
            payload,
            complete: tag & 2 == 0,
        };
        next_seq[dir] = seq.wrapping_add(payload.len() as u32);
        bytes += payload.len();
        if !inspector.wants_more() {
            continue;
        }
        inspector.inspect(&seg, &mut out);
        for ev in out.events.drain(..) {
            events += 1;
            assert!(ev.dir <= 1);
            match ev.message {
                Message::Sip(m) => {
                    if let Some(c) = &m.call_id {
                        assert!(c.len() <= MAX_VALUE_BYTES);
                    }
                }
                Message::Dns(m) => assert!(m.questions.len() <= 16),
            }
        }
        // Messages come from bytes: no message out of nothing.
        assert!(events * 4 <= bytes + 4, "{events} messages from {bytes} bytes");
    }
    let _ = (inspector.app_protocol(), inspector.rtp_codec(), inspector.stun_seen());
    if let Some(ev) = inspector.evidence() {
        for s in [&ev.sip_call_id, &ev.sip_method, &ev.sip_user_agent, &ev.dns_query]
            .into_iter()
            .flatten()
        {
            assert!(s.len() <= 4 * MAX_VALUE_BYTES);
        }
    }
});
