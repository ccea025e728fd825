#!/usr/bin/env python3
"""Cross-check sfbflow's flow accounting against tshark's TCP/UDP conversations.

Usage:
    tshark_compare.py [--sfbflow PATH] [--strict] [--json REPORT]
                      [--expect-differ SUBSTRING[=ENDPOINT,...]]... FILE_OR_DIR...

For every capture file (directories are searched recursively; files that are
neither named like a capture nor start with a pcap/pcapng magic number, such as
README.md or MANIFEST.tsv, are skipped) the script runs tshark once and
``sfbflow classify FILE --jsonl --quiet --idle-timeout 0`` once and compares
the two sets of flows.

The comparison
--------------
tshark side. One ``tshark -T fields`` pass gives, per frame: frame.number,
frame.len, frame.protocols, every occurrence of ip.src/ip.dst/ipv6.src/
ipv6.dst, tcp.stream/udp.stream, the tcp/udp ports, and the fragment lists
(ip.fragment, ip.fragment.error, ipv6.fragment, ipv6.fragment.error) that
tshark attaches to the frame in which it reassembled an IP datagram.

* A frame's transport is its INNERMOST tcp/udp layer: the last ``tcp`` or
  ``udp`` in frame.protocols.  Its addresses come from the nearest ip/ipv6
  layer before it, its ports and stream number from the matching occurrence
  (the n-th ``tcp`` layer in frame.protocols is the n-th occurrence of
  tcp.srcport, tcp.stream, ...).  So an outer tunnel UDP plus an inner TCP
  uses tcp.stream, and two UDP layers use the second udp.stream value.
* Frames are left out (sfbflow puts them in no flow) when
    - they have no tcp/udp layer at all (ARP, ICMP, non-first fragments...);
    - the innermost tcp/udp sits inside an icmp/icmpv6 layer (the header an
      ICMP error message quotes);
    - a tunnel follows the innermost tcp/udp (an ip/ipv6/eth/vxlan/geneve/
      teredo/gre/erspan layer after it): the innermost packet of a tunnel is
      then not TCP/UDP, and sfbflow does not count the outer tunnel UDP as a
      flow.
* IP fragments: the frame that completes a reassembled datagram is credited
  with every frame listed in its fragment lists (itself included, and
  transitively the fragments of fragments, for fragmented tunnels carrying
  fragmented packets), packets and frame.len bytes, which is how sfbflow
  counts a reassembled datagram.  Fragments of a datagram tshark never
  completes are in no stream, as in sfbflow ("incomplete fragment trains are
  in no flow"); that includes a first fragment tshark could not add to a
  reassembly (cut short by the snap length, say) whose TCP/UDP header it
  dissects anyway: a frame whose innermost IP header is a fragment (MF set or
  offset non-zero) and that carries no fragment list is left out.
* A TCP stream is tshark's tcp.stream (a frame tshark gives no tcp.stream,
  e.g. a malformed header, joins the last stream of its 5-tuple).  A UDP
  stream is the 5-tuple itself, NOT udp.stream: sfbflow's contract is one UDP
  flow per 5-tuple for the whole capture, and tshark splits one 5-tuple into
  several udp.stream values when a dissector pre-creates a conversation (SDP
  announcing RTP/RTCP ports gives each direction its own stream) and gives no
  udp.stream at all to a datagram whose UDP length field is bogus.  For each
  stream the script builds the canonical endpoint pair (the two (ip, port)
  endpoints in sorted order) and per endpoint the packets and bytes
  (frame.len) it SENT.

sfbflow side. Every JSON line becomes the same record from transport,
initiator_ip/port, responder_ip/port, *_packets and *_bytes (other fields are
ignored).  Addresses are normalised with the ipaddress module on both sides.

The two sides are compared as multisets of
``(transport, endpoint A, endpoint B, packets A, packets B, bytes A, bytes B)``
(several streams may share one 5-tuple, e.g. TCP connections reusing ports).
A file AGREES when both multisets are equal.

tshark settings
---------------
tshark runs with ``-n`` (no name resolution), ``-o
tcp.analyze_sequence_numbers:TRUE`` and otherwise the default preferences; a
fresh empty WIRESHARK_CONFIG_DIR keeps any personal preferences out.  The
defaults that matter here (tshark 4.0): ip.defragment and ipv6.defragment are
on (so fragments are reassembled and listed in ip.fragment); TCP
desegmentation is on (it does not change which frames carry tcp); tshark
starts a new tcp.stream on a 5-tuple when a SYN comes with another ISN, but a
SYN retransmitted with the same ISN after an RST stays in its stream (sfbflow
starts a new flow there: such files differ); VXLAN is decoded on 4789,
VXLAN-GPE on 4790 (either direction), Geneve on 6081, GTP-U on 2152, GRE in
UDP on 4754, Teredo by heuristics.

Files tshark cannot read fully
------------------------------
* tshark reads no frame and fails (not a capture, unsupported version,
  corrupt header): ``tshark-error``.  This is not a disagreement; the file is
  not counted in "files tshark reads".
* tshark reads some frames and then fails ("cut short in the middle of a
  packet", "damaged or corrupt"): the frames it did read are compared with
  sfbflow's output as usual (sfbflow also keeps what it read before the bad
  record and exits 1).  The file counts as read, and the line and the JSON
  report carry ``tshark_partial`` with tshark's message.  If sfbflow recovers
  past a corrupt block that stops tshark, the file shows as DIFFER.

Results
-------
One line per file::

    agree|DIFFER|tshark-error|sfbflow-error  FILE  (tshark N streams, sfbflow M flows[, first difference])

then a summary line ending in "agreement X/Y of files tshark reads".
``sfbflow-error`` means sfbflow exited 2 or crashed (any status other than
0 or 1) or printed unparsable output.  ``--json REPORT`` writes every file's
result, including the streams only one side has, with tshark frame numbers.

``--expect-differ SUBSTRING[=ENDPOINT,...]`` (repeatable) marks a known,
explained difference: a DIFFER file whose path contains SUBSTRING is still
reported as DIFFER (flagged "expected") but does not fail --strict.  With
``=ENDPOINT,...`` (endpoints written as in the output, ``10.0.0.1:53`` or
``[2001:db8::1]:53``) only differences confined to flows naming one of those
endpoints are expected; any other differing flow in the file still fails.  A
file expected to differ that agrees is reported on stderr as stale.

Exit status: 0; with --strict, 1 when a file tshark reads is DIFFER (and not
expected to) or sfbflow-error, when sfbflow crashes on any file, or when no
file at all was compared; 2 on usage errors.

Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import collections
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any, Iterable

#: Capture file names we always pass on (even if the magic is unknown, so
#: deliberately broken captures are still tried).
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".ntar", ".pcap.gz", ".pcapng.gz")

#: First four bytes of pcap (all byte orders, µs/ns, modified) and pcapng.
CAPTURE_MAGICS = {
    bytes.fromhex(h)
    for h in (
        "a1b2c3d4", "d4c3b2a1",  # pcap, microseconds
        "a1b23c4d", "4d3cb2a1",  # pcap, nanoseconds
        "a1b2cd34", "34cdb2a1",  # modified pcap (Kuznetzov)
        "0a0d0d0a",  # pcapng section header block
    )
}

#: The -T fields columns, in order.
FIELDS = [
    "frame.number",
    "frame.len",
    "frame.protocols",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "tcp.stream",
    "udp.stream",
    "tcp.srcport",
    "tcp.dstport",
    "udp.srcport",
    "udp.dstport",
    "ip.fragment",
    "ip.fragment.error",
    "ipv6.fragment",
    "ipv6.fragment.error",
    "ip.flags.mf",
    "ip.frag_offset",
    "ipv6.fraghdr.more",
    "ipv6.fraghdr.offset",
]

#: The fields listing the frames of a datagram tshark reassembled in this frame.
FRAGMENT_LIST_FIELDS = ("ip.fragment", "ip.fragment.error", "ipv6.fragment", "ipv6.fragment.error")

TRANSPORTS = ("tcp", "udp")
ICMP_LAYERS = {"icmp", "icmpv6"}
#: A layer after the innermost tcp/udp that means "this UDP/TCP is a tunnel".
TUNNEL_AFTER_TRANSPORT = {"ip", "ipv6", "eth", "vxlan", "geneve", "teredo", "gre", "erspan"}

TOOL_TIMEOUT_S = 600

Endpoint = tuple[str, int]
# (transport, endpoint A, endpoint B, packets A, packets B, bytes A, bytes B)
FlowKey = tuple[str, Endpoint, Endpoint, int, int, int, int]


# --------------------------------------------------------------------------
# Finding capture files
# --------------------------------------------------------------------------


def looks_like_capture(path: str) -> bool:
    """True when the file is named like a capture or starts with a capture magic."""
    if path.lower().endswith(CAPTURE_SUFFIXES):
        return True
    try:
        with open(path, "rb") as handle:
            return handle.read(4) in CAPTURE_MAGICS
    except OSError:
        return False


def find_captures(args: Iterable[str]) -> list[str]:
    """Expand files and directories (recursively) into a sorted list of captures."""
    found: list[str] = []
    for arg in args:
        if os.path.isdir(arg):
            for root, dirs, files in os.walk(arg):
                dirs.sort()
                for name in sorted(files):
                    path = os.path.join(root, name)
                    if looks_like_capture(path):
                        found.append(path)
        elif os.path.exists(arg):
            found.append(arg)  # named explicitly: always try it
        else:
            raise SystemExit(f"tshark_compare: no such file or directory: {arg}")
    return found


# --------------------------------------------------------------------------
# Normalisation helpers shared by both sides
# --------------------------------------------------------------------------


def norm_ip(text: str) -> str:
    """Canonical text of an IPv4/IPv6 address (so 2001:DB8::1 == 2001:db8:0::1)."""
    return str(ipaddress.ip_address(text.strip()))


def endpoint_sort_key(endpoint: Endpoint) -> tuple[int, int, int]:
    address = ipaddress.ip_address(endpoint[0])
    return (address.version, int(address), endpoint[1])


def flow_key(
    transport: str,
    first: Endpoint,
    second: Endpoint,
    counts_first: tuple[int, int],
    counts_second: tuple[int, int],
) -> FlowKey:
    """Canonical multiset key; counts are (packets, bytes) SENT by each endpoint.

    The endpoints are ordered; a flow whose two endpoints are the same (ip, port)
    puts all its packets on endpoint A so both tools agree on the split.
    """
    if first == second:
        total = (counts_first[0] + counts_second[0], counts_first[1] + counts_second[1])
        return (transport, first, second, total[0], 0, total[1], 0)
    if endpoint_sort_key(second) < endpoint_sort_key(first):
        first, second = second, first
        counts_first, counts_second = counts_second, counts_first
    return (
        transport,
        first,
        second,
        counts_first[0],
        counts_second[0],
        counts_first[1],
        counts_second[1],
    )


def fmt_endpoint(endpoint: Endpoint) -> str:
    address, port = endpoint
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def fmt_key(key: FlowKey) -> str:
    transport, a, b, pa, pb, ba, bb = key
    return f"{transport} {fmt_endpoint(a)} <-> {fmt_endpoint(b)} pkts {pa}/{pb} bytes {ba}/{bb}"


# --------------------------------------------------------------------------
# tshark side
# --------------------------------------------------------------------------


def tshark_command(tshark: str, path: str) -> list[str]:
    command = [tshark, "-n", "-r", path, "-o", "tcp.analyze_sequence_numbers:TRUE", "-T", "fields"]
    command += ["-E", "occurrence=a", "-E", "separator=/t", "-E", "header=n", "-E", "aggregator=,"]
    for field in FIELDS:
        command += ["-e", field]
    return command


def tshark_version(tshark: str) -> str:
    try:
        result = subprocess.run(
            [tshark, "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    first = result.stdout.splitlines()[:1]
    return first[0] if first else "unknown"


def clean_stderr(text: str) -> str:
    """tshark's stderr without its 'Running as user root' warning."""
    lines = [line for line in text.splitlines() if line.strip() and "Running as user" not in line]
    return "\n".join(lines)


