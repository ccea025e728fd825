//! TLS: `parse_client` and `parse_server` on the input as a direction's stream, in one call
//! and as the inspector calls them (again each time the buffer grew). The first byte chooses
//! where the stream is cut into three.
#![no_main]

use sfbflow_inspect::tls::{self, MAX_NAME_LEN, MAX_SANS, Progress, TlsInfo};

fn check_info(info: &TlsInfo) {
    if let Some(s) = &info.sni {
        assert!(s.len() <= MAX_NAME_LEN);
    }
    if let Some(a) = &info.alpn {
        assert!(a.len() <= MAX_NAME_LEN);
    }
    if let Some(c) = &info.cert {
        assert!(c.sans.len() <= MAX_SANS);
        for s in &c.sans {
            assert!(s.len() <= MAX_NAME_LEN);
        }
    }
}

type Parse = fn(&[u8], &mut TlsInfo) -> Progress;

fn check(data: &[u8], cut: u8, parse: Parse) {
    let mut once = TlsInfo::default();
    let whole = parse(data, &mut once);
    check_info(&once);
    // Called on a growing buffer: while every shorter call asked for more, the last call
    // ends where the single call does.
    let len = data.len();
    let cuts = [len * usize::from(cut & 0x0f) / 16, len * usize::from(cut >> 4) / 16];
    let (a, b) = (cuts[0].min(cuts[1]), cuts[0].max(cuts[1]));
    let mut grown = TlsInfo::default();
    for end in [a, b] {
        if parse(&data[..end], &mut grown) != Progress::NeedMore {
            return;
        }
        check_info(&grown);
    }
    let last = parse(data, &mut grown);
    check_info(&grown);
    assert_eq!(last, whole, "growing buffer vs one call");
    assert_eq!(grown, once, "growing buffer vs one call");
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [cut, rest @ ..] = data else {
        return;
    };
    check(rest, *cut, tls::parse_client);
    check(rest, *cut, tls::parse_server);
    let _ = tls::version_name(u16::from(*cut) << 8 | 3);
});
