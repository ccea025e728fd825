//! `classify --each`: every input a capture of its own, read in parallel.
//!
//! A folder of unrelated captures (one per site, per day, per ticket) is read on every core:
//! each input runs through a [`Pipeline`] of its own on one of `--jobs` worker threads, into
//! `DIR/input=NAME/` (a Hive-style folder, so that DuckDB, Spark and Trino read the whole tree
//! with an `input` column). An input's output is exactly that of `sfbflow classify INPUT --out
//! DIR/input=NAME`: nothing is shared between the runs but the catalogue and the topology.
//! Summaries, warnings and errors are printed after the runs, in the order the inputs were
//! given.

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context;
use sfbflow::pipeline::{
    InputError, Pipeline, PipelineConfig, error_chain, open_input, parse_ahead,
};
use sfbflow::sink::{CaptureMeta, OutputLayout, RotatingParquet, RunStats, Sink, SummarySink};

/// What became of one input.
struct Outcome {
    /// The summary, when one was asked for.
    summary: Vec<u8>,
    /// The run's counters; `None` when the input could not be read at all.
    stats: Option<RunStats>,
    /// Why the run stopped short (an unreadable input, an output that failed).
    fatal: Option<String>,
}

/// A writer into a buffer the caller keeps a handle on (a summary written by a sink the
/// pipeline owns, printed after the run).
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The order the workers take the inputs in: the largest regular file first. In the order
/// given, a large capture that comes last starts when the other workers are nearly done and
/// then runs on one core alone, and the whole run can take almost twice as long as the best
/// split of the inputs between the workers; largest first, it takes at most a third longer
/// than that best split (the longest-processing-time rule). An input whose size is unknown (a
/// named pipe, a device, a path that cannot be read) comes first: it may be a live capture that
/// outlasts every file, and an error is best reported early. Inputs of one size keep the order
/// given. Only the order of the runs changes: summaries are printed in the order given.
fn largest_first(inputs: &[PathBuf]) -> Vec<usize> {
    let size = |p: &PathBuf| {
        std::fs::metadata(p)
            .ok()
            .filter(std::fs::Metadata::is_file)
            .map_or(u64::MAX, |m| m.len())
    };
    let sizes: Vec<u64> = inputs.iter().map(size).collect();
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    // A stable sort: equal sizes stay in the order given.
    order.sort_by_key(|&i| std::cmp::Reverse(sizes.get(i).copied().unwrap_or(u64::MAX)));
    order
}

/// The settings every run of `--each` shares.
pub(crate) struct EachRun<'a> {
    pub(crate) inputs: &'a [PathBuf],
    pub(crate) out: &'a Path,
    pub(crate) layout: OutputLayout,
    pub(crate) cfg: &'a PipelineConfig,
    /// Worker threads (at least one, at most one per input).
    pub(crate) jobs: usize,
    pub(crate) summary: bool,
    pub(crate) stop: Arc<AtomicBool>,
    /// Captures done out of all, on a terminal.
    pub(crate) progress: Option<indicatif::ProgressBar>,
}

/// The output folder of each input: `input=FILE_NAME`, or, when two inputs share a file name,
/// `input=` and the path as given with its separators turned into `_` for all of them.
pub(crate) fn folder_names(inputs: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let file_names: Vec<String> = inputs
        .iter()
        .map(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .with_context(|| format!("{} names no file", p.display()))
        })
        .collect::<anyhow::Result<_>>()?;
    let unique = file_names.iter().collect::<HashSet<_>>().len() == file_names.len();
    let names: Vec<String> = if unique {
        file_names
    } else {
        inputs
            .iter()
            .map(|p| {
                let s = p.to_string_lossy();
                s.trim_start_matches(['/', '\\']).replace(['/', '\\'], "_")
            })
            .collect()
    };
    let distinct = names.iter().collect::<HashSet<_>>().len();
    anyhow::ensure!(
        distinct == names.len(),
        "with --each, every input needs its own output folder: some inputs are given twice"
    );
    Ok(names.into_iter().map(|n| format!("input={n}")).collect())
}