def split_multi(value: str) -> list[str]:
    return [item for item in value.split(",") if item != ""] if value else []


def pick(values: list[str], occurrence: int) -> str | None:
    """The occurrence-th value (1-based), falling back to the last one."""
    if not values:
        return None
    if 1 <= occurrence <= len(values):
        return values[occurrence - 1]
    return values[-1]


def innermost_transport(layers: list[str]) -> tuple[str, int] | str:
    """(transport, index in layers) of the innermost tcp/udp, or why there is none."""
    index = max((i for i, layer in enumerate(layers) if layer in TRANSPORTS), default=-1)
    if index < 0:
        return "no tcp/udp"
    if any(layer in ICMP_LAYERS for layer in layers[:index]):
        return "inside icmp"
    if any(layer in TUNNEL_AFTER_TRANSPORT for layer in layers[index + 1 :]):
        return "tunnel without inner tcp/udp"
    return layers[index], index


def frame_endpoints(
    layers: list[str], index: int, row: dict[str, str]
) -> tuple[Endpoint, Endpoint, str | None] | str:
    """Source and destination (ip, port) and stream id (None if tshark gave none)
    of the transport at layers[index], or why they cannot be had."""
    transport = layers[index]
    network = None
    for layer in reversed(layers[:index]):
        if layer in ("ip", "ipv6"):
            network = layer
            break
    if network is None:
        return "no ip layer"
    ip_occurrence = layers[:index].count(network)
    src = pick(split_multi(row[f"{network}.src"]), ip_occurrence)
    dst = pick(split_multi(row[f"{network}.dst"]), ip_occurrence)
    port_occurrence = layers[: index + 1].count(transport)
    sport = pick(split_multi(row[f"{transport}.srcport"]), port_occurrence)
    dport = pick(split_multi(row[f"{transport}.dstport"]), port_occurrence)
    streams = split_multi(row[f"{transport}.stream"])
    stream = streams[port_occurrence - 1] if port_occurrence <= len(streams) else None
    if None in (src, dst, sport, dport):
        return "incomplete addresses"
    try:
        source = (norm_ip(src), int(sport))
        destination = (norm_ip(dst), int(dport))
    except ValueError:
        return "unparsable addresses"
    return source, destination, stream


