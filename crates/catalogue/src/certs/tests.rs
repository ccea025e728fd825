//! Tests of the certificate rules: the lab capture's certificates (named per catalogue §5) pass,
//! and each rule fires on a certificate that breaks it, and only on that.

use super::*;

const SIP: &str = "contoso.com";
const AD: &str = "corp.contoso.com";

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn codes(problems: &[CertProblem]) -> Vec<&'static str> {
    problems.iter().map(CertProblem::code).collect()
}

/// One row of `tests/data/certs/lab-sfb.tsv`.
struct LabRow {
    stream: String,
    at: i64,
    role: Option<Role>,
    sni: Option<String>,
    cn: Option<String>,
    sans: Vec<String>,
    not_before: i64,
    not_after: i64,
    self_signed: bool,
}

fn lab_rows() -> Vec<LabRow> {
    let text = include_str!("../../tests/data/certs/lab-sfb.tsv");
    let dash = |s: &str| (s != "-").then(|| s.to_owned());
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 12, "{line}");
            LabRow {
                stream: f[0].to_owned(),
                at: f[2].parse().expect("time"),
                role: Role::from_name(f[5]),
                sni: dash(f[6]),
                cn: dash(f[7]),
                sans: dash(f[8])
                    .map(|s| s.split(',').map(str::to_owned).collect())
                    .unwrap_or_default(),
                not_before: f[9].parse().expect("not_before"),
                not_after: f[10].parse().expect("not_after"),
                self_signed: f[11] == "true",
            }
        })
        .collect()
}

impl LabRow {
    fn check(&self) -> CertCheck<'_> {
        CertCheck {
            role: self.role,
            sip_domain: Some(SIP),
            ad_domain: Some(AD),
            sni: self.sni.as_deref(),
            subject_cn: self.cn.as_deref(),
            sans: &self.sans,
            self_signed: self.self_signed,
            at_unix: Some(self.at),
            not_before: Some(self.not_before),
            not_after: Some(self.not_after),
        }
    }
}

#[test]
fn lab_certificates_pass() {
    // Every TLS flow of captures/lab-sfb: the certificates follow catalogue §5, so none fails.
    let rows = lab_rows();
    assert_eq!(rows.len(), 17);
    for row in &rows {
        assert_eq!(check_certificate(&row.check()), [], "stream {}", row.stream);
    }
    // The roles with rules are all there.
    for role in [
        Role::FrontEnd,
        Role::Director,
        Role::EdgeInternal,
        Role::AccessEdge,
        Role::WebconfEdge,
        Role::ReverseProxy,
    ] {
        assert!(rows.iter().any(|r| r.role == Some(role)), "{role}");
    }
}

#[test]
fn lab_certificates_on_the_wrong_role_or_name() {
    let rows = lab_rows();
    let row = |stream: &str| {
        rows.iter()
            .find(|r| r.stream == stream)
            .expect("lab stream")
    };
    // The Director's certificate on the reverse proxy: it has lyncdiscover, but the SNI
    // webext.contoso.com is not on it.
    let dir = row("8");
    let mut check = dir.check();
    check.role = Some(Role::ReverseProxy);
    check.sni = Some("webext.contoso.com");
    assert_eq!(
        check_certificate(&check),
        [CertProblem::SniNotCovered {
            sni: "webext.contoso.com".into()
        }]
    );
    // The Edge internal certificate presented on the Access Edge: no sip.<sip-domain>.
    let internal = row("11");
    let mut check = internal.check();
    check.role = Some(Role::AccessEdge);
    check.sni = Some("access.contoso.com");
    assert_eq!(
        codes(&check_certificate(&check)),
        ["cert_sni_not_covered", "cert_missing_name"]
    );
    // The Mediation certificate on the reverse proxy: no lyncdiscover.
    let med = row("17");
    let mut check = med.check();
    check.role = Some(Role::ReverseProxy);
    check.sni = None;
    assert_eq!(
        check_certificate(&check),
        [CertProblem::MissingName {
            name: "lyncdiscover.contoso.com".into(),
            why: WHY_RP_DISCOVER,
        }]
    );
    // Seen after its end of validity.
    let edge = row("7");
    let mut check = edge.check();
    check.at_unix = Some(edge.not_after + 1);
    assert_eq!(check_certificate(&check), [CertProblem::Expired]);
    check.at_unix = Some(edge.not_after);
    assert_eq!(check_certificate(&check), []);
    check.at_unix = Some(edge.not_before - 1);
    assert_eq!(check_certificate(&check), [CertProblem::NotYetValid]);
}

