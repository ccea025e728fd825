//! The `sfbflow` command.

mod args;
mod each;
mod inputs;

use std::borrow::Cow;
use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::Parser;
use sfbflow::capture::Follow;
use sfbflow::capture::Queued;
use sfbflow::catalogue::{
    Catalogue, Topology, documented_server_ports, render_csv, render_json, render_table,
};
use sfbflow::flow::FlowConfig;
use sfbflow::infer::SharedInfer;
use sfbflow::pipeline::{
    Input, InputError, Pipeline, PipelineConfig, error_chain, open_input, parse_ahead, queue_ahead,
};
use sfbflow::sink::{CaptureMeta, JsonLinesSink, RotatingParquet, Sink, SummarySink};
use signal_hook::consts::{SIGINT, SIGTERM};

use crate::args::{
    CatalogueArgs, CatalogueFormat, ClassifyArgs, Cli, Command, InferArgs, ReportArgs,
    TopologyCommand,
};

/// Exit status: done.
const EXIT_OK: u8 = 0;
/// Exit status: the capture had problems, but output was written.
const EXIT_PROBLEMS: u8 = 1;
/// Exit status: bad usage, unreadable or non-capture input.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::from(EXIT_OK);
            }
            #[expect(clippy::print_stderr, reason = "the binary reports its own errors")]
            {
                eprintln!("sfbflow: error: {e:#}");
            }
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<sfbflow::sink::Error>()
                .is_some_and(|s| s.is_broken_pipe())
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Classify(args) => classify(args),
        Command::Catalogue(args) => catalogue(args),
        Command::Topology(TopologyCommand::Init) => {
            print_stdout(sfbflow::catalogue::topology_template())?;
            Ok(ExitCode::from(EXIT_OK))
        }
        Command::Topology(TopologyCommand::Infer(args)) => infer(args),
        Command::Report(args) => report(args),
    }
}

fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    use sfbflow_report::{Report, ReportOptions, find_tables};
    let cat = load_catalogue(args.catalogue.as_deref())?;
    let files = find_tables(&args.inputs)?;
    let report = Report::load(&files, &args.inputs)?;
    let options = ReportOptions {
        title: args.title,
        generator: format!("sfbflow {}", env!("CARGO_PKG_VERSION")),
    };
    let html = report.render_html(&cat, &options)?;
    std::fs::write(&args.output, html)
        .with_context(|| format!("writing {}", args.output.display()))?;
    Ok(ExitCode::from(EXIT_OK))
}

fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn load_catalogue(path: Option<&Path>) -> anyhow::Result<Cow<'static, Catalogue>> {
    Ok(match path {
        Some(p) => {
            Cow::Owned(Catalogue::from_path(p).map_err(|e| anyhow::anyhow!(error_chain(&e)))?)
        }
        None => Cow::Borrowed(Catalogue::builtin()),
    })
}

fn infer(mut args: InferArgs) -> anyhow::Result<ExitCode> {
    // The proposal's header names the inputs as given (a folder, not its thousand files).
    let given: Vec<String> = args
        .inputs
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    args.inputs = expand_folders(&args.inputs)?;
    let shared = SharedInfer::default();
    let flow = FlowConfig {
        server_ports: documented_server_ports(),
        ..FlowConfig::default()
    };
    let cfg = PipelineConfig {
        flow,
        ..PipelineConfig::default()
    };
    let mut pipeline = Pipeline::new(cfg, vec![Box::new(shared.clone())]);
    let names: Vec<String> = args
        .inputs
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    for (path, name) in args.inputs.iter().zip(&names) {
        let res = if path.as_os_str() == "-" {
            widen_stdin_pipe();
            pipeline.run_records(name, parse_ahead(std::io::stdin(), None), |_| {})
        } else {
            let file = File::open(path).with_context(|| format!("opening {name}"))?;
            pipeline.run_records(name, parse_ahead(file, None), |_| {})
        };
        res.map_err(|e| anyhow::anyhow!(error_chain(&e)))?;
    }
    let stats = pipeline.finish()?;
    let text = shared.0.borrow().render(Catalogue::builtin(), &given);
    print_stdout(&text)?;
    let problems = stats
        .inputs
        .iter()
        .any(|i| !i.warnings.is_empty() || i.error.is_some());
    Ok(ExitCode::from(if problems {
        EXIT_PROBLEMS
    } else {
        EXIT_OK
    }))
}

/// The inputs with each folder replaced by its capture files in time order (`inputs.rs`); what
/// a folder holds besides is named in a note on stderr.
fn expand_folders(given: &[std::path::PathBuf]) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let (inputs, notes) = inputs::expand(given)?;
    let mut err = std::io::stderr().lock();
    for note in notes {
        let _ = writeln!(err, "sfbflow: note: {note}");
    }
    Ok(inputs)
}

