//! The poster's certificate requirements per role (catalogue.md §5), as a check of the
//! certificate a server presented in a TLS handshake.
//!
//! The check is conservative: it flags only what the poster (P-CERT) and the official docs
//! (D-EDGE, D-ENV) agree on, and RFC 5280 / RFC 6125, which both take for granted. Where the two
//! sources disagree (§7 A15 for the Front End, A16 for the Branch Appliance, and the Edge's
//! subject name) nothing is flagged. The rules, each with its source:
//!
//! | rule | roles | source |
//! |---|---|---|
//! | the SNI is covered by the subject name or a DNS subjectAltName | any | RFC 6125 §6.4; §5 (every role's certificate names the FQDNs it is reached by) |
//! | not expired, not yet valid at the flow's time | any | RFC 5280 §4.1.2.5 |
//! | carries `sip.<sip-domain>` | `access_edge`, `webconf_edge`, `av_edge` (one external certificate) | §5: poster SAN `access`, `sip`, `conf`; D-EDGE SN and SAN `sip.<sip-domain>`. The subject name (`access.` vs `sip.`) and the conferencing name (`conf.` vs `webcon.`) differ between the two, so neither is required |
//! | carries `lyncdiscover.<sip-domain>` | `reverse_proxy` | §5: poster SAN; D-ENV "RP (public CA) needs `SAN=lyncdiscover.<sipdomain>`" |
//! | not self-signed | `reverse_proxy` | §5: poster root "public CA"; D-ENV "RP (public CA)" |
//! | not self-signed | `edge_internal` | §5: poster root "private CA"; D-EDGE "public or internal CA" |
//! | not self-signed | `persistent_chat` | §5: poster root "private CA"; D-ENV "issued by the same CA as … your internal servers" |
//! | some name lies in the SIP or the AD domain (both configured) | `front_end`, `cms_master`, `director`, `sba` | §5: every name of these rows, in the poster (`pool.<ad-domain>`, `fe.<ad-domain>`, `sip.<sip-domain>`, `dir.<ad-domain>`, `sba.<ad-domain>`) and in D-ENV (pool and server FQDN, `sip.<sipdomain>`), lies in one of the two domains. A certificate with no name in either carries none of them |
//!
//! Not flagged, on purpose:
//!
//! - Front End and Director names beyond the domains (§7 A15): D-ENV splits their certificate
//!   into Default, Web internal and Web external ones, each presented on other listeners, so no
//!   single name is on every certificate these roles present.
//! - The Branch Appliance's SAN (§7 A16): poster `sba.<ad-domain>`, D-ENV `sip.<sipdomain>`.
//! - The Edge internal certificate's lack of SAN entries: both sources say it needs none, not
//!   that it must have none.
//! - Office Web Apps and Exchange UM names (poster only), Mediation names (docs only).
//! - EKU (both sources require the server EKU): the certificate summary does not carry it.
//!
//! A host may hold several roles: call once per role and merge; the SNI and validity problems
//! repeat.
//!
//! # Name matching
//!
//! DNS names compare as ASCII case-insensitive, a final dot ignored (RFC 6125 §6.4.1). A
//! presented name may have a wildcard only as its whole left-most label, which then stands for
//! exactly one label (RFC 6125 §6.4.3; partial-label wildcards like `w*.example.com`, which
//! RFC 9525 §6.3 forbids, match nothing), and only over at least two further labels (`*.com`
//! matches nothing). The subject CN is matched like a SAN: the check does not flag where a
//! strict client (RFC 6125 §6.4.4) might.
//!
//! Work is linear in the number of names given; nothing is allocated but the problems.

use std::net::IpAddr;

use crate::Role;

/// A requirement the presented certificate does not meet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertProblem {
    /// The ClientHello's server name is neither the subject CN nor a DNS SAN (RFC 6125).
    SniNotCovered {
        /// The server name as sent.
        sni: String,
    },
    /// A name both the poster and the docs put on this role's certificate is missing.
    MissingName {
        /// The missing DNS name.
        name: String,
        /// Where the requirement comes from.
        why: &'static str,
    },
    /// No name of the certificate lies in the SIP domain or the AD domain.
    OutsideDomains,
    /// The certificate's validity ended before the flow.
    Expired,
    /// The certificate's validity begins after the flow.
    NotYetValid,
    /// The certificate is self-issued where the role's certificate comes from a CA.
    SelfSigned {
        /// Where the requirement comes from.
        why: &'static str,
    },
}

