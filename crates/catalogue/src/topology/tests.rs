use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn net(s: &str) -> IpNet {
    s.parse().expect("test prefix")
}

fn set(roles: &[Role]) -> RoleSet {
    roles.iter().copied().collect()
}

fn parse_ok(text: &str) -> Topology {
    match Topology::from_toml(text) {
        Ok(t) => t,
        Err(e) => panic!("expected a valid topology, got:\n{e}"),
    }
}

fn problems(text: &str) -> Vec<TopologyProblem> {
    match Topology::from_toml(text) {
        Ok(_) => panic!("expected problems, the topology parsed"),
        Err(TopologyError::Invalid { path, problems }) => {
            assert_eq!(path, None);
            assert!(!problems.is_empty());
            problems
        }
        Err(e) => panic!("expected Invalid, got {e:?}"),
    }
}

/// The single problem of `text`, checked to be on `line` and to contain `needle`.
fn one_problem(text: &str, line: usize, needle: &str) -> TopologyProblem {
    let ps = problems(text);
    assert_eq!(ps.len(), 1, "expected one problem, got {ps:#?}");
    let p = ps.into_iter().next().expect("one problem");
    assert_eq!(p.line, line, "wrong line for {p:?}");
    assert!(
        p.message.contains(needle),
        "message {:?} lacks {needle:?}",
        p.message
    );
    p
}

// --- RoleSet --------------------------------------------------------------------------------

#[test]
fn role_discriminants_follow_all() {
    for (i, r) in Role::ALL.into_iter().enumerate() {
        assert_eq!(r as usize, i, "{r} is out of order");
    }
}

#[test]
fn roleset_basics() {
    let mut s = RoleSet::empty();
    assert!(s.is_empty());
    assert_eq!(s.len(), 0);
    s.insert(Role::Mediation);
    s.insert(Role::FrontEnd);
    s.insert(Role::FrontEnd);
    s.insert(Role::BroadcastCloud);
    assert_eq!(s.len(), 3);
    assert!(s.contains(Role::FrontEnd) && s.contains(Role::BroadcastCloud));
    assert!(!s.contains(Role::InternalClient));
    assert_eq!(
        s.iter().collect::<Vec<_>>(),
        vec![Role::FrontEnd, Role::Mediation, Role::BroadcastCloud]
    );
    assert_eq!(format!("{s:?}"), "{FrontEnd, Mediation, BroadcastCloud}");
    let all: RoleSet = Role::ALL.into_iter().collect();
    assert_eq!(all.len(), 38);
    assert_eq!(all.iter().count(), 38);
    assert_eq!(
        RoleSet::single(Role::Vis).union(RoleSet::from(Role::Vtc)),
        set(&[Role::Vis, Role::Vtc])
    );
    assert_eq!(RoleSet::default(), RoleSet::empty());
}

// --- Good files -----------------------------------------------------------------------------

/// interface.md, "Topology file (TOML)", verbatim.
const INTERFACE_EXAMPLE: &str = r#"sip_domain = "contoso.com"          # optional: checks DNS names and TLS SNI against the poster
ad_domain  = "corp.contoso.com"     # optional

[roles]                             # role = [addresses or CIDR prefixes], IPv4 and IPv6
front_end       = ["10.1.3.10", "10.1.3.11"]
edge_internal   = ["10.1.2.10"]
access_edge     = ["203.0.113.10"]
av_edge         = ["203.0.113.12"]
internal_client = ["10.20.0.0/16"]
external_client = ["0.0.0.0/0", "::/0"]   # catch-all: the longest prefix wins

[ports]                             # optional: deployment-specific ports and ranges
client_media = "50000-50059"        # e.g. a configured client media port range
"#;

