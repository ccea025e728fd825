//! Command-line arguments.

use std::num::NonZeroU64;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use sfbflow::sink::{OutputLayout, Partition};

/// Classify the flows of a packet capture against the Skype for Business Server 2015 protocol
/// workloads poster: which documented workload each conversation is, and what the
/// documentation does not account for.
#[derive(Debug, Parser)]
#[command(name = "sfbflow", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Read captures and write one row per flow (the main job).
    Classify(ClassifyArgs),
    /// Print the documented flows built into sfbflow (or of --catalogue FILE).
    Catalogue(CatalogueArgs),
    /// Work with topology files (role maps).
    #[command(subcommand)]
    Topology(TopologyCommand),
    /// Draw the flows of `classify --out` like the poster, as one self-contained HTML file.
    Report(ReportArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// flows.parquet files, or folders searched for flows*.parquet (with the findings, dns and
    /// sip tables beside them).
    #[arg(required = true, value_name = "FLOWS.parquet|DIR")]
    pub(crate) inputs: Vec<PathBuf>,

    /// The HTML file to write.
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: PathBuf,

    /// The page's title (default: a description of the report).
    #[arg(long, value_name = "TEXT")]
    pub(crate) title: Option<String>,

    /// Documented flows to compare against instead of the built-in catalogue (the one the
    /// flows were classified with).
    #[arg(long, value_name = "FILE")]
    pub(crate) catalogue: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TopologyCommand {
    /// Print a commented topology.toml template on standard output.
    Init,
    /// Propose a topology from what the hosts of a capture do (printed with its evidence).
    Infer(InferArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct InferArgs {
    /// pcap or pcapng files, read in order as one capture; `-` reads standard input. A folder
    /// stands for the capture files in it, in the order of their first frames.
    #[arg(required = true, value_name = "INPUT")]
    pub(crate) inputs: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum CatalogueFormat {
    /// Aligned text for a terminal.
    Table,
    /// CSV with a header line.
    Csv,
    /// A JSON array of rule objects.
    Json,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CatalogueArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: CatalogueFormat,

    /// A catalogue file to print instead of the built-in one (it is validated first).
    #[arg(long, value_name = "FILE")]
    pub(crate) catalogue: Option<PathBuf>,
}

/// Partition folders of `--out DIR`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum PartitionArg {
    /// DIR/date=YYYY-MM-DD/hour=HH/
    Hour,
    /// DIR/date=YYYY-MM-DD/
    Day,
}

impl ClassifyArgs {
    /// How the Parquet files of `--out` are laid out.
    pub(crate) fn output_layout(&self) -> OutputLayout {
        let partition = self.partition.map(|p| match p {
            PartitionArg::Hour => Partition::Hour,
            PartitionArg::Day => Partition::Day,
        });
        OutputLayout::new(self.rotate.and_then(NonZeroU64::new), partition)
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct ClassifyArgs {
    /// pcap or pcapng files, read in order as one capture; `-` reads standard input. A folder
    /// stands for the capture files in it, in the order of their first frames.
    #[arg(required = true, value_name = "INPUT")]
    pub(crate) inputs: Vec<PathBuf>,

    /// Role map of the deployment (TOML; `sfbflow topology init` prints a template). Without
    /// it, flows are classified by port alone.
    #[arg(long, value_name = "FILE")]
    pub(crate) topology: Option<PathBuf>,

    /// Documented flows to classify against instead of the built-in catalogue (for deployments
    /// that changed ports; `sfbflow catalogue` shows the format).
    #[arg(long, value_name = "FILE")]
    pub(crate) catalogue: Option<PathBuf>,

    /// Write DIR/flows.parquet, dns.parquet, sip.parquet and findings.parquet (DIR is created if
    /// missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,

    /// With --out: close the Parquet files every SECS seconds of capture time and start the
    /// next ones.
    ///
    /// Periods are aligned to multiples of SECS since the Unix epoch and files are named by
    /// their period's start (flows-20261124T130500Z.parquet, and the same for dns, sip and
    /// findings). A row goes to the period in which it is written: a flow that ended just
    /// before a boundary but was handed over after it is in the next period's files. A period
    /// without rows leaves no files.
    #[arg(long, value_name = "SECS", requires = "out",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) rotate: Option<u64>,

    /// With --out: put the Parquet files into Hive-style folders (date=YYYY-MM-DD/hour=HH/).
    ///
    /// DIR/date=2026-11-24/hour=13/ (hour) or DIR/date=2026-11-24/ (day), by their period's
    /// start with --rotate, else by the capture time at which the run's first row was written.
    #[arg(long, value_enum, value_name = "BY", requires = "out")]
    pub(crate) partition: Option<PartitionArg>,

    /// Also print each finished flow as one JSON object per line on standard output.
    #[arg(long)]
    pub(crate) jsonl: bool,

    /// A flow with no packet for this many seconds ends; 0 = never
    /// [default: 120 for UDP, 3600 for TCP].
    #[arg(long, value_name = "SECS")]
    pub(crate) idle_timeout: Option<u64>,

    /// Bound on live flows; beyond it the least recently active flows are ended early.
    #[arg(long, value_name = "N", default_value_t = 1_000_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_flows: u64,

    /// No progress bar and no summary.
    #[arg(long, short)]
    pub(crate) quiet: bool,

    /// Follow the input file as another program writes it (`tcpdump -w FILE`), like
    /// `tail -f`, until SIGINT or SIGTERM ends the run.
    #[arg(long)]
    pub(crate) follow: bool,
    /// Every INPUT is a capture of its own (unrelated files), read in parallel on --jobs
    /// threads, into DIR/input=NAME/.
    ///
    /// NAME is the input's file name (or, when two inputs share one, its path with `/` turned
    /// into `_`). Each folder holds what `classify INPUT --out DIR/input=NAME` would write; the
    /// summaries follow in the order the inputs were given. Without --each, the inputs are one
    /// capture (a rotated set), read in order.
    #[arg(long, requires = "out", conflicts_with_all = ["jsonl", "follow"])]
    pub(crate) each: bool,
    /// With --each: how many inputs are read at once [default: the number of cores].
    #[arg(long, value_name = "N", requires = "each",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) jobs: Option<u64>,
}
