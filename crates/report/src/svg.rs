//! A diagram as inline SVG: the zones and firewalls, an arrow per role pair and traffic type,
//! a box per role, the labels on top.

use std::fmt::Write as _;

use crate::layout::{self, ArrowIn, BoxIn, HEAD, LINE_H};
use crate::model::Graph;
use crate::names::{self, COLUMNS, UNDOCUMENTED, UNKNOWN, Zone};

/// Escapes text for HTML and SVG content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Keeps a string usable in an id: letters, digits, `_` and `-`.
pub(crate) fn id_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn f(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// -1, 0 or 1 (`f64::signum` says 1 for 0).
fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// An orthogonal polyline with rounded corners.
fn rounded_path(points: &[(f64, f64)]) -> String {
    let mut d = String::new();
    let Some(&(x0, y0)) = points.first() else {
        return d;
    };
    let _ = write!(d, "M{},{}", f(x0), f(y0));
    for k in 1..points.len() {
        let (px, py) = points[k - 1];
        let (cx, cy) = points[k];
        if k + 1 < points.len() {
            let (nx, ny) = points[k + 1];
            let l1 = (cx - px).abs() + (cy - py).abs();
            let l2 = (nx - cx).abs() + (ny - cy).abs();
            let r = 7.0_f64.min(l1 / 2.0).min(l2 / 2.0);
            let (dx1, dy1) = (sign(cx - px), sign(cy - py));
            let (dx2, dy2) = (sign(nx - cx), sign(ny - cy));
            let _ = write!(
                d,
                " L{},{} Q{},{} {},{}",
                f(cx - dx1 * r),
                f(cy - dy1 * r),
                f(cx),
                f(cy),
                f(cx + dx2 * r),
                f(cy + dy2 * r)
            );
        } else {
            let _ = write!(d, " L{},{}", f(cx), f(cy));
        }
    }
    d
}

fn zone_header(z: Zone) -> &'static str {
    match z {
        Zone::External => "#3d5a80",
        Zone::Perimeter => "#a0522d",
        Zone::Internal => "#2f4f4f",
        Zone::Pstn => "#5e4b8b",
    }
}

/// The hosts line of a box: the addresses when one or two short ones, else a count.
fn hosts_line(g: &Graph, role: &str) -> String {
    let Some(node) = g.nodes.get(role) else {
        return String::new();
    };
    let hosts: Vec<&str> = node.hosts.iter().map(|h| &**h).collect();
    let joined = hosts.join(", ");
    if !node.more_hosts && hosts.len() <= 2 && layout::text_width(&joined) < layout::BOX_W - 4.0 {
        joined
    } else if node.more_hosts {
        format!("more than {} hosts", hosts.len())
    } else if hosts.len() == 1 {
        "1 host".to_owned()
    } else {
        format!("{} hosts", hosts.len())
    }
}

/// A box title that fits the box (role names from the data can be long).
fn fit_title(title: &str) -> String {
    const MAX: usize = 21;
    if title.chars().count() <= MAX {
        title.to_owned()
    } else {
        let mut t: String = title.chars().take(MAX - 1).collect();
        t.push('…');
        t
    }
}

