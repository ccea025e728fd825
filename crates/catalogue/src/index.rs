//! The catalogue: its rules in file order, and the lookup index built once when it is loaded
//! (by responder port per transport, and by role pair).

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use sfbflow_flow::Transport;

use crate::Role;
use crate::rules::{self, CatalogueError, Rule};

/// The text of the built-in catalogue, `catalogue/sfb2015.toml`.
pub const BUILTIN_TOML: &str = include_str!("../../../catalogue/sfb2015.toml");

/// The documented flows, validated, with their lookup index.
#[derive(Debug, Clone)]
pub struct Catalogue {
    name: String,
    version: String,
    rules: Vec<Rule>,
    index: Index,
}

/// Rule positions by what a classifier looks up. Built once; every list is in file order.
#[derive(Debug, Clone, Default)]
struct Index {
    /// Per transport (`tix`): single responder port -> rules listing that port.
    exact: [HashMap<u16, Vec<usize>>; 2],
    /// Per transport: rules with a responder range of more than one port.
    ranged: [Vec<usize>; 2],
    /// Per transport: rules whose responder port is "any".
    any: [Vec<usize>; 2],
    /// (lower role, higher role) -> rules between them, either way round.
    pairs: HashMap<(Role, Role), Vec<usize>>,
    /// Responder -> rules with no named initiator ("any").
    any_initiator: HashMap<Role, Vec<usize>>,
}

fn tix(t: Transport) -> usize {
    match t {
        Transport::Tcp => 0,
        Transport::Udp => 1,
    }
}

fn pair(a: Role, b: Role) -> (Role, Role) {
    if a <= b { (a, b) } else { (b, a) }
}

impl Index {
    fn build(rules: &[Rule]) -> Index {
        let mut ix = Index::default();
        for (i, rule) in rules.iter().enumerate() {
            for t in [Transport::Tcp, Transport::Udp] {
                if !rule.transport.contains(t) {
                    continue;
                }
                let n = tix(t);
                if rule.ports.is_any() {
                    ix.any[n].push(i);
                    continue;
                }
                let mut wide = false;
                for &(a, b) in rule.ports.ranges() {
                    if a == b {
                        let list = ix.exact[n].entry(a).or_default();
                        if list.last() != Some(&i) {
                            list.push(i);
                        }
                    } else {
                        wide = true;
                    }
                }
                if wide {
                    ix.ranged[n].push(i);
                }
            }
            match rule.initiator {
                Some(init) => ix
                    .pairs
                    .entry(pair(init, rule.responder))
                    .or_default()
                    .push(i),
                None => ix.any_initiator.entry(rule.responder).or_default().push(i),
            }
        }
        ix
    }
}

static BUILTIN: OnceLock<Result<Catalogue, CatalogueError>> = OnceLock::new();

