//! The page: the parts computed here, filled into `templates/report.html` by askama (which
//! escapes every value it is given; the SVG drawn by `svg.rs` and `chart.rs` escapes its own
//! text and is inserted as is).

use std::collections::BTreeSet;

use askama::Template;
use sfbflow_catalogue::{Catalogue, Rule};

use crate::chart;
use crate::load::{Data, Flow};
use crate::model::{self, Graph};
use crate::names::{self, POSTER_WORKLOADS, WORKLOADS};
use crate::svg;
use crate::time;
use crate::{Error, ReportOptions};

/// Rows of the findings table beyond this are left out (with a note).
const MAX_FINDINGS: usize = 2000;
/// Rows of the DNS and SIP tables beyond this are left out (with a note).
const MAX_EVIDENCE_ROWS: usize = 500;

struct Card {
    value: String,
    label: String,
    class: &'static str,
}

struct FindingRow {
    code: String,
    kind: String,
    detail: String,
    from_role: String,
    from_ip: String,
    to_role: String,
    to_addr: String,
    app: String,
    evidence: String,
    flows: u64,
    bytes: u64,
    bytes_h: String,
    first_ns: i64,
    first: String,
    last: String,
    span_ns: i64,
    span: String,
}

struct RuleRow {
    id: String,
    from: String,
    to: String,
    protocol: String,
    ports: String,
    service: String,
    flows: u64,
    bytes: u64,
    bytes_h: String,
    first: String,
    last: String,
}

struct UnseenRow {
    id: String,
    from: String,
    to: String,
    protocol: String,
    ports: String,
    service: String,
    evidence: String,
}

struct Section {
    key: String,
    title: String,
    stats: String,
    diagram: String,
    observed: Vec<RuleRow>,
    unseen_near: Vec<UnseenRow>,
    unseen_other: Vec<UnseenRow>,
    undocumented: u64,
    signin: Vec<DnsRow>,
}

struct DnsRow {
    time: String,
    client: String,
    role: String,
    step: String,
    name: String,
    qtype: String,
    rcode: String,
    failed: bool,
    answers: String,
}

struct SipRow {
    first: String,
    call_id: String,
    request: String,
    state: String,
    status: String,
    client: String,
    server: String,
    user_agent: String,
    messages: u64,
    media_flows: u64,
}

struct SeriesKey {
    colour: &'static str,
    name: &'static str,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page {
    title: String,
    span: String,
    inputs: String,
    cards: Vec<Card>,
    legend: String,
    overview: String,
    no_roles: bool,
    timeline_flows: String,
    timeline_bytes: String,
    timeline_bucket: String,
    series: Vec<SeriesKey>,
    findings: Vec<FindingRow>,
    findings_left_out: usize,
    findings_from_flows: bool,
    sections: Vec<Section>,
    sip: Vec<SipRow>,
    sip_left_out: usize,
    have_sip: bool,
    footer: String,
}

fn rule_row_roles(rule: &Rule) -> (String, String) {
    (
        rule.initiator
            .map_or_else(|| "any".to_owned(), |r| r.as_str().to_owned()),
        rule.responder.as_str().to_owned(),
    )
}

fn rule_protocol(rule: &Rule) -> String {
    let t = match rule.transport.as_str() {
        "tcp+udp" => "udp",
        t => t,
    };
    names::rule_protocol(rule, t)
}

fn unseen(rule: &Rule) -> UnseenRow {
    let (from, to) = rule_row_roles(rule);
    UnseenRow {
        id: rule.id.clone(),
        from,
        to,
        protocol: rule_protocol(rule),
        ports: format!("{}/{}", rule.transport, rule.ports),
        service: rule.service.clone(),
        evidence: rule.evidence.clone(),
    }
}