#[test]
fn interface_example_parses() {
    let t = parse_ok(INTERFACE_EXAMPLE);
    assert_eq!(t.sip_domain.as_deref(), Some("contoso.com"));
    assert_eq!(t.ad_domain.as_deref(), Some("corp.contoso.com"));
    assert_eq!(t.ports.client_media, Some(vec![(50000, 50059)]));
    assert_eq!(t.ports.client_media_or_default(), &[(50000, 50059)]);
    assert_eq!(t.ports.edge_media, None);
    assert_eq!(t.ports.edge_media_or_default(), &[(50000, 59999)]);
    assert!(!t.is_empty());
    assert_eq!(t.prefix_count(), 8);

    let cases: &[(&str, &[Role])] = &[
        ("10.1.3.10", &[Role::FrontEnd]),
        ("10.1.3.11", &[Role::FrontEnd]),
        ("10.1.3.12", &[Role::ExternalClient]),
        ("10.1.2.10", &[Role::EdgeInternal]),
        ("203.0.113.10", &[Role::AccessEdge]),
        ("203.0.113.12", &[Role::AvEdge]),
        ("203.0.113.11", &[Role::ExternalClient]),
        ("10.20.0.1", &[Role::InternalClient]),
        ("10.20.255.254", &[Role::InternalClient]),
        ("10.21.0.1", &[Role::ExternalClient]),
        ("8.8.8.8", &[Role::ExternalClient]),
        ("2001:db8::1", &[Role::ExternalClient]),
        ("::ffff:10.1.3.10", &[Role::FrontEnd]),
    ];
    for (addr, roles) in cases {
        assert_eq!(t.roles_of(ip(addr)), set(roles), "{addr}");
    }
    assert_eq!(
        t.lookup(ip("10.20.7.7")),
        Some((net("10.20.0.0/16"), set(&[Role::InternalClient])))
    );
    assert_eq!(
        t.lookup(ip("10.1.3.10")),
        Some((net("10.1.3.10/32"), set(&[Role::FrontEnd])))
    );
    assert_eq!(
        t.lookup(ip("2001:db8::1")),
        Some((net("::/0"), set(&[Role::ExternalClient])))
    );
}

#[test]
fn empty_and_minimal_files() {
    let t = parse_ok("");
    assert!(t.is_empty());
    assert_eq!(t.roles_of(ip("10.0.0.1")), RoleSet::empty());
    assert_eq!(t.lookup(ip("::1")), None);
    assert_eq!(t.ports, PortOverrides::default());
    let t = parse_ok("[roles]\nvis = []\n[ports]\n");
    assert!(t.is_empty());
    assert!(Topology::default().is_empty());
    let t: Topology = "[roles]\nvis = [\"10.0.0.1\"]".parse().expect("FromStr");
    assert_eq!(t.roles_of(ip("10.0.0.1")), set(&[Role::Vis]));
}

#[test]
fn longest_prefix_wins() {
    let t = parse_ok(
        r#"
[roles]
external_client = ["0.0.0.0/0"]
internal_client = ["10.20.0.0/16"]
mgmt_host = ["10.20.1.1"]
sba = ["10.20.1.0/24"]
"#,
    );
    assert_eq!(t.roles_of(ip("10.20.1.1")), set(&[Role::MgmtHost]));
    assert_eq!(t.roles_of(ip("10.20.1.2")), set(&[Role::Sba]));
    assert_eq!(t.roles_of(ip("10.20.2.2")), set(&[Role::InternalClient]));
    assert_eq!(t.roles_of(ip("10.21.0.1")), set(&[Role::ExternalClient]));
    assert_eq!(
        t.roles_of(ip("255.255.255.255")),
        set(&[Role::ExternalClient])
    );
    assert_eq!(t.roles_of(ip("0.0.0.0")), set(&[Role::ExternalClient]));
    // No IPv6 catch-all: IPv6 addresses are outside the topology.
    assert_eq!(t.roles_of(ip("2001:db8::1")), RoleSet::empty());
    assert_eq!(t.lookup(ip("2001:db8::1")), None);
    assert_eq!(
        t.lookup(ip("10.20.1.1")).map(|(n, _)| n),
        Some(net("10.20.1.1/32"))
    );
    assert_eq!(
        t.lookup(ip("10.20.1.9")).map(|(n, _)| n),
        Some(net("10.20.1.0/24"))
    );
}

#[test]
fn several_roles_at_one_prefix() {
    let t = parse_ok(
        r#"
[roles]
front_end = ["10.1.3.10", "10.1.3.0/24"]
mediation = ["10.1.3.10/32"]
sfb_server = ["10.1.3.10"]
cms_master = ["10.1.3.0/24"]
"#,
    );
    assert_eq!(
        t.roles_of(ip("10.1.3.10")),
        set(&[Role::FrontEnd, Role::SfbServer, Role::Mediation])
    );
    // Only the roles at the longest prefix: the /24's cms_master does not leak into the /32.
    assert!(!t.roles_of(ip("10.1.3.10")).contains(Role::CmsMaster));
    assert_eq!(
        t.roles_of(ip("10.1.3.11")),
        set(&[Role::FrontEnd, Role::CmsMaster])
    );
    assert_eq!(t.prefix_count(), 2);
    let mut listed: Vec<(IpNet, RoleSet)> = t.prefixes().collect();
    listed.sort_by_key(|(n, _)| std::cmp::Reverse(n.prefix_len()));
    assert_eq!(listed.len(), 2);
    assert_eq!(listed.first().map(|(n, _)| *n), Some(net("10.1.3.10/32")));
}