def parse_tshark_rows(stdout: str) -> list[dict[str, str]]:
    rows = []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        values = line.split("\t")
        values += [""] * (len(FIELDS) - len(values))
        rows.append(dict(zip(FIELDS, values)))
    return rows


def is_flagged(value: str | None) -> bool:
    return value not in (None, "", "0", "False", "false")


def unreassembled_fragment(layers: list[str], index: int, row: dict[str, str]) -> bool:
    """True when the IP header right before layers[index] is a fragment tshark did
    not reassemble in this frame (it then still dissects the transport header of a
    first fragment it cannot reassemble, e.g. one cut short by the snap length)."""
    if any(row[field] for field in FRAGMENT_LIST_FIELDS):
        return False
    network = max((i for i, layer in enumerate(layers[:index]) if layer in ("ip", "ipv6")), default=-1)
    if network < 0:
        return False
    if layers[network] == "ip":
        occurrence = layers[:index].count("ip")
        more, offset = row["ip.flags.mf"], row["ip.frag_offset"]
    elif "ipv6.fraghdr" in layers[network + 1 : index]:
        occurrence = layers[:index].count("ipv6.fraghdr")
        more, offset = row["ipv6.fraghdr.more"], row["ipv6.fraghdr.offset"]
    else:
        return False
    return is_flagged(pick(split_multi(more), occurrence)) or is_flagged(pick(split_multi(offset), occurrence))


