//! `--out DIR` as a whole: `flows.parquet` and the three smaller tables of [`ParquetTables`],
//! one set of files per period of capture time ([`OutputLayout::rotate_secs`]), optionally in
//! Hive-style partition folders ([`Partition`]).
//!
//! Without rotation the files keep their plain names (`flows.parquet`, `dns.parquet`,
//! `sip.parquet`, `findings.parquet`). With rotation every `SECS` seconds of capture time,
//! periods are aligned to multiples of `SECS` since the Unix epoch and each file is named by the
//! start of its period: `flows-20261124T130500Z.parquet`, `dns-20261124T130500Z.parquet`, ...
//!
//! The row-to-file rule: a row goes to the file of the period in effect when the pipeline hands
//! it over. The period changes in [`Sink::tick`], which the pipeline calls as capture time
//! advances (about once per second of capture time, after the rows that ended by then); so a
//! flow that ended just before a boundary but was handed over after it (a flow ends when its
//! idle timeout passes, not at its last packet) is in the next period's file.
//!
//! A period's four files are opened together on the period's first row (of any table) and
//! finished together (completed and renamed into place) at the first tick after the period's
//! end, or in [`Sink::finish`]: a period in which no row arrived leaves no file, a period that
//! had rows leaves all four (a folder query over any table finds its files), and at most one
//! period's writers are open at a time. A run that handed over no row at all still leaves one
//! set of (empty) files, in the period of its last capture time (of the Unix epoch for a capture
//! without a single packet).

use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use crate::{
    CaptureMeta, DnsRow, Error, FindingRow, FlowRow, MAX_TIME_JUMP_NANOS, ParquetSink,
    ParquetTables, RunStats, Sink, SipDialogRow, format_rfc3339_nanos,
};

/// Hive-style partition folders (`key=value`) for the output files, so that readers such as
/// DuckDB (`hive_partitioning = true`), Spark and Trino see `date` (and `hour`) columns and can
/// skip folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Partition {
    /// `date=2026-11-24/hour=13/` (hours without a leading zero: `hour=5`).
    Hour,
    /// `date=2026-11-24/`.
    Day,
}

/// How the files of `--out DIR` are laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutputLayout {
    /// Close the files every this many seconds of capture time and start the next ones; `None`:
    /// one set of files for the run, with the plain names.
    pub rotate_secs: Option<NonZeroU64>,
    /// Partition folders: with rotation each period's files go into the partition of the
    /// period's start; without, the run's files go into the partition of the capture time at
    /// which the first row was written.
    pub partition: Option<Partition>,
}

impl OutputLayout {
    /// A layout that rotates every `rotate_secs` (if any) and partitions by `partition` (if any).
    pub fn new(rotate_secs: Option<NonZeroU64>, partition: Option<Partition>) -> Self {
        OutputLayout {
            rotate_secs,
            partition,
        }
    }

    /// The period length in nanoseconds (saturating).
    fn rotate_nanos(&self) -> Option<i64> {
        self.rotate_secs.map(|s| {
            i64::try_from(s.get())
                .unwrap_or(i64::MAX)
                .saturating_mul(1_000_000_000)
        })
    }

    /// Whether the files' paths depend on capture time (else they can be opened at once).
    fn time_dependent(&self) -> bool {
        self.rotate_secs.is_some() || self.partition.is_some()
    }
}

/// The start of the period that holds `ts_nanos`: a multiple of `period_nanos` since the epoch.
fn period_start(ts_nanos: i64, period_nanos: i64) -> i64 {
    ts_nanos
        .div_euclid(period_nanos)
        .saturating_mul(period_nanos)
}

/// The parts of an instant that the names use: (`2026-11-24`, `13`, `20261124T130500Z`). The
/// hour has no leading zero (`hour=5`), so that readers infer an integer `hour` column (DuckDB
/// keeps `05` a string).
fn instant_parts(ts_nanos: i64) -> (String, String, String) {
    // `2026-11-24T13:05:00.000000000Z`: fixed positions (years 1677..2262 in i64 nanoseconds).
    let s = format_rfc3339_nanos(ts_nanos);
    let part = |a: usize, b: usize| s.get(a..b).unwrap_or_default();
    let date = part(0, 10).to_string();
    let hour = part(11, 13)
        .parse::<u8>()
        .map(|h| h.to_string())
        .unwrap_or_default();
    let stamp = format!(
        "{}{}{}T{}{}{}Z",
        part(0, 4),
        part(5, 7),
        part(8, 10),
        part(11, 13),
        part(14, 16),
        part(17, 19)
    );
    (date, hour, stamp)
}

