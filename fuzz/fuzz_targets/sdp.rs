//! SDP: `media_endpoints` on the whole input, from empty and from a half-full list.
#![no_main]

use sfbflow_inspect::sdp::{self, MAX_ENDPOINTS};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    sdp::media_endpoints(data, &mut out);
    assert!(out.len() <= MAX_ENDPOINTS);
    for a in &out {
        assert_ne!(a.port, 0);
    }
    for (i, a) in out.iter().enumerate() {
        for b in &out[i + 1..] {
            assert!(
                !(a.addr == b.addr && a.port == b.port && a.tcp == b.tcp),
                "duplicate endpoint {a:?}"
            );
        }
    }
    // Appending again never passes the bound, and adds nothing already there.
    let before = out.len();
    sdp::media_endpoints(data, &mut out);
    assert!(out.len() <= MAX_ENDPOINTS);
    assert_eq!(out.len(), before, "the same SDP twice added endpoints");
});