impl Catalogue {
    /// The catalogue built into sfbflow (`catalogue/sfb2015.toml`), parsed on first use.
    ///
    /// The built-in text is checked by this crate's tests; should it ever fail to load, this
    /// returns an empty catalogue and [`Catalogue::try_builtin`] says why.
    pub fn builtin() -> &'static Catalogue {
        static EMPTY: OnceLock<Catalogue> = OnceLock::new();
        match Catalogue::try_builtin() {
            Ok(c) => c,
            Err(_) => {
                EMPTY.get_or_init(|| Catalogue::new(String::new(), String::new(), Vec::new()))
            }
        }
    }

    /// The built-in catalogue, or why it does not load.
    pub fn try_builtin() -> Result<&'static Catalogue, &'static CatalogueError> {
        BUILTIN
            .get_or_init(|| Catalogue::from_toml(BUILTIN_TOML))
            .as_ref()
    }

    fn new(name: String, version: String, rules: Vec<Rule>) -> Catalogue {
        let index = Index::build(&rules);
        Catalogue {
            name,
            version,
            rules,
            index,
        }
    }

    /// Parses and validates a catalogue in TOML. Errors carry no file name.
    pub fn from_toml(text: &str) -> Result<Catalogue, CatalogueError> {
        let parsed = rules::parse(text)?;
        Ok(Catalogue::new(parsed.name, parsed.version, parsed.rules))
    }

    /// Reads, parses and validates a catalogue file; errors name the file.
    pub fn from_path(path: &Path) -> Result<Catalogue, CatalogueError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogueError::Io {
            path: path.to_owned(),
            source,
        })?;
        Catalogue::from_toml(&text).map_err(|e| e.in_file(path))
    }

    /// The `[catalogue]` name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `[catalogue]` version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Every rule, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    fn at<'a>(&'a self, list: &'a [usize]) -> impl Iterator<Item = &'a Rule> + 'a {
        list.iter().filter_map(|&i| self.rules.get(i))
    }

    /// Rules whose responder side serves `port` on `transport`: first the rules that list the
    /// port itself, then those with a range that holds it, then those on "any" port; each group
    /// in file order, each rule once. Exact ports are a hash lookup; only the few range rules
    /// are tested one by one.
    pub fn by_port(&self, transport: Transport, port: u16) -> impl Iterator<Item = &Rule> {
        let n = tix(transport);
        let exact = self.index.exact[n]
            .get(&port)
            .map_or(&[][..], Vec::as_slice);
        let ranged = self
            .at(&self.index.ranged[n])
            .filter(move |r| r.ports.in_wide_range(port));
        self.at(exact)
            .chain(ranged)
            .chain(self.at(&self.index.any[n]))
    }

    /// Rules between two roles, either of them the initiator, in file order; then the rules
    /// with no named initiator ("any") whose responder is `a` or `b`. For telling an
    /// undocumented port of a documented role pair from a role pair that never talks.
    pub fn by_pair(&self, a: Role, b: Role) -> impl Iterator<Item = &Rule> {
        let named = self
            .index
            .pairs
            .get(&pair(a, b))
            .map_or(&[][..], Vec::as_slice);
        let any_a = self
            .index
            .any_initiator
            .get(&a)
            .map_or(&[][..], Vec::as_slice);
        let any_b = if a == b {
            &[][..]
        } else {
            self.index
                .any_initiator
                .get(&b)
                .map_or(&[][..], Vec::as_slice)
        };
        self.at(named).chain(self.at(any_a)).chain(self.at(any_b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Workload;
    use crate::rules::{Protocol, Security, Transports};
    use std::collections::BTreeSet;

    /// The 144 stable ids of the catalogue (catalogue.md §2.2), in file order.
    const IDS: [&str; 144] = [
        "sd.int-client-to-dns-dns-53",
        "sd.ext-client-to-dns-dns-53",
        "sd.int-client-to-fe-web-https-443",
        "sd.int-client-to-dir-web-https-443",
        "sd.int-client-to-fe-web-http-80",
        "sd.int-client-to-fe-rootcert-http-8080",
        "sd.int-client-to-dhcp-dhcp-67",
        "sd.ext-client-to-rp-web-https-443",
        "sd.ext-client-to-rp-web-http-80",
        "sd.rp-to-dir-web-https-4443",
        "sd.rp-to-fe-web-https-4443",
        "sd.rp-to-fe-web-http-8080",
        "sd.rp-to-dir-web-http-8080",
        "sd.dir-to-fe-web-https-4443",
        "sd.fe-to-fe-web-https-4443",
        "sd.fe-to-fe-webfarm-https-443",
        "sd.fe-to-fe-webfarm-http-80",
        "sd.dir-to-dir-webfarm-https-443",
        "im.int-client-to-fe-sip-tls-5061",
        "im.int-client-to-dir-sip-tls-5061",
        "im.ext-client-to-access-edge-sip-tls-443",
        "im.ext-client-to-access-edge-sip-mtls-5061",
        "im.fed-to-access-edge-sip-mtls-5061",
        "im.access-edge-to-fed-sip-mtls-5061",
        "im.pic-to-access-edge-sip-mtls-5061",
        "im.access-edge-to-pic-sip-mtls-5061",
        "im.xmpp-partner-to-access-edge-xmpp-tcp-5269",
        "im.access-edge-to-xmpp-partner-xmpp-tcp-5269",
        "im.fe-to-edge-int-xmpp-mtls-23456",
        "im.edge-int-to-dir-sip-mtls-5061",
        "im.dir-to-edge-int-sip-mtls-5061",
        "im.edge-int-to-fe-sip-mtls-5061",
        "im.fe-to-edge-int-sip-mtls-5061",
        "im.dir-to-fe-sip-mtls-5061",
        "im.fe-to-dir-sip-mtls-5061",
        "im.fe-to-fe-sip-mtls-5061",
        "im.fe-to-fe-imconf-sip-mtls-5062",
        "im.fe-to-fe-c3p-https-444",
        "im.dir-to-fe-https-444",
        "im.fe-to-dir-https-444",
        "im.fe-to-fe-mobility-sip-mtls-5086",
        "im.fe-to-fe-mobility-sip-mtls-5087",
        "im.fe-to-pchat-sip-mtls-5041",
        "im.pchat-to-fe-sip-mtls-5061",
        "im.int-client-to-pchat-https-443",
        "im.unspec-to-pchat-wcf-881",
        "im.pchat-to-pchat-comp-msmq",
        "im.pchat-to-sql-tds-1433",
        "im.access-edge-to-skype-dir-https-443",
        "im.fe-to-edge-int-skype-search-https-4443",
        "im.ext-client-to-adfs-proxy-https-443",
        "im.adfs-proxy-to-adfs-https-443",
        "im.int-client-to-adfs-https-443",
        "im.dirsync-to-ad-ldap",
        "im.dirsync-to-o365-dsml-https-443",
        "av.ext-client-to-webconf-edge-psom-tls-443",
        "av.ext-client-to-av-edge-stun-tcp-443",
        "av.ext-client-to-av-edge-stun-udp-3478",
        "av.fed-to-av-edge-stun-udp-3478",
        "av.av-edge-to-fed-stun-udp-3478",
        "av.fed-to-av-edge-stun-tcp-443",
        "av.av-edge-to-fed-stun-tcp-443",
        "av.av-edge-to-fed-rtp-tcp-50000-59999",
        "av.av-edge-to-fed-rtp-udp-50000-59999",
        "av.int-client-to-edge-int-stun-udp-3478",
        "av.int-client-to-edge-int-stun-tcp-443",
        "av.fe-to-edge-int-stun-udp-3478",
        "av.fe-to-edge-int-stun-tcp-443",
        "av.fe-to-edge-int-mras-sip-mtls-5062",
        "av.fe-to-edge-int-psom-mtls-8057",
        "av.int-client-to-fe-psom-tls-8057",
        "av.int-client-to-fe-psom-tls-8058",
        "av.int-client-to-fe-avmcu-srtp-49152-65535",
        "av.int-client-to-fe-asmcu-tcp-49152-65535",
        "av.fe-to-fe-avconf-sip-mtls-5063",
        "av.fe-to-fe-asconf-sip-mtls-5065",
        "av.fe-to-fs-smb-445",
        "av.fe-to-owa-https-443",
        "av.int-client-to-owa-https-443",
        "av.rp-to-owa-https-443",
        "av.int-client-to-int-client-p2p-srtp",
        "av.int-client-to-int-client-p2p-appshare-tcp",
        "av.int-client-to-int-client-p2p-filetransfer-tcp",
        "av.vis-to-fe-sip-mtls-5061",
        "av.vis-to-fe-avmcu-srtp-49152-65535",
        "av.vis-to-edge-int-stun-udp-3478",
        "av.vis-to-edge-int-stun-tcp-443",
        "av.cucm-to-vis-sip-tcp-6001",
        "av.vis-to-cucm-sip-tcp-5060",
        "av.vis-to-cucm-sip-tls-5061",
        "av.vtc-to-vis-srtp-udp-49152-65535",
        "ev.int-client-to-fe-bps-turn-tcp-448",
        "ev.edge-int-to-fe-bps-tcp-5080",
        "ev.fe-to-med-sip-mtls-5070",
        "ev.med-to-fe-sip-mtls-5061",
        "ev.int-client-to-med-srtp-49152-57500",
        "ev.med-to-fe-audio-rtp-49152-57500",
        "ev.med-to-edge-int-stun-udp-3478",
        "ev.med-to-edge-int-stun-tcp-443",
        "ev.med-to-gw-sip-tcp-5060",
        "ev.med-to-gw-sip-tls-5061",
        "ev.gw-to-med-sip-tls-5067",
        "ev.gw-to-med-sip-tcp-5068",
        "ev.gw-to-med-rtp-60000-64000",
        "ev.int-client-to-gw-bypass-rtp",
        "ev.sba-to-fe-https-444",
        "ev.sba-to-fe-sip-mtls-5061",
        "ev.fe-to-sba-sip-mtls-5061",
        "ev.sba-to-dir-sip-mtls-5061",
        "ev.sba-to-edge-int-sip-mtls-5061",
        "ev.sba-to-edge-int-mras-sip-mtls-5062",
        "ev.sba-to-edge-int-stun-udp-3478",
        "ev.sba-to-edge-int-stun-tcp-443",
        "ev.int-client-to-sba-sip-tls-5061",
        "ev.int-client-to-sba-srtp-udp-30000-39999",
        "ev.sba-to-gw-sip-tcp-5060",
        "ev.fe-to-exum-sip-tls-5061",
        "ev.exum-to-fe-sip-mtls-5061",
        "ev.int-client-to-exum-srtp",
        "ev.exum-to-edge-int-stun-udp-3478",
        "ev.fe-to-fe-tconf-sip-mtls-5064",
        "ev.fe-to-fe-rgs-sip-mtls-5071",
        "ev.fe-to-fe-caa-sip-mtls-5072",
        "ev.fe-to-fe-cas-sip-mtls-5073",
        "ev.fe-to-fe-callpark-sip-mtls-5075",
        "ev.fe-to-fe-audiotest-sip-mtls-5076",
        "ev.fe-to-fe-rgs-mtls-8404",
        "cms.master-to-replica-smb-445",
        "cms.master-to-edge-int-https-4443",
        "cms.fe-to-sql-tds-1433",
        "cms.unspec-to-sql-browser-udp-1434",
        "cms.mgmt-to-fe-dcom-135",
        "cms.fe-to-ad-ldap",
        "mgmt.ctl-to-agent-cls-mtls-50001-50003",
        "infra.access-edge-to-any-http-80",
        "infra.access-edge-to-dns-dns-53",
        "bc.client-to-cloud-joinpage-https-443",
        "bc.client-to-adfs-proxy-https-443",
        "bc.client-to-o365-auth-https-443",
        "bc.client-to-cloud-key-https-443",
        "bc.cloud-to-o365-token-verification",
        "bc.client-to-cloud-stream-https-443",
        "bc.client-to-cloud-ucwa-https-443",
        "bc.cloud-to-cloud-join-https-443",
    ];

    /// Roles that appear in no rule, each with the reason. Empty: catalogue.md §2.2 uses all 38
    /// roles of §1 (`cms_master` only as an initiator, `sfb_server` only as a responder). A role
    /// added to §1 without a flow must be listed here with its reason.
    const ROLES_WITHOUT_FLOWS: [(Role, &str); 0] = [];

    /// Every port and range the poster names (catalogue.md §9 "Seed-port coverage").
    const SEED_PORTS: [&str; 31] = [
        "80",
        "443",
        "444",
        "448",
        "445",
        "1433",
        "3478",
        "4443",
        "5041",
        "5060",
        "5061",
        "5062",
        "5064",
        "5065",
        "5067",
        "5070",
        "5071",
        "5072",
        "5073",
        "5075",
        "5086",
        "5087",
        "5269",
        "8057",
        "8080",
        "23456",
        "50001-50003",
        "49152-65535",
        "49152-57500",
        "30000-39999",
        "60000-64000",
    ];

    fn builtin() -> &'static Catalogue {
        Catalogue::try_builtin().expect("the built-in catalogue loads")
    }

    fn ids<'a>(rules: impl Iterator<Item = &'a Rule>) -> Vec<&'a str> {
        rules.map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn builtin_loads_with_every_id_in_order() {
        let c = builtin();
        assert_eq!(c.rules().len(), 144);
        assert_eq!(ids(c.rules().iter()), IDS.to_vec());
        assert_eq!(
            c.name(),
            "Skype for Business Server 2015 Protocol Workloads"
        );
        assert!(!c.version().is_empty());
        assert!(std::ptr::eq(Catalogue::builtin(), c), "parsed once");
        for id in IDS {
            assert_eq!(c.rule(id).map(|r| r.id.as_str()), Some(id));
        }
        assert!(c.rule("im.nothing").is_none());
    }

    #[test]
    fn builtin_counts_match_the_reference_table() {
        let c = builtin();
        let count = |w: Workload| c.rules().iter().filter(|r| r.workload == w).count();
        assert_eq!(count(Workload::SigninDiscovery), 18);
        assert_eq!(count(Workload::ImPresence), 37);
        assert_eq!(count(Workload::AvWebConf), 36);
        assert_eq!(count(Workload::EnterpriseVoice), 36);
        assert_eq!(count(Workload::Cms), 6);
        assert_eq!(count(Workload::Mgmt), 3, "mgmt_logging 1 + infra 2");
        assert_eq!(count(Workload::Broadcast), 8);
        // Media rules all sit on ranges (or "any"); none is on a fixed service port alone.
        assert!(
            c.rules()
                .iter()
                .filter(|r| r.media)
                .all(|r| r.ports.has_range())
        );
        assert_eq!(c.rules().iter().filter(|r| r.media).count(), 15);
    }

    #[test]
    fn every_role_has_a_flow_or_a_reason() {
        let c = builtin();
        let used: BTreeSet<Role> = c
            .rules()
            .iter()
            .flat_map(|r| r.initiator.into_iter().chain([r.responder]))
            .collect();
        for role in Role::ALL {
            let excused = ROLES_WITHOUT_FLOWS.iter().any(|(r, _)| *r == role);
            assert!(
                used.contains(&role) != excused,
                "{role}: used {}",
                used.contains(&role)
            );
        }
    }

    #[test]
    fn every_seed_port_is_in_some_rule() {
        let c = builtin();
        for seed in SEED_PORTS {
            let (a, b) = match seed.split_once('-') {
                Some((a, b)) => (
                    a.parse::<u16>().expect("port"),
                    b.parse::<u16>().expect("port"),
                ),
                None => {
                    let p = seed.parse::<u16>().expect("port");
                    (p, p)
                }
            };
            // A single port is listed by some rule; a range is written as that range.
            let found = c.rules().iter().any(|r| r.ports.ranges().contains(&(a, b)));
            assert!(found, "seed port {seed} is in no rule");
        }
    }

    #[test]
    fn by_port_5062_tcp_gives_im_conferencing_and_mras() {
        let c = builtin();
        let all = ids(c.by_port(Transport::Tcp, 5062));
        // The rules that list 5062 itself come first; after them, the client media ranges
        // (1024-65535) and the rules on "any" port.
        let got: Vec<&str> = c
            .by_port(Transport::Tcp, 5062)
            .take_while(|r| r.ports.ranges().contains(&(5062, 5062)))
            .map(|r| r.id.as_str())
            .collect();
        assert!(all.len() > got.len());
        assert!(
            c.by_port(Transport::Tcp, 5062)
                .skip(got.len())
                .all(|r| r.media || r.ports.is_any())
        );
        assert_eq!(
            got,
            [
                "im.fe-to-fe-imconf-sip-mtls-5062",
                "av.fe-to-edge-int-mras-sip-mtls-5062",
                "ev.sba-to-edge-int-mras-sip-mtls-5062",
            ]
        );
        let rules: Vec<&Rule> = c.by_port(Transport::Tcp, 5062).collect();
        assert_eq!(rules[0].responder, Role::FrontEnd);
        assert_eq!(rules[0].service, "IM Conferencing service");
        assert_eq!(rules[1].responder, Role::EdgeInternal);
        assert!(
            c.by_port(Transport::Udp, 5062)
                .all(|r| r.media || r.ports.is_any())
        );
    }

    #[test]
    fn by_port_3478_udp_gives_av_edge_and_edge_internal() {
        let c = builtin();
        let rules: Vec<&Rule> = c.by_port(Transport::Udp, 3478).collect();
        let exact: Vec<&Rule> = rules
            .iter()
            .copied()
            .take_while(|r| r.ports.ranges().contains(&(3478, 3478)))
            .collect();
        assert!(
            rules[exact.len()..]
                .iter()
                .all(|r| r.media || r.ports.is_any())
        );
        assert_eq!(exact.len(), 9);
        assert!(exact.iter().all(|r| r.protocol == Protocol::Stun));
        let responders: BTreeSet<Role> = exact.iter().map(|r| r.responder).collect();
        assert_eq!(
            responders,
            BTreeSet::from([Role::AvEdge, Role::EdgeInternal, Role::FederatedPartner])
        );
        assert_eq!(exact[0].id, "av.ext-client-to-av-edge-stun-udp-3478");
        assert_eq!(exact[0].responder, Role::AvEdge);
        assert!(exact.iter().any(|r| r.responder == Role::EdgeInternal));
        assert!(
            c.by_port(Transport::Tcp, 3478)
                .all(|r| r.media || r.ports.is_any())
        );
    }

    #[test]
    fn by_port_50000_udp_gives_media_ranges_after_exact_ports() {
        let c = builtin();
        let got = ids(c.by_port(Transport::Udp, 50000));
        assert!(
            got.contains(&"av.int-client-to-fe-avmcu-srtp-49152-65535"),
            "{got:?}"
        );
        assert!(
            got.contains(&"av.av-edge-to-fed-rtp-udp-50000-59999"),
            "{got:?}"
        );
        assert!(
            got.contains(&"av.int-client-to-int-client-p2p-srtp"),
            "{got:?}"
        );
        assert!(
            got.contains(&"ev.int-client-to-med-srtp-49152-57500"),
            "{got:?}"
        );
        assert!(
            !got.contains(&"av.av-edge-to-fed-rtp-tcp-50000-59999"),
            "tcp only"
        );
        assert!(c.by_port(Transport::Udp, 50000).any(|r| r.media));
        // "any" rules come last.
        let rules: Vec<&Rule> = c.by_port(Transport::Udp, 50000).collect();
        let first_any = rules
            .iter()
            .position(|r| r.ports.is_any())
            .expect("an any rule");
        assert!(rules[first_any..].iter().all(|r| r.ports.is_any()));
        assert_eq!(rules[first_any].id, "ev.int-client-to-gw-bypass-rtp");

        // 50002/tcp lies in ClsAgent's service range and in media ranges: all ranges, in file
        // order.
        let cls: Vec<&Rule> = c.by_port(Transport::Tcp, 50002).collect();
        let non_media: Vec<&str> = cls
            .iter()
            .filter(|r| !r.media && !r.ports.is_any())
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(non_media, ["mgmt.ctl-to-agent-cls-mtls-50001-50003"]);
        assert_eq!(cls[0].id, "av.av-edge-to-fed-rtp-tcp-50000-59999");
        // The Director web farm lists 80 and 443: once per lookup.
        let on80 = ids(c.by_port(Transport::Tcp, 80));
        assert_eq!(
            on80.iter()
                .filter(|i| **i == "sd.dir-to-dir-webfarm-https-443")
                .count(),
            1
        );
        assert_eq!(
            on80.len(),
            5 + 3,
            "5 rules on 80, then the 3 tcp `any` rules: {on80:?}"
        );
    }

    #[test]
    fn by_port_orders_exact_before_range_before_any() {
        let text = format!(
            "[catalogue]\nname = \"t\"\nversion = \"1\"\n{}{}{}{}",
            rule("av.range", "1000-2000", true),
            rule("av.any", "any", true),
            rule("av.exact", "1500", false),
            rule("av.both", "1500,1000-2000", true),
        );
        let c = Catalogue::from_toml(&text).expect("valid");
        assert_eq!(
            ids(c.by_port(Transport::Udp, 1500)),
            ["av.exact", "av.both", "av.range", "av.any"]
        );
        assert_eq!(
            ids(c.by_port(Transport::Udp, 1000)),
            ["av.range", "av.both", "av.any"]
        );
        assert_eq!(ids(c.by_port(Transport::Udp, 3000)), ["av.any"]);
        assert!(c.by_port(Transport::Tcp, 1500).next().is_none());
    }

    fn rule(id: &str, ports: &str, media: bool) -> String {
        format!(
            "\n[[rule]]\nid = \"{id}\"\nworkload = \"av_web_conf\"\ninitiator = \"internal_client\"\n\
             responder = \"front_end\"\ntransport = \"udp\"\nports = \"{ports}\"\nmedia = {media}\n\
             protocol = \"RTP\"\nsecurity = \"srtp\"\nservice = \"s\"\npath = \"direct\"\n\
             evidence = \"P\"\nsource = \"P-AV\"\n"
        )
    }

    #[test]
    fn by_pair_is_symmetric_and_includes_any_initiator() {
        let c = builtin();
        let fe_edge = ids(c.by_pair(Role::FrontEnd, Role::EdgeInternal));
        assert_eq!(fe_edge, ids(c.by_pair(Role::EdgeInternal, Role::FrontEnd)));
        assert!(fe_edge.contains(&"im.fe-to-edge-int-sip-mtls-5061"));
        assert!(fe_edge.contains(&"im.edge-int-to-fe-sip-mtls-5061"));
        assert!(fe_edge.contains(&"av.fe-to-edge-int-mras-sip-mtls-5062"));
        assert!(c.by_pair(Role::FrontEnd, Role::EdgeInternal).all(|r| {
            let ends = (r.initiator, r.responder);
            ends == (Some(Role::FrontEnd), Role::EdgeInternal)
                || ends == (Some(Role::EdgeInternal), Role::FrontEnd)
        }));
        // Nobody documents a VTC talking to the Front End.
        assert_eq!(c.by_pair(Role::Vtc, Role::FrontEnd).count(), 0);
        // The 881 listener has no named initiator: it counts for any peer of Persistent Chat.
        let pchat = ids(c.by_pair(Role::InternalClient, Role::PersistentChat));
        assert_eq!(
            pchat,
            [
                "im.int-client-to-pchat-https-443",
                "im.unspec-to-pchat-wcf-881"
            ]
        );
        let fe_fe = ids(c.by_pair(Role::FrontEnd, Role::FrontEnd));
        assert!(fe_fe.contains(&"ev.fe-to-fe-callpark-sip-mtls-5075"));
        assert_eq!(
            fe_fe.len(),
            fe_fe.iter().collect::<BTreeSet<_>>().len(),
            "no duplicates"
        );
    }

    #[test]
    fn normalised_rules_keep_their_information() {
        let c = builtin();
        let dhcp = c.rule("sd.int-client-to-dhcp-dhcp-67").expect("dhcp");
        assert_eq!(dhcp.ports.to_string(), "67");
        assert_eq!(
            dhcp.initiator_ports
                .as_ref()
                .map(ToString::to_string)
                .as_deref(),
            Some("68")
        );
        assert_eq!(dhcp.transport, Transports::Udp);
        let wcf = c.rule("im.unspec-to-pchat-wcf-881").expect("wcf");
        assert_eq!(wcf.initiator, None);
        let gw = c.rule("ev.gw-to-med-rtp-60000-64000").expect("gw");
        assert_eq!(gw.ports.to_string(), "49152-57500,60000-64000");
        assert!(
            gw.notes
                .as_deref()
                .is_some_and(|n| n.contains("60000-64000 (poster)"))
        );
        let dcom = c.rule("cms.mgmt-to-fe-dcom-135").expect("dcom");
        assert_eq!(dcom.initiator, Some(Role::MgmtHost));
        assert_eq!(dcom.protocol, Protocol::Rpc);
        let dns = c.rule("infra.access-edge-to-dns-dns-53").expect("dns");
        assert_eq!(
            (dns.workload, dns.transport),
            (Workload::Mgmt, Transports::Both)
        );
        let msmq = c.rule("im.pchat-to-pchat-comp-msmq").expect("msmq");
        assert!(msmq.ports.is_any());
        assert_eq!(msmq.security, Security::Unspecified);
    }

    #[test]
    fn from_path_names_the_file() {
        let dir = std::env::temp_dir().join(format!("sfbflow-cat-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("bad.toml");
        std::fs::write(&file, "[catalogue]\nname = \"x\"\nversion = \"1\"\n").expect("write");
        let e = Catalogue::from_path(&file).expect_err("invalid");
        assert!(matches!(&e, CatalogueError::Invalid { path: Some(p), .. } if p == &file));
        assert!(
            e.to_string().starts_with(&file.display().to_string()),
            "{e}"
        );
        std::fs::write(&file, "[catalogue\n").expect("write");
        let e = Catalogue::from_path(&file).expect_err("syntax");
        assert!(
            matches!(&e, CatalogueError::Syntax { path: Some(p), line: 1, .. } if p == &file),
            "{e:?}"
        );
        let missing = dir.join("missing.toml");
        let e = Catalogue::from_path(&missing).expect_err("io");
        assert!(matches!(&e, CatalogueError::Io { path, .. } if path == &missing));
        std::fs::write(&file, BUILTIN_TOML).expect("write");
        assert_eq!(
            Catalogue::from_path(&file)
                .expect("builtin text")
                .rules()
                .len(),
            144
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