/// Draws `g` as an SVG element with id `diagram-<id>`.
pub(crate) fn diagram(g: &Graph, id: &str, caption: &str) -> String {
    let roles: Vec<&String> = g.nodes.keys().collect();
    let mut order: Vec<usize> = (0..roles.len()).collect();
    order.sort_by_key(|&i| (names::place(roles[i]), roles[i].clone()));
    let roles: Vec<&String> = order.iter().map(|&i| roles[i]).collect();
    let boxes: Vec<BoxIn> = roles
        .iter()
        .map(|r| BoxIn {
            place: names::place(r),
        })
        .collect();
    let ix = |r: &str| roles.iter().position(|x| x.as_str() == r).unwrap_or(0);
    // Arrows in a stable order: documented first (by traffic), then undocumented.
    let mut edges: Vec<&crate::model::Edge> = g.edges.iter().collect();
    edges.sort_by_key(|e| (e.traffic.is_none(), e.traffic, ix(&e.from), ix(&e.to)));
    let arrows: Vec<ArrowIn> = edges
        .iter()
        .map(|e| ArrowIn {
            from: ix(&e.from),
            to: ix(&e.to),
            lines: e.label_lines(),
        })
        .collect();
    let l = layout::layout(&boxes, &arrows);
    let max_bytes = edges.iter().map(|e| e.bytes).max().unwrap_or(1).max(1) as f64;

    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="diagram-{id}" class="diagram" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{cap}" style="width:100%;max-width:{maxw}px;height:auto">"#,
        maxw = f(l.width * 1.15),
        id = id_part(id),
        w = f(l.width),
        h = f(l.height),
        cap = esc(caption)
    );
    // Zones.
    s.push_str(r#"<g class="zones">"#);
    for z in &l.zones {
        let _ = write!(
            s,
            r#"<rect class="zone zone-{c}" x="{x}" y="0" width="{w}" height="{h}"/><text class="zone-title" x="{tx}" y="24" text-anchor="middle">{t}</text>"#,
            c = z.zone.class(),
            x = f(z.x0),
            w = f(z.x1 - z.x0),
            h = f(l.height),
            tx = f((z.x0 + z.x1) / 2.0),
            t = esc(&z.zone.title().to_uppercase())
        );
    }
    for (x, name) in &l.firewalls {
        let _ = write!(
            s,
            r#"<rect class="firewall" x="{x0}" y="34" width="6" height="{h}"/><text class="firewall-name" x="{tx}" y="46" text-anchor="middle">{n}</text>"#,
            x0 = f(x - 3.0),
            h = f(l.height - 40.0),
            tx = f(*x),
            n = esc(name)
        );
    }
    s.push_str("</g>");
    // Arrows.
    s.push_str(r#"<g class="arrows">"#);
    for (e, a) in edges.iter().zip(&l.arrows) {
        let colour = e.traffic.map_or(UNDOCUMENTED, |t| t.colour());
        let width =
            1.3 + 2.9 * ((e.bytes as f64 + 1.0).ln() / (max_bytes + 1.0).ln()).clamp(0.0, 1.0);
        let findings: Vec<&str> = e.findings().into_iter().collect();
        let n = a.points.len();
        let mut pts = a.points.clone();
        let (tipx, tipy) = pts.get(n - 1).copied().unwrap_or_default();
        let (px, _) = pts.get(n.saturating_sub(2)).copied().unwrap_or_default();
        let dir = if tipx >= px { 1.0 } else { -1.0 };
        if let Some(last) = pts.last_mut() {
            last.0 = tipx - dir * HEAD;
        }
        let title = format!(
            "{} → {}: {}",
            names::title(&e.from),
            names::title(&e.to),
            e.label_lines().join("; ")
        );
        let _ = write!(
            s,
            r#"<g class="arrow{und}" data-from="{from}" data-to="{to}" data-documented="{doc}" data-traffic="{tr}" data-findings="{fi}" data-flows="{fl}" data-bytes="{by}"><title>{title}</title><path d="{d}" fill="none" stroke="{colour}" stroke-width="{w}" stroke-linejoin="round"/><path d="M{tx},{ty} L{bx},{y1} L{bx},{y2} Z" fill="{colour}"/></g>"#,
            und = if e.documented() { "" } else { " undocumented" },
            from = esc(&e.from),
            to = esc(&e.to),
            doc = e.documented(),
            tr = e.traffic.map_or("undocumented", |t| t.key()),
            fi = esc(&findings.join(" ")),
            fl = e.flows,
            by = e.bytes,
            title = esc(&title),
            d = rounded_path(&pts),
            w = f(width),
            tx = f(tipx),
            ty = f(tipy),
            bx = f(tipx - dir * (HEAD + 1.0)),
            y1 = f(tipy - 4.5),
            y2 = f(tipy + 4.5),
        );
    }
    s.push_str("</g>");
    // Boxes.
    s.push_str(r#"<g class="roles">"#);
    for (i, (role, r)) in roles.iter().zip(&l.boxes).enumerate() {
        let zone = COLUMNS
            .get(boxes[i].place.0)
            .copied()
            .unwrap_or(Zone::External);
        let unknown = role.as_str() == UNKNOWN;
        let head = if unknown {
            UNDOCUMENTED
        } else {
            zone_header(zone)
        };
        let hosts: Vec<String> = g
            .nodes
            .get(role.as_str())
            .map(|n| n.hosts.iter().take(50).map(|h| h.to_string()).collect())
            .unwrap_or_default();
        let _ = write!(
            s,
            r#"<g class="role{u}" id="{id}-role-{rid}" data-role="{role}"><title>{tt}</title><rect class="box" x="{x}" y="{y}" width="{w}" height="{h}" rx="6"/><path d="M{x},{hy} v-16 a6,6 0 0 1 6,-6 h{hw} a6,6 0 0 1 6,6 v16 z" fill="{head}"/><text class="role-title" x="{cx}" y="{ty}" text-anchor="middle">{title}</text><text class="role-hosts" x="{cx}" y="{hy2}" text-anchor="middle">{hl}</text></g>"#,
            u = if unknown { " unknown" } else { "" },
            id = id_part(id),
            rid = id_part(role),
            role = esc(role),
            tt = esc(&format!(
                "{} ({role}): {}",
                names::title(role),
                hosts.join(", ")
            )),
            x = f(r.x),
            y = f(r.y),
            w = f(r.w),
            h = f(r.h),
            hy = f(r.y + 22.0),
            hw = f(r.w - 12.0),
            head = head,
            cx = f(r.x + r.w / 2.0),
            ty = f(r.y + 15.5),
            title = esc(&fit_title(if unknown && roles.len() == 1 {
                "Roles unknown"
            } else {
                names::title(role)
            })),
            hy2 = f(r.y + 34.0),
            hl = esc(&hosts_line(g, role)),
        );
    }
    s.push_str("</g>");
    // Labels, on top.
    s.push_str(r#"<g class="labels">"#);
    for (e, a) in edges.iter().zip(&l.arrows) {
        let lines = e.label_lines();
        let colour = e.traffic.map_or(UNDOCUMENTED, |t| t.colour());
        let _ = write!(
            s,
            r#"<text class="lbl" x="{x}" y="{y}" text-anchor="{anchor}" data-from="{from}" data-to="{to}">"#,
            x = f(a.label.x),
            y = f(a.label.top + 10.0),
            anchor = if a.label.end { "end" } else { "start" },
            from = esc(&e.from),
            to = esc(&e.to),
        );
        let n = lines.len();
        for (k, line) in lines.iter().enumerate() {
            let stats = k + 1 == n;
            let _ = write!(
                s,
                r#"<tspan x="{x}" {dy}class="{c}"{fill}>{t}</tspan>"#,
                x = f(a.label.x),
                dy = if k == 0 {
                    String::new()
                } else {
                    format!("dy=\"{}\" ", f(LINE_H))
                },
                c = if stats { "lbl-stats" } else { "lbl-proto" },
                fill = if stats {
                    String::new()
                } else {
                    format!(" fill=\"{colour}\"")
                },
                t = esc(line)
            );
        }
        s.push_str("</text>");
    }
    s.push_str("</g></svg>");
    s
}

/// The legend: the traffic types of a graph's arrows and the undocumented colour.
pub(crate) fn legend() -> String {
    let mut s = String::from(r#"<ul class="legend">"#);
    for t in names::Traffic::ALL {
        let _ = write!(
            s,
            r#"<li><svg width="34" height="10"><line x1="0" y1="5" x2="26" y2="5" stroke="{c}" stroke-width="3"/><path d="M34,5 L25,0.5 L25,9.5 Z" fill="{c}"/></svg>{n}</li>"#,
            c = t.colour(),
            n = esc(t.legend())
        );
    }
    let _ = write!(
        s,
        r#"<li class="undoc"><svg width="34" height="10"><line x1="0" y1="5" x2="26" y2="5" stroke="{c}" stroke-width="3"/><path d="M34,5 L25,0.5 L25,9.5 Z" fill="{c}"/></svg>not documented (with the finding)</li>"#,
        c = UNDOCUMENTED
    );
    s.push_str("</ul>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_paths() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(id_part("front_end/x y"), "front_end_x_y");
        let d = rounded_path(&[(0.0, 0.0), (20.0, 0.0), (20.0, 30.0), (40.0, 30.0)]);
        assert!(d.starts_with("M0,0 L13,0 Q20,0 20,7"), "{d}");
    }
}