#[test]
fn ipv6_prefixes() {
    let t = parse_ok(
        r#"
[roles]
external_client = ["::/0"]
internal_client = ["2001:db8::/32"]
front_end = ["2001:db8:1::/48", "2001:DB8:1::5"]
mediation = ["2001:db8:1::5/128"]
"#,
    );
    assert_eq!(
        t.roles_of(ip("2001:db8:1::5")),
        set(&[Role::FrontEnd, Role::Mediation])
    );
    assert_eq!(t.roles_of(ip("2001:db8:1::6")), set(&[Role::FrontEnd]));
    assert_eq!(
        t.roles_of(ip("2001:db8:2::6")),
        set(&[Role::InternalClient])
    );
    assert_eq!(t.roles_of(ip("2001:db9::1")), set(&[Role::ExternalClient]));
    assert_eq!(
        t.lookup(ip("2001:db8:1:ffff::1")),
        Some((net("2001:db8:1::/48"), set(&[Role::FrontEnd])))
    );
    // The IPv6 catch-all does not cover IPv4, nor IPv4-mapped IPv6 (looked up as IPv4).
    assert_eq!(t.roles_of(ip("10.0.0.1")), RoleSet::empty());
    assert_eq!(t.roles_of(ip("::ffff:10.0.0.1")), RoleSet::empty());
}

#[test]
fn ipv4_mapped_addresses_are_ipv4() {
    let t = parse_ok(
        r#"
[roles]
front_end = ["10.1.3.10"]
vtc = ["::ffff:10.9.0.0/112"]
mgmt_host = ["::ffff:10.1.1.40"]
"#,
    );
    assert_eq!(t.roles_of(ip("::ffff:10.1.3.10")), set(&[Role::FrontEnd]));
    assert_eq!(t.roles_of(ip("::ffff:a01:30a")), set(&[Role::FrontEnd]));
    assert_eq!(
        t.lookup(ip("10.9.1.1")),
        Some((net("10.9.0.0/16"), set(&[Role::Vtc])))
    );
    assert_eq!(t.roles_of(ip("10.1.1.40")), set(&[Role::MgmtHost]));
    // IPv4-compatible (deprecated, ::a.b.c.d) is not mapped.
    assert_eq!(t.roles_of(ip("::10.1.3.10")), RoleSet::empty());
    // A mapped duplicate of a plain IPv4 entry is a duplicate.
    one_problem(
        "[roles]\nfront_end = [\"10.1.3.10\", \"::ffff:10.1.3.10\"]\n",
        2,
        "already listed on line 2",
    );
}

#[test]
fn domains_are_normalised() {
    let t = parse_ok("sip_domain = \"Contoso.COM.\"\nad_domain = \"corp-1.contoso.com\"\n");
    assert_eq!(t.sip_domain.as_deref(), Some("contoso.com"));
    assert_eq!(t.ad_domain.as_deref(), Some("corp-1.contoso.com"));
}

#[test]
fn port_forms() {
    let t = parse_ok(
        r#"
[ports]
client_media = "50000-50059"
edge_media = " 50000 - 59999 "
gateway_sip = "5060,5061"
gateway_media = ["60000-64000", 30000]
vis_trunk = 6001
conference_audio = "49152-57500, 1-1"
mediation_media = [49152]
conference_video = "65535"
"#,
    );
    let p = &t.ports;
    assert_eq!(p.client_media, Some(vec![(50000, 50059)]));
    assert_eq!(p.edge_media, Some(vec![(50000, 59999)]));
    assert_eq!(p.gateway_sip, Some(vec![(5060, 5060), (5061, 5061)]));
    assert_eq!(p.gateway_media, Some(vec![(60000, 64000), (30000, 30000)]));
    assert_eq!(p.vis_trunk, Some(vec![(6001, 6001)]));
    assert_eq!(p.conference_audio, Some(vec![(49152, 57500), (1, 1)]));
    assert_eq!(p.mediation_media, Some(vec![(49152, 49152)]));
    assert_eq!(p.conference_video, Some(vec![(65535, 65535)]));
    assert!(ranges_contain(p.gateway_media_or_default(), 30000));
    assert!(!ranges_contain(p.gateway_media_or_default(), 30001));
}

#[test]
fn port_defaults() {
    let p = PortOverrides::default();
    assert_eq!(p.client_media_or_default(), &[(1024, 65535)]);
    assert_eq!(p.edge_media_or_default(), &[(50000, 59999)]);
    assert_eq!(p.conference_audio_or_default(), &[(49152, 57500)]);
    assert_eq!(p.conference_video_or_default(), &[(57501, 65535)]);
    assert_eq!(p.mediation_media_or_default(), &[(49152, 57500)]);
    assert_eq!(p.gateway_media_or_default(), &[(1, 65535)]);
    assert_eq!(p.gateway_sip_or_default(), &[(5060, 5060), (5061, 5061)]);
    assert_eq!(p.vis_trunk_or_default(), &[(6001, 6001)]);
    assert!(ranges_contain(p.gateway_sip_or_default(), 5061));
    assert!(!ranges_contain(p.gateway_sip_or_default(), 5062));
}

