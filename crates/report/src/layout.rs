//! The diagram's geometry, laid out like the poster.
//!
//! - **Columns.** Every role has a fixed column (External | Perimeter | four Internal columns |
//!   PSTN and video, `names::place`) and a fixed rank in it; only columns with a role seen take
//!   room, and a zone without any keeps a narrow empty band so the poster's four zones are
//!   always there. Boxes stack in rank order.
//! - **Pins.** An arrow leaves its initiator's box on the side facing the responder and enters
//!   the responder's box on the side facing the initiator (both on the right for two roles of
//!   one column). Each arrow has its own pin on each box; an incoming pin is as tall as its
//!   label, which sits just above the pin, beside the box, in a label area of the gap reserved
//!   for it. A box is as tall as its pins need. Pins are ordered by the height of the other end.
//! - **Routes.** Orthogonal: a horizontal stub from the pin into the gap, a vertical segment on
//!   a track of that gap, and a stub into the other pin. An arrow that spans columns crosses
//!   the columns between on a horizontal corridor at a height where those columns have no
//!   box, chosen near the middle of its two ends. Each gap has as many tracks as its vertical
//!   segments need (segments share a track only where their heights do not overlap).
//!
//! So no label overlaps another label, a box or a line segment (a label longer than the label
//! area spills onto the tracks, on a white halo), and no line crosses a box; the unit tests
//! check this with all 38 roles and every documented flow of the catalogue.

use crate::names::{COLUMNS, Zone};

/// Box width.
pub(crate) const BOX_W: f64 = 172.0;
/// Room at the top of a box for its title and the hosts line.
const BOX_HEAD: f64 = 38.0;
const BOX_MIN_H: f64 = 52.0;
const BOX_GAP: f64 = 40.0;
/// Height of a label line.
pub(crate) const LINE_H: f64 = 13.0;
const OUT_PIN_H: f64 = 12.0;
const TRACK: f64 = 9.0;
const TRACK_PAD: f64 = 18.0;
const TOP: f64 = 60.0;
/// Room above the boxes for corridors over the columns.
const TOP_BAND: f64 = 24.0;
/// Labels start this far inside the box.
const LABEL_INSET: f64 = 8.0;
const EMPTY_COL_W: f64 = 64.0;
const MIN_GAP: f64 = 60.0;
const CORRIDOR_STEP: f64 = 7.0;
/// Length of an arrowhead.
pub(crate) const HEAD: f64 = 8.0;
/// Width of a label character (11 px sans-serif, generous).
const CHAR_W: f64 = 6.3;

/// A box to place.
#[derive(Debug, Clone)]
pub(crate) struct BoxIn {
    /// Column (index into `COLUMNS`) and rank within it.
    pub(crate) place: (usize, usize),
}

/// An arrow to route, between two boxes (indexes into the boxes).
#[derive(Debug, Clone)]
pub(crate) struct ArrowIn {
    pub(crate) from: usize,
    pub(crate) to: usize,
    /// Label lines.
    pub(crate) lines: Vec<String>,
}

/// A rectangle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) w: f64,
    pub(crate) h: f64,
}

impl Rect {
    pub(crate) fn right(&self) -> f64 {
        self.x + self.w
    }
    pub(crate) fn bottom(&self) -> f64 {
        self.y + self.h
    }
    /// Whether the interiors overlap.
    #[cfg(test)]
    pub(crate) fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.right() && o.x < self.right() && self.y < o.bottom() && o.y < self.bottom()
    }
}

/// Where a label goes: lines from `top`, anchored at `x` (right-aligned when `end`).
#[derive(Debug, Clone)]
pub(crate) struct LabelAt {
    pub(crate) x: f64,
    pub(crate) top: f64,
    pub(crate) end: bool,
    /// The area reserved for it.
    #[cfg_attr(not(test), expect(dead_code, reason = "the layout tests check it"))]
    pub(crate) area: Rect,
}

/// A routed arrow: the polyline (the last point is the arrowhead's tip) and its label.
#[derive(Debug, Clone)]
pub(crate) struct ArrowOut {
    pub(crate) points: Vec<(f64, f64)>,
    pub(crate) label: LabelAt,
}