#[test]
fn edge_external_needs_sip_name_only() {
    // The poster's list (SN access, SAN access, sip, conf) and D-EDGE's example (SN sip, SAN
    // sip, webcon) both pass; they agree only on sip.<sip-domain>.
    let poster = names(&["access.contoso.com", "sip.contoso.com", "conf.contoso.com"]);
    let docs = names(&["sip.contoso.com", "webcon.contoso.com"]);
    for (cn, sans) in [("access.contoso.com", &poster), ("sip.contoso.com", &docs)] {
        for role in [Role::AccessEdge, Role::WebconfEdge, Role::AvEdge] {
            let check = CertCheck {
                role: Some(role),
                sip_domain: Some(SIP),
                subject_cn: Some(cn),
                sans,
                ..CertCheck::default()
            };
            assert_eq!(check_certificate(&check), [], "{role} {cn}");
        }
    }
    // Without sip.<sip-domain>.
    let sans = names(&["access.contoso.com", "conf.contoso.com"]);
    let check = CertCheck {
        role: Some(Role::AccessEdge),
        sip_domain: Some("Contoso.COM."),
        subject_cn: Some("access.contoso.com"),
        sans: &sans,
        ..CertCheck::default()
    };
    let problems = check_certificate(&check);
    assert_eq!(
        problems,
        [CertProblem::MissingName {
            name: "sip.Contoso.COM".into(),
            why: WHY_EDGE_SIP,
        }]
    );
    assert!(problems[0].detail().contains("sip.Contoso.COM"));
    // A wildcard for the SIP domain covers it (XMPP adds *.<domain>, D-EDGE).
    let sans = names(&["access.contoso.com", "*.contoso.com"]);
    let check = CertCheck {
        sans: &sans,
        ..check
    };
    assert_eq!(check_certificate(&check), []);
    // Without a SIP domain there is nothing to require.
    let check = CertCheck {
        sip_domain: None,
        sans: &[],
        ..check
    };
    assert_eq!(check_certificate(&check), []);
}

#[test]
fn disagreements_are_not_flagged() {
    // §7 A16: the Branch Appliance. Poster SN/SAN sba.<ad-domain>; D-ENV SN = appliance FQDN,
    // SAN = sip.<sipdomain> ("SN=sba01.contoso.net; SAN=sip.contoso.com").
    let poster = names(&["sba.corp.contoso.com"]);
    let docs = names(&["sip.contoso.com"]);
    for (cn, sans) in [
        ("sba.corp.contoso.com", &poster),
        ("sba01.corp.contoso.com", &docs),
    ] {
        let check = CertCheck {
            role: Some(Role::Sba),
            sip_domain: Some(SIP),
            ad_domain: Some(AD),
            subject_cn: Some(cn),
            sans,
            ..CertCheck::default()
        };
        assert_eq!(check_certificate(&check), [], "{cn}");
    }
    // §7 A15: the Front End. D-ENV's Default certificate (pool and server FQDN, no
    // lyncdiscover, no simple URLs) and its Web external one (external web FQDN and simple
    // URLs, no pool name) both pass, as does the poster's merged list.
    let default = names(&["pool.corp.contoso.com", "fe1.corp.contoso.com"]);
    let web_external = names(&[
        "webext.contoso.com",
        "meet.contoso.com",
        "dialin.contoso.com",
    ]);
    for (cn, sans) in [
        ("pool.corp.contoso.com", &default),
        ("webext.contoso.com", &web_external),
    ] {
        for role in [Role::FrontEnd, Role::CmsMaster, Role::Director] {
            let check = CertCheck {
                role: Some(role),
                sip_domain: Some(SIP),
                ad_domain: Some(AD),
                subject_cn: Some(cn),
                sans,
                ..CertCheck::default()
            };
            assert_eq!(check_certificate(&check), [], "{role} {cn}");
        }
    }
    // The Edge internal certificate: an SN and no SAN (both sources).
    let check = CertCheck {
        role: Some(Role::EdgeInternal),
        sip_domain: Some(SIP),
        ad_domain: Some(AD),
        subject_cn: Some("internal.corp.contoso.com"),
        ..CertCheck::default()
    };
    assert_eq!(check_certificate(&check), []);
    // Office Web Apps (poster only) and Mediation (docs only): no name rules.
    for role in [Role::OfficeWebApps, Role::Mediation, Role::ExchangeUm] {
        let check = CertCheck {
            role: Some(role),
            sip_domain: Some(SIP),
            ad_domain: Some(AD),
            subject_cn: Some("host.fabrikam.example"),
            self_signed: true,
            ..CertCheck::default()
        };
        assert_eq!(check_certificate(&check), [], "{role}");
    }
}