#[test]
fn insert_in_code() {
    let mut t = Topology::default();
    t.insert(net("10.1.3.10/16"), Role::InternalClient);
    t.insert(net("::ffff:10.2.0.0/112"), Role::Vtc);
    assert_eq!(
        t.lookup(ip("10.1.200.1")),
        Some((net("10.1.0.0/16"), set(&[Role::InternalClient])))
    );
    assert_eq!(t.roles_of(ip("10.2.3.4")), set(&[Role::Vtc]));
}

// --- Errors, each with its line ---------------------------------------------------------------

#[test]
fn unknown_role_suggests_the_closest() {
    let p = one_problem(
        "[roles]\nfront_end = [\"10.1.3.10\"]\nfrontend = [\"10.1.3.11\"]\n",
        3,
        "unknown role `frontend` (did you mean `front_end`?)",
    );
    assert_eq!(p.column, 1);
    one_problem(
        "[roles]\nFrontEnd = [\"10.1.3.11\"]\n",
        2,
        "did you mean `front_end`?",
    );
    one_problem(
        "[roles]\n\n\nav-edge = [\"10.1.3.11\"]\n",
        4,
        "did you mean `av_edge`?",
    );
    one_problem(
        "[roles]\nmediaton = [\"10.1.3.11\"]\n",
        2,
        "did you mean `mediation`?",
    );
    let p = one_problem("[roles]\nlync_thing = []\n", 2, "unknown role `lync_thing`");
    assert!(!p.message.contains("did you mean"), "{}", p.message);
    // An unknown role with a bad address: both are reported.
    let ps = problems("[roles]\nfrontend = [\"10.1.3.300\"]\n");
    assert_eq!(ps.len(), 2, "{ps:#?}");
    assert!(ps.iter().all(|p| p.line == 2));
}

#[test]
fn bad_addresses_and_prefixes() {
    let p = one_problem(
        "[roles]\nfront_end = [\"10.1.3.10\", \"10.1.3.300\"]\n",
        2,
        "`10.1.3.300` is not an IPv4 or IPv6 address",
    );
    assert_eq!(p.column, 27);
    one_problem(
        "[roles]\ninternal_client = [\"10.0.0.0/33\"]\n",
        2,
        "prefix length `/33` is not a number from 0 to 32",
    );
    one_problem(
        "[roles]\ninternal_client = [\"2001:db8::/129\"]\n",
        2,
        "from 0 to 128",
    );
    one_problem(
        "[roles]\ninternal_client = [\"10.0.0.0/\"]\n",
        2,
        "prefix length",
    );
    one_problem(
        "[roles]\ninternal_client = [\"10.0.0.0/x\"]\n",
        2,
        "prefix length",
    );
    one_problem(
        "[roles]\ninternal_client = [\"10.0.0.0/+8\"]\n",
        2,
        "prefix length",
    );
    one_problem(
        "[roles]\ninternal_client = [\"10.1.3.10/16\"]\n",
        2,
        "`10.1.3.10/16` has host bits set: write `10.1.0.0/16` for the subnet or `10.1.3.10` for the single host",
    );
    one_problem(
        "[roles]\ninternal_client = [\"2001:db8::1/32\"]\n",
        2,
        "write `2001:db8::/32`",
    );
    one_problem(
        "[roles]\nvis = [\"\"]\n",
        2,
        "is not an IPv4 or IPv6 address",
    );
    one_problem(
        "[roles]\nvis = [\"vis.contoso.com\"]\n",
        2,
        "is not an IPv4",
    );
    one_problem("[roles]\nvis = [\"fe80::1%eth0\"]\n", 2, "is not an IPv4");
    one_problem(
        "[roles]\nvis = [\"300.0.0.0/8\"]\n",
        2,
        "`300.0.0.0` is not",
    );
    // Catch-alls are fine.
    parse_ok("[roles]\nexternal_client = [\"0.0.0.0/0\", \"::/0\"]\n");
}

