//! The packet decoder over a sequence of frames (fragment reassembly included). Input: a
//! link-type byte, a byte choosing the reassembly bounds, then frames as `pieces` (the tag is
//! the time step in tenths of a second, the sign of a few large steps included).
#![no_main]

use sfbflow::capture::{LinkType, Record};
use sfbflow::packet::{Decoded, Decoder, DecoderConfig};

const LINKTYPES: [u32; 20] = [
    1, 0, 9, 12, 14, 50, 101, 105, 108, 113, 127, 192, 228, 229, 239, 258, 276, 1, 1, 113,
];

/// Whether `inner` lies within `outer` (by address).
fn within(inner: &[u8], outer: &[u8]) -> bool {
    let (i, o) = (inner.as_ptr() as usize, outer.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [lt, bounds, rest @ ..] = data else {
        return;
    };
    let linktype = LinkType(LINKTYPES[usize::from(*lt) % LINKTYPES.len()]);
    let cfg = DecoderConfig {
        frag_timeout_nanos: 30_000_000_000,
        frag_max_datagrams: usize::from(bounds & 0x0f),
        frag_max_bytes: 1usize << (8 + (bounds >> 4)),
    };
    let mut decoder = Decoder::new(cfg);
    let mut ts: i64 = 1_700_000_000_000_000_000;
    let mut held = 0u64;
    for (tag, frame) in sfbflow_fuzz::pieces(rest) {
        ts = match tag {
            // Jumps of decades either way, and a timestamp at the end of time.
            0xfd => ts.saturating_sub(40 * 365 * 86_400 * 1_000_000_000),
            0xfe => ts.saturating_add(40 * 365 * 86_400 * 1_000_000_000),
            0xff => i64::MAX,
            t => ts.saturating_add(i64::from(t) * 100_000_000),
        };
        let rec = Record {
            ts_nanos: ts,
            linktype,
            interface: 0,
            caplen: frame.len() as u32,
            origlen: frame.len() as u32 + u32::from(tag & 3),
            data: frame,
            offset: 0,
        };
        let before = decoder.stats().datagrams_reassembled;
        // (frames, payload inside this frame) of a packet.
        let mut packet: Option<(u32, bool)> = None;
        match decoder.decode(&rec) {
            Decoded::Packet(v) => {
                assert!(v.frames >= 1);
                assert!(v.payload.len() as u64 <= u64::from(v.payload_len));
                assert!(v.wire_len >= u64::from(rec.origlen));
                let _ = (v.src.to_ip(), v.dst.to_ip(), v.tunnel.as_str());
                packet = Some((v.frames, within(v.payload, frame)));
            }
            Decoded::FragmentHeld => held += 1,
            Decoded::Malformed(m) => assert!(!m.as_str().is_empty()),
            _ => {}
        }
        let s = decoder.stats();
        if let Some((frames, inside)) = packet
            && s.datagrams_reassembled == before
        {
            assert_eq!(frames, 1);
            assert!(inside, "payload outside the frame");
        }
        assert_eq!(s.fragments_held, held);
        assert!(s.datagrams_pending as usize <= cfg.frag_max_datagrams.max(1));
        assert!(s.fragment_bytes_pending as usize <= cfg.frag_max_bytes.max(65_535));
    }
    decoder.flush();
    let s = decoder.stats();
    assert_eq!(s.fragments_pending, 0);
    assert_eq!(s.datagrams_pending, 0);
    assert_eq!(
        s.fragments_held,
        s.fragments_reassembled - s.datagrams_reassembled
            + s.fragments_expired
            + s.fragments_evicted
            + s.fragments_discarded,
        "every held fragment accounted once"
    );
});