impl CertProblem {
    /// A stable code for output columns.
    pub fn code(&self) -> &'static str {
        match self {
            CertProblem::SniNotCovered { .. } => "cert_sni_not_covered",
            CertProblem::MissingName { .. } => "cert_missing_name",
            CertProblem::OutsideDomains => "cert_outside_domains",
            CertProblem::Expired => "cert_expired",
            CertProblem::NotYetValid => "cert_not_yet_valid",
            CertProblem::SelfSigned { .. } => "cert_self_signed",
        }
    }

    /// A sentence for people: what is wrong and on what it rests.
    pub fn detail(&self) -> String {
        match self {
            CertProblem::SniNotCovered { sni } => {
                format!(
                    "the server name {sni} is not in the certificate's subject or SAN (RFC 6125)"
                )
            }
            CertProblem::MissingName { name, why } => {
                format!("the certificate does not carry {name}: {why}")
            }
            CertProblem::OutsideDomains => "no name of the certificate lies in the SIP domain or \
                 the AD domain, where catalogue §5 puts every name of this role"
                .to_owned(),
            CertProblem::Expired => {
                "the certificate had expired when the flow was seen (RFC 5280 §4.1.2.5)".to_owned()
            }
            CertProblem::NotYetValid => {
                "the certificate was not yet valid when the flow was seen (RFC 5280 §4.1.2.5)"
                    .to_owned()
            }
            CertProblem::SelfSigned { why } => format!("the certificate is self-signed: {why}"),
        }
    }
}

/// What the check needs to know about one presented certificate and its flow.
#[derive(Debug, Clone, Copy, Default)]
pub struct CertCheck<'a> {
    /// The role of the server that presented the certificate (the responder), if known.
    pub role: Option<Role>,
    /// The deployment's SIP domain (`sip_domain` of the topology).
    pub sip_domain: Option<&'a str>,
    /// The deployment's AD DNS domain (`ad_domain` of the topology).
    pub ad_domain: Option<&'a str>,
    /// The server name of the ClientHello.
    pub sni: Option<&'a str>,
    /// The certificate subject's common name.
    pub subject_cn: Option<&'a str>,
    /// The certificate's DNS subjectAltNames.
    pub sans: &'a [String],
    /// Whether the certificate is self-issued.
    pub self_signed: bool,
    /// When the flow was seen, Unix seconds (packet time).
    pub at_unix: Option<i64>,
    /// Start of the certificate's validity, Unix seconds.
    pub not_before: Option<i64>,
    /// End of the certificate's validity, Unix seconds.
    pub not_after: Option<i64>,
}

impl CertCheck<'_> {
    /// The certificate's names: the subject CN, then the DNS SANs.
    fn names(&self) -> impl Iterator<Item = &str> {
        self.subject_cn
            .into_iter()
            .chain(self.sans.iter().map(String::as_str))
    }

    fn carries(&self, reference: &str) -> bool {
        self.names().any(|name| matches_dns_name(name, reference))
    }
}

/// Why the external Edge certificate must carry `sip.<sip-domain>`.
const WHY_EDGE_SIP: &str = "catalogue §5: the external Edge certificate (Access, Web \
     Conferencing and A/V Edge) has sip.<sip-domain> in the poster's SAN list and as D-EDGE's \
     subject name and SAN";
/// Why the reverse proxy certificate must carry `lyncdiscover.<sip-domain>`.
const WHY_RP_DISCOVER: &str = "catalogue §5: the reverse proxy certificate has \
     lyncdiscover.<sip-domain> in the poster's SAN list, and D-ENV requires it as a SAN";
const WHY_RP_PUBLIC: &str = "catalogue §5: the reverse proxy certificate comes from a public \
     CA (poster and D-ENV)";
const WHY_EDGE_INTERNAL_CA: &str = "catalogue §5: the Edge internal certificate comes from a \
     CA (poster: private CA; D-EDGE: public or internal CA)";
const WHY_PCHAT_CA: &str = "catalogue §5: the Persistent Chat certificate comes from a CA \
     (poster: private CA; D-ENV: the CA of the internal servers)";

