#!/usr/bin/env python3
"""Cross-check sfbflow's payload verdicts (app_protocol and friends) against tshark's dissection.

Usage:
    tshark_protocols.py [--sfbflow PATH] [--tshark PATH] [--json REPORT] FILE_OR_DIR...
    tshark_protocols.py --self-test [--sfbflow PATH] [--tshark PATH] [--json REPORT]

For every capture file (directories are searched recursively, as tshark_compare.py
does) the script runs ``sfbflow classify FILE --jsonl --quiet --idle-timeout 0``
and one tshark pass, pairs sfbflow's flows with tshark's TCP/UDP streams with
tshark_compare.py's matching (imported, not copied), and compares per flow what
the payload is.

Matching
--------
tshark_compare.tshark_streams() turns tshark's rows into flows keyed by
(transport, endpoint pair, packets and bytes sent by each endpoint), with the
frame numbers of each stream; every sfbflow record gets the same key from
tshark_compare.flow_key().  Equal keys pair up (several streams with one key pair
in time order).  What is left is paired loosely when exactly one tshark stream
and one sfbflow flow remain for the same (transport, endpoint pair) in the file
(their counts differ: a flow-accounting difference tshark_compare.py reports);
such pairs are flagged ``loose``.  Anything still unpaired is counted, not
compared.

tshark's settings
-----------------
tshark_compare.py's command (``-n``, ``tcp.analyze_sequence_numbers``, a fresh
empty WIRESHARK_CONFIG_DIR, so otherwise default preferences) plus the
heuristic dissectors ``rtp_udp``, ``rtcp_udp``, ``stun_udp``, ``stun_tcp``,
``classicstun_udp`` and ``classicstun_tcp`` switched on with
``--enable-heuristic`` (those that ``tshark -G heuristic-decodes`` lists; in
tshark 4.0 rtp_udp is the one off by default), and ``-o
rtp.heuristic_rtp:TRUE`` / ``-o rtcp.heuristic_rtcp:TRUE`` on old versions
whose ``-G defaultprefs`` still has those preferences.  The flow keys come from
the same pass: the heuristics do not add or remove tcp/udp layers.

tshark's verdict per flow
-------------------------
Frame verdict.  Only frames carrying the flow's transport header vote (IP
fragments other than the one that completes a datagram do not).  The FIRST
layer after the frame's innermost tcp/udp in ``frame.protocols`` (``data`` and
``_ws.*`` skipped) decides the frame, mapped to sfbflow's vocabulary:

    sip                          -> SIP
    tls, ssl                     -> TLS
    stun, classicstun            -> STUN family (kind below)
    turnchannel                  -> STUN family, TURN
    rtp, srtp                    -> RTP   (rtp:rtcp, RFC 5761 mux, -> RTCP)
    rtcp, srtcp                  -> RTCP
    dns, mdns                    -> DNS
    http                         -> HTTP
    xmpp, jabber                 -> XMPP
    dtls                         -> DTLS (sfbflow has no DTLS: its "unknown")
    anything else (nbns, quic..) -> other:NAME, "unknown" for sfbflow

The outermost layer wins because the inner ones are what it carries (SDP in
SIP, RTP relayed in a TURN ChannelData or Data indication, XML in HTTP, TLS in
QUIC): sfbflow names the carrier too.  These frames do not vote:
  - nothing or only ``data`` after tcp/udp (a pure ACK, a TCP segment tshark
    reassembles into a later frame, bytes no dissector took);
  - a ``tls``/``ssl`` layer without tls.record.content_type or
    tls.handshake.type, an ``http`` layer without http.request/http.response:
    tshark's port table hands anything on 443 or 80 to those dissectors, which
    then add an empty layer;
  - an RTP frame of the heuristic (rtp.setup-method absent or "HEUR RTP") whose
    SSRC occurs in fewer than 3 RTP frames of the flow (the heuristic accepts
    single datagrams whose first two bits are 2).  RTP set up by signalling
    (SDP, Skinny, ...) always votes.

STUN kind of a frame: MS-TURN when ``stun.network_version`` is 1 (tshark's own
MS-TURN detection: no magic cookie, MAGIC-COOKIE first) or an attribute type in
``stun.att.type``/``classicstun.att.type`` is one that only [MS-TURN] defines:
MAGIC-COOKIE 0x000F, MS-VERSION 0x8008, MS-SEQUENCE-NUMBER 0x8050,
MS-SERVICE-QUALITY 0x8055, MS-MULTIPLEXED-TURN-SESSION-ID 0x8095 (MS-ICE2
attributes seen in ICE checks, such as 0x8070 or 0x8037, do not count); else
TURN when ``stun.type.method`` is a TURN method (Allocate 0x003, Refresh/Send
0x004, Send 0x006, Data 0x007, CreatePermission 0x008, ChannelBind 0x009), the
frame is ChannelData (``stun.channel``, ``turnchannel``) or ``classicstun.type``
is one of the old TURN types (Allocate, Send, Data Indication, Set Active
Destination); else STUN.  The flow's kind is the strongest kind of its frames
(MS-TURN > TURN > STUN), as sfbflow keeps it.

Flow verdict.  The label with the most votes among the flow's frames, where
  - STUN-family frames do not vote when the flow also has RTP or RTCP frames
    (ICE checks followed by media on the same 5-tuple count as media, as in
    sfbflow);
  - DTLS frames do not vote when the flow also has STUN-family, RTP or RTCP
    frames (the DTLS-SRTP key exchange of a WebRTC media session);
so only a flow that is DTLS and nothing else is tshark-"DTLS", compared as
sfbflow's "unknown".  Ties go to the first of SIP, HTTP, XMPP, DNS, TLS, DTLS,
RTP, RTCP, STUN, other.  The STUN family becomes the flow's kind (STUN, TURN or
MS-TURN); other:NAME is compared as "unknown"; a flow with no vote is "unknown"
with a reason: ``no payload`` (no frame carries a payload byte), ``empty tls
layer``, ``unconfirmed rtp`` or ``undissected``.

Columns
-------
Besides app_protocol, these columns are compared when sfbflow's records have
them (a column absent from the records is "not reported by sfbflow"; a column
present but null in every flow of the run is reported as "not filled yet" and
its per-flow misses are left out of the flow lines).  tshark's values come only
from the frames of the matching label (TLS values from TLS frames, so not from
QUIC; SIP from SIP frames; DNS from DNS frames):

    tls_sni         tls.handshake.extensions_server_name; case-insensitive, a
                    trailing dot ignored.
    tls_version     the version the ServerHello chose (its supported_versions
                    extension when that names a known version, else its version
                    field); without a ServerHello, the highest version the
                    ClientHello offered (GREASE skipped).  Compared as
                    "1.0".."1.3"/"ssl3" (TLS 1.2, TLSv1.2, 0x0303 all read 1.2).
    sip_call_id     sip.Call-ID of the flow's SIP frames; for a flow without
                    SIP frames, the Call-ID of the frames that rtp.setup-frame /
                    rtcp.setup-frame name (the SIP message whose SDP announced
                    the media).  Exact match with any of them.
    sip_method      the first sip.Method (requests only) in frame order.
    sip_user_agent  the first sip.User-Agent or sip.Server, exact.
    stun_seen       the flow's STUN kind (present when a frame is STUN-family,
    (stun_kind)     also when media followed).  Case, '-' and '_' ignored.
    stun_method     the first STUN-family frame's message: "ChannelData", or
                    method and class ("Binding request", "Allocate error
                    response 401"), also read by its [MS-TURN]/RFC 3489 type
                    name (0x0115 "Data indication").  Case and spaces ignored.
    rtp_codec       for a flow tshark calls RTP, the payload types of its RTP
                    frames, as sfbflow names them: the RFC 3551 name of a static type (PCMU, G722, ...),
                    else "dynamic(N)"; sfbflow's value may be any of them.
    dns_query       the first dns.qry.name of the flow's DNS frames;
                    case-insensitive ("<Root>" is the root name).

tls_cert_subject, tls_cert_sans and cert_problem are not compared.  Per flow and
column the outcome is agree, differ (both have values, none in common),
sfbflow null (tshark has a value, sfbflow's column is null), sfbflow only
(sfbflow has a value tshark does not see) or not reported.

Output
------
On stdout, one line per disagreeing flow (app_protocol differs, a column
differs, sfbflow reports a value tshark does not see, or sfbflow leaves null a
column it fills elsewhere in the run)::

    FILE  udp 10.0.0.1:5000 -> 10.0.0.2:3478  app: tshark RTP [rtp 120, stun 4] / sfbflow STUN; sip_call_id: ...

(initiator -> responder as sfbflow reports them), then a table per tshark
verdict (flows; sfbflow says the same; something else; unknown), the most
frequent pairs (tshark X, sfbflow Y), the columns, and the agreement figure
"agreement A/N flows".  Progress and per-file problems go to stderr.
``--json REPORT`` writes every compared flow with both verdicts, tshark's votes
and frame numbers, plus the summary.

--self-test runs a few checks of the verdict rule on made-up frames, then the
whole comparison over the project's captures/ directory; it exits 1 when the
script fails, sfbflow crashes, or no flow could be compared, and 77 (skipped)
when tshark is not installed.  The sfbflow binary is --sfbflow, else $SFBFLOW,
else sfbflow on PATH, else target/release or target/debug under
$CARGO_TARGET_DIR or the repository.

Exit status: 0 (disagreements do not fail a run); 1 when nothing was compared;
2 on usage errors.  Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_compare as tc  # noqa: E402  (the flow matching is tshark_compare.py's)

# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

#: tshark layer name -> frame label.  "STUN" stands for the whole STUN family.
APP_LAYERS = {
    "sip": "SIP",
    "tls": "TLS",
    "ssl": "TLS",
    "stun": "STUN",
    "classicstun": "STUN",
    "turnchannel": "STUN",
    "rtp": "RTP",
    "srtp": "RTP",
    "rtcp": "RTCP",
    "srtcp": "RTCP",
    "dns": "DNS",
    "mdns": "DNS",
    "http": "HTTP",
    "xmpp": "XMPP",
    "jabber": "XMPP",
    "dtls": "DTLS",
}
#: Layers after tcp/udp that say nothing about the payload.
NON_VOTING_LAYERS = {"data"}
#: A layer tshark's port table hands the bytes to counts only when the dissector found its
#: message in them (tshark adds an empty "tls" layer to anything on 443, "http" to anything on 80).
LAYER_EVIDENCE = {
    "tls": ("tls.record.content_type", "tls.handshake.type"),
    "ssl": ("tls.record.content_type", "tls.handshake.type"),
    "http": ("http.request", "http.response"),
}
#: Tie-break order of flow labels (first wins); "other:*" comes last.
LABEL_PRIORITY = ["SIP", "HTTP", "XMPP", "DNS", "TLS", "DTLS", "RTP", "RTCP", "STUN"]
#: sfbflow's app_protocol vocabulary, in table order.
SFBFLOW_VOCABULARY = ["SIP", "TLS", "STUN", "TURN", "MS-TURN", "RTP", "RTCP", "DNS", "HTTP", "XMPP", "unknown"]
STUN_FAMILY = ("STUN", "TURN", "MS-TURN")
STUN_KIND_RANK = {"STUN": 0, "TURN": 1, "MS-TURN": 2}

#: Attribute types only [MS-TURN] defines (not MS-ICE2's, which ICE checks carry).
MS_TURN_ATTRIBUTES = {0x000F, 0x8008, 0x8050, 0x8055, 0x8095}
#: TURN methods (RFC 5766/8656; 0x004 is also MS-TURN's Send).
TURN_METHODS = {0x003, 0x004, 0x006, 0x007, 0x008, 0x009}
#: RFC 3489-era message types of TURN drafts / MS-TURN as classicstun decodes them.
CLASSIC_TURN_TYPES = {0x0003, 0x0103, 0x0113, 0x0004, 0x0104, 0x0114, 0x0115, 0x0006, 0x0106, 0x0116}
#: RTP frames with one SSRC a flow needs before the RTP heuristic's frames vote (frames of a
#: stream an SDP announced, with rtp.setup-frame, always vote).
RTP_MIN_SSRC_FRAMES = 3
#: Static RTP payload types (RFC 3551 table 4 and 5).
STATIC_PAYLOAD_TYPES = {
    0: "PCMU", 3: "GSM", 4: "G723", 5: "DVI4", 6: "DVI4", 7: "LPC", 8: "PCMA", 9: "G722",
    10: "L16", 11: "L16", 12: "QCELP", 13: "CN", 14: "MPA", 15: "G728", 16: "DVI4", 17: "DVI4",
    18: "G729", 25: "CelB", 26: "JPEG", 28: "nv", 31: "H261", 32: "MPV", 33: "MP2T", 34: "H263",
}

#: Heuristic dissectors switched on when tshark has them.
WANTED_HEURISTICS = ("rtp_udp", "rtcp_udp", "stun_udp", "stun_tcp", "classicstun_udp", "classicstun_tcp")
#: Preferences of older tshark versions that gate the RTP/RTCP heuristics.
OLD_HEURISTIC_PREFS = ("rtp.heuristic_rtp", "rtcp.heuristic_rtcp")

#: Extra -T fields columns, after tshark_compare.FIELDS.
EXTRA_FIELDS = [
    "tcp.len",
    "udp.length",
    "stun.type.method",
    "stun.channel",
    "stun.att.type",
    "stun.network_version",
    "classicstun.type",
    "classicstun.att.type",
    "tls.handshake.type",
    "tls.handshake.version",
    "tls.handshake.extensions.supported_version",
    "tls.handshake.extensions_server_name",
    "sip.Call-ID",
    "rtp.setup-frame",
    "rtcp.setup-frame",
    "rtp.p_type",
    "stun.type",
    "stun.type.class",
    "stun.att.error.class",
    "stun.att.error",
    "sip.Method",
    "sip.User-Agent",
    "sip.Server",
    "dns.qry.name",
    "tls.record.content_type",
    "http.request",
    "http.response",
    "rtp.ssrc",
    "rtp.setup-method",
]
ALL_FIELDS = tc.FIELDS + EXTRA_FIELDS

#: Frame numbers kept per flow in the JSON report.
JSON_FRAMES = 20
#: Values kept per tshark column value set in lines and JSON.
JSON_VALUES = 10


# --------------------------------------------------------------------------
# tshark
# --------------------------------------------------------------------------


def run_quiet(command: list[str], env: dict[str, str] | None = None) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, errors="replace",
                                timeout=120, check=False, env=env)
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout


def heuristic_options(tshark: str, config_dir: str) -> list[str]:
    """--enable-heuristic / -o options for the RTP, RTCP, STUN and classic STUN heuristics."""
    env = dict(os.environ, WIRESHARK_CONFIG_DIR=config_dir)
    available = set()
    for line in run_quiet([tshark, "-G", "heuristic-decodes"], env).splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            available.add(f"{parts[1]}_{parts[0]}")
    options: list[str] = []
    for name in WANTED_HEURISTICS:
        if name in available:
            options += ["--enable-heuristic", name]
    prefs = run_quiet([tshark, "-G", "defaultprefs"], env)
    for pref in OLD_HEURISTIC_PREFS:
        if re.search(rf"^#?{re.escape(pref)}:", prefs, re.MULTILINE):
            options += ["-o", f"{pref}:TRUE"]
    return options


def tshark_command(tshark: str, path: str, options: list[str]) -> list[str]:
    command = tc.tshark_command(tshark, path)
    command[1:1] = options
    for field in EXTRA_FIELDS:
        command += ["-e", field]
    return command


def parse_rows(stdout: str) -> list[dict[str, str]]:
    rows = []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        values = line.split("\t")
        values += [""] * (len(ALL_FIELDS) - len(values))
        rows.append(dict(zip(ALL_FIELDS, values)))
    return rows


def run_tshark(tshark: str, path: str, config_dir: str, options: list[str]) -> dict[str, Any]:
    """One tshark pass: status 'ok', 'partial' or 'error', and its rows."""
    env = dict(os.environ, WIRESHARK_CONFIG_DIR=config_dir)
    try:
        result = subprocess.run(tshark_command(tshark, path, options), capture_output=True, text=True,
                                errors="replace", timeout=tc.TOOL_TIMEOUT_S, env=env, check=False)
    except subprocess.TimeoutExpired:
        return {"status": "error", "message": f"tshark timed out after {tc.TOOL_TIMEOUT_S}s", "rows": []}
    except OSError as error:
        return {"status": "error", "message": f"cannot run tshark: {error}", "rows": []}
    rows = parse_rows(result.stdout)
    message = tc.clean_stderr(result.stderr).replace(f'"{path}"', "<file>")
    if result.returncode == 0:
        return {"status": "ok", "message": message, "rows": rows}
    if rows:
        return {"status": "partial", "message": message or f"exit {result.returncode}", "rows": rows}
    return {"status": "error", "message": message or f"exit {result.returncode}", "rows": []}


# --------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------


def hex_values(text: str) -> list[int]:
    values = []
    for item in tc.split_multi(text):
        try:
            values.append(int(item, 0))
        except ValueError:
            pass
    return values


def int_values(text: str) -> list[int]:
    return [int(item) for item in tc.split_multi(text) if item.isdigit()]


def frame_payload(transport: str, layers: list[str], index: int, row: dict[str, str]) -> int:
    """Payload bytes of the frame's innermost transport (-1 when tshark gives no length)."""
    occurrence = layers[: index + 1].count(transport)
    if transport == "tcp":
        value = tc.pick(tc.split_multi(row.get("tcp.len", "")), occurrence)
        return int(value) if value and value.isdigit() else -1
    value = tc.pick(tc.split_multi(row.get("udp.length", "")), occurrence)
    return max(int(value) - 8, 0) if value and value.isdigit() else -1


