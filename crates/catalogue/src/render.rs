//! The catalogue as text for `sfbflow catalogue --format csv|json|table`.
//!
//! CSV and JSON carry the same fields under the same names: `id, workload, initiator_role,
//! responder_role, transport, ports, initiator_ports, media, protocol, security, service, path,
//! evidence, source, notes`. An initiator of "any" is written `any`; absent `initiator_ports` and
//! `notes` are empty in CSV and `null` in JSON.

use serde::Serialize;

use crate::{Catalogue, Rule};

/// The CSV header, in column order.
pub const CSV_HEADER: [&str; 15] = [
    "id",
    "workload",
    "initiator_role",
    "responder_role",
    "transport",
    "ports",
    "initiator_ports",
    "media",
    "protocol",
    "security",
    "service",
    "path",
    "evidence",
    "source",
    "notes",
];

/// One rule as an output row.
#[derive(Serialize)]
struct Row<'a> {
    id: &'a str,
    workload: &'static str,
    initiator_role: &'static str,
    responder_role: &'static str,
    transport: &'static str,
    ports: String,
    initiator_ports: Option<String>,
    media: bool,
    protocol: &'static str,
    security: &'static str,
    service: &'a str,
    path: &'a str,
    evidence: &'a str,
    source: &'a str,
    notes: Option<&'a str>,
}

impl<'a> Row<'a> {
    fn of(r: &'a Rule) -> Row<'a> {
        Row {
            id: &r.id,
            workload: r.workload.as_str(),
            initiator_role: r.initiator.map_or("any", |i| i.as_str()),
            responder_role: r.responder.as_str(),
            transport: r.transport.as_str(),
            ports: r.ports.to_string(),
            initiator_ports: r.initiator_ports.as_ref().map(ToString::to_string),
            media: r.media,
            protocol: r.protocol.as_str(),
            security: r.security.as_str(),
            service: &r.service,
            path: &r.path,
            evidence: &r.evidence,
            source: &r.source,
            notes: r.notes.as_deref(),
        }
    }

    fn csv_fields(&self) -> [&str; 15] {
        [
            self.id,
            self.workload,
            self.initiator_role,
            self.responder_role,
            self.transport,
            &self.ports,
            self.initiator_ports.as_deref().unwrap_or(""),
            if self.media { "true" } else { "false" },
            self.protocol,
            self.security,
            self.service,
            self.path,
            self.evidence,
            self.source,
            self.notes.unwrap_or(""),
        ]
    }
}

/// Appends one CSV field, quoted (RFC 4180) when it holds a comma, quote or line break.
fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

fn push_record<'a>(out: &mut String, fields: impl IntoIterator<Item = &'a str>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, f);
    }
    out.push('\n');
}

/// The catalogue as CSV: the [`CSV_HEADER`] line, then one line per rule in file order.
pub fn render_csv(c: &Catalogue) -> String {
    let mut out = String::new();
    push_record(&mut out, CSV_HEADER);
    for rule in c.rules() {
        let row = Row::of(rule);
        push_record(&mut out, row.csv_fields());
    }
    out
}

/// The catalogue as a JSON array of objects, one per rule in file order (pretty-printed, with
/// a final newline).
pub fn render_json(c: &Catalogue) -> String {
    let rows: Vec<Row<'_>> = c.rules().iter().map(Row::of).collect();
    // Serialising plain strings, numbers and bools into a String cannot fail.
    let mut out = serde_json::to_string_pretty(&rows).unwrap_or_else(|_| String::from("[]"));
    out.push('\n');
    out
}