/// The folder of a period's files: `dir`, or its partition folder below `dir`.
fn folder(dir: &Path, partition: Option<Partition>, ts_nanos: i64) -> PathBuf {
    let (date, hour, _) = instant_parts(ts_nanos);
    match partition {
        None => dir.to_path_buf(),
        Some(Partition::Day) => dir.join(format!("date={date}")),
        Some(Partition::Hour) => dir
            .join(format!("date={date}"))
            .join(format!("hour={hour}")),
    }
}

/// The files of one period.
struct PeriodFiles {
    /// Start of the period (with rotation), or the capture time the files were opened at.
    start_nanos: i64,
    flows: ParquetSink,
    tables: ParquetTables,
}

impl PeriodFiles {
    /// Completes the four files and renames them into place. Their encoding threads all finish
    /// at once: the last rows of every file are handed over before any of them is waited for.
    fn finish(mut self, stats: &RunStats) -> Result<(), Error> {
        self.flows.end_input()?;
        self.tables.end_input()?;
        self.flows.finish(stats)?;
        self.tables.finish(stats)
    }
}

/// Writes the Parquet files of `--out DIR` (`flows`, `dns`, `sip`, `findings`), rotated by
/// capture time and partitioned as its [`OutputLayout`] says. Owns one [`ParquetSink`] and one
/// [`ParquetTables`] per period, and at most one period's at a time.
pub struct RotatingParquet {
    dir: PathBuf,
    layout: OutputLayout,
    rotate_nanos: Option<i64>,
    meta: Option<CaptureMeta>,
    /// The latest capture time heard in [`Sink::tick`].
    now_nanos: Option<i64>,
    open: Option<PeriodFiles>,
    /// Periods whose files were finished.
    periods_finished: u64,
}

impl std::fmt::Debug for RotatingParquet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatingParquet")
            .field("dir", &self.dir)
            .field("layout", &self.layout)
            .field("open", &self.open.as_ref().map(|p| p.flows.path()))
            .field("periods_finished", &self.periods_finished)
            .finish()
    }
}

impl RotatingParquet {
    /// A sink writing into `dir` (which must exist). Without rotation and partitions the files'
    /// names do not depend on capture time, and they are created at once (so that an unwritable
    /// folder is reported before any input is read); otherwise on the first row of each period.
    pub fn create(dir: impl Into<PathBuf>, layout: OutputLayout) -> Result<Self, Error> {
        let mut sink = RotatingParquet {
            dir: dir.into(),
            layout,
            rotate_nanos: layout.rotate_nanos(),
            meta: None,
            now_nanos: None,
            open: None,
            periods_finished: 0,
        };
        if !layout.time_dependent() {
            sink.open_files(0)?;
        }
        Ok(sink)
    }

    /// The final path of the open period's `flows` file, if a period is open.
    pub fn current_path(&self) -> Option<&Path> {
        self.open.as_ref().map(|p| p.flows.path())
    }

    /// Periods whose files have been finished so far.
    pub fn periods_finished(&self) -> u64 {
        self.periods_finished
    }

    /// The open period's files, opened first if none is (`row_ts_nanos` names the period only
    /// when no tick has told the capture time yet).
    fn files(&mut self, row_ts_nanos: i64) -> Result<&mut PeriodFiles, Error> {
        if self.open.is_none() {
            let at = self.now_nanos.unwrap_or(row_ts_nanos);
            self.open_files(at)?;
        }
        match self.open.as_mut() {
            Some(p) => Ok(p),
            None => Err(Error::Io {
                path: self.dir.clone(),
                source: std::io::Error::other("no output file open"),
            }),
        }
    }

