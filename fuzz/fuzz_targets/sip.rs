//! SIP: `parse_datagram` on the whole input, and `parse_stream` followed the way the
//! inspector follows a TCP direction (keep-alives dropped, messages taken off the front).
#![no_main]

use sfbflow_inspect::sdp::MAX_ENDPOINTS;
use sfbflow_inspect::sip::{
    self, MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_MS_HEADER_VALUE, MAX_MS_HEADERS, SipMessage,
    StreamParse,
};

fn check_message(m: &SipMessage) {
    assert!(m.ms_headers.len() <= MAX_MS_HEADERS);
    for (_, v) in &m.ms_headers {
        assert!(v.len() <= MAX_MS_HEADER_VALUE);
    }
    assert!(m.media.len() <= MAX_ENDPOINTS);
    if let Some(code) = m.status() {
        assert!((100..=699).contains(&code));
    }
    let _ = (m.is_request(), m.method());
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(m) = sip::parse_datagram(data) {
        check_message(&m);
    }
    let mut at = 0usize;
    loop {
        let buf = &data[at..];
        match sip::parse_stream(buf) {
            StreamParse::Complete { msg, len } => {
                check_message(&msg);
                assert!(len > 0 && len <= buf.len(), "message length outside the buffer");
                // The message alone parses the same: what follows it does not matter.
                match sip::parse_stream(&buf[..len]) {
                    StreamParse::Complete { msg: again, len: l2 } => {
                        assert_eq!(l2, len);
                        assert_eq!(again, msg);
                    }
                    other => panic!("the message alone gives {other:?}"),
                }
                at += len;
            }
            StreamParse::KeepAlive { len } => {
                assert!(len > 0 && len <= buf.len());
                assert!(buf[..len].iter().all(|b| matches!(b, b'\r' | b'\n')));
                at += len;
            }
            StreamParse::Incomplete => {
                // A header that never ends is given up at the bound, not buffered forever.
                assert!(buf.len() < MAX_HEADER_BYTES + MAX_BODY_BYTES + 4);
                break;
            }
            StreamParse::TooLarge { skip } => {
                if let Some(s) = skip {
                    assert!(s > MAX_BODY_BYTES);
                }
                break;
            }
            StreamParse::NotSip => break,
        }
    }
});