def fragment_lists(rows: list[dict[str, str]]) -> dict[int, set[int]]:
    """Frame number -> the frames of the datagram(s) tshark reassembled in it."""
    lists: dict[int, set[int]] = {}
    for row in rows:
        frames = {int(v) for field in FRAGMENT_LIST_FIELDS for v in split_multi(row[field]) if v.isdigit()}
        if frames and row["frame.number"].isdigit():
            lists[int(row["frame.number"])] = frames
    return lists


def datagram_frames(number: int, lists: dict[int, set[int]]) -> set[int]:
    """The frame itself plus every frame of the datagrams reassembled in it,
    followed transitively (an inner fragmented datagram whose fragments were
    themselves outer reassemblies, e.g. fragmented IPv6 in fragmented IPv6)."""
    frames, todo = {number}, [number]
    while todo:
        for frame in lists.get(todo.pop(), ()):
            if frame not in frames:
                frames.add(frame)
                todo.append(frame)
    return frames


def tshark_streams(
    rows: list[dict[str, str]],
) -> tuple[collections.Counter, dict[FlowKey, list[list[int]]], dict[str, int]]:
    """Per-stream flows from tshark's rows.

    Returns the multiset of flow keys, the frame numbers of each key's streams
    (for the report), and how many frames were left out for which reason.
    """
    frame_len: dict[int, int] = {}
    for row in rows:
        try:
            frame_len[int(row["frame.number"])] = int(row["frame.len"])
        except ValueError:
            pass
    lists = fragment_lists(rows)

    # (transport, stream id, endpoint pair) -> first frame's source and destination,
    # (packets, bytes) sent per endpoint, frame numbers
    streams: dict[tuple[str, str, tuple[Endpoint, ...]], dict[str, Any]] = {}
    skipped: collections.Counter = collections.Counter()
    credited: set[int] = set()
    last_tcp_stream: dict[tuple[Endpoint, ...], str] = {}
    for row in rows:
        try:
            number = int(row["frame.number"])
        except ValueError:
            skipped["unparsable frame number"] += 1
            continue
        layers = row["frame.protocols"].split(":")
        found = innermost_transport(layers)
        if isinstance(found, str):
            skipped[found] += 1
            continue
        transport, index = found
        if unreassembled_fragment(layers, index, row):
            skipped["unreassembled fragment"] += 1
            continue
        addressed = frame_endpoints(layers, index, row)
        if isinstance(addressed, str):
            skipped[addressed] += 1
            continue
        source, destination, stream = addressed
        pair = tuple(sorted((source, destination), key=endpoint_sort_key))
        if transport == "udp":
            stream = "5-tuple"  # one UDP flow per 5-tuple (see the module docstring)
        elif stream is None:
            stream = last_tcp_stream.get(pair, "5-tuple")
        else:
            last_tcp_stream[pair] = stream

        frames = datagram_frames(number, lists)
        frames -= credited  # a frame is counted once, in the first datagram naming it
        credited |= frames
        packets = len(frames)
        size = sum(frame_len.get(frame, 0) for frame in frames)

        # Keyed by endpoint pair too, in case tshark ever reuses a stream id.
        entry = streams.setdefault(
            (transport, stream, pair),
            {"first": source, "second": destination, "counts": {}, "frames": []},
        )
        counts = entry["counts"].setdefault(source, [0, 0])
        counts[0] += packets
        counts[1] += size
        entry["frames"].extend(sorted(frames))

    multiset: collections.Counter = collections.Counter()
    frames_of: dict[FlowKey, list[list[int]]] = collections.defaultdict(list)
    for (transport, _stream, _pair), entry in streams.items():
        first, second = entry["first"], entry["second"]
        zero = [0, 0]
        key = flow_key(
            transport,
            first,
            second,
            tuple(entry["counts"].get(first, zero)),
            tuple(entry["counts"].get(second, zero)) if second != first else (0, 0),
        )
        multiset[key] += 1
        frames_of[key].append(entry["frames"])
    return multiset, frames_of, dict(skipped)