def stun_frame_kind(after: list[str], row: dict[str, str]) -> str:
    """STUN, TURN or MS-TURN for a STUN-family frame (see the module docstring)."""
    attributes = set(hex_values(row.get("stun.att.type", ""))) | set(hex_values(row.get("classicstun.att.type", "")))
    if 1 in int_values(row.get("stun.network_version", "")) or attributes & MS_TURN_ATTRIBUTES:
        return "MS-TURN"
    methods = set(hex_values(row.get("stun.type.method", "")))
    if (methods & TURN_METHODS or row.get("stun.channel") or "turnchannel" in after
            or set(hex_values(row.get("classicstun.type", ""))) & CLASSIC_TURN_TYPES):
        return "TURN"
    return "STUN"


def frame_info(row: dict[str, str]) -> dict[str, Any] | None:
    """What one frame says: its label (or None), STUN kind, payload size; None without tcp/udp."""
    layers = row["frame.protocols"].split(":")
    found = tc.innermost_transport(layers)
    if isinstance(found, str):
        return None
    transport, index = found
    after = [layer for layer in layers[index + 1:] if layer and not layer.startswith("_ws.")]
    label = empty = None
    named = [layer for layer in after if layer not in NON_VOTING_LAYERS]
    if named[:2] == ["rtp", "rtcp"]:
        named = named[1:]  # RTP hands an RTCP packet of a muxed (RFC 5761) session to RTCP
    if named and named[0] in APP_LAYERS:
        evidence = LAYER_EVIDENCE.get(named[0])
        if evidence and not any(row.get(field) for field in evidence):
            empty = named[0]  # handed the bytes by port, found nothing: does not vote
        else:
            label = APP_LAYERS[named[0]]
    elif named:
        label = "other:" + named[0]
    info: dict[str, Any] = {
        "label": label,
        "empty": empty,
        "ssrc": (tc.split_multi(row.get("rtp.ssrc", "")) or [None])[0] if label == "RTP" else None,
        # set up by signalling (SDP, Skinny, ...), not by the heuristic itself ("HEUR RTP")
        "setup": bool(row.get("rtp.setup-method")) and "HEUR" not in row.get("rtp.setup-method", "").upper(),
        "payload": frame_payload(transport, layers, index, row),
        "stun_kind": stun_frame_kind(after, row) if label == "STUN" else None,
    }
    return info