    /// Opens the files of the period that holds capture time `at_nanos`.
    fn open_files(&mut self, at_nanos: i64) -> Result<(), Error> {
        let start = match self.rotate_nanos {
            Some(n) => period_start(at_nanos, n),
            None => at_nanos,
        };
        let folder = folder(&self.dir, self.layout.partition, start);
        if self.layout.partition.is_some() {
            std::fs::create_dir_all(&folder).map_err(|source| Error::Io {
                path: folder.clone(),
                source,
            })?;
        }
        let mut suffix = match self.rotate_nanos {
            Some(_) => format!("-{}", instant_parts(start).2),
            None => String::new(),
        };
        if self.rotate_nanos.is_some() {
            // A period met again after the clock jumped back: new names, nothing overwritten.
            let base = suffix.clone();
            let mut n = 1u32;
            while folder.join(format!("flows{suffix}.parquet")).exists() {
                n += 1;
                suffix = format!("{base}-{n}");
            }
        }
        let mut flows = ParquetSink::create(folder.join(format!("flows{suffix}.parquet")))?;
        let mut tables = ParquetTables::create_with_suffix(&folder, &suffix)?;
        if let Some(meta) = &self.meta {
            flows.begin(meta)?;
            tables.begin(meta)?;
        }
        self.open = Some(PeriodFiles {
            start_nanos: start,
            flows,
            tables,
        });
        Ok(())
    }

    /// Finishes the open period's files, if any.
    fn close(&mut self, stats: &RunStats) -> Result<(), Error> {
        if let Some(p) = self.open.take() {
            p.finish(stats)?;
            self.periods_finished += 1;
        }
        Ok(())
    }
}

impl Sink for RotatingParquet {
    fn begin(&mut self, meta: &CaptureMeta) -> Result<(), Error> {
        if let Some(p) = self.open.as_mut() {
            p.flows.begin(meta)?;
            p.tables.begin(meta)?;
        }
        self.meta = Some(meta.clone());
        Ok(())
    }

    fn flow(&mut self, row: &FlowRow<'_>) -> Result<(), Error> {
        self.files(row.last_ts_nanos)?.flows.flow(row)
    }

    fn flows_done(&mut self) -> Result<(), Error> {
        // The flows file's last rows go to its encoding thread now, not at `finish`.
        match self.open.as_mut() {
            Some(files) => files.flows.end_input(),
            None => Ok(()),
        }
    }

    fn rows_done(&mut self) -> Result<(), Error> {
        // So do the other files' (`finish` may still open a set of empty files).
        self.flows_done()?;
        match self.open.as_mut() {
            Some(files) => files.tables.end_input(),
            None => Ok(()),
        }
    }

    fn dns(&mut self, row: &DnsRow) -> Result<(), Error> {
        let ts = row.response_ts_nanos.or(row.query_ts_nanos).unwrap_or(0);
        self.files(ts)?.tables.dns(row)
    }

    fn sip_dialog(&mut self, row: &SipDialogRow) -> Result<(), Error> {
        self.files(row.last_ts_nanos)?.tables.sip_dialog(row)
    }

    fn finding(&mut self, row: &FindingRow) -> Result<(), Error> {
        self.files(row.last_ts_nanos)?.tables.finding(row)
    }

    fn tick(&mut self, now_nanos: i64) -> Result<(), Error> {
        // Capture time only moves forward here: an input whose clock goes back does not reopen
        // an earlier period. Unless it went back by more than MAX_TIME_JUMP_NANOS (the
        // pipeline's clock jumped there): then the open period ends, and the next row opens
        // the files of the new time's period, under names of their own if those exist.
        if let (Some(_), Some(prev)) = (self.rotate_nanos, self.now_nanos)
            && now_nanos < prev.saturating_sub(MAX_TIME_JUMP_NANOS)
        {
            self.close(&RunStats::default())?;
            self.now_nanos = Some(now_nanos);
            return Ok(());
        }
        let now = self.now_nanos.map_or(now_nanos, |t| t.max(now_nanos));
        self.now_nanos = Some(now);
        if let (Some(n), Some(open)) = (self.rotate_nanos, self.open.as_ref())
            && period_start(now, n) > open.start_nanos
        {
            // Between periods there are no run counters yet; the Parquet files do not use them.
            self.close(&RunStats::default())?;
        }
        Ok(())
    }

