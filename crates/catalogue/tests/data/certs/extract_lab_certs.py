#!/usr/bin/env python3
"""Lists the server certificate of every TLS flow in captures/lab-sfb/input.pcap (tshark + openssl)."""
import subprocess, sys, datetime
pcap = sys.argv[1]
roles = {"127.0.1.10": "front_end", "127.0.1.11": "front_end", "127.0.1.20": "director",
         "127.0.2.10": "edge_internal", "127.0.3.10": "access_edge", "127.0.3.11": "webconf_edge",
         "127.0.3.12": "av_edge", "127.0.3.20": "reverse_proxy", "127.0.4.10": "mediation",
         "127.0.20.21": "internal_client"}
def fields(filt, *f):
    out = subprocess.run(["tshark", "-r", pcap, "-Y", filt, "-T", "fields", "-E", "separator=\t"]
                         + sum([["-e", x] for x in f], []), capture_output=True, text=True).stdout
    return [l.split("\t") for l in out.splitlines() if l]
sni = {s: n for s, n in fields("tls.handshake.type==1", "tcp.stream", "tls.handshake.extensions_server_name")}
print("# stream\tframe\ttime\tresponder\tport\trole\tsni\tsubject_cn\tsans\tnot_before\tnot_after\tself_signed")
for stream, frame, t, src, port, certs in fields("tls.handshake.type==11 && tcp.srcport<10000", "tcp.stream", "frame.number", "frame.time_epoch", "ip.src", "tcp.srcport", "tls.handshake.certificate"):
    der = bytes.fromhex(certs.split(",")[0])
    def ossl(*a):
        return subprocess.run(["openssl", "x509", "-inform", "der", "-noout", *a], input=der, capture_output=True).stdout.decode()
    subj = ossl("-subject", "-nameopt", "multiline")
    cn = [l.split("=", 1)[1].strip() for l in subj.splitlines() if l.strip().startswith("commonName")]
    iss = ossl("-issuer", "-nameopt", "RFC2253").strip()
    sub = ossl("-subject", "-nameopt", "RFC2253").strip()
    san = ossl("-ext", "subjectAltName")
    names = [x.strip()[4:] for x in san.replace("\n", ",").split(",") if x.strip().startswith("DNS:")]
    def ts(opt):
        v = ossl(opt).strip().split("=", 1)[1]
        return int(datetime.datetime.strptime(v, "%b %d %H:%M:%S %Y GMT").replace(tzinfo=datetime.timezone.utc).timestamp())
    selfs = iss.split("=", 1)[1] == sub.split("=", 1)[1]
    print("\t".join([stream, frame, t.split(".")[0], src, port, roles.get(src, "-"), sni.get(stream, "-"),
                     cn[0] if cn else "-", ",".join(names) or "-", str(ts("-startdate")), str(ts("-enddate")), str(selfs).lower()]))