def label_order(label: str) -> int:
    return LABEL_PRIORITY.index(label) if label in LABEL_PRIORITY else len(LABEL_PRIORITY)


def flow_verdict(frames: list[dict[str, Any]]) -> dict[str, Any]:
    """tshark's verdict for a flow from its frames' infos (see the module docstring).

    Returns label (display: SIP, ..., STUN/TURN/MS-TURN, DTLS, other:NAME, unknown),
    expected (the sfbflow app_protocol it corresponds to), why (for unknown),
    votes, and stun_kind (the STUN family kind, None without STUN-family frames).
    """
    ssrcs = collections.Counter(f.get("ssrc") for f in frames if f["label"] == "RTP")
    votes: collections.Counter = collections.Counter()
    unconfirmed = 0
    for frame in frames:
        if frame["label"] == "RTP" and not frame.get("setup") and ssrcs[frame.get("ssrc")] < RTP_MIN_SSRC_FRAMES:
            unconfirmed += 1  # a lone RTP-looking datagram: the heuristic alone is not enough
        elif frame["label"]:
            votes[frame["label"]] += 1
    kinds = [f["stun_kind"] for f in frames if f.get("stun_kind")]
    stun_kind = max(kinds, key=lambda k: STUN_KIND_RANK[k]) if kinds else None
    shown = dict(votes, **({"rtp?": unconfirmed} if unconfirmed else {}))
    verdict: dict[str, Any] = {"votes": shown, "stun_kind": stun_kind, "why": None}
    counted = collections.Counter(votes)
    if counted["RTP"] + counted["RTCP"] > 0:
        counted.pop("STUN", None)  # ICE checks followed by media count as media
    if counted["RTP"] + counted["RTCP"] + counted["STUN"] > 0:
        counted.pop("DTLS", None)  # DTLS-SRTP key exchange of the media session
    counted = +counted
    if not counted:
        payload = any(f["payload"] != 0 for f in frames)
        empty = sorted({f["empty"] for f in frames if f.get("empty")})
        why = (f"empty {'/'.join(empty)} layer" if empty else "unconfirmed rtp" if unconfirmed
               else "undissected" if payload else "no payload")
        verdict.update(label="unknown", expected="unknown", why=why)
        return verdict
    best = min(counted, key=lambda label: (-counted[label], label_order(label), label))
    if best == "STUN":
        verdict.update(label=stun_kind, expected=stun_kind)
    elif best == "DTLS" or best.startswith("other:"):
        verdict.update(label=best, expected="unknown")
    else:
        verdict.update(label=best, expected=best)
    return verdict