fn catalogue(args: CatalogueArgs) -> anyhow::Result<ExitCode> {
    let cat = load_catalogue(args.catalogue.as_deref())?;
    let text = match args.format {
        CatalogueFormat::Table => render_table(&cat),
        CatalogueFormat::Csv => render_csv(&cat),
        CatalogueFormat::Json => render_json(&cat),
    };
    print_stdout(&text)?;
    Ok(ExitCode::from(EXIT_OK))
}

fn classify(mut args: ClassifyArgs) -> anyhow::Result<ExitCode> {
    if args.follow
        && let Some(dir) = args.inputs.iter().find(|p| p.is_dir())
    {
        anyhow::bail!(
            "--follow reads a file as it grows: {} is a folder",
            dir.display()
        );
    }
    args.inputs = expand_folders(&args.inputs)?;
    // The server ports are the catalogue's, set once it is read (`config` below).
    let mut flow = FlowConfig::default();
    if let Some(secs) = args.idle_timeout {
        let nanos = i64::try_from(secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000_000);
        flow = flow.with_idle_timeout(nanos);
    }
    flow.max_flows = usize::try_from(args.max_flows).unwrap_or(usize::MAX);
    // The built-in catalogue (about 2 ms of TOML) is read on a thread of its own while the
    // output files are set up and the one capture file's reading thread starts; a catalogue
    // file is read now, so that its errors come first.
    let user_catalogue = match args.catalogue.as_deref() {
        Some(p) => Some(load_catalogue(Some(p))?),
        None => {
            let _ = std::thread::Builder::new()
                .name("sfbflow-catalogue".into())
                .spawn(|| {
                    let _ = Catalogue::builtin();
                });
            None
        }
    };
    let topology = match &args.topology {
        Some(p) => Some(Topology::from_path(p).map_err(|e| anyhow::anyhow!(error_chain(&e)))?),
        None => None,
    };
    // Called once, when the configuration is needed: the built-in catalogue is then waited for.
    let config = move || -> anyhow::Result<PipelineConfig> {
        let catalogue = match user_catalogue {
            Some(c) => c,
            None => load_catalogue(None)?,
        };
        Ok(PipelineConfig {
            flow: FlowConfig {
                server_ports: catalogue.server_ports(),
                ..flow
            },
            catalogue,
            topology,
            ..PipelineConfig::default()
        })
    };

    let stdin_count = args.inputs.iter().filter(|p| p.as_os_str() == "-").count();
    anyhow::ensure!(stdin_count <= 1, "standard input (-) can be read only once");
    if let (true, Some(out)) = (args.each, &args.out) {
        anyhow::ensure!(
            stdin_count == 0,
            "--each reads files: standard input (-) is one capture of its own, without --each"
        );
        return classify_each(&args, out, &config()?);
    }

    // One capture file: its reading thread reads and parses the first chunks meanwhile. Only a
    // regular file: a named pipe could block this thread before the output is set up. Any
    // error opening it is the loop's below, as for every input.
    let regular = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file());
    let mut early = match args.inputs.as_slice() {
        [path] if !args.follow && regular(path) => File::open(path).ok().map(|file| {
            (
                file.metadata().map(|m| m.len()).unwrap_or(0),
                parse_ahead(file, None),
            )
        }),
        _ => None,
    };
    // So are the output files and their encoding threads.
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating output directory {}", dir.display()))?;
        // flows, dns, sip and findings: one set of files, or one per period with --rotate.
        let layout = args.output_layout();
        sinks.push(Box::new(RotatingParquet::create(dir, layout)?));
    }
    if args.jsonl {
        sinks.push(Box::new(JsonLinesSink::new(std::io::stdout().lock(), "-")));
    }
    let show_summary = !args.quiet;
    if show_summary {
        // With JSON lines on stdout, the summary goes to stderr.
        let sink: Box<dyn Sink> = if args.jsonl {
            Box::new(SummarySink::new(std::io::stderr(), "stderr"))
        } else {
            Box::new(SummarySink::new(std::io::stdout(), "stdout"))
        };
        sinks.push(sink);
    }

    let mut pipeline = Pipeline::new(config()?, sinks);
    let meta = CaptureMeta {
        inputs: args
            .inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
    };
    pipeline.begin(&meta)?;

    // SIGINT and SIGTERM end the run cleanly: the input ends, the live flows are written, the
    // files renamed into place, the summary printed. A second one ends the process at once.
    let stop = stop_on_signals()?;
    pipeline.set_stop(Arc::clone(&stop));

    let mut fatal: Option<anyhow::Error> = None;
    // The next input, when it is a regular file, is handed to the reading thread before its
    // turn: read as soon as the input before it is, with no wait at the boundary.
    let prefetch = |next: Option<&std::path::PathBuf>| {
        let next = next.filter(|p| !args.follow && p.as_os_str() != "-" && regular(p))?;
        let file = File::open(next).ok()?;
        let len = file.metadata().map_or(0, |m| m.len());
        queue_ahead(file).ok().map(|q| (len, q))
    };
    let mut queued = None;
    for (i, path) in args.inputs.iter().enumerate() {
        if pipeline.stopped() {
            break;
        }
        let name = path.display().to_string();
        let res = if path.as_os_str() == "-" {
            // A reading thread overlaps the pipe's turns with the decoding.
            widen_stdin_pipe();
            let input = parse_ahead(std::io::stdin(), Some(Arc::clone(&stop)));
            let mut status = LiveStatus::new(!args.quiet);
            let r = pipeline.run_records(&name, input, |p| status.update(p));
            status.finish();
            r
        } else if let Some((len, input)) = queued.take() {
            let input = Queued::start(input);
            queued = prefetch(args.inputs.get(i + 1));
            run_file(&mut pipeline, &name, path, len, input, args.quiet)
        } else if let Some((len, input)) = early.take() {
            queued = prefetch(args.inputs.get(i + 1));
            run_file(&mut pipeline, &name, path, len, input, args.quiet)
        } else {
            match open_input(path, &stop) {
                // Stopped while a named pipe waited for its writer.
                None => {
                    pipeline.mark_stopped();
                    break;
                }
                Some(Ok(file)) if args.follow => {
                    // Another program is still writing the file: read on until a signal.
                    let input = parse_ahead(
                        Follow::new(file, Arc::clone(&stop)),
                        Some(Arc::clone(&stop)),
                    );
                    let mut status = LiveStatus::new(!args.quiet);
                    let r = pipeline.run_records(&name, input, |p| status.update(p));
                    status.finish();
                    r
                }
                Some(Ok(file)) => {
                    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
                    let input = parse_ahead(file, None);
                    queued = prefetch(args.inputs.get(i + 1));
                    run_file(&mut pipeline, &name, path, len, input, args.quiet)
                }
                Some(Err(e)) => {
                    fatal = Some(anyhow::Error::new(e).context(format!("opening {name}")));
                    break;
                }
            }
        };
        match res {
            Ok(()) => {}
            Err(InputError::Sink(e)) => return Err(e.into()),
            Err(e @ InputError::Unreadable { .. }) => {
                fatal = Some(anyhow::anyhow!(error_chain(&e)));
                break;
            }
        }
    }

    // Whatever happened, what was read is written.
    let stats = pipeline.finish()?;
    if let Some(e) = fatal {
        return Err(e);
    }
    let problems = report_problems(&stats);
    Ok(ExitCode::from(if problems {
        EXIT_PROBLEMS
    } else {
        EXIT_OK
    }))
}

