#!/usr/bin/env python3
"""Regenerate tests/expected/<case>.txt from tshark's view of captures/<case>/input.pcap.

Usage: python3 generate.py CASE...   (run from this directory; needs tshark on PATH)

Each line is the innermost layer of one frame, in the format of `summary()` in
tests/common/mod.rs:
  P tcp|udp SRC SPORT > DST DPORT len=<L4 payload> [flags=0x.... seq=N] vlan=<outermost|-> tunnel=<outermost>
  O SRC > DST proto=N   (IP, not TCP/UDP; ICMP errors quoting a packet are ICMP)
  N 0xETHERTYPE         (not IP)
  F                     (fragment held; tshark shows the reassembled datagram on the last one)
Where our decoder deliberately differs from tshark, OVERRIDES replaces tshark's line and
explains why in a comment line.
"""
import subprocess
import sys

FIELDS = ["frame.number", "frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
          "tcp.srcport", "tcp.dstport", "tcp.len", "udp.srcport", "udp.dstport", "udp.length",
          "ip.proto", "ipv6.nxt", "vlan.id", "tcp.flags", "eth.type", "frame.len", "tcp.seq_raw",
          "ip.flags.mf", "ip.frag_offset", "sll.etype", "vlan.etype"]

OVERRIDES = {
    ("mpls", 22): ("CDP in 802.2 SNAP under the Cisco OUI (not an ethertype): not IP, ethertype 0",
                   "N 0x0000"),
    ("ipv4-fragments", 1): ("Zeek's evil trio: frame 1 offset 0, 18 bytes, MF (not a multiple of 8); "
                            "frame 2 offset 48, 116 bytes, last (datagram of 164 bytes); frame 3 offset 0, "
                            "304 bytes, MF: past the end and conflicting with frame 1 (tshark reassembles "
                            "anyway, flagging conflicting overlap and 'fragment too long'). "
                            "Our policy drops such datagrams", "M bad_fragment_length"),
    ("ipv4-fragments", 3): ("see frame 1", "M fragment_inconsistent_length"),
    ("mixed-synthetic", 301): ("802.2 LLC without SNAP: not IP, ethertype 0", "N 0x0000"),
    ("mixed-synthetic", 528): ("ERSPAN II header cut to 4 bytes by the generator: tshark and we both see "
                               "an 802.3 frame with LLC; not IP", "N 0x0000"),
    ("mixed-synthetic", 818): ("UDP length 0 in IPv4: we use the IP length (tshark says -8)",
                               "P udp 10.9.8.1 40100 > 10.9.8.2 9999 len=16 vlan=- tunnel=none"),
}


def last(x):
    return x.split(",")[-1] if x else ""


def first(x):
    return x.split(",")[0] if x else ""


def tunnel(protos):
    """Outermost tunnel, in our vocabulary."""
    ips = ("ip", "ipv6")
    for i, p in enumerate(protos):
        nxt = protos[i + 1] if i + 1 < len(protos) else ""
        if p == "gre":
            return "erspan" if nxt == "erspan" else ("pptp" if nxt == "ppp" else "gre")
        if p in ("vxlan", "geneve", "gtp", "teredo"):
            return p
        if p == "udp" and nxt in ips:  # tshark's VXLAN-GPE carrying IP
            return "vxlan"
        if p in ips:
            j = i + 1
            while j < len(protos) and (protos[j].startswith("ipv6.") or protos[j] == "ah"):
                j += 1
            if j < len(protos) and protos[j] in ips:
                return "ip_in_ip"
        if p == "mpls" and nxt in ("pwethcw", "eth"):
            return "mpls_pw"
    return "none"


def line(v):
    protos = v["frame.protocols"].split(":")
    vlan = first(v["vlan.id"]) or "-"
    icmp_at = next((i for i, p in enumerate(protos) if p in ("icmp", "icmpv6")), None)
    if icmp_at is not None:
        before = protos[:icmp_at]
        n4, n6 = before.count("ip"), before.count("ipv6")
        last_ip = max(i for i, p in enumerate(before) if p in ("ip", "ipv6"))
        if before[last_ip] == "ip":
            return f"O {v['ip.src'].split(',')[n4 - 1]} > {v['ip.dst'].split(',')[n4 - 1]} proto=1"
        return f"O {v['ipv6.src'].split(',')[n6 - 1]} > {v['ipv6.dst'].split(',')[n6 - 1]} proto=58"
    ipidx = max([i for i, p in enumerate(protos) if p == "ip"], default=-1)
    v6idx = max([i for i, p in enumerate(protos) if p == "ipv6"], default=-1)
    if v6idx > ipidx:
        src, dst = last(v["ipv6.src"]), last(v["ipv6.dst"])
    else:
        src, dst = last(v["ip.src"]), last(v["ip.dst"])
    t = tunnel(protos)
    if "arp" in protos:
        return f"N {last(v['vlan.etype']) or last(v['eth.type'])}"
    if "tcp" in protos:
        return (f"P tcp {src} {last(v['tcp.srcport'])} > {dst} {last(v['tcp.dstport'])} "
                f"len={last(v['tcp.len'])} flags={last(v['tcp.flags'])} seq={last(v['tcp.seq_raw'])} "
                f"vlan={vlan} tunnel={t}")
    # the innermost UDP: the last "udp" not followed by a tunnel we decode
    udp_at = max([i for i, p in enumerate(protos) if p == "udp"], default=-1)
    after = protos[udp_at + 1] if 0 <= udp_at < len(protos) - 1 else ""
    if udp_at >= 0 and after not in ("vxlan", "geneve", "gtp", "teredo", "ip", "ipv6", "gre"):
        return (f"P udp {src} {last(v['udp.srcport'])} > {dst} {last(v['udp.dstport'])} "
                f"len={int(last(v['udp.length'])) - 8} vlan={vlan} tunnel={t}")
    if "ipv6.fraghdr" in protos or last(v["ip.flags.mf"]) == "1" or last(v["ip.frag_offset"]) not in ("", "0"):
        return "F"
    if ipidx >= 0 or v6idx >= 0:
        proto = last(v["ipv6.nxt"]) if v6idx > ipidx else last(v["ip.proto"])
        return f"O {src} > {dst} proto={proto}"
    et = last(v["vlan.etype"]) or last(v["eth.type"]) or last(v["sll.etype"])
    return f"N {et}"


def generate(case):
    path = f"../../../../captures/{case}/input.pcap"
    args = ["tshark", "-r", path, "-T", "fields", "-E", "separator=\t",
            "-o", "ip.defragment:TRUE", "-o", "ipv6.defragment:TRUE"]
    for f in FIELDS:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    version = subprocess.run(["tshark", "-v"], capture_output=True, text=True).stdout.split()[2]
    lines = [f"# tshark {version} view of captures/{case}/input.pcap, innermost layer per frame "
             "(generated by generate.py).",
             "# P proto src sport > dst dport len=<L4 payload> [flags seq] vlan=<outermost> "
             "tunnel=<outermost>; O = other IP; N = not IP; F = fragment held; M = malformed"]
    for n, row in enumerate(out.splitlines(), start=1):
        v = dict(zip(FIELDS, row.split("\t")))
        if (case, n) in OVERRIDES:
            why, forced = OVERRIDES[(case, n)]
            lines.append(f"# frame {n}: {why}")
            lines.append(forced)
        else:
            lines.append(line(v))
    with open(f"{case}.txt", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    for c in sys.argv[1:]:
        generate(c)
