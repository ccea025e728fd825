//! Arbitrary and mutated input never panics, and decoded views keep their invariants.

mod common;

use common::{OwnedRecord, capture, read_pcap};
use proptest::prelude::*;
use sfbflow_capture::{LinkType, Record};
use sfbflow_packet::{DecodeStats, Decoded, Decoder, DecoderConfig, IpProto, TcpFlags};

const LINK_TYPES: [LinkType; 19] = [
    LinkType::NULL,
    LinkType::ETHERNET,
    LinkType::PPP,
    LinkType::RAW_12,
    LinkType::RAW_14,
    LinkType::PPP_HDLC,
    LinkType::RAW,
    LinkType::IEEE802_11,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::IEEE802_11_RADIOTAP,
    LinkType::PPI,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::NFLOG,
    LinkType::PKTAP,
    LinkType::LINUX_SLL2,
    LinkType(147),
    LinkType(u32::MAX),
];

/// Check the invariants of one decode result for a frame `data` with `origlen`.
fn check(d: &Decoded<'_>, data: &[u8], origlen: u32) -> Result<(), TestCaseError> {
    if let Decoded::Packet(p) = d {
        prop_assert!(p.proto == IpProto::TCP || p.proto == IpProto::UDP);
        prop_assert!(p.payload.len() as u64 <= u64::from(p.payload_len));
        if p.proto == IpProto::UDP {
            prop_assert_eq!((p.tcp_flags, p.tcp_seq, p.tcp_ack), (TcpFlags(0), 0, 0));
        }
        prop_assert!(p.vlan.is_none_or(|v| v < 4096));
        prop_assert!(p.frames >= 1);
        if p.frames == 1 {
            // a subslice of the frame
            prop_assert_eq!(p.wire_len, u64::from(origlen));
            let range = data.as_ptr_range();
            let pr = p.payload.as_ptr_range();
            prop_assert!(range.start <= pr.start && pr.end <= range.end);
        }
    }
    Ok(())
}

fn accounting(s: &DecodeStats) -> bool {
    s.fragments_held
        == s.fragments_reassembled - s.datagrams_reassembled
            + s.fragments_expired
            + s.fragments_evicted
            + s.fragments_discarded
            + s.fragments_pending
}

/// Every frame of the repository's test captures, as seeds for mutation (read once).
fn seeds() -> &'static [OwnedRecord] {
    static SEEDS: std::sync::OnceLock<Vec<OwnedRecord>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(read_seeds)
}

fn read_seeds() -> Vec<OwnedRecord> {
    let mut v = Vec::new();
    for case in [
        "vxlan",
        "geneve",
        "erspan-i",
        "erspan-ii",
        "erspan-iii",
        "gre-erspan-vxlan",
        "mpls",
        "mpls-in-vlan",
        "qinq",
        "vlan-qinqinq",
        "sll2",
        "null-loopback",
        "raw-ipv4",
        "raw-ipv6",
        "ipv4-fragments",
        "ipv6-fragmented-dns",
        "ipv6-ext-headers",
        "gre-sample",
        "nanosecond-sll",
        "bigendian",
        "mixed-synthetic",
        "sip-tcp",
        "sip-udp-rtp",
        "stun",
        "tcp-truncated-header",
        "tls-split-client-hello",
    ] {
        v.extend(read_pcap(&capture(case)));
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Arbitrary bytes under every link type.
    #[test]
    fn arbitrary_bytes_never_panic(lt in 0usize..LINK_TYPES.len(), data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut dec = Decoder::default();
        let rec = Record { ts_nanos: 0, linktype: LINK_TYPES[lt], interface: 0, caplen: data.len() as u32, origlen: 1500, data: &data, offset: 0 };
        let d = dec.decode(&rec);
        check(&d, &data, 1500)?;
    }

    /// Real frames with a few bytes overwritten and a random cut, fed in sequence to one decoder
    /// (so fragment state is exercised too).
    #[test]
    fn mutated_real_frames(
        picks in proptest::collection::vec((any::<prop::sample::Index>(), proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6), any::<prop::sample::Index>()), 1..20),
    ) {
        let seeds = seeds();
        let mut dec = Decoder::new(DecoderConfig { frag_max_bytes: 100_000, frag_max_datagrams: 8, ..DecoderConfig::default() });
        for (i, (pick, muts, cut)) in picks.iter().enumerate() {
            let seed = &seeds[pick.index(seeds.len())];
            let mut data = seed.data.clone();
            if !data.is_empty() {
                for (at, b) in muts {
                    let at = at.index(data.len());
                    data[at] = *b;
                }
            }
            let cut = cut.index(data.len() + 1).max(data.len().saturating_sub(64) * usize::from(i % 2 == 0));
            data.truncate(cut);
            let rec = Record { ts_nanos: i as i64, linktype: seed.linktype, interface: 0, caplen: data.len() as u32, origlen: seed.origlen, data: &data, offset: 0 };
            let d = dec.decode(&rec);
            check(&d, &data, seed.origlen)?;
            prop_assert!(accounting(dec.stats()));
        }
    }
}