def table_row(verdict: dict[str, Any]) -> str:
    """The summary-table row of a tshark verdict: the vocabulary, DTLS, or unknown."""
    label = verdict["label"]
    if label in SFBFLOW_VOCABULARY or label == "DTLS":
        return label
    return "unknown"


# --------------------------------------------------------------------------
# Column values
# --------------------------------------------------------------------------

TLS_VERSION_CODES = {0x0300: "ssl3", 0x0301: "1.0", 0x0302: "1.1", 0x0303: "1.2", 0x0304: "1.3"}


def norm_tls_version(value: Any) -> str | None:
    """'1.0'..'1.3' or 'ssl3' from 0x0303, 771, 'TLSv1.2', 'TLS 1.2', '1.2', 'TLS1_2'..."""
    if value is None:
        return None
    if isinstance(value, int):
        return TLS_VERSION_CODES.get(value, str(value))
    text = str(value).strip().lower()
    if re.fullmatch(r"0x[0-9a-f]{1,4}", text) or text.isdigit():
        return TLS_VERSION_CODES.get(int(text, 0), text)
    if "ssl" in text and "3" in text:
        return "ssl3"
    match = re.search(r"1[._ ]?([0-3])\b", text.replace("tlsv", "").replace("tls", ""))
    return f"1.{match.group(1)}" if match else text


def is_grease(version: int) -> bool:
    return version & 0x0F0F == 0x0A0A


def tls_version_of(rows: list[dict[str, str]]) -> str | None:
    """The version a ServerHello chose, else the highest a ClientHello offered."""
    chosen = offered = None
    for row in rows:
        types = int_values(row.get("tls.handshake.type", ""))
        supported = [v for v in hex_values(row.get("tls.handshake.extensions.supported_version", ""))
                     if not is_grease(v)]
        versions = hex_values(row.get("tls.handshake.version", ""))
        if 2 in types and chosen is None:
            picked = [v for v in supported if v in TLS_VERSION_CODES][:1] or versions[:1]
            if picked:
                chosen = picked[0]
        elif 1 in types and offered is None:
            picked = max(supported) if supported else (versions[0] if versions else None)
            if picked is not None:
                offered = picked
    version = chosen if chosen is not None else offered
    return norm_tls_version(version) if version is not None else None


#: STUN method names (IANA registry), as sfbflow spells them.
STUN_METHODS = {
    0x001: "Binding", 0x002: "SharedSecret", 0x003: "Allocate", 0x004: "Refresh", 0x006: "Send",
    0x007: "Data", 0x008: "CreatePermission", 0x009: "ChannelBind", 0x00A: "Connect",
    0x00B: "ConnectionBind", 0x00C: "ConnectionAttempt", 0x080: "GOOG-PING",
}
#: stun.type.class values (the class bits as tshark shows them).
STUN_CLASSES = {0x00: "request", 0x01: "indication", 0x10: "success response", 0x11: "error response"}
#: Message types as [MS-TURN] 2.2.1 (and RFC 3489 / classicstun) name them.
CLASSIC_TYPES = {
    0x0001: "Binding request", 0x0101: "Binding success response", 0x0111: "Binding error response",
    0x0002: "SharedSecret request", 0x0102: "SharedSecret success response",
    0x0112: "SharedSecret error response",
    0x0003: "Allocate request", 0x0103: "Allocate success response", 0x0113: "Allocate error response",
    0x0004: "Send request", 0x0104: "Send success response", 0x0114: "Send error response",
    0x0115: "Data indication", 0x0006: "SetActiveDestination request",
    0x0106: "SetActiveDestination success response", 0x0116: "SetActiveDestination error response",
}


def stun_message_names(row: dict[str, str]) -> list[str]:
    """Acceptable names of a STUN-family frame's (first) message: "Binding request",
    "Allocate error response 401", "ChannelData"; the RFC 8489 reading first, then
    the [MS-TURN]/RFC 3489 one of the same type."""
    if row.get("stun.channel"):
        return ["ChannelData"]
    names = []
    code = None
    classes, numbers = int_values(row.get("stun.att.error.class", "")), int_values(row.get("stun.att.error", ""))
    if classes and numbers:
        code = classes[0] * 100 + numbers[0]
    methods, kinds = hex_values(row.get("stun.type.method", "")), hex_values(row.get("stun.type.class", ""))
    if methods and kinds and kinds[0] in STUN_CLASSES:
        names.append(f"{STUN_METHODS.get(methods[0], 'unknown')} {STUN_CLASSES[kinds[0]]}")
    for raw in hex_values(row.get("stun.type", ""))[:1] + hex_values(row.get("classicstun.type", ""))[:1]:
        if raw in CLASSIC_TYPES:
            names.append(CLASSIC_TYPES[raw])
    if code is not None:
        names = [f"{name} {code}" if name.endswith("error response") else name for name in names]
    return list(dict.fromkeys(names))


def first_value(rows: list[dict[str, str]], *fields: str, split: bool = True) -> str | None:
    """The first value of the first frame (in frame order) that has one of `fields`."""
    for row in rows:
        for field in fields:
            text = row.get(field, "")
            if text:
                return (tc.split_multi(text) or [None])[0] if split else text
    return None


def norm_name(value: Any) -> str:
    return re.sub(r"[^0-9a-z.]", "", str(value).strip().lower())


def norm_dns_name(value: Any) -> str:
    text = str(value).strip().rstrip(".").lower()
    return "" if text == "<root>" else text