#[test]
fn bad_ports() {
    one_problem(
        "[ports]\nclient_media = \"0-100\"\n",
        2,
        "port 0 is not a valid port",
    );
    one_problem("[ports]\nvis_trunk = 0\n", 2, "port 0 is not a valid port");
    one_problem(
        "[ports]\nclient_media = \"50059-50000\"\n",
        2,
        "range `50059-50000` runs backwards: 50059 > 50000",
    );
    one_problem(
        "[ports]\nclient_media = \"fifty\"\n",
        2,
        "`fifty` is not a port number",
    );
    one_problem(
        "[ports]\nclient_media = \"5000-\"\n",
        2,
        "a port is missing",
    );
    one_problem(
        "[ports]\ngateway_sip = \"5060,,5061\"\n",
        2,
        "a port is missing",
    );
    one_problem("[ports]\nclient_media = \"\"\n", 2, "empty string");
    one_problem(
        "[ports]\nclient_media = \"1-70000\"\n",
        2,
        "70000 is out of range",
    );
    one_problem("[ports]\nvis_trunk = 70000\n", 2, "70000 is out of range");
    one_problem("[ports]\nvis_trunk = -1\n", 2, "-1 is out of range");
    one_problem(
        "[ports]\nvis_trunk = 0x1771\n",
        2,
        "not a decimal port number",
    );
    one_problem("[ports]\nvis_trunk = 6001.0\n", 2, "found a float");
    one_problem("[ports]\nvis_trunk = []\n", 2, "lists no port");
    one_problem("[ports]\nvis_trunk = [true]\n", 2, "found a boolean");
    one_problem(
        "[ports]\nclient_medai = \"1-2\"\n",
        2,
        "unknown port key `client_medai` (did you mean `client_media`?)",
    );
}

#[test]
fn duplicate_prefix_under_one_role() {
    let p = one_problem(
        "[roles]\nfront_end = [\n  \"10.1.3.10\",\n  \"10.1.3.11\",\n  \"10.1.3.10/32\",\n]\n",
        5,
        "duplicate entry `10.1.3.10/32` under `front_end`: prefix 10.1.3.10/32 is already listed on line 3",
    );
    assert_eq!(p.column, 3);
    one_problem(
        "[roles]\nvtc = [\"2001:db8::/32\", \"2001:DB8::/32\"]\n",
        2,
        "already listed on line 2",
    );
    // The same prefix under two roles is not a duplicate.
    parse_ok("[roles]\nfront_end = [\"10.1.3.10\"]\nmediation = [\"10.1.3.10\"]\n");
}

#[test]
fn wrong_types() {
    one_problem(
        "[roles]\nfront_end = \"10.1.3.10\"\n",
        2,
        "role `front_end` must be an array of address strings",
    );
    one_problem("[roles]\nfront_end = [10]\n", 2, "found an integer");
    one_problem(
        "[roles.front_end]\naddr = \"10.1.3.10\"\n",
        1,
        "found a table",
    );
    one_problem(
        "roles = [\"10.1.3.10\"]\n",
        1,
        "`roles` must be a table ([roles]), found an array",
    );
    one_problem("ports = 5\n", 1, "`ports` must be a table");
    one_problem("sip_domain = 5\n", 1, "`sip_domain` must be a string");
    one_problem(
        "\nad_domain = [\"a.com\"]\n",
        2,
        "`ad_domain` must be a string",
    );
}

#[test]
fn bad_domains() {
    one_problem("sip_domain = \"contoso..com\"\n", 1, "empty label");
    one_problem("sip_domain = \"\"\n", 1, "it is empty");
    one_problem("sip_domain = \"con_toso.com\"\n", 1, "holds `_`");
    one_problem(
        "sip_domain = \"-contoso.com\"\n",
        1,
        "starts or ends with `-`",
    );
    one_problem("sip_domain = \"user@contoso.com\"\n", 1, "holds `@`");
    let long = "a".repeat(64);
    one_problem(
        &format!("sip_domain = \"{long}.com\"\n"),
        1,
        "over 63 characters",
    );
    let many = vec!["abcdefghi"; 30].join(".");
    one_problem(&format!("ad_domain = \"{many}\"\n"), 1, "over 253");
}

#[test]
fn unknown_keys_anywhere() {
    one_problem(
        "sip_domian = \"contoso.com\"\n",
        1,
        "unknown key `sip_domian` (did you mean `sip_domain`?)",
    );
    one_problem(
        "front_end = [\"10.1.3.10\"]\n[roles]\n",
        1,
        "role names go in the [roles] table",
    );
    one_problem(
        "client_media = \"1-2\"\n",
        1,
        "port keys go in the [ports] table",
    );
    one_problem(
        "[role]\nfront_end = [\"10.1.3.10\"]\n",
        1,
        "did you mean `roles`?",
    );
    one_problem("[[roles]]\n", 1, "`roles` must be a table");
    one_problem(
        "[roles]\nvis = []\nsip_domain = \"contoso.com\"\n",
        3,
        "`sip_domain` is not a key of [roles]: top-level keys such as `sip_domain` go before the first [table] header",
    );
    one_problem("[ports]\nroles = 1\n", 2, "is not a key of [ports]");
}