/// The catalogue as aligned text for a terminal: id, transport/ports, initiator -> responder,
/// protocol/security and service, one rule per line under a header.
pub fn render_table(c: &Catalogue) -> String {
    let header = [
        "ID",
        "TRANSPORT/PORTS",
        "INITIATOR -> RESPONDER",
        "PROTOCOL/SECURITY",
        "SERVICE",
    ];
    let rows: Vec<[String; 5]> = c
        .rules()
        .iter()
        .map(|r| {
            [
                r.id.clone(),
                format!("{}/{}", r.transport, r.ports),
                format!(
                    "{} -> {}",
                    r.initiator.map_or("any", |i| i.as_str()),
                    r.responder
                ),
                format!("{}/{}", r.protocol, r.security),
                r.service.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; 5]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            l.push_str(cell);
            if i + 1 < cells.len() {
                let pad = w.saturating_sub(cell.chars().count());
                l.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header);
    for row in &rows {
        line([&row[0], &row[1], &row[2], &row[3], &row[4]]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small RFC 4180 reader: records of fields, quotes doubled inside quoted fields.
    fn read_csv(text: &str) -> Vec<Vec<String>> {
        let mut records = Vec::new();
        let mut record = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = text.chars().peekable();
        while let Some(ch) = chars.next() {
            match (quoted, ch) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') if field.is_empty() => quoted = true,
                (false, ',') => record.push(std::mem::take(&mut field)),
                (false, '\n') => {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                (false, c) => field.push(c),
            }
        }
        assert!(!quoted, "unterminated quote");
        assert!(
            field.is_empty() && record.is_empty(),
            "last record without newline"
        );
        records
    }

    #[test]
    fn csv_parses_back_to_every_rule() {
        let c = Catalogue::builtin();
        let records = read_csv(&render_csv(c));
        assert_eq!(records.len(), 145);
        assert_eq!(records[0], CSV_HEADER.map(String::from).to_vec());
        // The contract's columns (interface.md), in that order, are present.
        let contract = [
            "id",
            "workload",
            "initiator_role",
            "responder_role",
            "transport",
            "ports",
            "protocol",
            "security",
            "service",
            "source",
        ];
        let pos: Vec<usize> = contract
            .iter()
            .map(|c| records[0].iter().position(|h| h == c).expect("column"))
            .collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]));
        for (rec, rule) in records[1..].iter().zip(c.rules()) {
            assert_eq!(rec.len(), CSV_HEADER.len(), "{}", rule.id);
            assert_eq!(rec[0], rule.id);
            assert_eq!(rec[5], rule.ports.to_string());
            assert_eq!(rec[10], rule.service);
            assert_eq!(rec[13], rule.source, "quotes survive");
            assert_eq!(rec[14], rule.notes.clone().unwrap_or_default());
        }
        let wcf = &records[1..]
            .iter()
            .find(|r| r[0] == "im.unspec-to-pchat-wcf-881")
            .expect("row");
        assert_eq!(wcf[2], "any");
        let gw = &records[1..]
            .iter()
            .find(|r| r[0] == "ev.gw-to-med-rtp-60000-64000")
            .expect("row");
        assert_eq!(gw[5], "49152-57500,60000-64000");
        assert_eq!(gw[7], "true");
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let mut s = String::new();
        push_record(&mut s, ["a", "b,c", "say \"hi\"", "two\nlines", ""]);
        assert_eq!(s, "a,\"b,c\",\"say \"\"hi\"\"\",\"two\nlines\",\n");
        assert_eq!(
            read_csv(&s),
            vec![vec!["a", "b,c", "say \"hi\"", "two\nlines", ""]]
        );
    }

    #[test]
    fn json_is_an_array_of_rules_with_the_csv_fields() {
        let c = Catalogue::builtin();
        let v: serde_json::Value = serde_json::from_str(&render_json(c)).expect("json");
        let rows = v.as_array().expect("array");
        assert_eq!(rows.len(), 144);
        for (row, rule) in rows.iter().zip(c.rules()) {
            let obj = row.as_object().expect("object");
            let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            let mut want = CSV_HEADER.to_vec();
            want.sort_unstable();
            let mut got = keys.clone();
            got.sort_unstable();
            assert_eq!(got, want);
            assert_eq!(row["id"], rule.id.as_str());
            assert_eq!(row["media"], rule.media);
        }
        let dhcp = rows
            .iter()
            .find(|r| r["id"] == "sd.int-client-to-dhcp-dhcp-67")
            .expect("row");
        assert_eq!(dhcp["initiator_ports"], "68");
        assert_eq!(dhcp["transport"], "udp");
        let fe = rows
            .iter()
            .find(|r| r["id"] == "im.int-client-to-fe-sip-tls-5061")
            .expect("row");
        assert!(fe["initiator_ports"].is_null());
        assert_eq!(fe["protocol"], "SIP");
        assert_eq!(fe["security"], "tls");
        assert_eq!(fe["path"], "dnslb|hlb");
    }

    #[test]
    fn table_is_aligned() {
        let c = Catalogue::builtin();
        let t = render_table(c);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 145);
        assert!(lines[0].starts_with("ID "));
        let col = lines[0].find("TRANSPORT/PORTS").expect("column");
        for l in &lines[1..] {
            assert_eq!(l.chars().nth(col - 1), Some(' '), "{l}");
            assert_ne!(l.chars().nth(col), Some(' '), "{l}");
        }
        let fe = lines
            .iter()
            .find(|l| l.starts_with("im.int-client-to-fe-sip-tls-5061 "))
            .expect("row");
        assert!(fe.contains("tcp/5061"), "{fe}");
        assert!(fe.contains("internal_client -> front_end"), "{fe}");
        assert!(fe.contains("SIP/tls"), "{fe}");
        assert!(fe.ends_with("Front-End service (registrar/proxy)"), "{fe}");
        assert!(lines.iter().all(|l| l.trim_end() == *l));
    }
}