pub(crate) fn render(
    data: &Data,
    cat: &Catalogue,
    inputs: &[String],
    options: &ReportOptions,
) -> Result<String, Error> {
    let flows = &data.flows;
    let overview = Graph::build(flows.iter(), cat);
    let roles_seen: BTreeSet<&str> = overview.nodes.keys().map(String::as_str).collect();

    let total_bytes = flows.iter().fold(0u64, |s, f| s.saturating_add(f.bytes));
    let documented = flows.iter().filter(|f| f.documented).count() as u64;
    let undocumented = flows.len() as u64 - documented;
    let t0 = flows.iter().map(|f| f.first_ns).min();
    let t1 = flows.iter().map(|f| f.last_ns).max();
    let span = match (t0, t1) {
        (Some(a), Some(b)) => format!(
            "{} to {} UTC ({})",
            time::datetime_ms(a),
            time::datetime_ms(b),
            time::duration(b.saturating_sub(a))
        ),
        _ => "no flows".to_owned(),
    };
    let pairs_doc: BTreeSet<(&str, &str)> = overview
        .edges
        .iter()
        .filter(|e| e.documented())
        .map(|e| (e.from.as_str(), e.to.as_str()))
        .collect();
    let pairs_undoc: BTreeSet<(&str, &str)> = overview
        .edges
        .iter()
        .filter(|e| !e.documented())
        .map(|e| (e.from.as_str(), e.to.as_str()))
        .collect();
    let groups = model::finding_groups(data);
    let pct = if flows.is_empty() {
        0.0
    } else {
        documented as f64 * 100.0 / flows.len() as f64
    };
    let cards = vec![
        Card {
            value: time::count(flows.len() as u64),
            label: "flows".into(),
            class: "",
        },
        Card {
            value: time::bytes(total_bytes),
            label: "on the wire".into(),
            class: "",
        },
        Card {
            value: format!("{pct:.0} %"),
            label: format!("documented ({} flows)", time::count(documented)),
            class: "ok",
        },
        Card {
            value: time::count(undocumented),
            label: "undocumented flows".into(),
            class: if undocumented > 0 { "bad" } else { "ok" },
        },
        Card {
            value: time::count(groups.len() as u64),
            label: "findings (by conversation)".into(),
            class: if groups.is_empty() { "ok" } else { "bad" },
        },
        Card {
            value: roles_seen.len().to_string(),
            label: "roles seen".into(),
            class: "",
        },
        Card {
            value: format!("{} / {}", pairs_doc.len(), pairs_undoc.len()),
            label: "role pairs documented / not".into(),
            class: "",
        },
    ];

    let findings_left_out = groups.len().saturating_sub(MAX_FINDINGS);
    let findings: Vec<FindingRow> = groups
        .iter()
        .take(MAX_FINDINGS)
        .map(|g| FindingRow {
            code: g.code.to_string(),
            kind: g.kind.to_string(),
            detail: g.detail.clone(),
            from_role: g.initiator_role.clone(),
            from_ip: g.initiator_ip.to_string(),
            to_role: g.responder_role.clone(),
            to_addr: format!("{} {}/{}", g.responder_ip, g.transport, g.responder_port),
            app: g.app_protocol.clone(),
            evidence: g
                .evidence
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("; "),
            flows: g.flows,
            bytes: g.bytes,
            bytes_h: time::bytes(g.bytes),
            first_ns: g.first_ns,
            first: time::datetime_ms(g.first_ns),
            last: time::datetime_ms(g.last_ns),
            span_ns: g.last_ns.saturating_sub(g.first_ns),
            span: time::duration(g.last_ns.saturating_sub(g.first_ns)),
        })
        .collect();

    // Workload sections.
    let seen = model::rules_seen(flows);
    let mut sections = Vec::new();
    for (wi, (key, title)) in WORKLOADS.iter().enumerate() {
        let in_w: Vec<&Flow> = flows
            .iter()
            .filter(|f| f.workload.as_deref() == Some(*key))
            .collect();
        if wi >= POSTER_WORKLOADS && in_w.is_empty() {
            continue;
        }
        let g = Graph::build(in_w.iter().copied(), cat);
        let diagram = if in_w.is_empty() {
            String::new()
        } else {
            svg::diagram(&g, key, &format!("{title}: observed role pairs"))
        };
        let rules: Vec<&Rule> = cat
            .rules()
            .iter()
            .filter(|r| r.workload.as_str() == *key)
            .collect();
        let mut observed = Vec::new();
        let mut unseen_near = Vec::new();
        let mut unseen_other = Vec::new();
        for rule in &rules {
            match seen.get(rule.id.as_str()) {
                Some(s) => {
                    let (from, to) = rule_row_roles(rule);
                    let t = s.transports.iter().next().map_or("tcp", |t| &**t);
                    let ports: Vec<String> = s.ports.iter().map(u16::to_string).collect();
                    observed.push(RuleRow {
                        id: rule.id.clone(),
                        from,
                        to,
                        protocol: names::rule_protocol(rule, t),
                        ports: if ports.len() > 6 {
                            format!("{} ports", ports.len())
                        } else {
                            ports.join(", ")
                        },
                        service: rule.service.clone(),
                        flows: s.flows,
                        bytes: s.bytes,
                        bytes_h: time::bytes(s.bytes),
                        first: time::datetime_ms(s.first_ns),
                        last: time::datetime_ms(s.last_ns),
                    });
                }
                None => {
                    let near = roles_seen.contains(rule.responder.as_str())
                        && rule
                            .initiator
                            .is_none_or(|r| roles_seen.contains(r.as_str()));
                    if near {
                        unseen_near.push(unseen(rule));
                    } else {
                        unseen_other.push(unseen(rule));
                    }
                }
            }
        }
        let w_bytes = in_w.iter().fold(0u64, |s, f| s.saturating_add(f.bytes));
        let undoc = in_w.iter().filter(|f| !f.documented).count() as u64;
        let signin = if *key == "signin_discovery" {
            signin_rows(data)
        } else {
            Vec::new()
        };
        sections.push(Section {
            key: (*key).to_owned(),
            title: (*title).to_owned(),
            stats: format!(
                "{} · {} · {} of the catalogue's {} documented flows of this workload seen",
                time::flows(in_w.len() as u64),
                time::bytes(w_bytes),
                observed.len(),
                rules.len()
            ),
            diagram,
            observed,
            unseen_near,
            unseen_other,
            undocumented: undoc,
            signin,
        });
    }

    let tl = chart::timeline(flows);
    let (timeline_flows, timeline_bytes, timeline_bucket) = match &tl {
        Some(t) => (
            chart::bars(t, true),
            chart::bars(t, false),
            time::duration(t.bucket_ns),
        ),
        None => (String::new(), String::new(), String::new()),
    };
    let series = chart::series_names()
        .iter()
        .enumerate()
        .map(|(i, (_, name))| SeriesKey {
            colour: names::workload_colour(i),
            name,
        })
        .collect();

    let mut sip_recs: Vec<&crate::load::SipRec> = data.sip.iter().collect();
    sip_recs.sort_by(|a, b| a.first_ns.cmp(&b.first_ns).then(a.call_id.cmp(&b.call_id)));
    let sip_left_out = sip_recs.len().saturating_sub(MAX_EVIDENCE_ROWS);
    let sip = sip_recs
        .iter()
        .take(MAX_EVIDENCE_ROWS)
        .map(|d| SipRow {
            first: time::datetime_ms(d.first_ns),
            call_id: d.call_id.to_string(),
            request: d.first_request.as_deref().unwrap_or("").to_owned(),
            state: d.state.to_string(),
            status: d.final_status.map(|s| s.to_string()).unwrap_or_default(),
            client: d.client_ip.to_string(),
            server: format!("{}:{}", d.server_ip, d.server_port),
            user_agent: d.user_agent.as_deref().unwrap_or("").to_owned(),
            messages: d.messages,
            media_flows: d.media_flows,
        })
        .collect();

    let title = options.title.clone().unwrap_or_else(|| {
        "Observed traffic against the SfB Server 2015 protocol workloads".into()
    });
    let page = Page {
        title,
        span,
        inputs: inputs.join(", "),
        cards,
        legend: svg::legend(),
        overview: svg::diagram(&overview, "overview", "observed role pairs"),
        no_roles: roles_seen.iter().all(|r| *r == names::UNKNOWN),
        timeline_flows,
        timeline_bytes,
        timeline_bucket,
        series,
        findings,
        findings_left_out,
        findings_from_flows: !data.have_findings,
        sections,
        sip,
        sip_left_out,
        have_sip: data.have_sip,
        footer: format!(
            "{} · {} tables read · catalogue {} {} · times in UTC",
            options.generator,
            data.files,
            cat.name(),
            cat.version()
        ),
    };
    Ok(page.render()?)
}

fn signin_rows(data: &Data) -> Vec<DnsRow> {
    let mut recs: Vec<&crate::load::DnsRec> = data
        .dns
        .iter()
        .filter(|d| d.signin_step.is_some())
        .collect();
    recs.sort_by(|a, b| a.ts_ns.cmp(&b.ts_ns).then(a.client_ip.cmp(&b.client_ip)));
    recs.iter()
        .take(MAX_EVIDENCE_ROWS)
        .map(|d| {
            let rcode = d.rcode.as_deref().unwrap_or("no answer").to_owned();
            DnsRow {
                time: time::datetime_ms(d.ts_ns),
                client: d.client_ip.to_string(),
                role: d.client_role.as_deref().unwrap_or("").to_owned(),
                step: d.signin_step.as_deref().unwrap_or("").to_owned(),
                name: d.name.to_string(),
                qtype: d.qtype.to_string(),
                failed: rcode != "NOERROR" || d.answer_count == 0,
                rcode,
                answers: d.answers.as_deref().unwrap_or("").to_owned(),
            }
        })
        .collect()
}