/// Runs one capture file of `len` bytes, read by `input`, through `pipeline`, with a progress
/// bar unless `quiet`. The reading thread overlaps the read() calls and the record parsing with
/// the decoding: on two cores the whole job runs faster than doing them in turn.
fn run_file<C: Input>(
    pipeline: &mut Pipeline,
    name: &str,
    path: &Path,
    len: u64,
    input: Result<C, sfbflow::capture::Error>,
    quiet: bool,
) -> Result<(), InputError> {
    let bar = progress_bar(!quiet, len, path);
    let r = pipeline.run_records(name, input, |p| {
        if let Some(b) = &bar {
            b.set_position(p.bytes);
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    r
}

/// Prints a run's warnings and input errors on standard error; returns whether there were any
/// (exit status 1).
fn report_problems(stats: &sfbflow::sink::RunStats) -> bool {
    let mut problems = false;
    for input in &stats.inputs {
        let mut err = std::io::stderr().lock();
        for w in &input.warnings {
            // A record cut off by the stop a signal asked for is not a problem of the capture.
            problems |= !stats.stopped_by_signal;
            let _ = writeln!(err, "sfbflow: warning: {}: {w}", input.name);
        }
        if let Some(e) = &input.error {
            problems = true;
            let _ = writeln!(
                err,
                "sfbflow: error: {}: {e} (flows read before it were written)",
                input.name
            );
        }
    }
    if !stats.unsupported_link.is_empty() {
        problems = true;
        // The counts are the run's: one input's (as under --each) is named.
        let whose = match stats.inputs.as_slice() {
            [one] => format!("{}: ", one.name),
            _ => String::new(),
        };
        let mut err = std::io::stderr().lock();
        for (lt, n) in &stats.unsupported_link {
            let _ = writeln!(
                err,
                "sfbflow: warning: {whose}{n} frames of unsupported link type {lt} skipped"
            );
        }
    }
    problems
}

/// Bytes of pipe buffer asked for on standard input. The default 64 KiB makes the writer and
/// sfbflow take turns every 64 KiB; with 256 KiB `cat big.pcap | sfbflow classify -` took 0.58 s
/// instead of 0.82 s (median of 7, BENCHMARKS.md), more than 1 MiB did not help.
const STDIN_PIPE_BYTES: usize = 256 * 1024;

/// Asks for a larger buffer when standard input is a pipe (Linux; anything else, or a refusal
/// such as a limit below the size asked for, leaves it as it was).
fn widen_stdin_pipe() {
    #[cfg(target_os = "linux")]
    {
        let stdin = std::io::stdin();
        if rustix::pipe::fcntl_getpipe_size(&stdin).is_ok_and(|n| n < STDIN_PIPE_BYTES) {
            let _ = rustix::pipe::fcntl_setpipe_size(&stdin, STDIN_PIPE_BYTES);
        }
    }
}

/// A flag SIGINT and SIGTERM raise (the run ends cleanly); a second signal ends the process at
/// once.
fn stop_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&stop))
            .context("installing the signal handlers")?;
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing the signal handlers")?;
    }
    Ok(stop)
}