/// The requirements `cert` fails, in a stable order: validity, SNI, required names, domains,
/// issuer. Empty when nothing is wrong or nothing can be judged.
pub fn check_certificate(cert: &CertCheck<'_>) -> Vec<CertProblem> {
    let mut problems = Vec::new();
    if let Some(at) = cert.at_unix {
        if cert.not_after.is_some_and(|end| at > end) {
            problems.push(CertProblem::Expired);
        }
        if cert.not_before.is_some_and(|start| at < start) {
            problems.push(CertProblem::NotYetValid);
        }
    }
    if let Some(sni) = cert.sni
        && is_reference_name(sni)
        && !cert.carries(sni)
    {
        problems.push(CertProblem::SniNotCovered {
            sni: sni.to_owned(),
        });
    }
    let sip_domain = cert
        .sip_domain
        .map(trim_dot)
        .filter(|d| is_reference_name(d));
    let ad_domain = cert
        .ad_domain
        .map(trim_dot)
        .filter(|d| is_reference_name(d));
    let required = match cert.role {
        Some(Role::AccessEdge | Role::WebconfEdge | Role::AvEdge) => Some(("sip", WHY_EDGE_SIP)),
        Some(Role::ReverseProxy) => Some(("lyncdiscover", WHY_RP_DISCOVER)),
        _ => None,
    };
    if let (Some((label, why)), Some(domain)) = (required, sip_domain) {
        let name = format!("{label}.{domain}");
        if !cert.carries(&name) {
            problems.push(CertProblem::MissingName { name, why });
        }
    }
    if let (
        Some(Role::FrontEnd | Role::CmsMaster | Role::Director | Role::Sba),
        Some(sip),
        Some(ad),
    ) = (cert.role, sip_domain, ad_domain)
        && !cert
            .names()
            .any(|name| within_domain(name, sip) || within_domain(name, ad))
    {
        problems.push(CertProblem::OutsideDomains);
    }
    let ca_issued = match cert.role {
        Some(Role::ReverseProxy) => Some(WHY_RP_PUBLIC),
        Some(Role::EdgeInternal) => Some(WHY_EDGE_INTERNAL_CA),
        Some(Role::PersistentChat) => Some(WHY_PCHAT_CA),
        _ => None,
    };
    if let Some(why) = ca_issued
        && cert.self_signed
    {
        problems.push(CertProblem::SelfSigned { why });
    }
    problems
}

/// Whether the name a certificate presents (`presented`, a SAN or the subject CN) matches the
/// name a client looks for (`reference`), by RFC 6125 §6.4 as described in the module doc.
pub fn matches_dns_name(presented: &str, reference: &str) -> bool {
    let presented = trim_dot(presented);
    let reference = trim_dot(reference);
    if !is_reference_name(reference) {
        return false;
    }
    if let Some(base) = presented.strip_prefix("*.") {
        // One wildcard, the whole left-most label, over at least two labels.
        if base.contains('*') || !base.contains('.') || !is_reference_name(base) {
            return false;
        }
        return reference
            .split_once('.')
            .is_some_and(|(first, rest)| !first.is_empty() && rest.eq_ignore_ascii_case(base));
    }
    !presented.contains('*') && presented.eq_ignore_ascii_case(reference)
}

/// Whether `name` (a wildcard counts by its base) is `domain` or below it.
fn within_domain(name: &str, domain: &str) -> bool {
    let name = trim_dot(name);
    let name = name.strip_prefix("*.").unwrap_or(name);
    if name.len() == domain.len() {
        return name.eq_ignore_ascii_case(domain);
    }
    name.len() > domain.len()
        && name
            .get(name.len() - domain.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(domain))
        && name
            .as_bytes()
            .get(name.len() - domain.len() - 1)
            .is_some_and(|&b| b == b'.')
}

/// A DNS name a client may look for: non-empty labels of letters, digits, `-` and `_`, not an
/// IP address (RFC 6066 §3 forbids literal addresses as server names).
fn is_reference_name(name: &str) -> bool {
    let name = trim_dot(name);
    !name.is_empty()
        && name.len() <= 253
        && name.parse::<IpAddr>().is_err()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn trim_dot(name: &str) -> &str {
    name.strip_suffix('.').unwrap_or(name)
}

#[cfg(test)]
mod tests;