def run_tshark(tshark: str, path: str, config_dir: str) -> dict[str, Any]:
    """Run tshark on one file: status 'ok', 'partial' or 'error', plus its rows."""
    env = dict(os.environ, WIRESHARK_CONFIG_DIR=config_dir)
    try:
        result = subprocess.run(
            tshark_command(tshark, path),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=TOOL_TIMEOUT_S,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"status": "error", "message": f"tshark timed out after {TOOL_TIMEOUT_S}s", "rows": []}
    except OSError as error:
        return {"status": "error", "message": f"cannot run tshark: {error}", "rows": []}
    rows = parse_tshark_rows(result.stdout)
    message = clean_stderr(result.stderr).replace(f'"{path}"', "<file>")
    if result.returncode == 0:
        return {"status": "ok", "message": message, "rows": rows}
    if rows:
        return {"status": "partial", "message": message or f"exit {result.returncode}", "rows": rows}
    return {"status": "error", "message": message or f"exit {result.returncode}", "rows": []}


# --------------------------------------------------------------------------
# sfbflow side
# --------------------------------------------------------------------------


def sfbflow_flows(stdout: str) -> tuple[collections.Counter, int]:
    """Multiset of flow keys from sfbflow's JSONL, and the number of records ignored."""
    multiset: collections.Counter = collections.Counter()
    ignored = 0
    for line in stdout.splitlines():
        if not line.strip():
            continue
        record = json.loads(line)  # ValueError is handled by the caller
        try:
            transport = str(record["transport"]).lower()
            initiator = (norm_ip(record["initiator_ip"]), int(record["initiator_port"]))
            responder = (norm_ip(record["responder_ip"]), int(record["responder_port"]))
            counts_i = (int(record["initiator_packets"]), int(record["initiator_bytes"]))
            counts_r = (int(record["responder_packets"]), int(record["responder_bytes"]))
        except (KeyError, TypeError, ValueError):
            ignored += 1
            continue
        multiset[flow_key(transport, initiator, responder, counts_i, counts_r)] += 1
    return multiset, ignored