/// A zone's band.
#[derive(Debug, Clone)]
pub(crate) struct ZoneBand {
    pub(crate) zone: Zone,
    pub(crate) x0: f64,
    pub(crate) x1: f64,
}

/// The laid-out diagram.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) boxes: Vec<Rect>,
    pub(crate) arrows: Vec<ArrowOut>,
    pub(crate) zones: Vec<ZoneBand>,
    /// Firewalls: x and name.
    pub(crate) firewalls: Vec<(f64, &'static str)>,
    pub(crate) width: f64,
    pub(crate) height: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

#[derive(Debug, Clone)]
struct Pin {
    arrow: usize,
    incoming: bool,
    h: f64,
    /// Pin height (set when the pins are stacked).
    y: f64,
    /// Top of the pin's slot.
    top: f64,
}

/// A vertical segment on a gap's track.
#[derive(Debug, Clone)]
struct Seg {
    arrow: usize,
    /// Which vertical of the arrow (0 = at the initiator, 1 = at the responder).
    which: usize,
    y0: f64,
    y1: f64,
    /// 0: attached to the column left of the gap only, 1: to both, 2: to the right only.
    group: u8,
    track: usize,
}

pub(crate) fn text_width(s: &str) -> f64 {
    s.chars().count() as f64 * CHAR_W
}

fn in_pin_h(lines: usize) -> f64 {
    lines as f64 * LINE_H + 6.0
}

/// Lays out `boxes` and `arrows`.
pub(crate) fn layout(boxes: &[BoxIn], arrows: &[ArrowIn]) -> Layout {
    // Display columns: used columns, and one empty column for a zone without any.
    let mut display: Vec<(Zone, Option<usize>)> = Vec::new();
    for zone in Zone::ALL {
        let used: Vec<usize> = (0..COLUMNS.len())
            .filter(|&c| COLUMNS.get(c) == Some(&zone) && boxes.iter().any(|b| b.place.0 == c))
            .collect();
        if used.is_empty() {
            display.push((zone, None));
        } else {
            display.extend(used.into_iter().map(|c| (zone, Some(c))));
        }
    }
    let ncols = display.len();
    let dcol: Vec<usize> = boxes
        .iter()
        .map(|b| {
            display
                .iter()
                .position(|d| d.1 == Some(b.place.0))
                .unwrap_or(0)
        })
        .collect();

    // Pins per box: one row each, both sides in one stack, so that labels never meet.
    let mut pins: Vec<Vec<Pin>> = vec![Vec::new(); boxes.len()];
    let mut ends: Vec<(Side, Side)> = Vec::with_capacity(arrows.len());
    for (i, a) in arrows.iter().enumerate() {
        let (cf, ct) = (dcol[a.from], dcol[a.to]);
        let (so, si) = if cf < ct {
            (Side::Right, Side::Left)
        } else if cf > ct {
            (Side::Left, Side::Right)
        } else {
            (Side::Right, Side::Right)
        };
        ends.push((so, si));
        pins[a.from].push(Pin {
            arrow: i,
            incoming: false,
            h: OUT_PIN_H,
            y: 0.0,
            top: 0.0,
        });
        pins[a.to].push(Pin {
            arrow: i,
            incoming: true,
            h: in_pin_h(a.lines.len()),
            y: 0.0,
            top: 0.0,
        });
    }

    // Box sizes and places: stacked in rank order per column.
    let mut rects: Vec<Rect> = vec![
        Rect {
            x: 0.0,
            y: 0.0,
            w: BOX_W,
            h: 0.0
        };
        boxes.len()
    ];
    for (b, r) in rects.iter_mut().enumerate() {
        let need: f64 = pins[b].iter().map(|p| p.h).sum();
        r.h = (BOX_HEAD + need + 6.0).max(BOX_MIN_H);
    }
    for c in 0..ncols {
        let mut members: Vec<usize> = (0..boxes.len()).filter(|&b| dcol[b] == c).collect();
        members.sort_by_key(|&b| boxes[b].place.1);
        let mut y = TOP + TOP_BAND;
        for b in members {
            rects[b].y = y;
            y += rects[b].h + BOX_GAP;
        }
    }

    // Pin order: by the height of the other end (its box's middle, then, in a second round,
    // its pin); then stack them below the box's head.
    let centre = |r: &Rect| r.y + r.h / 2.0;
    let mut other_y: Vec<[f64; 2]> = arrows
        .iter()
        .map(|a| [centre(&rects[a.to]), centre(&rects[a.from])])
        .collect();
    for _round in 0..2 {
        for b in 0..boxes.len() {
            let list = &mut pins[b];
            list.sort_by(|p, q| {
                let other = |p: &Pin| {
                    let a = &arrows[p.arrow];
                    let o = if p.incoming { a.from } else { a.to };
                    (other_y[p.arrow][usize::from(p.incoming)], o)
                };
                let (py, po) = other(p);
                let (qy, qo) = other(q);
                py.total_cmp(&qy)
                    .then(po.cmp(&qo))
                    .then(p.incoming.cmp(&q.incoming))
                    .then(p.arrow.cmp(&q.arrow))
            });
            let mut top = rects[b].y + BOX_HEAD;
            for p in list.iter_mut() {
                p.top = top;
                p.y = if p.incoming {
                    top + 7.0
                } else {
                    top + p.h / 2.0
                };
                top += p.h;
            }
        }
        for list in &pins {
            for p in list {
                // What the other end of the arrow sees: this pin's height.
                other_y[p.arrow][usize::from(!p.incoming)] = p.y;
            }
        }
    }
    let pin_of = |b: usize, arrow: usize, incoming: bool| -> Option<&Pin> {
        pins[b]
            .iter()
            .find(|p| p.arrow == arrow && p.incoming == incoming)
    };

    // Gaps: gap g is left of display column g (gap ncols is the right margin). Each arrow's
    // verticals and, where it spans columns, its corridor.
    let mut y_out = vec![0.0; arrows.len()];
    let mut y_in = vec![0.0; arrows.len()];
    for (i, a) in arrows.iter().enumerate() {
        y_out[i] = pin_of(a.from, i, false).map_or(0.0, |p| p.y);
        y_in[i] = pin_of(a.to, i, true).map_or(0.0, |p| p.y);
    }
    let gaps_of = |i: usize| -> (usize, usize) {
        let a = &arrows[i];
        let (cf, ct) = (dcol[a.from], dcol[a.to]);
        if cf < ct {
            (cf + 1, ct)
        } else if cf > ct {
            (cf, ct + 1)
        } else {
            (cf + 1, cf + 1)
        }
    };
    // Free heights per column (between and below its boxes).
    let free: Vec<Vec<(f64, f64)>> = (0..ncols)
        .map(|c| {
            let mut rs: Vec<&Rect> = (0..boxes.len())
                .filter(|&b| dcol[b] == c)
                .map(|b| &rects[b])
                .collect();
            rs.sort_by(|a, b| a.y.total_cmp(&b.y));
            let mut out = Vec::new();
            let mut y = TOP;
            for r in rs {
                if r.y - 8.0 > y {
                    out.push((y, r.y - 8.0));
                }
                y = r.bottom() + 8.0;
            }
            out.push((y, f64::INFINITY));
            out
        })
        .collect();
    let mut corridor: Vec<Option<f64>> = vec![None; arrows.len()];
    let mut taken: Vec<(f64, usize, usize)> = Vec::new();
    let mut order: Vec<usize> = (0..arrows.len()).collect();
    order.sort_by_key(|&i| {
        let (g0, g1) = gaps_of(i);
        (g0.abs_diff(g1), i)
    });
    for i in order {
        let (g0, g1) = gaps_of(i);
        if g0 == g1 {
            continue;
        }
        let (lo, hi) = (g0.min(g1), g0.max(g1));
        // Columns crossed: lo..hi (display columns lo ..= hi-1).
        let mut cand: Vec<(f64, f64)> = vec![(TOP, f64::INFINITY)];
        for col in free.iter().take(hi).skip(lo) {
            let mut next = Vec::new();
            for &(a0, a1) in &cand {
                for &(b0, b1) in col {
                    let (s, e) = (a0.max(b0), a1.min(b1));
                    if e - s >= CORRIDOR_STEP {
                        next.push((s, e));
                    }
                }
            }
            cand = next;
        }
        let ideal = (y_out[i] + y_in[i]) / 2.0;
        let mut best: Option<f64> = None;
        for &(s, e) in &cand {
            let mut y = s + CORRIDOR_STEP / 2.0;
            // Start the search near the ideal height.
            if ideal > y {
                let k = ((ideal - y) / CORRIDOR_STEP).floor();
                y += k * CORRIDOR_STEP;
            }
            let mut tries = 0;
            let mut up = y;
            let mut down = y + CORRIDOR_STEP;
            while tries < 400 {
                tries += 1;
                for yy in [up, down] {
                    if yy < s + 2.0 || yy > e - 2.0 {
                        continue;
                    }
                    let clash = taken.iter().any(|&(ty, tl, th)| {
                        (ty - yy).abs() < CORRIDOR_STEP - 0.5 && tl < hi && lo < th
                    });
                    if !clash && best.is_none_or(|b: f64| (yy - ideal).abs() < (b - ideal).abs()) {
                        best = Some(yy);
                    }
                }
                up -= CORRIDOR_STEP;
                down += CORRIDOR_STEP;
                if up < s && down > e {
                    break;
                }
                if let Some(b) = best
                    && (up - ideal).abs() > (b - ideal).abs()
                    && (down - ideal).abs() > (b - ideal).abs()
                {
                    break;
                }
            }
        }
        if let Some(y) = best {
            corridor[i] = Some(y);
            taken.push((y, lo, hi));
        }
    }

    // Vertical segments per gap, and their tracks.
    let mut segs: Vec<Vec<Seg>> = vec![Vec::new(); ncols + 1];
    for (i, a) in arrows.iter().enumerate() {
        let (g0, g1) = gaps_of(i);
        let (cf, ct) = (dcol[a.from], dcol[a.to]);
        let group_at = |g: usize, col: usize| -> u8 { if col < g { 0 } else { 2 } };
        match corridor[i] {
            Some(yc) if g0 != g1 => {
                segs[g0].push(Seg {
                    arrow: i,
                    which: 0,
                    y0: y_out[i].min(yc),
                    y1: y_out[i].max(yc),
                    group: group_at(g0, cf),
                    track: 0,
                });
                segs[g1].push(Seg {
                    arrow: i,
                    which: 1,
                    y0: y_in[i].min(yc),
                    y1: y_in[i].max(yc),
                    group: group_at(g1, ct),
                    track: 0,
                });
            }
            _ => {
                let group = if cf == ct { 0 } else { 1 };
                segs[g0].push(Seg {
                    arrow: i,
                    which: 0,
                    y0: y_out[i].min(y_in[i]),
                    y1: y_out[i].max(y_in[i]),
                    group,
                    track: 0,
                });
            }
        }
    }
    let mut ntracks = vec![0usize; ncols + 1];
    for (g, list) in segs.iter_mut().enumerate() {
        let mut base = 0;
        for group in 0..3u8 {
            let mut ix: Vec<usize> = (0..list.len())
                .filter(|&k| list[k].group == group)
                .collect();
            // Long segments nearest the middle of the gap, short ones nearest their box.
            ix.sort_by(|&a, &b| {
                let la = list[a].y1 - list[a].y0;
                let lb = list[b].y1 - list[b].y0;
                lb.total_cmp(&la).then(list[a].arrow.cmp(&list[b].arrow))
            });
            let mut spans: Vec<Vec<(f64, f64)>> = Vec::new();
            for k in ix {
                let (y0, y1) = (list[k].y0, list[k].y1);
                let t = spans
                    .iter()
                    .position(|sp| sp.iter().all(|&(a, b)| y1 + 8.0 < a || b + 8.0 < y0));
                let t = match t {
                    Some(t) => t,
                    None => {
                        spans.push(Vec::new());
                        spans.len() - 1
                    }
                };
                spans[t].push((y0, y1));
                list[k].track = t;
            }
            let n = spans.len();
            for s in list.iter_mut().filter(|s| s.group == group) {
                // The first (longest) tracks of the groups at the sides lie nearest the middle.
                s.track = match group {
                    0 => base + (n - 1 - s.track),
                    _ => base + s.track,
                };
            }
            base += n;
        }
        ntracks[g] = base;
    }

    let mut gap_x = vec![0.0; ncols + 1];
    let mut gap_w = vec![0.0; ncols + 1];
    let mut col_x = vec![0.0; ncols];
    let mut x = 0.0;
    for g in 0..=ncols {
        let tracks = if ntracks[g] > 0 {
            ntracks[g] as f64 * TRACK + 2.0 * TRACK_PAD
        } else {
            TRACK_PAD
        };
        let min = if g == 0 || g == ncols { 16.0 } else { MIN_GAP };
        gap_w[g] = tracks.max(min);
        gap_x[g] = x;
        x += gap_w[g];
        if g < ncols {
            col_x[g] = x;
            x += if display[g].1.is_some() {
                BOX_W
            } else {
                EMPTY_COL_W
            };
        }
    }
    let width = x;
    for (b, r) in rects.iter_mut().enumerate() {
        r.x = col_x[dcol[b]];
    }
    let track_x = |g: usize, t: usize| -> f64 {
        let used = ntracks[g] as f64 * TRACK;
        gap_x[g] + (gap_w[g] - used) / 2.0 + t as f64 * TRACK + TRACK / 2.0
    };

    // Routes and labels.
    let mut out = Vec::with_capacity(arrows.len());
    for (i, a) in arrows.iter().enumerate() {
        let (so, si) = ends[i];
        let sx = match so {
            Side::Right => rects[a.from].right(),
            Side::Left => rects[a.from].x,
        };
        let tx = match si {
            Side::Right => rects[a.to].right(),
            Side::Left => rects[a.to].x,
        };
        let (g0, g1) = gaps_of(i);
        let track_of = |g: usize, which: usize| -> f64 {
            segs[g]
                .iter()
                .find(|s| s.arrow == i && s.which == which)
                .map_or(gap_x[g] + gap_w[g] / 2.0, |s| track_x(g, s.track))
        };
        let mut points = vec![(sx, y_out[i])];
        match corridor[i] {
            Some(yc) if g0 != g1 => {
                let x0 = track_of(g0, 0);
                let x1 = track_of(g1, 1);
                points.extend([(x0, y_out[i]), (x0, yc), (x1, yc), (x1, y_in[i])]);
            }
            _ => {
                let x0 = track_of(g0, 0);
                points.extend([(x0, y_out[i]), (x0, y_in[i])]);
            }
        }
        points.push((tx, y_in[i]));
        let pin = pin_of(a.to, i, true);
        let top = pin.map_or(y_in[i] - LINE_H, |p| p.top);
        let h = pin.map_or(LINE_H, |p| p.h);
        let r = rects[a.to];
        let area = Rect {
            x: r.x + 1.0,
            y: top,
            w: r.w - 2.0,
            h,
        };
        let label = match si {
            Side::Left => LabelAt {
                x: r.x + LABEL_INSET,
                top,
                end: false,
                area,
            },
            Side::Right => LabelAt {
                x: r.right() - LABEL_INSET,
                top,
                end: true,
                area,
            },
        };
        out.push(ArrowOut { points, label });
    }

    // Zones and firewalls: the boundaries lie in the middle of the gaps between zones.
    let mut zones = Vec::new();
    let mut firewalls = Vec::new();
    let mut x0 = 0.0;
    for c in 0..ncols {
        let zone = display[c].0;
        let last = c + 1 == ncols || display[c + 1].0 != zone;
        if last {
            let x1 = if c + 1 == ncols {
                width
            } else {
                let g = c + 1;
                gap_x[g] + gap_w[g] / 2.0
            };
            zones.push(ZoneBand { zone, x0, x1 });
            if c + 1 < ncols {
                let name = match (zone, display[c + 1].0) {
                    (Zone::External, _) => "External firewall",
                    (Zone::Perimeter, _) => "Internal firewall",
                    _ => "",
                };
                if !name.is_empty() {
                    firewalls.push((x1, name));
                }
            }
            x0 = x1;
        }
    }

    let mut height = rects.iter().map(Rect::bottom).fold(TOP + 40.0, f64::max);
    for y in corridor.iter().flatten() {
        height = height.max(*y);
    }
    Layout {
        boxes: rects,
        arrows: out,
        zones,
        firewalls,
        width,
        height: height + 24.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::place;
    use sfbflow_catalogue::{Catalogue, Role};

    /// Whether the segment from `a` to `b` (horizontal or vertical) enters the interior of `r`.
    fn crosses(a: (f64, f64), b: (f64, f64), r: &Rect) -> bool {
        let (x0, x1) = (a.0.min(b.0), a.0.max(b.0));
        let (y0, y1) = (a.1.min(b.1), a.1.max(b.1));
        x0 < r.right() - 0.5
            && r.x + 0.5 < x1.max(x0 + 0.01)
            && y0 < r.bottom() - 0.5
            && r.y + 0.5 < y1.max(y0 + 0.01)
    }

    fn check(boxes: &[BoxIn], arrows: &[ArrowIn]) -> Layout {
        let l = layout(boxes, arrows);
        for (i, a) in l.boxes.iter().enumerate() {
            for b in l.boxes.iter().skip(i + 1) {
                assert!(!a.overlaps(b), "boxes overlap: {a:?} {b:?}");
            }
        }
        for (i, a) in l.arrows.iter().enumerate() {
            let area = a.label.area;
            for (j, b) in l.arrows.iter().enumerate().skip(i + 1) {
                assert!(!area.overlaps(&b.label.area), "labels {i} and {j} overlap");
            }
            let own = &l.boxes[arrows[i].to];
            assert!(
                area.x >= own.x
                    && area.right() <= own.right()
                    && area.y >= own.y
                    && area.bottom() <= own.bottom() + 0.01,
                "label {i} outside its box"
            );
            for (b, r) in l.boxes.iter().enumerate() {
                assert!(
                    b == arrows[i].to || !area.overlaps(r),
                    "label {i} overlaps box {b}"
                );
            }
            let ai = &arrows[i];
            for (k, w) in a.points.windows(2).enumerate() {
                let (p, q) = (w[0], w[1]);
                assert!(p.0 == q.0 || p.1 == q.1, "arrow {i} not orthogonal");
                for (b, r) in l.boxes.iter().enumerate() {
                    let own = (b == ai.from && k == 0) || (b == ai.to && k + 2 == a.points.len());
                    if !own {
                        assert!(!crosses(p, q, r), "arrow {i} segment {k} crosses box {b}");
                    }
                }
                for (j, b) in l.arrows.iter().enumerate() {
                    // A line may pass beside a label only on its own stub.
                    if j != i && b.label.area.w > 0.0 {
                        let inner = Rect {
                            x: b.label.area.x + 1.0,
                            y: b.label.area.y + 1.0,
                            w: (b.label.area.w - 2.0).max(0.0),
                            h: (b.label.area.h - 2.0).max(0.0),
                        };
                        assert!(!crosses(p, q, &inner), "arrow {i} crosses label {j}");
                    }
                }
            }
        }
        l
    }

    #[test]
    fn all_roles_and_every_documented_flow() {
        let boxes: Vec<BoxIn> = Role::ALL
            .iter()
            .map(|r| BoxIn {
                place: place(r.as_str()),
            })
            .collect();
        let ix = |r: Role| Role::ALL.iter().position(|&x| x == r).unwrap_or(0);
        let mut pairs = std::collections::BTreeSet::new();
        for rule in Catalogue::builtin().rules() {
            let from = rule.initiator.unwrap_or(Role::InternetAny);
            pairs.insert((ix(from), ix(rule.responder)));
        }
        let arrows: Vec<ArrowIn> = pairs
            .into_iter()
            .map(|(from, to)| ArrowIn {
                from,
                to,
                lines: vec![
                    "SIP/MTLS:5061, HTTPS:443".into(),
                    "12 flows · 1.2 MB".into(),
                ],
            })
            .collect();
        let l = check(&boxes, &arrows);
        assert!(l.width < 4000.0, "{}", l.width);
    }

    #[test]
    fn a_few_roles_in_every_direction() {
        let places = [(0, 0), (1, 0), (1, 1), (3, 0), (3, 1), (4, 0), (5, 0)];
        let boxes: Vec<BoxIn> = places.iter().map(|&place| BoxIn { place }).collect();
        let mut arrows = Vec::new();
        for from in 0..boxes.len() {
            for to in 0..boxes.len() {
                arrows.push(ArrowIn {
                    from,
                    to,
                    lines: vec![
                        format!("TLS/TCP:{from}{to} undocumented port"),
                        "1 flow".into(),
                    ],
                });
            }
        }
        check(&boxes, &arrows);
    }
}