def rtp_codec_names(pt: int) -> str:
    """The codec name sfbflow gives a payload type: RFC 3551 name, or dynamic(N)."""
    return STATIC_PAYLOAD_TYPES.get(pt, f"dynamic({pt})")


#: Per column: how tshark's values are compared with sfbflow's one (see the docstring).
COMPARE = {
    "tls_sni": lambda t, s: norm_dns_name(s) in {norm_dns_name(v) for v in t},
    "tls_version": lambda t, s: norm_tls_version(s) in {norm_tls_version(v) for v in t},
    "sip_call_id": lambda t, s: str(s).strip() in {v.strip() for v in t},
    "sip_method": lambda t, s: str(s).strip().upper() in {v.strip().upper() for v in t},
    "sip_user_agent": lambda t, s: any(v == s or v.startswith(f"{s},") for v in t),
    "stun_seen": lambda t, s: norm_name(s) in {norm_name(v) for v in t},
    "stun_kind": lambda t, s: norm_name(s) in {norm_name(v) for v in t},
    "stun_method": lambda t, s: norm_name(s) in {norm_name(v) for v in t},
    "rtp_codec": lambda t, s: norm_name(s) in {norm_name(v) for v in t},
    "dns_query": lambda t, s: norm_dns_name(s) in {norm_dns_name(v) for v in t},
}
COLUMNS = tuple(COMPARE)
#: Other names a column may have; only reported missing when its twin is missing too.
ALIASES = {"stun_kind": "stun_seen"}
#: Columns sfbflow writes that this script does not compare (tshark has no one field for them).
NOT_COMPARED = ("tls_cert_subject", "tls_cert_sans", "cert_problem")


def tshark_columns(
    flow_rows: list[dict[str, str]],
    infos: list[dict[str, Any]],
    verdict: dict[str, Any],
    call_ids_of_frame: dict[int, list[str]],
) -> dict[str, list[str] | None]:
    """tshark's acceptable values (a list, or None) per compared column."""
    values: dict[str, list[str] | None] = {}
    tls_rows = [row for row, info in zip(flow_rows, infos) if info["label"] == "TLS"]
    sip_rows = [row for row, info in zip(flow_rows, infos) if info["label"] == "SIP"]
    snis = sorted({v for row in tls_rows for v in tc.split_multi(row.get("tls.handshake.extensions_server_name", ""))})
    values["tls_sni"] = snis or None
    version = tls_version_of(tls_rows)
    values["tls_version"] = [version] if version else None
    call_ids = sorted({v for row in sip_rows for v in tc.split_multi(row.get("sip.Call-ID", ""))})
    if not call_ids:
        setups = {n for row in flow_rows for field in ("rtp.setup-frame", "rtcp.setup-frame")
                  for n in int_values(row.get(field, ""))}
        call_ids = sorted({c for n in setups for c in call_ids_of_frame.get(n, [])})
    values["sip_call_id"] = call_ids or None
    method = first_value(sip_rows, "sip.Method")
    values["sip_method"] = [method] if method else None
    agent = first_value(sip_rows, "sip.User-Agent", "sip.Server", split=False)
    values["sip_user_agent"] = [agent] if agent else None
    kind = verdict["stun_kind"]
    values["stun_seen"] = values["stun_kind"] = [kind] if kind else None
    stun_rows = [row for row, info in zip(flow_rows, infos) if info["label"] == "STUN"]
    values["stun_method"] = (stun_message_names(stun_rows[0]) or None) if stun_rows else None
    types: collections.Counter = collections.Counter()
    for row, info in zip(flow_rows, infos):
        if info["label"] == "RTP" and verdict["label"] == "RTP":
            for pt in int_values(row.get("rtp.p_type", ""))[:1]:
                types[pt] += 1
    ordered = sorted(types, key=lambda p: (-types[p], p))
    values["rtp_codec"] = list(dict.fromkeys(rtp_codec_names(pt) for pt in ordered)) or None
    query = first_value([row for row, info in zip(flow_rows, infos) if info["label"] == "DNS"], "dns.qry.name")
    values["dns_query"] = [query] if query else None
    return values


def column_outcome(column: str, tshark_values: list[str] | None, record: dict[str, Any]) -> str | None:
    """agree / differ / sfbflow null / sfbflow only / not reported, or None when neither has a value."""
    if column not in record:
        return "not reported" if tshark_values else None
    value = record[column]
    if value in (None, ""):
        return "sfbflow null" if tshark_values else None
    if not tshark_values:
        return "sfbflow only"
    return "agree" if COMPARE[column](tshark_values, value) else "differ"


# --------------------------------------------------------------------------
# sfbflow
# --------------------------------------------------------------------------