def run_sfbflow(sfbflow: str, path: str) -> dict[str, Any]:
    """Run sfbflow on one file: status 'ok' or 'error', exit code, flows."""
    command = [sfbflow, "classify", path, "--jsonl", "--quiet", "--idle-timeout", "0"]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, errors="replace", timeout=TOOL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return {"status": "error", "exit": None, "message": f"timed out after {TOOL_TIMEOUT_S}s", "flows": None}
    except OSError as error:
        return {"status": "error", "exit": None, "message": f"cannot run sfbflow: {error}", "flows": None}
    stderr_tail = "\n".join(result.stderr.strip().splitlines()[-5:])
    if result.returncode not in (0, 1):
        return {"status": "error", "exit": result.returncode, "message": stderr_tail, "flows": None}
    try:
        flows, ignored = sfbflow_flows(result.stdout)
    except ValueError as error:
        return {"status": "error", "exit": result.returncode, "message": f"bad JSONL: {error}", "flows": None}
    return {
        "status": "ok",
        "exit": result.returncode,
        "message": stderr_tail,
        "flows": flows,
        "ignored_records": ignored,
    }


# --------------------------------------------------------------------------
# Comparison and reporting
# --------------------------------------------------------------------------


def first_difference(tshark: collections.Counter, sfbflow: collections.Counter) -> str:
    """A short description of the first endpoint pair on which the sides differ."""
    only_t = tshark - sfbflow
    only_s = sfbflow - tshark
    pairs = sorted(
        {key[:3] for key in list(only_t) + list(only_s)},
        key=lambda p: (p[0], endpoint_sort_key(p[1]), endpoint_sort_key(p[2])),
    )
    if not pairs:
        return ""
    pair = pairs[0]

    def side(counter: collections.Counter) -> str:
        entries = [f"{k[3]}/{k[4]} pkts {k[5]}/{k[6]} B" + (f" x{n}" if n > 1 else "")
                   for k, n in sorted(counter.items()) if k[:3] == pair]
        return "; ".join(entries) if entries else "none"

    transport, a, b = pair
    return (
        f"first difference: {transport} {fmt_endpoint(a)} <-> {fmt_endpoint(b)}: "
        f"tshark [{side(tshark)}] vs sfbflow [{side(sfbflow)}]"
    )