impl EachRun<'_> {
    /// Runs every input, prints the summaries and problems in the order given, and returns
    /// whether any input had problems (`Ok(false)`: all clean) or could not be read at all
    /// (`Err`, after everything else was written and printed).
    pub(crate) fn run(&self) -> anyhow::Result<bool> {
        let folders = folder_names(self.inputs)?;
        let order = largest_first(self.inputs);
        let next = AtomicUsize::new(0);
        let outcomes: Vec<Mutex<Option<Outcome>>> =
            self.inputs.iter().map(|_| Mutex::new(None)).collect();
        let jobs = self.jobs.clamp(1, self.inputs.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..jobs {
                scope.spawn(|| {
                    // After SIGINT/SIGTERM the runs under way end cleanly and no new one starts.
                    while !self.stop.load(Ordering::Relaxed) {
                        let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) else {
                            break;
                        };
                        let (Some(input), Some(folder), Some(slot)) =
                            (self.inputs.get(i), folders.get(i), outcomes.get(i))
                        else {
                            break;
                        };
                        let outcome = self.one(input, &self.out.join(folder), jobs > 1);
                        *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
                        if let Some(bar) = &self.progress {
                            bar.inc(1);
                            bar.set_message(input.display().to_string());
                        }
                    }
                });
            }
        });
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
        let mut problems = false;
        let mut unreadable = Vec::new();
        let mut not_started = 0usize;
        let mut stdout = std::io::stdout().lock();
        for (input, slot) in self.inputs.iter().zip(outcomes) {
            let name = input.display().to_string();
            let Some(outcome) = slot.into_inner().unwrap_or_else(PoisonError::into_inner) else {
                not_started += 1;
                continue;
            };
            stdout
                .write_all(&outcome.summary)
                .context("writing the summary")?;
            if let Some(stats) = &outcome.stats {
                problems |= crate::report_problems(stats);
            }
            if let Some(e) = outcome.fatal {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "sfbflow: error: {e}");
                unreadable.push(name);
            }
        }
        stdout.flush().context("writing the summary")?;
        if not_started > 0 {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "sfbflow: stopped by a signal: {not_started} of {} inputs were not read",
                self.inputs.len()
            );
        }
        match unreadable.as_slice() {
            [] => Ok(problems),
            names => Err(anyhow::anyhow!(
                "{} of {} inputs could not be read or written: {}",
                names.len(),
                self.inputs.len(),
                names.join(", ")
            )),
        }
    }

    /// One input, start to end, on the calling thread. With other workers busy on the other
    /// cores, a regular file is read on this thread (cheaper in CPU time than a reading thread
    /// of its own, which only pays when a core would otherwise idle).
    fn one(&self, input: &Path, dir: &Path, inline_read: bool) -> Outcome {
        let name = input.display().to_string();
        let summary = Buffer::default();
        let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
        let parquet = std::fs::create_dir_all(dir)
            .map_err(|e| format!("creating output directory {}: {e}", dir.display()))
            .and_then(|()| RotatingParquet::create(dir, self.layout).map_err(|e| error_chain(&e)));
        match parquet {
            Ok(p) => sinks.push(Box::new(p)),
            Err(e) => {
                return Outcome {
                    summary: Vec::new(),
                    stats: None,
                    fatal: Some(e),
                };
            }
        }
        if self.summary {
            sinks.push(Box::new(SummarySink::new(summary.clone(), "stdout")));
        }
        let mut pipeline = Pipeline::new(self.cfg.clone(), sinks);
        pipeline.set_stop(Arc::clone(&self.stop));
        let mut fatal = None;
        let meta = CaptureMeta {
            inputs: vec![name.clone()],
        };
        if let Err(e) = pipeline.begin(&meta) {
            fatal = Some(format!("{name}: {}", error_chain(&e)));
        } else if !pipeline.stopped() {
            // Only a regular file is read inline: a read from a named pipe or a device can wait
            // for ever, and only a reading thread lets the stop flag end the run meanwhile.
            let regular = |f: &File| f.metadata().is_ok_and(|m| m.is_file());
            let res = match open_input(input, &self.stop) {
                // Stopped while a named pipe waited for its writer: nothing was read.
                None => {
                    pipeline.mark_stopped();
                    Ok(())
                }
                Some(Ok(file)) if inline_read && regular(&file) => {
                    pipeline.run_input(&name, file, |_| {})
                }
                // The stop flag also ends a read that waits (an input that is a pipe).
                Some(Ok(file)) => pipeline.run_records(
                    &name,
                    parse_ahead(file, Some(Arc::clone(&self.stop))),
                    |_| {},
                ),
                Some(Err(e)) => {
                    fatal = Some(format!("opening {name}: {e}"));
                    Ok(())
                }
            };
            match res {
                Ok(()) => {}
                Err(e @ InputError::Unreadable { .. }) => fatal = Some(error_chain(&e)),
                Err(InputError::Sink(e)) => {
                    return Outcome {
                        summary: summary.take(),
                        stats: None,
                        fatal: Some(format!("{name}: {}", error_chain(&e))),
                    };
                }
            }
        }
        // Whatever happened, what was read is written.
        match pipeline.finish() {
            Ok(stats) => Outcome {
                summary: summary.take(),
                stats: Some(stats),
                fatal,
            },
            Err(e) => Outcome {
                summary: summary.take(),
                stats: None,
                fatal: Some(format!("{name}: {}", error_chain(&e))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files of the given sizes in a fresh folder, named `0`, `1`, ... in that order.
    fn files(name: &str, sizes: &[usize]) -> (PathBuf, Vec<PathBuf>) {
        let dir = std::env::temp_dir().join(format!("sfbflow-each-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temporary folder");
        let paths = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let p = dir.join(i.to_string());
                std::fs::write(&p, vec![0u8; n]).expect("temporary file");
                p
            })
            .collect();
        (dir, paths)
    }

    #[test]
    fn the_largest_file_is_taken_first_and_equal_sizes_keep_their_order() {
        let (dir, paths) = files("order", &[10, 300, 10, 20, 300, 0]);
        assert_eq!(largest_first(&paths), vec![1, 4, 3, 0, 2, 5]);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn an_input_of_unknown_size_is_taken_before_every_file() {
        let (dir, mut paths) = files("unknown", &[5, 50]);
        // Neither a missing path nor a folder has a file's size.
        paths.push(dir.join("missing"));
        paths.push(dir.clone());
        assert_eq!(largest_first(&paths), vec![2, 3, 1, 0]);
        assert!(largest_first(&[]).is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }
}