/// Every real frame, cut at every length, under its own link type: never panics.
#[test]
fn real_frames_cut_everywhere() {
    for seed in seeds() {
        for cut in 0..=seed.data.len() {
            let data = &seed.data[..cut];
            let mut dec = Decoder::default();
            let rec = Record {
                ts_nanos: 0,
                linktype: seed.linktype,
                interface: 0,
                caplen: cut as u32,
                origlen: seed.origlen,
                data,
                offset: 0,
            };
            let d = dec.decode(&rec);
            check(&d, data, seed.origlen).expect("test input");
        }
    }
}

/// Manual robustness run over a directory tree of classic pcap files (pcapng is skipped):
/// `SFBFLOW_PCAP_DIR=/path cargo test -p sfbflow-packet --release --test robustness -- --ignored`.
#[test]
#[ignore = "manual: needs SFBFLOW_PCAP_DIR"]
fn pcap_directory() {
    let Ok(dir) = std::env::var("SFBFLOW_PCAP_DIR") else {
        return;
    };
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    let mut details = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(dir)];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("test input") {
            let path = entry.expect("test input").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    for path in files {
        let bytes = std::fs::read(&path).expect("test input");
        if bytes.len() < 24
            || !matches!(
                bytes[0..4],
                [0xd4, 0xc3, 0xb2, 0xa1]
                    | [0x4d, 0x3c, 0xb2, 0xa1]
                    | [0xa1, 0xb2, 0xc3, 0xd4]
                    | [0xa1, 0xb2, 0x3c, 0x4d]
            )
        {
            continue;
        }
        let recs = std::panic::catch_unwind(|| read_pcap(path.to_str().expect("test input")))
            .unwrap_or_default();
        let mut dec = Decoder::default();
        for (i, r) in recs.iter().enumerate() {
            let rec = r.record();
            let d = dec.decode(&rec);
            check(&d, &r.data, r.origlen).expect("test input");
            if let Decoded::Malformed(m) = d {
                details.push(format!("{}#{}: {}", path.display(), i + 1, m.as_str()));
            }
            let key = match d {
                Decoded::Packet(p) => format!("packet {}", p.tunnel),
                Decoded::OtherIp { .. } => "other_ip".into(),
                Decoded::NotIp { .. } => "not_ip".into(),
                Decoded::FragmentHeld => "fragment_held".into(),
                Decoded::Malformed(m) => format!("malformed {}", m.as_str()),
                Decoded::UnsupportedLinkType(l) => format!("unsupported {}", l.0),
            };
            *counts.entry(key).or_default() += 1;
        }
        let pending = dec.stats().fragments_pending;
        dec.flush();
        assert!(accounting(dec.stats()));
        let s = dec.stats();
        if s.fragments_held > 0 {
            details.push(format!(
                "{}: held {} reassembled {} in {} datagrams, evicted {}, discarded {}, left at the end {}",
                path.display(), s.fragments_held, s.fragments_reassembled, s.datagrams_reassembled,
                s.fragments_evicted, s.fragments_discarded, pending
            ));
        }
    }
    let mut report: Vec<String> = counts.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    report.extend(details);
    std::fs::write(
        std::env::temp_dir().join("sfbflow-packet-robustness.txt"),
        report.join("\n"),
    )
    .expect("test input");
}