def compare_file(path: str, tshark: str, sfbflow: str, config_dir: str) -> dict[str, Any]:
    """Run both tools on one file and compare; returns the file's report entry."""
    report: dict[str, Any] = {"file": path}
    t = run_tshark(tshark, path, config_dir)
    report["tshark_status"] = t["status"]
    if t["message"]:
        report["tshark_message"] = t["message"]
    s = run_sfbflow(sfbflow, path)
    report["sfbflow_exit"] = s["exit"]
    if s["message"]:
        report["sfbflow_message"] = s["message"]
    report["tshark_reads"] = t["status"] != "error"
    report["sfbflow_crashed"] = s["exit"] not in (0, 1, 2)

    if t["status"] == "error":
        report["status"] = "tshark-error"
        report["tshark_streams"] = None
    else:
        t_flows, frames_of, skipped = tshark_streams(t["rows"])
        report["tshark_frames"] = len(t["rows"])
        report["tshark_streams"] = sum(t_flows.values())
        report["tshark_skipped_frames"] = skipped
    if s["status"] == "error":
        report["sfbflow_flows"] = None
        if t["status"] != "error":
            report["status"] = "sfbflow-error"
        return report
    report["sfbflow_flows"] = sum(s["flows"].values())
    if s.get("ignored_records"):
        report["sfbflow_ignored_records"] = s["ignored_records"]
    if t["status"] == "error":
        return report

    if t_flows == s["flows"]:
        report["status"] = "agree"
        return report
    report["status"] = "DIFFER"
    report["first_difference"] = first_difference(t_flows, s["flows"])
    only_t = t_flows - s["flows"]
    only_s = s["flows"] - t_flows
    report["only_tshark"] = [
        {"flow": fmt_key(k), "count": n, "frames": [f[:40] for f in frames_of[k]]}
        for k, n in sorted(only_t.items())
    ]
    report["only_sfbflow"] = [{"flow": fmt_key(k), "count": n} for k, n in sorted(only_s.items())]
    return report


def format_line(entry: dict[str, Any]) -> str:
    details = []
    if entry.get("tshark_streams") is not None:
        details.append(f"tshark {entry['tshark_streams']} streams")
    if entry.get("sfbflow_flows") is not None:
        details.append(f"sfbflow {entry['sfbflow_flows']} flows")
    if entry["status"] == "tshark-error":
        details.append("tshark: " + entry.get("tshark_message", "").replace("\n", " ")[:160])
        details.append(f"sfbflow exit {entry['sfbflow_exit']}")
    if entry["status"] == "sfbflow-error":
        message = entry.get("sfbflow_message", "").replace("\n", " ")[:160]
        details.append(f"sfbflow exit {entry['sfbflow_exit']}: {message}")
    if entry.get("tshark_status") == "partial":
        details.append("tshark_partial: " + entry.get("tshark_message", "").replace("\n", " ")[:120])
    if entry.get("expected_differ"):
        details.append("expected difference")
    if entry.get("first_difference"):
        details.append(entry["first_difference"])
    return f"{entry['status']:<13} {entry['file']}  ({', '.join(details)})"


def summarise(entries: list[dict[str, Any]]) -> dict[str, Any]:
    counts = collections.Counter(entry["status"] for entry in entries)
    read = [entry for entry in entries if entry["tshark_reads"]]
    return {
        "files": len(entries),
        "compared": len(read),
        "agree": counts["agree"],
        "differ": counts["DIFFER"],
        "tshark_error": counts["tshark-error"],
        "sfbflow_error": counts["sfbflow-error"],
        "tshark_partial": sum(1 for entry in entries if entry.get("tshark_status") == "partial"),
        "sfbflow_crashed": sum(1 for entry in entries if entry["sfbflow_crashed"]),
        "expected_differ": sum(1 for entry in entries if entry.get("expected_differ")),
    }