def run_sfbflow(sfbflow: str, path: str) -> dict[str, Any]:
    """sfbflow's JSON records for one file: status 'ok' or 'error', exit code, records."""
    command = [sfbflow, "classify", path, "--jsonl", "--quiet", "--idle-timeout", "0"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, errors="replace",
                                timeout=tc.TOOL_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return {"status": "error", "exit": None, "message": f"timed out after {tc.TOOL_TIMEOUT_S}s"}
    except OSError as error:
        return {"status": "error", "exit": None, "message": f"cannot run sfbflow: {error}"}
    message = "\n".join(result.stderr.strip().splitlines()[-3:])
    if result.returncode not in (0, 1):
        return {"status": "error", "exit": result.returncode, "message": message}
    records = []
    try:
        for line in result.stdout.splitlines():
            if line.strip():
                records.append(json.loads(line))
    except ValueError as error:
        return {"status": "error", "exit": result.returncode, "message": f"bad JSONL: {error}"}
    return {"status": "ok", "exit": result.returncode, "message": message, "records": records}


def record_key(record: dict[str, Any]) -> tc.FlowKey | None:
    try:
        return tc.flow_key(
            str(record["transport"]).lower(),
            (tc.norm_ip(record["initiator_ip"]), int(record["initiator_port"])),
            (tc.norm_ip(record["responder_ip"]), int(record["responder_port"])),
            (int(record["initiator_packets"]), int(record["initiator_bytes"])),
            (int(record["responder_packets"]), int(record["responder_bytes"])),
        )
    except (KeyError, TypeError, ValueError):
        return None


def record_flow(record: dict[str, Any]) -> str:
    initiator = (str(record.get("initiator_ip")), int(record.get("initiator_port") or 0))
    responder = (str(record.get("responder_ip")), int(record.get("responder_port") or 0))
    return f"{record.get('transport')} {tc.fmt_endpoint(initiator)} -> {tc.fmt_endpoint(responder)}"


# --------------------------------------------------------------------------
# One file
# --------------------------------------------------------------------------


def match_flows(
    rows: list[dict[str, str]], records: list[dict[str, Any]]
) -> tuple[list[tuple[list[int], dict[str, Any], bool]], int, int]:
    """Pairs (tshark frame numbers, sfbflow record, loose) and the unpaired counts per side."""
    _multiset, frames_of, _skipped = tc.tshark_streams(rows)
    by_key: dict[Any, list[dict[str, Any]]] = collections.defaultdict(list)
    unkeyed = 0
    for record in records:
        key = record_key(record)
        if key is None:
            unkeyed += 1
        else:
            by_key[key].append(record)
    pairs: list[tuple[list[int], dict[str, Any], bool]] = []
    left_t: dict[tuple, list[list[int]]] = collections.defaultdict(list)
    left_s: dict[tuple, list[dict[str, Any]]] = collections.defaultdict(list)
    for key, frame_lists in frames_of.items():
        streams = sorted(frame_lists, key=lambda frames: min(frames, default=0))
        flows = sorted(by_key.pop(key, []), key=lambda r: (str(r.get("first_ts")), r.get("flow_id") or 0))
        for frames, record in zip(streams, flows):
            pairs.append((frames, record, False))
        left_t[key[:3]].extend(streams[len(flows):])
        left_s[key[:3]].extend(flows[len(streams):])
    for key, flows in by_key.items():
        left_s[key[:3]].extend(flows)
    unpaired_t = unpaired_s = 0
    for pair in set(left_t) | set(left_s):
        streams, flows = left_t.get(pair, []), left_s.get(pair, [])
        if len(streams) == 1 and len(flows) == 1:
            pairs.append((streams[0], flows[0], True))
        else:
            unpaired_t += len(streams)
            unpaired_s += len(flows)
    return pairs, unpaired_t, unpaired_s + unkeyed


def compare_file(path: str, tshark: str, sfbflow: str, config_dir: str, options: list[str]) -> dict[str, Any]:
    report: dict[str, Any] = {"file": path, "flows": []}
    t = run_tshark(tshark, path, config_dir, options)
    s = run_sfbflow(sfbflow, path)
    report["tshark_status"] = t["status"]
    if t["message"] and t["status"] != "ok":
        report["tshark_message"] = t["message"]
    report["sfbflow_exit"] = s["exit"]
    report["sfbflow_crashed"] = s["exit"] not in (0, 1, 2)
    if s["status"] == "error":
        report["sfbflow_message"] = s["message"]
    if t["status"] == "error" or s["status"] == "error":
        report["status"] = "tshark-error" if t["status"] == "error" else "sfbflow-error"
        return report
    report["status"] = "compared"
    records = s["records"]
    report["columns_present"] = sorted({c for r in records for c in COLUMNS if c in r})
    pairs, unpaired_t, unpaired_s = match_flows(t["rows"], records)
    report["unpaired_tshark"] = unpaired_t
    report["unpaired_sfbflow"] = unpaired_s

    row_of = {}
    call_ids_of_frame: dict[int, list[str]] = {}
    for row in t["rows"]:
        if row["frame.number"].isdigit():
            number = int(row["frame.number"])
            row_of[number] = row
            ids = tc.split_multi(row.get("sip.Call-ID", ""))
            if ids:
                call_ids_of_frame[number] = ids

    for frames, record, loose in sorted(pairs, key=lambda p: min(p[0], default=0)):
        flow_rows, infos = [], []
        for number in frames:
            row = row_of.get(number)
            info = frame_info(row) if row is not None else None
            if info is not None:
                flow_rows.append(row)
                infos.append(info)
        verdict = flow_verdict(infos)
        values = tshark_columns(flow_rows, infos, verdict, call_ids_of_frame)
        sfb = str(record.get("app_protocol") or "unknown")
        entry: dict[str, Any] = {
            "flow": record_flow(record),
            "flow_id": record.get("flow_id"),
            "loose": loose,
            "frames": frames[:JSON_FRAMES],
            "tshark": verdict["label"],
            "tshark_expected": verdict["expected"],
            "tshark_why": verdict["why"],
            "tshark_votes": verdict["votes"],
            "sfbflow": sfb,
            "app_agree": sfb == verdict["expected"],
            "payload": any(i["payload"] != 0 for i in infos),
            "columns": {},
        }
        for column in COLUMNS:
            outcome = column_outcome(column, values[column], record)
            if outcome is not None:
                entry["columns"][column] = {
                    "outcome": outcome,
                    "tshark": (values[column] or [])[:JSON_VALUES],
                    "sfbflow": record.get(column),
                }
        report["flows"].append(entry)
    return report


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def fmt_votes(votes: dict[str, int]) -> str:
    return ", ".join(f"{label.lower()} {n}" for label, n in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0])))


def flow_line(path: str, entry: dict[str, Any], unfilled: set[str]) -> str | None:
    """The line of a disagreeing flow, or None when it agrees."""
    parts = []
    if not entry["app_agree"]:
        shown = entry["tshark"]
        if entry["tshark"] != entry["tshark_expected"]:
            shown += f" (= {entry['tshark_expected']})"
        if entry["tshark_why"]:
            shown += f" ({entry['tshark_why']})"
        votes = f" [{fmt_votes(entry['tshark_votes'])}]" if entry["tshark_votes"] else ""
        parts.append(f"app: tshark {shown}{votes} / sfbflow {entry['sfbflow']}")
    for column, result in entry["columns"].items():
        outcome = result["outcome"]
        if outcome in ("agree", "not reported") or (outcome == "sfbflow null" and column in unfilled):
            continue
        tshark_value = "|".join(result["tshark"]) if result["tshark"] else "none"
        sfbflow_value = "null" if result["sfbflow"] is None else result["sfbflow"]
        parts.append(f"{column}: tshark {tshark_value} / sfbflow {sfbflow_value}")
    if not parts:
        return None
    loose = " (loose match)" if entry["loose"] else ""
    return f"{path}  {entry['flow']}{loose}  " + "; ".join(parts)


def summarise(files: list[dict[str, Any]]) -> dict[str, Any]:
    flows = [entry for report in files for entry in report["flows"]]
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    confusions: collections.Counter = collections.Counter()
    for entry in flows:
        row = table_row({"label": entry["tshark"]})
        counts = table[row]
        counts["flows"] += 1
        if entry["app_agree"]:
            counts["same"] += 1
        elif entry["sfbflow"] == "unknown":
            counts["unknown"] += 1
        else:
            counts["other"] += 1
        if not entry["app_agree"]:
            confusions[(entry["tshark"], entry["sfbflow"])] += 1
    agree = sum(1 for entry in flows if entry["app_agree"])
    family = sum(1 for entry in flows if entry["app_agree"]
                 or (entry["tshark_expected"] in STUN_FAMILY and entry["sfbflow"] in STUN_FAMILY))
    with_payload = [entry for entry in flows if entry["payload"]]
    present = {c for report in files for c in report.get("columns_present", [])}
    columns = {}
    for column in COLUMNS:
        outcomes = collections.Counter(entry["columns"][column]["outcome"]
                                       for entry in flows if column in entry["columns"])
        filled = any(entry["columns"].get(column, {}).get("sfbflow") not in (None, "") for entry in flows)
        state = "compared" if filled else ("not filled" if column in present else "not reported")
        columns[column] = {"state": state, "outcomes": dict(outcomes),
                           "tshark_has_value": sum(1 for entry in flows if entry["columns"].get(column, {}).get("tshark"))}
    order = SFBFLOW_VOCABULARY[:-1] + ["DTLS", "unknown"]
    return {
        "files": len(files),
        "files_compared": sum(1 for report in files if report["status"] == "compared"),
        "tshark_errors": sum(1 for report in files if report["status"] == "tshark-error"),
        "sfbflow_errors": sum(1 for report in files if report["status"] == "sfbflow-error"),
        "sfbflow_crashes": sum(1 for report in files if report.get("sfbflow_crashed")),
        "tshark_partial": sum(1 for report in files if report.get("tshark_status") == "partial"),
        "flows_compared": len(flows),
        "loose_matches": sum(1 for entry in flows if entry["loose"]),
        "unpaired_tshark": sum(report.get("unpaired_tshark", 0) for report in files),
        "unpaired_sfbflow": sum(report.get("unpaired_sfbflow", 0) for report in files),
        "agree": agree,
        "agree_stun_family": family,
        "with_payload": len(with_payload),
        "agree_with_payload": sum(1 for entry in with_payload if entry["app_agree"]),
        "table": {row: dict(table[row]) for row in order if row in table},
        "confusions": [{"tshark": t, "sfbflow": s, "flows": n}
                       for (t, s), n in sorted(confusions.items(), key=lambda kv: (-kv[1], kv[0]))],
        "columns": columns,
    }


def pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


def print_summary(summary: dict[str, Any]) -> None:
    print()
    print(f"# per tshark verdict ({summary['flows_compared']} flows in {summary['files_compared']} files)")
    print(f"{'tshark says':<16} {'flows':>6} {'sfbflow same':>13} {'other':>6} {'unknown':>8}")
    for row, counts in summary["table"].items():
        unknown = "-" if row in ("unknown", "DTLS") else str(counts.get("unknown", 0))
        label = "DTLS (=unknown)" if row == "DTLS" else row
        print(f"{label:<16} {counts.get('flows', 0):>6} {counts.get('same', 0):>13} "
              f"{counts.get('other', 0):>6} {unknown:>8}")
    if summary["confusions"]:
        print()
        print("# disagreements: tshark -> sfbflow (flows)")
        for item in summary["confusions"][:25]:
            print(f"{item['tshark']:>16} -> {item['sfbflow']:<10} {item['flows']}")
    print()
    print("# columns")
    for column, result in summary["columns"].items():
        twin = ALIASES.get(column)
        if result["state"] == "not reported" and twin and summary["columns"][twin]["state"] != "not reported":
            continue
        if result["state"] == "not reported":
            print(f"{column}: not reported by sfbflow (tshark has a value for {result['tshark_has_value']} flows)")
        elif result["state"] == "not filled":
            print(f"{column}: null in every sfbflow flow (not filled yet; tshark has a value for "
                  f"{result['tshark_has_value']} flows)")
        else:
            outcomes = result["outcomes"]
            print(f"{column}: " + ", ".join(f"{name} {outcomes.get(name, 0)}" for name in
                                            ("agree", "differ", "sfbflow null", "sfbflow only")))
    print()
    print(f"files: {summary['files']} ({summary['files_compared']} compared, {summary['tshark_errors']} tshark "
          f"cannot read, {summary['sfbflow_errors']} sfbflow errors, {summary['sfbflow_crashes']} sfbflow crashes, "
          f"{summary['tshark_partial']} read partly by tshark); flows compared {summary['flows_compared']} "
          f"({summary['loose_matches']} loosely), not paired: tshark {summary['unpaired_tshark']}, "
          f"sfbflow {summary['unpaired_sfbflow']}")
    n = summary["flows_compared"]
    print(f"agreement {summary['agree']}/{n} flows ({pct(summary['agree'], n)}); "
          f"{summary['agree_stun_family']}/{n} counting STUN, TURN and MS-TURN as one; "
          f"{summary['agree_with_payload']}/{summary['with_payload']} of flows with payload")


def run(paths: list[str], tshark: str, sfbflow: str, json_path: str | None) -> dict[str, Any]:
    files = tc.find_captures(paths)
    version = tc.tshark_version(tshark)
    print(f"# {version}; sfbflow: {sfbflow}; {len(files)} capture files", file=sys.stderr, flush=True)
    reports = []
    with tempfile.TemporaryDirectory(prefix="tshark-protocols-config-") as config_dir:
        options = heuristic_options(tshark, config_dir)
        print(f"# tshark options: {' '.join(options)}", file=sys.stderr, flush=True)
        for number, path in enumerate(files, 1):
            report = compare_file(path, tshark, sfbflow, config_dir, options)
            reports.append(report)
            note = f"{report['status']}"
            if report["status"] == "compared":
                bad = sum(1 for e in report["flows"] if not e["app_agree"])
                note += f": {len(report['flows'])} flows, {bad} app_protocol disagreements"
            elif report.get("tshark_message") or report.get("sfbflow_message"):
                note += ": " + (report.get("sfbflow_message") or report.get("tshark_message", "")).replace("\n", " ")[:120]
            print(f"[{number}/{len(files)}] {path}: {note}", file=sys.stderr, flush=True)
    summary = summarise(reports)
    unfilled = {c for c, r in summary["columns"].items() if r["state"] != "compared"}
    for report in reports:
        for entry in report["flows"]:
            line = flow_line(report["file"], entry, unfilled)
            if line:
                print(line)
    print_summary(summary)
    if json_path:
        with open(json_path, "w", encoding="utf-8") as handle:
            json.dump({"tshark_version": version, "tshark_options": options, "sfbflow": sfbflow,
                       "summary": summary, "files": reports}, handle, indent=1)
            handle.write("\n")
    return summary


# --------------------------------------------------------------------------
# Self-test
# --------------------------------------------------------------------------


