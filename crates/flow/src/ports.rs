//! The set of documented server (responder) ports, used to orient flows whose start the capture
//! missed.

use crate::Transport;

/// A bit set of server ports per transport: 2 x 8 KiB.
#[derive(Clone)]
pub struct ServerPorts {
    tcp: Box<[u64; 1024]>,
    udp: Box<[u64; 1024]>,
}

impl Default for ServerPorts {
    fn default() -> Self {
        ServerPorts {
            tcp: Box::new([0; 1024]),
            udp: Box::new([0; 1024]),
        }
    }
}

impl std::fmt::Debug for ServerPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = |set: &[u64; 1024]| set.iter().map(|w| w.count_ones()).sum::<u32>();
        f.debug_struct("ServerPorts")
            .field("tcp", &count(&self.tcp))
            .field("udp", &count(&self.udp))
            .finish()
    }
}

impl ServerPorts {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    fn set_mut(&mut self, transport: Transport) -> &mut [u64; 1024] {
        match transport {
            Transport::Tcp => &mut self.tcp,
            Transport::Udp => &mut self.udp,
        }
    }

    /// Adds one port.
    pub fn insert(&mut self, transport: Transport, port: u16) {
        let set = self.set_mut(transport);
        let (word, bit) = (usize::from(port >> 6), port & 63);
        if let Some(w) = set.get_mut(word) {
            *w |= 1u64 << bit;
        }
    }

    /// Adds every port of an inclusive range.
    pub fn insert_range(&mut self, transport: Transport, first: u16, last: u16) {
        for port in first..=last {
            self.insert(transport, port);
        }
    }

    /// Whether `port` is a server port for `transport`.
    #[inline]
    pub fn contains(&self, transport: Transport, port: u16) -> bool {
        let set = match transport {
            Transport::Tcp => &self.tcp,
            Transport::Udp => &self.udp,
        };
        let (word, bit) = (usize::from(port >> 6), port & 63);
        set.get(word).is_some_and(|w| w & (1u64 << bit) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_and_contains() {
        let mut p = ServerPorts::new();
        p.insert(Transport::Tcp, 5061);
        p.insert_range(Transport::Udp, 3478, 3479);
        p.insert(Transport::Tcp, 65535);
        p.insert(Transport::Tcp, 0);
        assert!(p.contains(Transport::Tcp, 5061));
        assert!(!p.contains(Transport::Udp, 5061));
        assert!(p.contains(Transport::Udp, 3479));
        assert!(!p.contains(Transport::Udp, 3480));
        assert!(p.contains(Transport::Tcp, 65535) && p.contains(Transport::Tcp, 0));
        assert_eq!(format!("{p:?}"), "ServerPorts { tcp: 3, udp: 2 }");
    }
}