    fn finish(&mut self, stats: &RunStats) -> Result<(), Error> {
        if self.open.is_none() && self.periods_finished == 0 {
            // Nothing was written: one set of empty files all the same, so that a run always
            // leaves its tables.
            self.open_files(self.now_nanos.unwrap_or(0))?;
        }
        self.close(stats)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    const SEC: i64 = 1_000_000_000;
    /// 2026-11-24T13:05:00Z.
    const T0: i64 = 1_795_525_500 * SEC;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "sfbflow-sink-rotating-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    }

    fn row(flow_id: u64, last_ts_nanos: i64) -> FlowRow<'static> {
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        FlowRow {
            flow_id,
            first_ts_nanos: last_ts_nanos - SEC,
            last_ts_nanos,
            transport: "udp",
            initiator_ip: ip,
            responder_ip: ip,
            initiator_port: 1,
            responder_port: 2,
            initiator_packets: 1,
            responder_packets: 0,
            initiator_bytes: 60,
            responder_bytes: 0,
            initiator_payload_bytes: 18,
            responder_payload_bytes: 0,
            direction_basis: "first_packet",
            initiator_role: None,
            responder_role: None,
            app_protocol: "unknown",
            tls_sni: None,
            sip_call_id: None,
            workload: None,
            service: None,
            rule_id: None,
            basis: "port",
            documented: false,
            finding: Some("unknown_port"),
            end_reason: "idle",
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

    /// Every file below `dir`, as paths relative to it, sorted.
    fn files(dir: &Path) -> Vec<String> {
        fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(d).expect("read_dir").flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else if let Ok(rel) = p.strip_prefix(base) {
                    out.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        let mut out = Vec::new();
        walk(dir, dir, &mut out);
        out.sort();
        out
    }

    #[test]
    fn names_and_folders() {
        assert_eq!(
            instant_parts(T0),
            (
                "2026-11-24".to_string(),
                "13".to_string(),
                "20261124T130500Z".to_string()
            )
        );
        assert_eq!(period_start(T0 + 299 * SEC, 300 * SEC), T0);
        assert_eq!(period_start(T0 + 300 * SEC, 300 * SEC), T0 + 300 * SEC);
        assert_eq!(period_start(-1, 60 * SEC), -60 * SEC);
        let d = Path::new("out");
        assert_eq!(
            folder(d, Some(Partition::Hour), T0),
            Path::new("out/date=2026-11-24/hour=13")
        );
        assert_eq!(
            folder(d, Some(Partition::Day), T0),
            Path::new("out/date=2026-11-24")
        );
        assert_eq!(folder(d, None, T0), Path::new("out"));
        assert_eq!(
            folder(d, Some(Partition::Hour), T0 - 13 * 3600 * SEC),
            Path::new("out/date=2026-11-24/hour=0")
        );
        assert_eq!(
            folder(d, Some(Partition::Hour), T0 - 8 * 3600 * SEC),
            Path::new("out/date=2026-11-24/hour=5")
        );
        // A huge period does not overflow.
        let layout = OutputLayout::new(NonZeroU64::new(u64::MAX), None);
        assert_eq!(layout.rotate_nanos(), Some(i64::MAX));
        assert_eq!(period_start(T0, i64::MAX), 0);
    }

    #[test]
    fn plain_names_without_rotation() {
        let dir = tmpdir("plain");
        let mut s = RotatingParquet::create(&dir, OutputLayout::default()).expect("create");
        s.begin(&CaptureMeta::default()).expect("begin");
        s.tick(T0).expect("tick");
        s.flow(&row(1, T0)).expect("flow");
        s.tick(T0 + 3600 * SEC).expect("tick");
        s.flow(&row(2, T0 + 3600 * SEC)).expect("flow");
        s.finish(&RunStats::default()).expect("finish");
        assert_eq!(
            files(&dir),
            [
                "dns.parquet",
                "findings.parquet",
                "flows.parquet",
                "sip.parquet"
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn periods_rotate_at_ticks_and_quiet_periods_leave_nothing() {
        let dir = tmpdir("rotate");
        let layout = OutputLayout::new(NonZeroU64::new(60), Some(Partition::Hour));
        let mut s = RotatingParquet::create(&dir, layout).expect("create");
        s.begin(&CaptureMeta::default()).expect("begin");
        // Nothing is created before the first row.
        assert!(files(&dir).is_empty());
        s.tick(T0 + 10 * SEC).expect("tick");
        s.flow(&row(1, T0 + 5 * SEC)).expect("flow");
        assert!(s.current_path().is_some());
        // Handed over after the boundary but before the tick: still the first period.
        s.flow(&row(2, T0 + 60 * SEC)).expect("flow");
        s.tick(T0 + 61 * SEC).expect("tick");
        assert_eq!(s.periods_finished(), 1);
        assert!(s.current_path().is_none());
        // Ticks without rows: no files for those periods.
        s.tick(T0 + 125 * SEC).expect("tick");
        s.tick(T0 + 3300 * SEC).expect("tick");
        // A clock going back does not reopen an earlier period.
        s.tick(T0 + 10 * SEC).expect("tick");
        s.flow(&row(3, T0 + 3300 * SEC)).expect("flow");
        s.finish(&RunStats::default()).expect("finish");
        assert_eq!(
            files(&dir),
            [
                "date=2026-11-24/hour=13/dns-20261124T130500Z.parquet",
                "date=2026-11-24/hour=13/findings-20261124T130500Z.parquet",
                "date=2026-11-24/hour=13/flows-20261124T130500Z.parquet",
                "date=2026-11-24/hour=13/sip-20261124T130500Z.parquet",
                "date=2026-11-24/hour=14/dns-20261124T140000Z.parquet",
                "date=2026-11-24/hour=14/findings-20261124T140000Z.parquet",
                "date=2026-11-24/hour=14/flows-20261124T140000Z.parquet",
                "date=2026-11-24/hour=14/sip-20261124T140000Z.parquet",
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The flows file's rows, as its footer counts them.
    fn flow_rows(path: &Path) -> i64 {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let file = std::fs::File::open(path).expect("open");
        let reader = SerializedFileReader::new(file).expect("a Parquet file");
        reader.metadata().file_metadata().num_rows()
    }

    #[test]
    fn flows_done_completes_the_flows_and_a_later_flow_is_an_error() {
        let dir = tmpdir("flows-done");
        let mut s = RotatingParquet::create(&dir, OutputLayout::default()).expect("create");
        s.begin(&CaptureMeta::default()).expect("begin");
        s.tick(T0).expect("tick");
        // More than one hand-over of rows: a full batch, then the rest at `flows_done`.
        for id in 1..=5_000 {
            s.flow(&row(id, T0)).expect("flow");
        }
        s.flows_done().expect("flows done");
        s.flows_done().expect("a second call changes nothing");
        s.rows_done().expect("rows done");
        s.finish(&RunStats::default()).expect("finish");
        assert_eq!(flow_rows(&dir.join("flows.parquet")), 5_000);
        let _ = std::fs::remove_dir_all(&dir);

        // A flow handed over after `flows_done` is not lost quietly: `finish` fails.
        let dir = tmpdir("flows-done-late");
        let mut s = RotatingParquet::create(&dir, OutputLayout::default()).expect("create");
        s.begin(&CaptureMeta::default()).expect("begin");
        s.flow(&row(1, T0)).expect("flow");
        s.flows_done().expect("flows done");
        s.flow(&row(2, T0)).expect("buffered");
        assert!(s.finish(&RunStats::default()).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_run_without_rows_leaves_one_set_of_files() {
        let dir = tmpdir("empty");
        let layout = OutputLayout::new(NonZeroU64::new(300), None);
        let mut s = RotatingParquet::create(&dir, layout).expect("create");
        s.begin(&CaptureMeta::default()).expect("begin");
        s.tick(T0 + 42 * SEC).expect("tick");
        s.finish(&RunStats::default()).expect("finish");
        assert_eq!(
            files(&dir),
            [
                "dns-20261124T130500Z.parquet",
                "findings-20261124T130500Z.parquet",
                "flows-20261124T130500Z.parquet",
                "sip-20261124T130500Z.parquet"
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unfinished_period_leaves_no_partial_file() {
        let dir = tmpdir("dropped");
        let layout = OutputLayout::new(NonZeroU64::new(60), None);
        let mut s = RotatingParquet::create(&dir, layout).expect("create");
        s.tick(T0).expect("tick");
        s.flow(&row(1, T0)).expect("flow");
        s.tick(T0 + 60 * SEC).expect("tick");
        s.flow(&row(2, T0 + 60 * SEC)).expect("flow");
        // The run ends without finish (an error elsewhere): the finished period stays.
        drop(s);
        assert_eq!(
            files(&dir),
            [
                "dns-20261124T130500Z.parquet",
                "findings-20261124T130500Z.parquet",
                "flows-20261124T130500Z.parquet",
                "sip-20261124T130500Z.parquet"
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
