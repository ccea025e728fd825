#!/usr/bin/env python3
"""Writes large hostile captures for measuring sfbflow's memory on them (FUZZING.md, "Bounds").

    python3 scripts/hostile_captures.py OUTDIR
    for f in OUTDIR/*.pcap; do /usr/bin/time -f "%M KiB $f" sfbflow classify "$f" --out o --quiet; done

flood.pcap          1.2 M distinct UDP flows, one datagram each, within 12 s (run it with
                    --max-flows 100000 too)
fragments.pcap      1 M first fragments of IPv4 datagrams that never complete
sip_endless.pcap    one TCP connection to 5060 whose SIP header never ends (100 MiB)
sdp_candidates.pcap 2 000 SIP INVITEs over UDP, each with an SDP of 5 000 candidates
dns_loops.pcap      500 000 DNS responses whose names are compression loops (5 000 flows)
time_jumps.pcap     200 000 flows whose timestamps jump by decades, back and forth
"""
import os
import struct
import sys

BASE = 1_700_000_000


def header(f):
    f.write(struct.pack('<IHHiIII', 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))


def rec(f, sec, usec, frame):
    f.write(struct.pack('<IIII', sec & 0xFFFFFFFF, usec, len(frame), len(frame)) + frame)


def ipv4(src, dst, proto, payload, ident=0, frag=0):
    return struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), ident & 0xFFFF, frag, 64,
                       proto, 0, bytes(src), bytes(dst)) + payload


def eth(ip):
    return b'\x02' * 6 + b'\x04' * 6 + b'\x08\x00' + ip


def udp(sport, dport, payload):
    return struct.pack('>HHHH', sport, dport, 8 + len(payload), 0) + payload


def tcp(sport, dport, seq, flags, payload=b''):
    return struct.pack('>HHIIBBHHH', sport, dport, seq & 0xFFFFFFFF, 0, 5 << 4, flags, 65535,
                       0, 0) + payload


def flood(path):
    with open(path, 'wb') as f:
        header(f)
        for i in range(1_200_000):
            src = [10, (i >> 16) & 255, (i >> 8) & 255, i & 255]
            ip = ipv4(src, [192, 0, 2, 1], 17, udp(1024 + i % 60000, 9999, b'x' * 8), i)
            rec(f, BASE + i // 100_000, i % 1_000_000, eth(ip))


def fragments(path):
    with open(path, 'wb') as f:
        header(f)
        for i in range(1_000_000):
            src = [10, 1, (i >> 8) & 255, i & 255]
            # More fragments set, offset 0: the rest never comes.
            ip = ipv4(src, [192, 0, 2, 2], 17, udp(5000, 5001, b'f' * 64), i >> 8, 0x2000)
            rec(f, BASE + i // 50_000, i % 1_000_000, eth(ip))


def sip_endless(path):
    c, s = [10, 0, 0, 5], [10, 0, 0, 6]
    with open(path, 'wb') as f:
        header(f)
        rec(f, BASE, 0, eth(ipv4(c, s, 6, tcp(50123, 5060, 1000, 0x02))))
        rec(f, BASE, 1, eth(ipv4(s, c, 6, tcp(5060, 50123, 5000, 0x12))))
        seq = 1001
        start = b'INVITE sip:bob@contoso.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.5\r\n'
        rec(f, BASE, 2, eth(ipv4(c, s, 6, tcp(50123, 5060, seq, 0x10, start))))
        seq += len(start)
        line = b'X-Filler: ' + b'a' * 1400 + b'\r\n'
        for i in range(100 * 1024 * 1024 // len(line)):
            rec(f, BASE + 1 + i // 10_000, i % 1_000_000,
                eth(ipv4(c, s, 6, tcp(50123, 5060, seq, 0x10, line))))
            seq += len(line)


def sdp_candidates(path):
    cands = ''.join(
        f'a=candidate:{i} 1 UDP 2130706431 10.{i >> 8 & 255}.{i & 255}.7 {50000 + i % 9999} typ host\r\n'
        for i in range(5000))
    sdp = ('v=0\r\no=- 0 0 IN IP4 10.0.0.5\r\ns=session\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n'
           'm=audio 50020 RTP/AVP 0\r\n' + cands).encode()
    with open(path, 'wb') as f:
        header(f)
        for i in range(2000):
            msg = (f'INVITE sip:bob@contoso.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5\r\n'
                   f'Call-ID: {i}@x\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n'
                   f'Content-Length: {len(sdp)}\r\n\r\n').encode() + sdp
            # Too large for one datagram: the SIP message is cut by the 65 535-byte IP limit.
            msg = msg[:65_000]
            src = [10, 2, (i >> 8) & 255, i & 255]
            rec(f, BASE + i // 100, i % 1_000_000,
                eth(ipv4(src, [10, 0, 0, 6], 17, udp(5060, 5060, msg))))


def dns_loops(path):
    loop = bytes([0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1,
                  0xC0, 20, 0xC0, 18, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1])
    with open(path, 'wb') as f:
        header(f)
        # 5 000 flows of 100 responses each: the loops, not the number of flows (flood.pcap).
        for i in range(500_000):
            client = i % 5000
            dst = [10, 3, client >> 8, client & 255]
            rec(f, BASE + i // 10_000, i % 1_000_000,
                eth(ipv4([10, 0, 0, 53], dst, 17, udp(53, 40000, loop))))


def time_jumps(path):
    decades = 40 * 365 * 86_400
    with open(path, 'wb') as f:
        header(f)
        for i in range(200_000):
            src = [10, 4, (i >> 8) & 255, i & 255]
            sec = BASE + (decades if i % 3 == 1 else -decades if i % 3 == 2 else 0) + i // 1000
            rec(f, sec, 0, eth(ipv4(src, [192, 0, 2, 3], 17, udp(40000, 9999, b'j' * 8))))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else 'hostile'
    os.makedirs(out, exist_ok=True)
    for name, make in [('flood', flood), ('fragments', fragments), ('sip_endless', sip_endless),
                       ('sdp_candidates', sdp_candidates), ('dns_loops', dns_loops),
                       ('time_jumps', time_jumps)]:
        make(os.path.join(out, name + '.pcap'))
        print(name + '.pcap')


if __name__ == '__main__':
    main()
