//! The responder ports of the documented flows, used to orient flows whose start was missed.

use sfbflow_flow::{ServerPorts, Transport};

/// Fixed service ports of catalogue.md §2.1 (responder side). Media ranges are left out on
/// purpose: they overlap the ephemeral ports that clients open connections from.
const TCP_PORTS: &[(u16, u16)] = &[
    (53, 53),
    (80, 80),
    (135, 135),
    (443, 444),
    (445, 445),
    (448, 448),
    (881, 881),
    (1433, 1433),
    (4443, 4443),
    (5041, 5041),
    (5060, 5076),
    (5080, 5082),
    (5086, 5087),
    (5269, 5269),
    (6001, 6001),
    (8057, 8058),
    (8060, 8061),
    (8080, 8080),
    (8404, 8404),
    (23456, 23456),
    (50001, 50003),
];
const UDP_PORTS: &[(u16, u16)] = &[(53, 53), (67, 67), (1434, 1434), (3478, 3478), (5060, 5060)];

/// The documented server ports as a set.
pub fn documented_server_ports() -> ServerPorts {
    let mut p = ServerPorts::new();
    for &(a, b) in TCP_PORTS {
        p.insert_range(Transport::Tcp, a, b);
    }
    for &(a, b) in UDP_PORTS {
        p.insert_range(Transport::Udp, a, b);
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
}
