//! `sfbflow report` on the lab capture (`captures/lab-sfb`): the page shows every role, every
//! role pair (documented and not) and every finding the capture holds; it references nothing
//! outside itself; it renders in headless Chromium (Debian's `chromium`: the test fails under CI
//! without it, and is skipped with a message elsewhere) into a screenshot that is not blank, and
//! the DOM Chromium builds has the same roles, arrows and findings. Bad inputs are errors that
//! name the file, with exit status 2.

#![expect(clippy::print_stderr, reason = "a skipped check says why")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_sfbflow");

mod common;

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("report", name)
}

/// What the lab capture holds, from its JSON lines: roles, (initiator, responder, documented)
/// pairs, finding codes.
struct Expected {
    roles: BTreeSet<String>,
    pairs: BTreeSet<(String, String, bool)>,
    findings: BTreeSet<String>,
    flows: usize,
}

/// Classifies the lab capture into `out` (with `extra` options) and returns what it holds.
fn classify_lab(out: &Path, extra: &[&str]) -> Expected {
    let lab = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/lab-sfb");
    let res = Command::new(BIN)
        .arg("classify")
        .arg(lab.join("input.pcap"))
        .arg("--topology")
        .arg(lab.join("topology.toml"))
        .arg("--out")
        .arg(out)
        .args(["--jsonl", "--quiet"])
        .args(extra)
        .output()
        .expect("run sfbflow classify");
    assert_eq!(
        res.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let mut e = Expected {
        roles: BTreeSet::new(),
        pairs: BTreeSet::new(),
        findings: BTreeSet::new(),
        flows: 0,
    };
    for line in String::from_utf8_lossy(&res.stdout).lines() {
        let row: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let role = |k: &str| row[k].as_str().unwrap_or("unknown").to_owned();
        let (from, to) = (role("initiator_role"), role("responder_role"));
        e.roles.insert(from.clone());
        e.roles.insert(to.clone());
        let documented = row["documented"].as_bool().unwrap_or(false);
        e.pairs.insert((from, to, documented));
        if let Some(f) = row["finding"].as_str() {
            e.findings.insert(f.to_owned());
        }
        e.flows += 1;
    }
    e
}

fn report(args: &[&Path], out: &Path) -> (i32, String) {
    let res = Command::new(BIN)
        .arg("report")
        .args(args)
        .arg("-o")
        .arg(out)
        .output()
        .expect("run sfbflow report");
    (
        res.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&res.stderr).into_owned(),
    )
}

/// The text of the element `<svg id="ID" ...> ... </svg>`.
fn svg_of<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<svg id=\"{id}\""))
        .unwrap_or_else(|| panic!("no svg {id}"));
    let len = html[start..].find("</svg>").expect("svg closed");
    &html[start..start + len]
}

