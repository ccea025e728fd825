//! decode(encode(x)) on sfbflow's own writers: any flow row written as a JSON line or into
//! `flows.parquet` reads back as the same values (timestamps to the nanosecond, addresses,
//! counters, and strings of any content).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arrow::array::{
    Array, AsArray, StringArray, TimestampNanosecondArray, UInt16Array, UInt64Array,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use proptest::prelude::*;

mod common;
use common::Shared;
use sfbflow::sink::{CaptureMeta, FlowRow, JsonLinesSink, ParquetSink, RunStats, Sink};

/// The owned values of a row, made by proptest.
#[derive(Debug, Clone)]
struct Values {
    flow_id: u64,
    first: i64,
    last: i64,
    tcp: bool,
    a: IpAddr,
    b: IpAddr,
    ports: (u16, u16),
    counts: [u64; 6],
    sni: Option<String>,
    call_id: Option<String>,
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o))),
    ]
}

fn values() -> impl Strategy<Value = Values> {
    (
        any::<u64>(),
        // Years 1900 to 2200, any nanosecond.
        -2_208_988_800_000_000_000i64..7_258_118_400_000_000_000,
        0i64..1_000_000_000_000_000,
        any::<bool>(),
        ip(),
        ip(),
        any::<(u16, u16)>(),
        any::<[u64; 6]>(),
        proptest::option::of(".{0,40}"),
        proptest::option::of(any::<String>()),
    )
        .prop_map(
            |(flow_id, first, span, tcp, a, b, ports, counts, sni, call_id)| Values {
                flow_id,
                first,
                last: first.saturating_add(span),
                tcp,
                a,
                b,
                ports,
                counts,
                sni,
                call_id,
            },
        )
}

fn row(v: &Values) -> FlowRow<'_> {
    FlowRow {
        flow_id: v.flow_id,
        first_ts_nanos: v.first,
        last_ts_nanos: v.last,
        transport: if v.tcp { "tcp" } else { "udp" },
        initiator_ip: v.a,
        responder_ip: v.b,
        initiator_port: v.ports.0,
        responder_port: v.ports.1,
        initiator_packets: v.counts[0],
        responder_packets: v.counts[1],
        initiator_bytes: v.counts[2],
        responder_bytes: v.counts[3],
        initiator_payload_bytes: v.counts[4],
        responder_payload_bytes: v.counts[5],
        direction_basis: "syn",
        initiator_role: None,
        responder_role: None,
        app_protocol: "SIP",
        tls_sni: v.sni.as_deref(),
        sip_call_id: v.call_id.as_deref(),
        workload: None,
        service: None,
        rule_id: None,
        basis: "port",
        documented: false,
        finding: None,
        end_reason: "fin",
        vlan: None,
        tunnel: None,
        tls_version: None,
        tls_cert_subject: None,
        tls_cert_sans: None,
        cert_problem: None,
        sip_method: None,
        sip_user_agent: None,
        stun_seen: None,
        stun_method: None,
        rtp_codec: None,
        dns_query: None,
    }
}

/// Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm), to read the
/// JSON timestamps back.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` back to nanoseconds.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let n = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    if s.len() != 30 || !s.ends_with('Z') {
        return None;
    }
    let days = days_from_civil(n(0, 4)?, n(5, 7)?, n(8, 10)?);
    let secs = days * 86_400 + n(11, 13)? * 3600 + n(14, 16)? * 60 + n(17, 19)?;
    Some(secs * 1_000_000_000 + n(20, 29)?)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A JSON line reads back as the row it was written from.
    #[test]
    fn json_lines_read_back_what_was_written(rows in proptest::collection::vec(values(), 1..8)) {
        let out = Shared::default();
        let mut sink = JsonLinesSink::new(out.clone(), "memory");
        sink.begin(&CaptureMeta::default()).expect("begin");
        for v in &rows {
            sink.flow(&row(v)).expect("flow");
        }
        sink.finish(&RunStats::default()).expect("finish");
        let text = String::from_utf8(out.0.borrow().clone()).expect("UTF-8");
        let lines: Vec<&str> = text.lines().collect();
        prop_assert_eq!(lines.len(), rows.len());
        for (line, v) in lines.iter().zip(&rows) {
            let j: serde_json::Value = serde_json::from_str(line).expect("JSON");
            prop_assert_eq!(j["flow_id"].as_u64(), Some(v.flow_id));
            prop_assert_eq!(j["first_ts"].as_str().and_then(parse_rfc3339), Some(v.first));
            prop_assert_eq!(j["last_ts"].as_str().and_then(parse_rfc3339), Some(v.last));
            prop_assert_eq!(j["transport"].as_str(), Some(if v.tcp { "tcp" } else { "udp" }));
            let a: Option<IpAddr> = j["initiator_ip"].as_str().and_then(|s| s.parse().ok());
            let b: Option<IpAddr> = j["responder_ip"].as_str().and_then(|s| s.parse().ok());
            prop_assert_eq!((a, b), (Some(v.a), Some(v.b)));
            prop_assert_eq!(j["initiator_port"].as_u64(), Some(u64::from(v.ports.0)));
            prop_assert_eq!(j["responder_port"].as_u64(), Some(u64::from(v.ports.1)));
            let names = [
                "initiator_packets",
                "responder_packets",
                "initiator_bytes",
                "responder_bytes",
                "initiator_payload_bytes",
                "responder_payload_bytes",
            ];
            for (name, want) in names.iter().zip(v.counts) {
                prop_assert_eq!(j[*name].as_u64(), Some(want), "{}", name);
            }
            prop_assert_eq!(j["tls_sni"].as_str(), v.sni.as_deref());
            prop_assert_eq!(j["sip_call_id"].as_str(), v.call_id.as_deref());
        }
    }

    /// `flows.parquet` reads back as the rows it was written from.
    #[test]
    fn parquet_reads_back_what_was_written(rows in proptest::collection::vec(values(), 1..40)) {
        let dir = std::env::temp_dir().join(format!("sfbflow-roundtrip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("folder");
        let path = dir.join("flows.parquet");
        let mut sink = ParquetSink::create(&path).expect("create");
        sink.begin(&CaptureMeta::default()).expect("begin");
        for v in &rows {
            sink.flow(&row(v)).expect("flow");
        }
        sink.finish(&RunStats::default()).expect("finish");
        let file = std::fs::File::open(&path).expect("open");
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("Parquet")
            .build()
            .expect("reader");
        let mut i = 0;
        for batch in reader {
            let batch = batch.expect("batch");
            let col = |name: &str| batch.column_by_name(name).expect("column").clone();
            let ids = col("flow_id");
            let ids = ids.as_any().downcast_ref::<UInt64Array>().expect("u64");
            let first = col("first_ts");
            let first = first.as_any().downcast_ref::<TimestampNanosecondArray>().expect("ts");
            let last = col("last_ts");
            let last = last.as_any().downcast_ref::<TimestampNanosecondArray>().expect("ts");
            let iip = col("initiator_ip");
            let iip: &StringArray = iip.as_string();
            let rip = col("responder_ip");
            let rip: &StringArray = rip.as_string();
            let ip_port = col("initiator_port");
            let ip_port = ip_port.as_any().downcast_ref::<UInt16Array>().expect("u16");
            let bytes = col("responder_bytes");
            let bytes = bytes.as_any().downcast_ref::<UInt64Array>().expect("u64");
            let sni = col("tls_sni");
            let sni: &StringArray = sni.as_string();
            let call = col("sip_call_id");
            let call: &StringArray = call.as_string();
            for r in 0..batch.num_rows() {
                let v = &rows[i];
                prop_assert_eq!(ids.value(r), v.flow_id);
                prop_assert_eq!(first.value(r), v.first);
                prop_assert_eq!(last.value(r), v.last);
                prop_assert_eq!(iip.value(r).parse::<IpAddr>().ok(), Some(v.a));
                prop_assert_eq!(rip.value(r).parse::<IpAddr>().ok(), Some(v.b));
                prop_assert_eq!(ip_port.value(r), v.ports.0);
                prop_assert_eq!(bytes.value(r), v.counts[3]);
                let s = (!sni.is_null(r)).then(|| sni.value(r));
                prop_assert_eq!(s, v.sni.as_deref());
                let c = (!call.is_null(r)).then(|| call.value(r));
                prop_assert_eq!(c, v.call_id.as_deref());
                i += 1;
            }
        }
        prop_assert_eq!(i, rows.len());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
