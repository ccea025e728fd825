//! The timeline: flows started and bytes carried per workload over the capture, as stacked
//! bars of inline SVG. A flow's bytes are spread over its lifetime.

use std::fmt::Write as _;

use crate::load::Flow;
use crate::names::{self, WORKLOADS};
use crate::svg::esc;
use crate::time;

/// Bucket sizes to choose from, in seconds.
const BUCKETS: [i64; 20] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
    604_800, 2_592_000,
];
const MAX_BARS: i64 = 72;
const W: f64 = 1500.0;
const H: f64 = 150.0;
const LEFT: f64 = 74.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 10.0;

/// The series: the workloads, then flows without one (undocumented).
pub(crate) fn series_names() -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<(&str, &str)> = WORKLOADS.to_vec();
    v.push(("none", "no workload (undocumented)"));
    v
}

fn series_of(f: &Flow) -> usize {
    f.workload
        .as_deref()
        .and_then(|w| WORKLOADS.iter().position(|(k, _)| *k == w))
        .unwrap_or(WORKLOADS.len())
}

/// Flows started and bytes per bucket and series.
pub(crate) struct Timeline {
    pub(crate) start_ns: i64,
    pub(crate) bucket_ns: i64,
    pub(crate) flows: Vec<Vec<f64>>,
    pub(crate) bytes: Vec<Vec<f64>>,
}

pub(crate) fn timeline(flows: &[Flow]) -> Option<Timeline> {
    // Times come from the files: any i64. Differences are taken in i128.
    let t0 = i128::from(flows.iter().map(|f| f.first_ns).min()?);
    let t1 = i128::from(flows.iter().map(|f| f.last_ns).max()?).max(t0);
    const NS: i128 = 1_000_000_000;
    let span_s = (t1 - t0) / NS + 1;
    let bucket_s = BUCKETS
        .iter()
        .map(|&b| i128::from(b))
        .find(|b| span_s / b < i128::from(MAX_BARS))
        .unwrap_or(span_s / i128::from(MAX_BARS) + 1);
    let bucket = bucket_s * NS;
    let start = t0 - t0.rem_euclid(bucket);
    let n = usize::try_from((t1 - start) / bucket + 1)
        .unwrap_or(1)
        .max(1);
    let ns = series_names().len();
    let mut fl = vec![vec![0.0; ns]; n];
    let mut by = vec![vec![0.0; ns]; n];
    let index = |t: i128| {
        usize::try_from((t - start) / bucket)
            .unwrap_or(0)
            .min(n - 1)
    };
    for f in flows {
        let s = series_of(f);
        let (first, last) = (
            i128::from(f.first_ns),
            i128::from(f.last_ns).max(i128::from(f.first_ns)),
        );
        let (b0, b1) = (index(first), index(last));
        fl[b0][s] += 1.0;
        let life = (last - first).max(1) as f64;
        if b0 == b1 {
            by[b0][s] += f.bytes as f64;
        } else {
            for (b, row) in by.iter_mut().enumerate().take(b1 + 1).skip(b0) {
                let bs = start + b as i128 * bucket;
                let lo = first.max(bs);
                let hi = last.min(bs + bucket);
                row[s] += f.bytes as f64 * ((hi - lo).max(0) as f64 / life);
            }
        }
    }
    Some(Timeline {
        start_ns: i64::try_from(start).unwrap_or(i64::MIN),
        bucket_ns: i64::try_from(bucket).unwrap_or(i64::MAX),
        flows: fl,
        bytes: by,
    })
}

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= m * p {
            return m * p;
        }
    }
    10.0 * p
}