def check_verdict_rule() -> list[str]:
    """Checks of the verdict rule on made-up frames; returns the failures."""
    def f(label: str | None, payload: int = 10, kind: str | None = None, ssrc: str = "0x1",
          setup: bool = False) -> dict[str, Any]:
        return {"label": label, "payload": payload, "stun_kind": kind, "ssrc": ssrc, "setup": setup}

    cases = [
        ("STUN then RTP is RTP", [f("STUN", kind="STUN")] * 5 + [f("RTP")] * 3, "RTP"),
        ("TURN relay carrying RTP stays TURN", [f("STUN", kind="TURN")] * 4, "TURN"),
        ("MS-TURN wins the family", [f("STUN", kind="STUN"), f("STUN", kind="MS-TURN")], "MS-TURN"),
        ("majority", [f("TLS")] * 3 + [f("HTTP")], "TLS"),
        ("tie goes to SIP", [f("TLS"), f("SIP")], "SIP"),
        ("DTLS alone is unknown", [f("DTLS")] * 3, "unknown"),
        ("STUN and DTLS is STUN", [f("DTLS")] * 3 + [f("STUN", kind="STUN")], "STUN"),
        ("STUN, DTLS and RTP is RTP", [f("DTLS")] * 9 + [f("STUN", kind="STUN")] * 4 + [f("RTP")] * 3, "RTP"),
        ("lone RTP-looking datagrams do not vote", [f("RTP", ssrc=str(n)) for n in range(5)], "unknown"),
        ("RTP an SDP announced votes alone", [f("RTP", setup=True)], "RTP"),
        ("other protocol is unknown", [f("other:nbns")], "unknown"),
        ("no payload", [f(None, payload=0)] * 3, "unknown"),
        ("data only does not vote", [f(None)] * 3 + [f("STUN", kind="STUN")], "STUN"),
    ]
    failures = []
    for name, frames, expected in cases:
        got = flow_verdict(frames)["expected"]
        if got != expected:
            failures.append(f"verdict rule: {name}: got {got}, want {expected}")
    layer_cases = [
        ("eth:ethertype:ip:udp:sip:sdp", "SIP"),
        ("eth:ethertype:ip:udp:stun:rtp", "STUN"),
        ("eth:ethertype:ip:tcp", None),
        ("eth:ethertype:ip:udp:data", None),
        ("eth:ethertype:ip:udp:nbns", "other:nbns"),
        ("eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:udp:rtp", "RTP"),
        ("eth:ethertype:ipv6:udp:quic:tls", "other:quic"),
        ("eth:ethertype:ip:udp:rtp:rtcp", "RTCP"),
    ]
    for protocols, expected in layer_cases:
        row = dict.fromkeys(ALL_FIELDS, "")
        row.update({"frame.protocols": protocols, "udp.length": "20,20", "tcp.len": "0"})
        got = frame_info(row)
        if got is None or got["label"] != expected:
            failures.append(f"frame label: {protocols}: got {got and got['label']}, want {expected}")
    row = dict.fromkeys(ALL_FIELDS, "")
    row.update({"frame.protocols": "eth:ethertype:ip:tcp:tls", "tcp.len": "52"})
    got = frame_info(row)
    if got is None or got["label"] is not None or flow_verdict([got])["why"] != "empty tls layer":
        failures.append(f"a tls layer without a record should not vote: got {got}")
    row["tls.record.content_type"] = "22"
    got = frame_info(row)
    if got is None or got["label"] != "TLS":
        failures.append(f"a tls layer with a record should vote TLS: got {got}")
    kinds = [
        ({"stun.att.type": "0x000f,0x8008"}, "MS-TURN"),
        ({"stun.att.type": "0x0006,0x8070,0x8037", "stun.type.method": "0x0001"}, "STUN"),
        ({"stun.type.method": "0x0003"}, "TURN"),
        ({"stun.channel": "0x4000"}, "TURN"),
        ({"stun.network_version": "1"}, "MS-TURN"),
    ]
    for fields, expected in kinds:
        got = stun_frame_kind([], fields)
        if got != expected:
            failures.append(f"stun kind: {fields}: got {got}, want {expected}")
    column_cases = [
        ("tls_version", ["1.2"], "TLS 1.2", "agree"),
        ("tls_version", ["1.3"], "0x0303", "differ"),
        ("tls_sni", ["Example.com"], "example.com.", "agree"),
        ("stun_seen", ["MS-TURN"], "MS-TURN", "agree"),
        ("stun_method", ["Allocate error response 401"], "Allocate error response 401", "agree"),
        ("rtp_codec", ["PCMU", "dynamic(101)"], "dynamic(101)", "agree"),
        ("sip_user_agent", ["Foo/1.0 (x, y),Bar"], "Foo/1.0 (x, y)", "agree"),
        ("sip_call_id", ["a@b"], None, "sfbflow null"),
        ("sip_call_id", None, "a@b", "sfbflow only"),
    ]
    for column, tshark_values, value, expected in column_cases:
        got = column_outcome(column, tshark_values, {column: value})
        if got != expected:
            failures.append(f"column {column}: tshark {tshark_values} sfbflow {value}: got {got}, want {expected}")
    names = stun_message_names({"stun.type": "0x0113", "stun.type.method": "0x0003", "stun.type.class": "0x0011",
                                "stun.att.error.class": "4", "stun.att.error": "1"})
    if names != ["Allocate error response 401"]:
        failures.append(f"stun message names: got {names}")
    if column_outcome("tls_version", ["1.2"], {}) != "not reported":
        failures.append("column absent from the record should be 'not reported'")
    return failures


def find_sfbflow(given: str | None, repo: str) -> str | None:
    if given:
        return shutil.which(given) or (given if os.path.exists(given) else None)
    if os.environ.get("SFBFLOW"):
        return os.environ["SFBFLOW"]
    found = shutil.which("sfbflow")
    if found:
        return found
    targets = [os.environ.get("CARGO_TARGET_DIR", ""), os.path.join(repo, "target")]
    for target in filter(None, targets):
        for profile in ("release", "debug"):
            candidate = os.path.join(target, profile, "sfbflow")
            if os.path.exists(candidate):
                return candidate
    return None


def self_test(tshark: str | None, sfbflow: str | None, repo: str, json_path: str | None) -> int:
    failures = check_verdict_rule()
    for failure in failures:
        print(f"self-test: {failure}", file=sys.stderr)
    if failures:
        return 1
    if tshark is None:
        print("self-test: skipped: tshark not installed", file=sys.stderr)
        return 77
    if sfbflow is None:
        print("self-test: no sfbflow binary (give --sfbflow or set SFBFLOW)", file=sys.stderr)
        return 1
    summary = run([os.path.join(repo, "captures")], tshark, sfbflow, json_path)
    problems = []
    if summary["sfbflow_crashes"]:
        problems.append(f"sfbflow crashed on {summary['sfbflow_crashes']} files")
    if summary["flows_compared"] == 0:
        problems.append("no flow was compared")
    elif all(row == "unknown" for row in summary["table"]):
        problems.append("tshark recognised no payload in any compared flow")
    for problem in problems:
        print(f"self-test: FAILED: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"self-test: ok ({summary['flows_compared']} flows compared)", file=sys.stderr)
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Compare sfbflow's app_protocol (and SNI, Call-ID, ...) with tshark's dissection "
                    "(see the module docstring)."
    )
    parser.add_argument("--sfbflow", help="sfbflow binary (default: $SFBFLOW, sfbflow on PATH, target/*/sfbflow)")
    parser.add_argument("--tshark", default="tshark", help="tshark binary (default: tshark on PATH)")
    parser.add_argument("--json", metavar="REPORT", help="write the per-flow details here")
    parser.add_argument("--self-test", action="store_true",
                        help="check the script on the project's captures/ (exit 1 on failure, 77 without tshark)")
    parser.add_argument("paths", nargs="*", metavar="FILE_OR_DIR")
    args = parser.parse_args(argv)
    if not args.self_test and not args.paths:
        parser.error("give FILE_OR_DIR arguments or --self-test")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tshark = shutil.which(args.tshark)
    sfbflow = find_sfbflow(args.sfbflow, repo)
    if args.self_test:
        return self_test(tshark, sfbflow, repo, args.json)
    if tshark is None:
        print(f"tshark_protocols: tshark not found ({args.tshark})", file=sys.stderr)
        return 2
    if sfbflow is None:
        print("tshark_protocols: sfbflow not found (give --sfbflow)", file=sys.stderr)
        return 2
    summary = run(args.paths, tshark, sfbflow, args.json)
    return 0 if summary["flows_compared"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