/// `classify --each`: every input its own capture, in parallel (see `each.rs`).
fn classify_each(
    args: &ClassifyArgs,
    out: &Path,
    cfg: &PipelineConfig,
) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating output directory {}", out.display()))?;
    let stop = stop_on_signals()?;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let jobs = args
        .jobs
        .map_or(cores, |j| usize::try_from(j).unwrap_or(usize::MAX));
    let run = each::EachRun {
        inputs: &args.inputs,
        out,
        layout: args.output_layout(),
        cfg,
        jobs,
        summary: !args.quiet,
        stop,
        progress: captures_bar(!args.quiet, args.inputs.len()),
    };
    let problems = run.run()?;
    Ok(ExitCode::from(if problems {
        EXIT_PROBLEMS
    } else {
        EXIT_OK
    }))
}

/// The one-line status of a live run (standard input, `--follow`): packets and packets per
/// second, live flows, undocumented flows so far; refreshed about once a second, only when
/// standard error is a terminal.
struct LiveStatus {
    bar: Option<indicatif::ProgressBar>,
    last: std::time::Instant,
    last_packets: u64,
    rate: u64,
}

impl LiveStatus {
    fn new(enabled: bool) -> Self {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr_with_hz(1),
            );
            let style = indicatif::ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(std::time::Duration::from_secs(1));
            bar
        });
        LiveStatus {
            bar,
            last: std::time::Instant::now(),
            last_packets: 0,
            rate: 0,
        }
    }

    fn update(&mut self, p: &sfbflow::pipeline::Progress) {
        let Some(bar) = &self.bar else {
            return;
        };
        let elapsed = self.last.elapsed();
        if elapsed >= std::time::Duration::from_secs(1) {
            let secs = elapsed.as_secs_f64().max(1e-3);
            self.rate = ((p.packets.saturating_sub(self.last_packets)) as f64 / secs) as u64;
            self.last = std::time::Instant::now();
            self.last_packets = p.packets;
        }
        bar.set_message(format!(
            "{} packets ({}/s), {} live flows, {} undocumented so far",
            p.packets, self.rate, p.live_flows, p.undocumented
        ));
    }

    fn finish(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

/// Captures done out of all (`--each`), on a terminal only.
fn captures_bar(enabled: bool, n: usize) -> Option<indicatif::ProgressBar> {
    terminal_bar(
        enabled,
        u64::try_from(n).unwrap_or(u64::MAX),
        "{pos}/{len} captures [{bar:30}] {elapsed} eta {eta} {wide_msg}",
    )
}

/// Bytes of one input file read, on a terminal only.
fn progress_bar(enabled: bool, len: u64, path: &Path) -> Option<indicatif::ProgressBar> {
    let bar = terminal_bar(
        enabled,
        len,
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )?;
    bar.set_message(
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    Some(bar)
}

/// A progress bar of `len` steps drawn with `template` on standard error, when that is a
/// terminal and there is something to count.
fn terminal_bar(enabled: bool, len: u64, template: &str) -> Option<indicatif::ProgressBar> {
    if !enabled || !std::io::stderr().is_terminal() || len == 0 {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr_with_hz(4),
    );
    let style = indicatif::ProgressStyle::with_template(template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    Some(bar)
}
