//! STUN, TURN and MS-TURN: `parse_stun` on the input as one datagram, `parse_stun_tcp` on it
//! as a stream, frames taken off the front as the inspector does.
#![no_main]

use sfbflow_inspect::stun::{
    self, Framing, MAX_ATTRIBUTES, MAX_SOFTWARE_LEN, MAX_TCP_FRAME, StunMessage, TcpParse,
};

fn check_message(m: &StunMessage) {
    assert!(m.attribute_count <= MAX_ATTRIBUTES);
    if let Some(s) = &m.software {
        assert!(s.chars().count() <= MAX_SOFTWARE_LEN);
    }
    if let Some(e) = m.error_code {
        assert!(e < 1000);
    }
    assert!(!m.method_name.is_empty());
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(m) = stun::parse_stun(data) {
        check_message(&m);
        assert_eq!(m.framing, Framing::Bare);
    }
    let mut at = 0usize;
    while at < data.len() {
        let buf = &data[at..];
        match stun::parse_stun_tcp(buf) {
            TcpParse::Complete { msg, len } => {
                check_message(&msg);
                assert!(len >= 4 && len <= buf.len(), "frame length {len} outside the buffer");
                at += len;
            }
            TcpParse::Skip { len } => {
                assert!(len >= 5, "a skip must make progress");
                at = at.saturating_add(len);
            }
            TcpParse::Incomplete => {
                assert!(buf.len() < MAX_TCP_FRAME);
                break;
            }
            TcpParse::NotStun => break,
        }
    }
});