#[test]
fn syntax_error_is_one_problem_with_its_position() {
    let ps = problems("[roles]\nfront_end = [\"10.1.3.10\"\nvis = []\n");
    assert_eq!(ps.len(), 1, "{ps:#?}");
    let p = ps.first().expect("one");
    assert!(p.message.starts_with("TOML syntax: "), "{}", p.message);
    assert!(p.line >= 2, "{p:?}");

    let p = one_problem(
        "sip_domain = \"a.com\"\n\nad_domain = \"b.com\" x\n",
        3,
        "TOML syntax",
    );
    assert!(p.column > 1, "{p:?}");
    // A key given twice is a TOML error, on the second one.
    one_problem(
        "[roles]\nvis = []\nvis = []\n",
        3,
        "TOML syntax: duplicate key `vis`",
    );
    one_problem(
        "[roles]\nvis = []\n[roles]\n",
        3,
        "TOML syntax: duplicate key",
    );
}

#[test]
fn every_problem_is_reported_sorted_by_line() {
    let text = r#"sip_domain = "contoso..com"
colour = "blue"

[roles]
front_end = [
    "10.1.3.10",
    "10.1.3.300",
    "10.1.3.10",
]
frontend = ["10.1.3.11"]
mediation = "10.1.3.30"
vtc = ["10.40.0.1/24", 7]

[ports]
client_media = "50059-50000"
gateway_sip = "5060,sip"
bogus = 1
"#;
    let ps = problems(text);
    let lines: Vec<usize> = ps.iter().map(|p| p.line).collect();
    assert_eq!(
        lines,
        vec![1, 2, 7, 8, 10, 11, 12, 12, 15, 16, 17],
        "{ps:#?}"
    );
    let expect = [
        "not a DNS name",
        "unknown key `colour`",
        "`10.1.3.300` is not",
        "duplicate entry `10.1.3.10`",
        "unknown role `frontend`",
        "role `mediation` must be an array",
        "host bits set",
        "found an integer",
        "runs backwards",
        "`sip` is not a port number",
        "unknown port key `bogus`",
    ];
    for (p, needle) in ps.iter().zip(expect) {
        assert!(p.message.contains(needle), "{p:?} lacks {needle:?}");
    }
    // Column of the second problem on line 12 (`7`) is after the first one's.
    let on12: Vec<usize> = ps
        .iter()
        .filter(|p| p.line == 12)
        .map(|p| p.column)
        .collect();
    assert_eq!(on12, vec![8, 24]);

    let err = Topology::from_toml(text).expect_err("invalid");
    let shown = err.to_string();
    assert_eq!(shown.lines().count(), 11);
    assert!(
        shown.starts_with("line 1: `sip_domain` = \"contoso..com\" is not a DNS name"),
        "{shown}"
    );
}

#[test]
fn columns_count_characters() {
    let p = one_problem("[roles]\n\"fröntend\" = []\n", 2, "unknown role `fröntend`");
    assert_eq!(p.column, 1);
    let ps = problems("[roles] # é\nvis = [\"é\", \"x\"]\n");
    let cols: Vec<(usize, usize)> = ps.iter().map(|p| (p.line, p.column)).collect();
    assert_eq!(cols, vec![(2, 8), (2, 13)], "{ps:#?}");
}

#[test]
fn problem_display() {
    let p = TopologyProblem {
        line: 12,
        column: 1,
        message: "unknown role `frontend` (did you mean `front_end`?)".to_string(),
    };
    assert_eq!(
        p.to_string(),
        "line 12: unknown role `frontend` (did you mean `front_end`?)"
    );
}

// --- Files ------------------------------------------------------------------------------------