#[test]
fn outside_both_domains() {
    let sans = names(&["pool.fabrikam.local", "fe1.fabrikam.local"]);
    let base = CertCheck {
        role: Some(Role::FrontEnd),
        sip_domain: Some(SIP),
        ad_domain: Some(AD),
        subject_cn: Some("pool.fabrikam.local"),
        sans: &sans,
        ..CertCheck::default()
    };
    assert_eq!(check_certificate(&base), [CertProblem::OutsideDomains]);
    for role in [Role::Director, Role::Sba, Role::CmsMaster] {
        let check = CertCheck {
            role: Some(role),
            ..base
        };
        assert_eq!(check_certificate(&check), [CertProblem::OutsideDomains]);
    }
    // With one domain unknown, the names may be in it: not flagged.
    let check = CertCheck {
        ad_domain: None,
        ..base
    };
    assert_eq!(check_certificate(&check), []);
    // A name in the SIP domain (or a wildcard over it) is enough.
    let sans = names(&["pool.fabrikam.local", "*.contoso.com"]);
    let check = CertCheck {
        sans: &sans,
        ..base
    };
    assert_eq!(check_certificate(&check), []);
    // A name that only ends like the domain is outside it.
    let sans = names(&["notcontoso.com"]);
    let check = CertCheck {
        subject_cn: None,
        sans: &sans,
        ..base
    };
    assert_eq!(check_certificate(&check), [CertProblem::OutsideDomains]);
    // Roles outside the rule: no problem.
    let check = CertCheck {
        role: Some(Role::EdgeInternal),
        ..base
    };
    assert_eq!(check_certificate(&check), []);
}

#[test]
fn self_signed_where_a_ca_is_required() {
    // The ja4-tls server certificate (suricata-verify, CN SELKS, self-signed, no SAN) as if
    // presented by each role.
    let base = CertCheck {
        sip_domain: Some(SIP),
        ad_domain: Some(AD),
        subject_cn: Some("SELKS"),
        self_signed: true,
        at_unix: Some(1_425_669_142),
        not_before: Some(1_423_764_447),
        not_after: Some(1_739_124_447),
        ..CertCheck::default()
    };
    let on = |role| {
        check_certificate(&CertCheck {
            role: Some(role),
            ..base
        })
    };
    assert_eq!(
        codes(&on(Role::ReverseProxy)),
        ["cert_missing_name", "cert_self_signed"]
    );
    assert_eq!(
        on(Role::EdgeInternal),
        [CertProblem::SelfSigned {
            why: WHY_EDGE_INTERNAL_CA
        }]
    );
    assert_eq!(
        on(Role::PersistentChat),
        [CertProblem::SelfSigned { why: WHY_PCHAT_CA }]
    );
    assert_eq!(codes(&on(Role::FrontEnd)), ["cert_outside_domains"]);
    assert_eq!(on(Role::InternalClient), []);
    assert_eq!(check_certificate(&base), []);
}

