//! The canonical, direction-free flow key.

use sfbflow_packet::{Addr, IpProto};

/// Transport protocol of a flow. Only TCP and UDP conversations are flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Transport {
    /// The transport of an IP protocol number, if it is TCP or UDP.
    pub fn from_proto(proto: IpProto) -> Option<Transport> {
        match proto {
            IpProto::TCP => Some(Transport::Tcp),
            IpProto::UDP => Some(Transport::Udp),
            _ => None,
        }
    }

    /// `"tcp"` or `"udp"`, as in the output columns.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

/// Which end of a [`FlowKey`] an address/port pair is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The lower `(address, port)` of the key.
    Lo,
    /// The higher `(address, port)` of the key.
    Hi,
}

/// A bidirectional 5-tuple in canonical order: `(lo, lo_port) <= (hi, hi_port)`, so both
/// directions of a conversation give the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlowKey {
    /// The lower endpoint's address.
    pub lo: Addr,
    /// The higher endpoint's address.
    pub hi: Addr,
    /// The lower endpoint's port.
    pub lo_port: u16,
    /// The higher endpoint's port.
    pub hi_port: u16,
    /// TCP or UDP.
    pub transport: Transport,
}

/// Every field, as three fixed-width words: the derived hash would feed the hasher field by
/// field (each address as a slice with its length, each port, the discriminant), and the key
/// is hashed once per packet.
impl std::hash::Hash for FlowKey {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u128(u128::from_ne_bytes(self.lo.0));
        state.write_u128(u128::from_ne_bytes(self.hi.0));
        state.write_u64(
            u64::from(self.lo_port) | u64::from(self.hi_port) << 16 | (self.transport as u64) << 32,
        );
    }
}

impl FlowKey {
    /// The key of a packet from `(src, src_port)` to `(dst, dst_port)`, and the side the source
    /// is on.
    #[inline]
    pub fn new(
        transport: Transport,
        src: Addr,
        src_port: u16,
        dst: Addr,
        dst_port: u16,
    ) -> (FlowKey, Side) {
        if (src, src_port) <= (dst, dst_port) {
            let key = FlowKey {
                lo: src,
                hi: dst,
                lo_port: src_port,
                hi_port: dst_port,
                transport,
            };
            (key, Side::Lo)
        } else {
            let key = FlowKey {
                lo: dst,
                hi: src,
                lo_port: dst_port,
                hi_port: src_port,
                transport,
            };
            (key, Side::Hi)
        }
    }

    /// The address and port of one side.
    pub fn endpoint(&self, side: Side) -> (Addr, u16) {
        match side {
            Side::Lo => (self.lo, self.lo_port),
            Side::Hi => (self.hi, self.hi_port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addr(b: [u8; 16]) -> Addr {
        Addr(b)
    }

    #[test]
    fn both_directions_give_one_key() {
        let a = Addr::from_v4([10, 0, 0, 1]);
        let b = Addr::from_v4([10, 0, 0, 2]);
        let (k1, s1) = FlowKey::new(Transport::Udp, a, 5060, b, 5060);
        let (k2, s2) = FlowKey::new(Transport::Udp, b, 5060, a, 5060);
        assert_eq!(k1, k2);
        assert_eq!(s1, Side::Lo);
        assert_eq!(s2, Side::Hi);
        assert_eq!(k1.endpoint(Side::Lo), (a, 5060));
    }

    #[test]
    fn same_address_orders_by_port() {
        let a = Addr::from_v4([127, 0, 0, 1]);
        let (k, s) = FlowKey::new(Transport::Tcp, a, 40000, a, 5061);
        assert_eq!((k.lo_port, k.hi_port), (5061, 40000));
        assert_eq!(s, Side::Hi);
    }

    #[test]
    fn every_field_is_hashed() {
        use std::hash::BuildHasher;
        let h = foldhash::fast::FixedState::with_seed(7);
        let (base, _) = FlowKey::new(
            Transport::Udp,
            Addr::from_v4([10, 0, 0, 1]),
            50_000,
            Addr::from_v4([10, 0, 0, 2]),
            3478,
        );
        let mut lo = base;
        lo.lo.0[15] ^= 1;
        let mut hi = base;
        hi.hi.0[0] ^= 1;
        let mut lo_port = base;
        lo_port.lo_port ^= 1;
        let mut hi_port = base;
        hi_port.hi_port ^= 1;
        let mut transport = base;
        transport.transport = Transport::Tcp;
        for other in [lo, hi, lo_port, hi_port, transport] {
            assert_ne!(other, base);
            assert_ne!(h.hash_one(other), h.hash_one(base), "{other:?}");
        }
        let copy = base;
        assert_eq!(h.hash_one(copy), h.hash_one(base));
    }

    proptest! {
        #[test]
        fn key_is_symmetric(a in any::<[u8; 16]>(), b in any::<[u8; 16]>(), pa: u16, pb: u16, tcp: bool) {
            let t = if tcp { Transport::Tcp } else { Transport::Udp };
            let (k1, s1) = FlowKey::new(t, addr(a), pa, addr(b), pb);
            let (k2, s2) = FlowKey::new(t, addr(b), pb, addr(a), pa);
            prop_assert_eq!(k1, k2);
            prop_assert!((k1.lo, k1.lo_port) <= (k1.hi, k1.hi_port));
            if (a, pa) != (b, pb) {
                prop_assert_ne!(s1, s2);
            }
            prop_assert_eq!(k1.endpoint(s1), (addr(a), pa));
        }
    }
}