#[test]
fn from_path_names_the_file() {
    let dir = std::env::temp_dir().join(format!("sfbflow-topology-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("topology.toml");
    let text = format!("{}[roles]\nfrontend = []\n", "# comment\n".repeat(10));
    std::fs::write(&path, text).expect("write");
    let err = Topology::from_path(&path).expect_err("invalid");
    assert_eq!(
        err.to_string(),
        format!(
            "{}:12: unknown role `frontend` (did you mean `front_end`?)",
            path.display()
        )
    );
    match &err {
        TopologyError::Invalid { path: p, problems } => {
            assert_eq!(p.as_deref(), Some(path.as_path()));
            assert_eq!(problems.len(), 1);
        }
        other => panic!("{other:?}"),
    }

    std::fs::write(&path, INTERFACE_EXAMPLE).expect("write");
    let t = Topology::from_path(&path).expect("valid file");
    assert_eq!(t.roles_of(ip("10.1.3.10")), set(&[Role::FrontEnd]));

    let missing = dir.join("missing.toml");
    let err = Topology::from_path(&missing).expect_err("missing");
    assert!(matches!(&err, TopologyError::Io { path, .. } if path == &missing));
    assert!(err.to_string().contains("missing.toml"), "{err}");
    assert!(std::error::Error::source(&err).is_some());

    std::fs::write(&path, [0xff, 0xfe, 0x00]).expect("write");
    assert!(matches!(
        Topology::from_path(&path),
        Err(TopologyError::Io { .. })
    ));
    std::fs::remove_dir_all(&dir).expect("clean up");
}

// --- Template ---------------------------------------------------------------------------------

#[test]
fn template_parses_empty() {
    let t = parse_ok(template());
    assert!(t.is_empty());
    assert_eq!(t.sip_domain, None);
    assert_eq!(t.ports, PortOverrides::default());
}

#[test]
fn template_names_every_role_and_port_key() {
    let text = template();
    for role in Role::ALL {
        let example = format!("# {} = [", role.as_str());
        assert!(text.contains(&example), "template lacks {example:?}");
    }
    for key in PORT_KEYS {
        assert!(
            text.contains(&format!("# {key} = ")),
            "template lacks {key}"
        );
    }
}

/// The template with its example lines (`# key = value`) uncommented.
fn uncommented_template() -> String {
    template()
        .lines()
        .map(|line| {
            let rest = line.strip_prefix("# ").unwrap_or("");
            let key: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            let after = rest.get(key.len()..).unwrap_or("").trim_start();
            if !key.is_empty() && after.starts_with('=') {
                rest.to_string()
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn template_examples_parse_when_uncommented() {
    let t = parse_ok(&uncommented_template());
    assert_eq!(t.sip_domain.as_deref(), Some("contoso.com"));
    assert_eq!(t.ad_domain.as_deref(), Some("corp.contoso.com"));
    let mut seen = RoleSet::empty();
    for (_, roles) in t.prefixes() {
        seen = seen.union(roles);
    }
    assert_eq!(seen.len(), 38, "roles without an example: {seen:?}");
    // The examples spell out the defaults.
    let p = &t.ports;
    assert_eq!(
        p.client_media.as_deref(),
        Some(PortOverrides::DEFAULT_CLIENT_MEDIA)
    );
    assert_eq!(
        p.edge_media.as_deref(),
        Some(PortOverrides::DEFAULT_EDGE_MEDIA)
    );
    assert_eq!(
        p.conference_audio.as_deref(),
        Some(PortOverrides::DEFAULT_CONFERENCE_AUDIO)
    );
    assert_eq!(
        p.conference_video.as_deref(),
        Some(PortOverrides::DEFAULT_CONFERENCE_VIDEO)
    );
    assert_eq!(
        p.mediation_media.as_deref(),
        Some(PortOverrides::DEFAULT_MEDIATION_MEDIA)
    );
    assert_eq!(
        p.gateway_media.as_deref(),
        Some(PortOverrides::DEFAULT_GATEWAY_MEDIA)
    );
    assert_eq!(
        p.gateway_sip.as_deref(),
        Some(PortOverrides::DEFAULT_GATEWAY_SIP)
    );
    assert_eq!(
        p.vis_trunk.as_deref(),
        Some(PortOverrides::DEFAULT_VIS_TRUNK)
    );
    assert_eq!(
        t.roles_of(ip("10.1.3.10")),
        set(&[Role::FrontEnd, Role::CmsMaster])
    );
    assert_eq!(t.roles_of(ip("10.1.3.30")), set(&[Role::Mediation]));
    assert_eq!(t.roles_of(ip("10.1.3.31")), set(&[Role::SfbServer]));
    assert_eq!(t.roles_of(ip("8.8.8.8")), set(&[Role::ExternalClient]));
}

// --- Scale ------------------------------------------------------------------------------------

#[test]
fn thousands_of_prefixes() {
    let mut text = String::from("[roles]\ninternal_client = [\n");
    for i in 0..4000u32 {
        let a = Ipv4Addr::from(0x0a00_0000 | (i << 8));
        text.push_str(&format!("  \"{a}/24\",\n"));
    }
    text.push_str("]\nfront_end = [\n");
    for i in 0..4000u32 {
        let a = Ipv4Addr::from(0x0a00_0000 | (i << 8) | 10);
        text.push_str(&format!("  \"{a}\",\n"));
    }
    text.push_str("]\nexternal_client = [\"0.0.0.0/0\"]\n");
    let t = parse_ok(&text);
    assert_eq!(t.prefix_count(), 8001);
    for i in (0..4000u32).step_by(97) {
        let host = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i << 8) | 10));
        let other = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i << 8) | 11));
        assert_eq!(t.roles_of(host), set(&[Role::FrontEnd]));
        assert_eq!(t.roles_of(other), set(&[Role::InternalClient]));
    }
    assert_eq!(t.roles_of(ip("11.0.0.1")), set(&[Role::ExternalClient]));
}