def parse_expectation(text: str) -> tuple[str, list[str] | None]:
    """'SUBSTRING' or 'SUBSTRING=ENDPOINT,ENDPOINT' -> (substring, endpoints or None)."""
    substring, sep, endpoints = text.partition("=")
    return substring, ([e.strip() for e in endpoints.split(",") if e.strip()] if sep else None)


def difference_expected(entry: dict[str, Any], expectations: list[tuple[str, list[str] | None]]) -> bool:
    """True when one expectation covers every flow on which this DIFFER file differs."""
    records = [r["flow"] for r in entry.get("only_tshark", []) + entry.get("only_sfbflow", [])]
    for substring, endpoints in expectations:
        if substring not in entry["file"]:
            continue
        if endpoints is None:
            return True
        if all(any(f" {e} " in f" {r} " for e in endpoints) for r in records):
            return True
    return False


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Compare sfbflow's flows with tshark's TCP/UDP streams (see the module docstring)."
    )
    parser.add_argument("--sfbflow", default="sfbflow", help="sfbflow binary (default: sfbflow on PATH)")
    parser.add_argument("--tshark", default="tshark", help="tshark binary (default: tshark on PATH)")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 if any file tshark reads differs or makes sfbflow fail")
    parser.add_argument("--json", metavar="REPORT", help="write a machine-readable report here")
    parser.add_argument("--expect-differ", metavar="SUBSTRING[=ENDPOINT,...]", action="append", default=[],
                        help="files whose path contains SUBSTRING may differ (only on flows naming "
                             "one of the ENDPOINTs, if given) without failing --strict")
    parser.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    tshark = shutil.which(args.tshark)
    if tshark is None:
        print(f"tshark_compare: tshark not found ({args.tshark})", file=sys.stderr)
        return 2
    sfbflow = shutil.which(args.sfbflow) or args.sfbflow
    if not os.path.exists(sfbflow):
        print(f"tshark_compare: sfbflow not found ({args.sfbflow})", file=sys.stderr)
        return 2
    files = find_captures(args.paths)
    expectations = [parse_expectation(text) for text in args.expect_differ]
    version = tshark_version(tshark)
    print(f"# {version}; sfbflow: {sfbflow}; {len(files)} capture files", flush=True)

    entries = []
    with tempfile.TemporaryDirectory(prefix="tshark-compare-config-") as config_dir:
        for path in files:
            entry = compare_file(path, tshark, sfbflow, config_dir)
            if entry["status"] == "DIFFER" and difference_expected(entry, expectations):
                entry["expected_differ"] = True
            elif entry["status"] == "agree" and any(sub in path for sub, _ in expectations):
                entry["stale_expectation"] = True
            entries.append(entry)
            print(format_line(entry), flush=True)

    summary = summarise(entries)
    print(
        f"summary: {summary['files']} files: {summary['agree']} agree, {summary['differ']} DIFFER, "
        f"{summary['tshark_error']} tshark-error, {summary['sfbflow_error']} sfbflow-error "
        f"({summary['tshark_partial']} read only partly by tshark, "
        f"{summary['sfbflow_crashed']} sfbflow crashes, {summary['expected_differ']} expected to differ); "
        f"agreement {summary['agree']}/{summary['compared']} of files tshark reads"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"tshark_version": version, "sfbflow": sfbflow, "summary": summary, "files": entries},
                      handle, indent=1, sort_keys=False)
            handle.write("\n")

    for entry in entries:
        if entry.get("stale_expectation"):
            print(f"tshark_compare: {entry['file']} agrees now although expected to differ: "
                  "drop its --expect-differ", file=sys.stderr)
    if args.strict:
        failed = [
            e for e in entries
            if (e["tshark_reads"] and e["status"] != "agree" and not e.get("expected_differ"))
            or e["sfbflow_crashed"]
        ]
        if failed or summary["compared"] == 0:
            reason = f"{len(failed)} failing files" if failed else "no file was compared"
            print(f"tshark_compare: --strict: {reason}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