#[test]
fn sni_coverage_on_real_certificates() {
    // arkime_synthetic.pcap stream 54: CN certs.example.com, SAN *.example.com, SNI
    // certs.example.com; valid 2025-01-01 .. 2026-01-01.
    let sans = names(&["*.example.com"]);
    let check = CertCheck {
        sni: Some("certs.example.com"),
        subject_cn: Some("certs.example.com"),
        sans: &sans,
        not_before: Some(1_735_689_600),
        not_after: Some(1_767_225_600),
        at_unix: Some(1_750_000_000),
        ..CertCheck::default()
    };
    assert_eq!(check_certificate(&check), []);
    for (sni, covered) in [
        ("other.example.com", true),
        ("OTHER.Example.Com.", true),
        ("a.b.example.com", false),
        ("example.com", false),
        ("certs.example.org", false),
    ] {
        let check = CertCheck {
            sni: Some(sni),
            ..check
        };
        let expected = if covered {
            vec![]
        } else {
            vec![CertProblem::SniNotCovered { sni: sni.into() }]
        };
        assert_eq!(check_certificate(&check), expected, "{sni}");
    }
    // suricata-verify tls-store-02: CN SampleServer, SAN localhost, SNI localhost, seen
    // 2018-04-16 within Apr 14 .. May 14 2018.
    let sans = names(&["localhost"]);
    let check = CertCheck {
        sni: Some("localhost"),
        subject_cn: Some("SampleServer"),
        sans: &sans,
        at_unix: Some(1_523_912_382),
        not_before: Some(1_523_739_327),
        not_after: Some(1_526_331_327),
        ..CertCheck::default()
    };
    assert_eq!(check_certificate(&check), []);
    // A server name that is no DNS name cannot be judged.
    for sni in ["192.0.2.1", "::1", "bad name", "", "*.example.com"] {
        let check = CertCheck {
            sni: Some(sni),
            ..check
        };
        assert_eq!(check_certificate(&check), [], "{sni:?}");
    }
}

#[test]
fn wildcard_rules() {
    // RFC 6125 §6.4.3 as restricted by RFC 9525 §6.3: the whole left-most label, one label.
    assert!(matches_dns_name("*.contoso.com", "sip.contoso.com"));
    assert!(matches_dns_name("*.CONTOSO.com", "Sip.Contoso.Com"));
    assert!(matches_dns_name("*.contoso.com.", "sip.contoso.com"));
    assert!(!matches_dns_name("*.contoso.com", "contoso.com"));
    assert!(!matches_dns_name("*.contoso.com", "a.sip.contoso.com"));
    assert!(!matches_dns_name("*.com", "contoso.com"));
    assert!(!matches_dns_name("s*.contoso.com", "sip.contoso.com"));
    assert!(!matches_dns_name("sip.*.com", "sip.contoso.com"));
    assert!(!matches_dns_name("*.*.com", "sip.contoso.com"));
    assert!(!matches_dns_name("*", "sip"));
    assert!(!matches_dns_name("*.contoso.com", "*.contoso.com"));
    assert!(matches_dns_name("sip.contoso.com", "SIP.contoso.com."));
    assert!(!matches_dns_name("sip.contoso.com", "sip.contoso.co"));
    assert!(!matches_dns_name("", ""));
}

#[test]
fn domains() {
    assert!(within_domain("pool.corp.contoso.com", "contoso.com"));
    assert!(within_domain("contoso.com.", "contoso.com"));
    assert!(within_domain("*.Contoso.com", "contoso.com"));
    assert!(!within_domain("notcontoso.com", "contoso.com"));
    assert!(!within_domain("com", "contoso.com"));
    assert!(!within_domain("", "contoso.com"));
}

#[test]
fn codes_and_details_are_distinct() {
    let all = [
        CertProblem::SniNotCovered {
            sni: "a.example".into(),
        },
        CertProblem::MissingName {
            name: "sip.contoso.com".into(),
            why: WHY_EDGE_SIP,
        },
        CertProblem::OutsideDomains,
        CertProblem::Expired,
        CertProblem::NotYetValid,
        CertProblem::SelfSigned { why: WHY_RP_PUBLIC },
    ];
    let mut seen = std::collections::BTreeSet::new();
    for p in &all {
        assert!(p.code().starts_with("cert_"));
        assert!(seen.insert(p.code()), "{}", p.code());
        assert!(!p.detail().is_empty());
    }
    assert!(all[0].detail().contains("a.example"));
    assert!(all[5].detail().contains("public CA"));
}

#[test]
fn many_names_are_linear_and_bounded() {
    // 100 000 names: checked in one pass each, nothing kept but the problems.
    let sans: Vec<String> = (0..100_000)
        .map(|i| format!("h{i}.fabrikam.example"))
        .collect();
    let check = CertCheck {
        role: Some(Role::FrontEnd),
        sip_domain: Some(SIP),
        ad_domain: Some(AD),
        sni: Some("h99999.fabrikam.example"),
        sans: &sans,
        ..CertCheck::default()
    };
    assert_eq!(check_certificate(&check), [CertProblem::OutsideDomains]);
}