// --- Properties -------------------------------------------------------------------------------

/// The naive answer: scan every (prefix, role), keep the longest matching prefix.
fn naive(entries: &[(IpNet, Role)], addr: IpAddr) -> Option<(IpNet, RoleSet)> {
    let addr = canonical(addr);
    let best = entries
        .iter()
        .filter(|(n, _)| n.contains(&addr))
        .map(|(n, _)| n.prefix_len())
        .max()?;
    let mut roles = RoleSet::empty();
    let mut found = None;
    for (n, r) in entries {
        if n.prefix_len() == best && n.contains(&addr) {
            roles.insert(*r);
            found = Some(*n);
        }
    }
    found.map(|n| (n, roles))
}

fn arb_entry() -> impl Strategy<Value = (IpNet, Role)> {
    let role = (0..Role::ALL.len()).prop_map(|i| Role::ALL.get(i).copied().unwrap_or(Role::Vis));
    // Addresses from a small pool so that prefixes nest and collide.
    let v4 = (0u32..16, any::<u32>(), 0u8..=32).prop_map(|(hi, lo, len)| {
        let a = (0x0a00_0000 | (hi << 20)) ^ (lo & 0x000f_ffff);
        IpNet::V4(Ipv4Net::new(Ipv4Addr::from(a), len).expect("len").trunc())
    });
    let v6 =
        (0u128..8, any::<u128>(), prop_oneof![0u8..=128, 28u8..=52]).prop_map(|(hi, lo, len)| {
            let a = (0x2001_0db8u128 << 96) | (hi << 80) | (lo & ((1u128 << 80) - 1));
            IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), len).expect("len").trunc())
        });
    (prop_oneof![3 => v4, 1 => v6], role)
}

fn arb_addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        (0u32..16, any::<u32>()).prop_map(|(hi, lo)| IpAddr::V4(Ipv4Addr::from(
            (0x0a00_0000 | (hi << 20)) ^ (lo & 0x000f_ffff)
        ))),
        (0u128..8, any::<u128>()).prop_map(|(hi, lo)| IpAddr::V6(Ipv6Addr::from(
            (0x2001_0db8u128 << 96) | (hi << 80) | (lo & ((1u128 << 80) - 1))
        ))),
        any::<u32>().prop_map(|a| IpAddr::V6(Ipv4Addr::from(a).to_ipv6_mapped())),
        any::<IpAddr>(),
    ]
}

/// The entries as a topology file, duplicates dropped.
fn to_toml(entries: &[(IpNet, Role)]) -> String {
    let mut by_role: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for (n, r) in entries {
        if seen.insert((*n, *r)) {
            by_role
                .entry(r.as_str())
                .or_default()
                .push(format!("\"{n}\""));
        }
    }
    let mut text = String::from("[roles]\n");
    for (role, nets) in by_role {
        text.push_str(&format!("{role} = [{}]\n", nets.join(", ")));
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn lookup_agrees_with_a_linear_scan(
        entries in proptest::collection::vec(arb_entry(), 0..60),
        addrs in proptest::collection::vec(arb_addr(), 1..40),
    ) {
        let t = Topology::from_toml(&to_toml(&entries)).expect("generated file is valid");
        let mut probes = addrs;
        // Probe the prefixes' own network addresses too: they always match something.
        probes.extend(entries.iter().map(|(n, _)| n.network()));
        for addr in probes {
            let want = naive(&entries, addr);
            prop_assert_eq!(t.lookup(addr), want, "address {}", addr);
            prop_assert_eq!(t.roles_of(addr), want.map(|(_, s)| s).unwrap_or_default());
        }
    }

    #[test]
    fn roles_of_never_panics(addr in any::<IpAddr>(), entries in proptest::collection::vec(arb_entry(), 0..10)) {
        let t = Topology::from_toml(&to_toml(&entries)).expect("generated file is valid");
        let _ = t.roles_of(addr);
        let _ = t.lookup(addr);
        let _ = Topology::default().roles_of(addr);
    }

    #[test]
    fn parsing_never_panics(text in "\\PC{0,200}") {
        let _ = Topology::from_toml(&text);
    }

    #[test]
    fn parsing_role_lines_never_panics(role in "[a-z_]{1,12}", items in proptest::collection::vec("[0-9a-f:./%-]{0,20}", 0..5)) {
        let list: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
        let text = format!("[roles]\n{role} = [{}]\n[ports]\nclient_media = {:?}\n", list.join(", "), items.join(","));
        if let Err(TopologyError::Invalid { problems, .. }) = Topology::from_toml(&text) {
            prop_assert!(problems.iter().all(|p| p.line >= 1 && p.line <= 4 && p.column >= 1));
        }
    }
}
