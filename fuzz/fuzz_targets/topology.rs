//! The topology loader: any text either loads or is an error that names a line within the
//! text; a loaded topology answers lookups for any address.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sfbflow::catalogue::Topology;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Topology::from_toml(text) {
        Ok(t) => {
            for chunk in data.chunks(16) {
                let mut b = [0u8; 16];
                b[..chunk.len()].copy_from_slice(chunk);
                let v4 = IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]));
                let v6 = IpAddr::V6(Ipv6Addr::from(b));
                let _ = (t.roles_of(v4), t.roles_of(v6));
            }
        }
        Err(e) => {
            let msg = sfbflow::pipeline::error_chain(&e);
            assert!(!msg.is_empty());
            let lines = text.lines().count() + 1;
            if let Some(rest) = msg.split("line ").nth(1) {
                if let Some(n) = rest
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|d| d.parse::<usize>().ok())
                {
                    assert!(n >= 1 && n <= lines, "line {n} of {lines}: {msg}");
                }
            }
        }
    }
});