/// Checks a page (as written, or as Chromium's DOM dump) against what the capture holds.
fn check_page(html: &str, e: &Expected) {
    let overview = svg_of(html, "diagram-overview");
    for role in &e.roles {
        assert!(
            overview.contains(&format!("data-role=\"{role}\"")),
            "role {role} missing from the overview"
        );
    }
    let mut arrows = 0;
    for (from, to, documented) in &e.pairs {
        let needle =
            format!("data-from=\"{from}\" data-to=\"{to}\" data-documented=\"{documented}\"");
        assert!(
            overview.contains(&needle),
            "arrow {from} -> {to} (documented {documented}) missing"
        );
        arrows += 1;
    }
    assert!(arrows >= 20, "{arrows}");
    // Every flow is counted on exactly one arrow.
    let flows: usize = overview
        .split("data-flows=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next()?.parse::<usize>().ok())
        .sum();
    assert_eq!(flows, e.flows);
    // Undocumented arrows name their findings; every finding has a row in the table.
    for code in &e.findings {
        assert!(
            overview.contains(code.as_str()),
            "finding {code} not on an arrow"
        );
        assert!(
            html.contains(&format!("data-code=\"{code}\"")),
            "finding {code} not in the table"
        );
    }
    for w in [
        "signin_discovery",
        "im_presence",
        "av_web_conf",
        "enterprise_voice",
        "cms",
    ] {
        assert!(html.contains(&format!("id=\"workload-{w}\"")), "{w}");
        assert!(html.contains(&format!("id=\"diagram-{w}\"")), "{w}");
    }
    assert!(html.contains("id=\"timeline-flows\""));
    assert!(html.contains("id=\"timeline-bytes\""));
}

#[test]
fn the_lab_report_shows_every_role_pair_and_finding() {
    let dir = tmpdir("lab");
    let e = classify_lab(&dir.join("out"), &[]);
    assert_eq!(e.flows, 50);
    assert!(e.findings.len() >= 6, "{:?}", e.findings);
    let page = dir.join("report.html");
    let (code, err) = report(&[&dir.join("out")], &page);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(&page).expect("report written");
    check_page(&html, &e);
    // Evidence from the payload and sentences from findings.parquet are in the table.
    assert!(html.contains("SNI: pool.corp.contoso.com"));
    assert!(html.contains("documents SIP over TLS on tcp/5061"));
    // The same report from the flows file named on its own (siblings found beside it).
    let (code, err) = report(&[&dir.join("out/flows.parquet")], &dir.join("one.html"));
    assert_eq!(code, 0, "{err}");
    let one = std::fs::read_to_string(dir.join("one.html")).expect("report written");
    check_page(&one, &e);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rotated_and_partitioned_folders_give_the_same_picture() {
    let dir = tmpdir("rotated");
    let e = classify_lab(&dir.join("out"), &["--rotate", "10", "--partition", "hour"]);
    let files: Vec<PathBuf> = walk(&dir.join("out"));
    assert!(
        files
            .iter()
            .filter(|p| p.to_string_lossy().contains("flows-"))
            .count()
            > 1,
        "{files:?}"
    );
    let page = dir.join("report.html");
    let (code, err) = report(&[&dir.join("out")], &page);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(&page).expect("report written");
    check_page(&html, &e);
    let _ = std::fs::remove_dir_all(&dir);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn the_report_references_nothing_outside_itself() {
    let dir = tmpdir("selfcontained");
    classify_lab(&dir.join("out"), &[]);
    let page = dir.join("report.html");
    let (code, err) = report(&[&dir.join("out")], &page);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(&page).expect("report written");
    // URL schemes as written in URLs (the poster's labels say `HTTP:80` and `HTTPS:443`, which
    // are not URLs), and anything that loads or links to another resource, in any case.
    for bad in ["http:", "https:", "ftp:", "file:"] {
        assert!(!html.contains(bad), "the page contains {bad:?}");
    }
    let lower = html.to_ascii_lowercase();
    for bad in [
        "//",
        "src=",
        "@import",
        "<link",
        "<iframe",
        "<object",
        "<embed",
        "<img",
        "<base",
        "xlink:href",
        "srcset",
        "fetch(",
        "xmlhttprequest",
        "websocket",
        "import(",
    ] {
        assert!(!lower.contains(bad), "the page contains {bad:?}");
    }
    for (i, _) in lower.match_indices("url(") {
        assert!(lower[i + 4..].starts_with("data:"), "url( not a data: URL");
    }
    for (i, _) in lower.match_indices("href=") {
        assert!(
            lower[i + 5..].starts_with("\"#"),
            "a link leaves the page: {}",
            &html[i..(i + 60).min(html.len())]
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_inputs_are_errors_naming_the_file() {
    let dir = tmpdir("bad");
    let not_parquet = dir.join("flows.parquet");
    std::fs::write(&not_parquet, "flow_id,first_ts\n1,2\n").expect("write");
    let (code, err) = report(&[&not_parquet], &dir.join("r.html"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&*not_parquet.to_string_lossy()), "{err}");
    assert!(err.contains("not a readable Parquet file"), "{err}");
    assert!(!dir.join("r.html").exists());

    // A Parquet table that is not a flows table.
    let out = dir.join("out");
    classify_lab(&out, &[]);
    let dns = out.join("dns.parquet");
    let (code, err) = report(&[&dns], &dir.join("r.html"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&*dns.to_string_lossy()), "{err}");
    assert!(err.contains("lacks the column(s)"), "{err}");
    assert!(err.contains("responder_role"), "{err}");

    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let (code, err) = report(&[&empty], &dir.join("r.html"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no flows*.parquet"), "{err}");

    let (code, err) = report(&[&dir.join("missing")], &dir.join("r.html"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Chromium's headless flags for a page that must not touch the network.
fn chromium(args: &[String]) -> Option<std::process::Output> {
    if let Err(e) = Command::new("chromium").arg("--version").output() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium (Debian package `chromium`): {e}"
        );
        eprintln!("skipped: chromium not installed ({e})");
        return None;
    }
    let profile = tmpdir(&format!("chromium-profile-{}", args.len()));
    // A hung browser ends the test instead of stalling the run.
    let mut cmd = Command::new("timeout");
    cmd.args(["120", "chromium"]);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(args);
    let out = cmd.output().expect("run chromium under timeout");
    let _ = std::fs::remove_dir_all(&profile);
    assert_ne!(out.status.code(), Some(124), "chromium timed out");
    Some(out)
}

/// Distinct colours and the share of pixels that are not (nearly) white or the page's grey.
fn picture_stats(png_path: &Path) -> (usize, f64, (u32, u32)) {
    let file = std::fs::File::open(png_path).expect("screenshot");
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("PNG size")];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    let channels = info.color_type.samples();
    let mut colours: BTreeMap<[u8; 3], usize> = BTreeMap::new();
    let mut ink = 0usize;
    let pixels = buf[..info.buffer_size()].chunks_exact(channels);
    let n = pixels.len();
    for px in pixels {
        let rgb = [
            px[0],
            px.get(1).copied().unwrap_or(px[0]),
            px.get(2).copied().unwrap_or(px[0]),
        ];
        *colours.entry(rgb).or_default() += 1;
        if rgb.iter().any(|&c| c < 230) {
            ink += 1;
        }
    }
    (
        colours.len(),
        ink as f64 / n.max(1) as f64,
        (info.width, info.height),
    )
}

#[test]
fn the_lab_report_renders_in_headless_chromium() {
    let dir = tmpdir("chromium");
    let e = classify_lab(&dir.join("out"), &[]);
    let page = dir.join("report.html");
    let (code, err) = report(&[&dir.join("out")], &page);
    assert_eq!(code, 0, "{err}");
    let url = format!("file://{}", page.display());
    let shot = dir.join("report.png");
    let Some(out) = chromium(&[
        format!("--screenshot={}", shot.display()),
        "--window-size=1600,2400".to_owned(),
        url.clone(),
    ]) else {
        return;
    };
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (colours, ink, size) = picture_stats(&shot);
    assert_eq!(size, (1600, 2400));
    assert!(colours >= 64, "only {colours} colours: a blank page?");
    assert!(
        ink > 0.08,
        "only {:.1} % of the pixels carry ink",
        ink * 100.0
    );

    let Some(out) = chromium(&["--dump-dom".to_owned(), url]) else {
        return;
    };
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("</html>"),
        "no DOM: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_page(&dom, &e);
    let _ = std::fs::remove_dir_all(&dir);
}
