//! Test support: a tiny classic-pcap writer for flows built in the test itself.

#![allow(dead_code, reason = "each test binary uses part of the support module")]

use std::cell::RefCell;
use std::io::{Cursor, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;

use sfbflow::catalogue::Topology;
use sfbflow::pipeline::{Pipeline, PipelineConfig};
use sfbflow::sink::{CaptureMeta, Error, FlowRow, RunStats, Sink};

/// A fixture's folder, `captures/NAME`.
pub(crate) fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

/// A fresh, empty temporary folder of the test file `file`, named `name`.
pub(crate) fn tmpdir(file: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sfbflow-{file}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Writes to `out` the capture `bench/gen_capture.py ARGS` makes. Returns false, having said
/// why, when python3 cannot run it, which CI does not allow.
#[expect(clippy::print_stderr, reason = "a skipped check says why")]
pub(crate) fn generated(out: &Path, args: &[&str]) -> bool {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/gen_capture.py");
    let made = Command::new("python3")
        .arg(&script)
        .args(args)
        .arg("--out")
        .arg(out)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have python3 for bench/gen_capture.py"
        );
        eprintln!("skipped: python3 could not run bench/gen_capture.py");
    }
    made
}

/// A sink keeping every row as a JSON value, shared with the test after the run.
#[derive(Clone, Default)]
pub(crate) struct Collect(pub(crate) Rc<RefCell<Vec<serde_json::Value>>>);

impl Sink for Collect {
    fn begin(&mut self, _: &CaptureMeta) -> Result<(), Error> {
        Ok(())
    }
    fn flow(&mut self, row: &FlowRow<'_>) -> Result<(), Error> {
        self.0.borrow_mut().push(serde_json::to_value(row)?);
        Ok(())
    }
    fn finish(&mut self, _: &RunStats) -> Result<(), Error> {
        Ok(())
    }
}

/// Runs a capture through the real pipeline (with a topology, if given) and returns its rows.
pub(crate) fn run(pcap: &Pcap, topology: Option<&str>) -> Vec<serde_json::Value> {
    let topology = topology.map(|t| Topology::from_toml(t).expect("topology parses"));
    let rows = Collect::default();
    let cfg = PipelineConfig {
        topology,
        ..PipelineConfig::default()
    };
    let mut p = Pipeline::new(cfg, vec![Box::new(rows.clone())]);
    p.run_input("test", Cursor::new(pcap.bytes.clone()), |_| {})
        .expect("input");
    p.finish().expect("finish");
    rows.0.take()
}

/// TCP flags.
pub(crate) const SYN: u8 = 0x02;
/// TCP ACK.
pub(crate) const ACK: u8 = 0x10;
/// TCP FIN.
pub(crate) const FIN: u8 = 0x01;
/// TCP PSH.
pub(crate) const PSH: u8 = 0x08;

/// Builds an Ethernet + IPv4 + TCP/UDP frame.
#[expect(clippy::too_many_arguments, reason = "a frame is its header fields")]
pub(crate) fn frame(
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    udp: bool,
    flags: u8,
    seq: u32,
    payload: &[u8],
) -> Vec<u8> {
    let l4_len = if udp { 8 } else { 20 };
    let total = 20 + l4_len + payload.len();
    let mut f = Vec::with_capacity(14 + total);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
    f.extend_from_slice(&[
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0x40,
        0,
        64,
        if udp { 17 } else { 6 },
        0,
        0,
    ]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    if udp {
        f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
    } else {
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&0u32.to_be_bytes());
        f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    }
    f.extend_from_slice(payload);
    f
}

/// A classic pcap (microseconds, little-endian, Ethernet) being built.
pub(crate) struct Pcap {
    pub(crate) bytes: Vec<u8>,
    usec: u64,
}

impl Default for Pcap {
    fn default() -> Self {
        Self::new()
    }
}

impl Pcap {
    /// An empty capture starting at 2024-01-01T00:00:00Z.
    pub(crate) fn new() -> Self {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&65535u32.to_le_bytes());
        bytes.extend_from_slice(&1u32.to_le_bytes());
        Pcap {
            bytes,
            usec: 1_704_067_200_000_000,
        }
    }

    /// Appends a frame 1 ms after the previous one.
    pub(crate) fn push(&mut self, frame: &[u8]) {
        self.usec += 1000;
        self.bytes
            .extend_from_slice(&((self.usec / 1_000_000) as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&((self.usec % 1_000_000) as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(frame);
    }

    /// A TCP connection with its handshake, one data segment each way, and FIN both ways.
    pub(crate) fn tcp_conversation(
        &mut self,
        c: Ipv4Addr,
        cport: u16,
        s: Ipv4Addr,
        sport: u16,
        request: &[u8],
        reply: &[u8],
    ) {
        self.push(&frame(c, cport, s, sport, false, SYN, 1000, &[]));
        self.push(&frame(s, sport, c, cport, false, SYN | ACK, 5000, &[]));
        self.push(&frame(c, cport, s, sport, false, ACK, 1001, &[]));
        self.push(&frame(c, cport, s, sport, false, PSH | ACK, 1001, request));
        self.push(&frame(s, sport, c, cport, false, PSH | ACK, 5001, reply));
        self.push(&frame(
            c,
            cport,
            s,
            sport,
            false,
            FIN | ACK,
            1001 + request.len() as u32,
            &[],
        ));
        self.push(&frame(
            s,
            sport,
            c,
            cport,
            false,
            FIN | ACK,
            5001 + reply.len() as u32,
            &[],
        ));
        self.push(&frame(
            c,
            cport,
            s,
            sport,
            false,
            ACK,
            1002 + request.len() as u32,
            &[],
        ));
    }

    /// A UDP exchange: a datagram from the client and an answer.
    pub(crate) fn udp_exchange(
        &mut self,
        c: Ipv4Addr,
        cport: u16,
        s: Ipv4Addr,
        sport: u16,
        request: &[u8],
        reply: &[u8],
    ) {
        self.push(&frame(c, cport, s, sport, true, 0, 0, request));
        self.push(&frame(s, sport, c, cport, true, 0, 0, reply));
    }
}

/// A writer the test reads after the run.
#[derive(Clone, Default)]
pub(crate) struct Shared(pub(crate) Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