/// One stacked bar chart with id `timeline-<id>`.
pub(crate) fn bars(t: &Timeline, flows_chart: bool) -> String {
    let data = if flows_chart { &t.flows } else { &t.bytes };
    let id = if flows_chart { "flows" } else { "bytes" };
    let max = data
        .iter()
        .map(|b| b.iter().sum::<f64>())
        .fold(0.0, f64::max);
    // Five divisions of a 1, 2, 2.5, 5 or 10 step; whole flows.
    let top = if flows_chart {
        nice_max(max).max(5.0)
    } else {
        nice_max(max)
    };
    let n = data.len().max(1);
    let plot_w = W - LEFT - 10.0;
    let bw = plot_w / n as f64;
    let ph = H - TOP - BOTTOM;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="timeline-{id}" class="chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{id} per workload over time" style="max-width:100%;height:auto">"#
    );
    for k in 0..=5 {
        let v = top * f64::from(k) / 5.0;
        let y = TOP + ph - ph * f64::from(k) / 5.0;
        let label = if flows_chart {
            format!("{v:.0}")
        } else {
            time::bytes(v as u64)
        };
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT}" x2="{x2}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{lx}" y="{ty:.1}" text-anchor="end">{label}</text>"#,
            x2 = W - 10.0,
            lx = LEFT - 6.0,
            ty = y + 3.5,
        );
    }
    for (b, stack) in data.iter().enumerate() {
        let x = LEFT + b as f64 * bw;
        let mut y = TOP + ph;
        for (si, v) in stack.iter().enumerate() {
            if *v <= 0.0 {
                continue;
            }
            let h = ph * v / top;
            y -= h;
            let _ = write!(
                s,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{c}"><title>{t}</title></rect>"#,
                w = (bw - 1.0).max(0.5),
                c = names::workload_colour(si),
                t = esc(&format!(
                    "{} {}: {}",
                    time::clock(
                        t.start_ns
                            .saturating_add((b as i64).saturating_mul(t.bucket_ns)),
                        false
                    ),
                    series_names().get(si).map_or("", |s| s.1),
                    if flows_chart {
                        format!("{v:.0} flows")
                    } else {
                        time::bytes(*v as u64)
                    }
                )),
            );
        }
    }
    // Time labels: about eight.
    let every = (n / 8).max(1);
    let with_date = t.bucket_ns >= 3_600_000_000_000;
    for b in (0..n).step_by(every) {
        let x = LEFT + b as f64 * bw;
        let _ = write!(
            s,
            r#"<line class="tick" x1="{x:.1}" x2="{x:.1}" y1="{y0:.1}" y2="{y1:.1}"/><text class="axis" x="{x:.1}" y="{ty:.1}" text-anchor="start">{l}</text>"#,
            y0 = TOP + ph,
            y1 = TOP + ph + 4.0,
            ty = H - 6.0,
            l = time::clock(
                t.start_ns
                    .saturating_add((b as i64).saturating_mul(t.bucket_ns)),
                with_date
            )
        );
    }
    let _ = write!(
        s,
        r#"<line class="axisline" x1="{LEFT}" x2="{x2}" y1="{y:.1}" y2="{y:.1}"/></svg>"#,
        x2 = W - 10.0,
        y = TOP + ph
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Str;

    fn flow(first_ns: i64, last_ns: i64, bytes: u64) -> Flow {
        let s = |v: &str| Str::from(v);
        Flow {
            flow_id: None,
            first_ns,
            last_ns,
            transport: s("udp"),
            initiator_ip: s("a"),
            responder_ip: s("b"),
            responder_port: 1,
            packets: 1,
            bytes,
            initiator_role: None,
            responder_role: None,
            app_protocol: s("RTP"),
            workload: Some(s("av_web_conf")),
            rule_id: None,
            documented: true,
            finding: None,
            tls_sni: None,
            sip_user_agent: None,
            stun_seen: None,
            stun_method: None,
        }
    }

    #[test]
    fn bytes_are_spread_over_the_lifetime() {
        let t = timeline(&[flow(0, 10_000_000_000, 1000)]).expect("a timeline");
        assert_eq!(t.bucket_ns, 1_000_000_000);
        assert_eq!(t.flows.len(), 11);
        let total: f64 = t.bytes.iter().map(|b| b[2]).sum();
        assert!((total - 1000.0).abs() < 1e-6, "{total}");
        assert_eq!(t.flows[0][2], 1.0);
        assert!(bars(&t, true).contains("timeline-flows"));
    }

    #[test]
    fn absurd_times_stay_bounded() {
        let t = timeline(&[flow(i64::MIN, i64::MAX, u64::MAX), flow(0, 0, 1)]).expect("a timeline");
        assert!(t.flows.len() <= MAX_BARS as usize + 1, "{}", t.flows.len());
        assert!(bars(&t, false).contains("timeline-bytes"));
    }
}
