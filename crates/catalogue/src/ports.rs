//! The responder ports of the documented flows, used to orient flows whose start was missed.

use sfbflow_flow::{ServerPorts, Transport};

use crate::Catalogue;

/// The documented server ports as a set, derived from the built-in catalogue: every responder
/// port of every rule that is not a media rule, on each of the rule's transports. Media ranges
/// and "any" are left out on purpose: they overlap the ephemeral ports that clients open
/// connections from. (The only range left in is a service range, ClsAgent's 50001-50003.)
pub fn documented_server_ports() -> ServerPorts {
    server_ports_of(Catalogue::builtin())
}

impl Catalogue {
    /// This catalogue's server ports, as [`documented_server_ports`] describes for the built-in.
    pub fn server_ports(&self) -> ServerPorts {
        server_ports_of(self)
    }
}

/// The server ports of a catalogue, as [`documented_server_ports`] describes.
pub(crate) fn server_ports_of(catalogue: &Catalogue) -> ServerPorts {
    let mut p = ServerPorts::new();
    for rule in catalogue.rules().iter().filter(|r| !r.media) {
        for t in [Transport::Tcp, Transport::Udp] {
            if !rule.transport.contains(t) {
                continue;
            }
            for &(a, b) in rule.ports.ranges() {
                p.insert_range(t, a, b);
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poster_ports_are_server_ports() {
        let p = documented_server_ports();
        for port in [443, 444, 4443, 5061, 5062, 5075, 8057, 5269, 23456, 50002] {
            assert!(p.contains(Transport::Tcp, port), "tcp {port}");
        }
        assert!(p.contains(Transport::Udp, 3478));
        assert!(!p.contains(Transport::Udp, 443));
        assert!(
            !p.contains(Transport::Tcp, 50000),
            "media/ephemeral range is not a service port"
        );
    }

    #[test]
    fn derived_from_every_non_media_rule() {
        let c = Catalogue::builtin();
        let p = server_ports_of(c);
        for rule in c.rules().iter().filter(|r| !r.media) {
            for &(a, b) in rule.ports.ranges() {
                for t in [Transport::Tcp, Transport::Udp] {
                    if rule.transport.contains(t) {
                        assert!(p.contains(t, a) && p.contains(t, b), "{} {a}-{b}", rule.id);
                    }
                }
            }
        }
        for (t, port) in [
            (Transport::Udp, 53),
            (Transport::Tcp, 53),
            (Transport::Udp, 67),
        ] {
            assert!(p.contains(t, port), "{t:?} {port}");
        }
        for (t, port) in [
            (Transport::Udp, 49152),
            (Transport::Tcp, 1024),
            (Transport::Udp, 68),
        ] {
            assert!(!p.contains(t, port), "{t:?} {port}");
        }
    }
}
