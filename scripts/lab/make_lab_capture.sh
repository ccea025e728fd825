#!/usr/bin/env bash
# make_lab_capture.sh: a lab capture of real programs laid out as a Skype for Business deployment.
#
# Every role of the deployment gets its own loopback address (127.0.x.y); real servers (socat with
# OpenSSL, coturn, dnsmasq, SIPp) listen on the role addresses, real clients (curl, dig, socat,
# turnutils, SIPp) connect from the role addresses, and tcpdump records it all on `lo`.
# The role map is captures/lab-sfb/topology.toml; what each flow is and the verdict the
# documentation gives it is captures/lab-sfb/expected_verdicts.csv (see captures/lab-sfb/README.md).
#
# Usage (as root: it installs packages, binds ports 53/80/443 and captures):
#   scripts/lab/make_lab_capture.sh [--out FILE] [--keep]
#     --out FILE   where to write the capture (default: captures/lab-sfb/input.pcap)
#     --keep       keep the work directory (certificates, scenarios, server and client logs)
#
# Bounded: every client runs under `timeout`, every wait loop has a fixed number of turns, and
# every server this script starts is killed on exit (trap), also on failure. Runs in ~40 s.
# Packages (Debian): tcpdump sip-tester (SIPp) coturn dnsmasq-base socat openssl curl dnsutils.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT="$REPO/captures/lab-sfb/input.pcap"
KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "run as root (apt-get, tcpdump, ports 53/80/443)" >&2; exit 2; }

# --- the lab addresses (one per role; keep in step with captures/lab-sfb/topology.toml) --------
FE1=127.0.1.10      # front_end (Front End 1: registrar, web services)
FE2=127.0.1.11      # front_end (Front End 2: same pool; MTLS listener for servers)
DIR=127.0.1.20      # director
EDGE_INT=127.0.2.10 # edge_internal
AE=127.0.3.10       # access_edge
WCE=127.0.3.11      # webconf_edge
AVE=127.0.3.12      # av_edge
RP=127.0.3.20       # reverse_proxy
MED=127.0.4.10      # mediation
GW=127.0.5.10       # pstn_gateway
SQL=127.0.6.10      # back_end_sql
DNS_INT=127.0.7.53  # dns_server (internal DNS)
DNS_EXT=127.0.7.54  # dns_server (public DNS)
ALICE=127.0.20.21   # internal_client: signs in, is the target of the reversed connection
BOB=127.0.20.22     # internal_client: PSTN call media to the Mediation Server
MALLORY=127.0.20.23 # internal_client: the undocumented and mismatched traffic
CAROL=127.0.30.31   # external_client: remote sign-in, TURN
DAVE=127.0.30.32    # external_client: media on an undocumented port, non-STUN bytes, FE direct
FED=127.0.40.10     # federated_partner: the peer A/V Edge the relayed media goes to
STRANGER=127.0.99.9 # in no role of the topology
# Out-of-band SIPp signalling for two media flows runs on 127.0.0.2/127.0.0.3, outside the
# capture filter (it stands for SDP carried inside the encrypted SIP/TLS sessions).
OOB_A=127.0.0.2
OOB_B=127.0.0.3

# --- tools -------------------------------------------------------------------------------------
export PATH=$PATH:/usr/sbin:/sbin
need_pkgs=()
for pair in tcpdump:tcpdump sipp:sip-tester turnserver:coturn turnutils_uclient:coturn \
            dnsmasq:dnsmasq-base socat:socat openssl:openssl curl:curl dig:dnsutils; do
    cmd=${pair%%:*}; pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || need_pkgs+=("$pkg")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
    echo "installing: ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# --- work dir, process bookkeeping, cleanup ------------------------------------------------------
WORK=$(mktemp -d /tmp/lab-sfb.XXXXXX)
LOGS=$WORK/logs
mkdir -p "$LOGS"
PIDS=()
TCPDUMP_PID=
cleanup() {
    local rc=$?
    set +e
    if [ -n "$TCPDUMP_PID" ] && kill -0 "$TCPDUMP_PID" 2>/dev/null; then
        kill -INT "$TCPDUMP_PID" 2>/dev/null
    fi
    for pid in "${PIDS[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    done
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        local alive=0
        for pid in "${PIDS[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
        [ $alive -eq 0 ] && break
        sleep 0.2
    done
    for pid in "${PIDS[@]}"; do # whatever is left of each server's own process group
        kill -0 -- "-$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
    done
    if [ -n "$TCPDUMP_PID" ] && kill -0 "$TCPDUMP_PID" 2>/dev/null; then
        kill -KILL "$TCPDUMP_PID" 2>/dev/null
    fi
    if [ $rc -ne 0 ]; then
        echo "FAILED (exit $rc); server logs kept in $LOGS" >&2
        tail -n 5 "$LOGS"/*.log >&2 2>/dev/null
    elif [ "$KEEP" -eq 1 ]; then
        echo "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_bg NAME CMD...: run a server in its own process group, remember its pid.
start_bg() {
    local name=$1; shift
    setsid "$@" >"$LOGS/$name.log" 2>&1 < /dev/null &
    PIDS+=($!)
}

# wait_listen tcp|udp ADDR PORT: until something listens there (at most 5 s).
wait_listen() {
    local opt=-ltnH; [ "$1" = udp ] && opt=-lunH
    for _ in $(seq 50); do
        ss $opt "src $2 and sport = :$3" 2>/dev/null | grep -q . && return 0
        sleep 0.1
    done
    echo "nothing listens on $1 $2:$3" >&2
    return 1
}

step() { printf '  %-60s\n' "$*"; }
gap() { sleep "${1:-0.3}"; }

cd "$WORK"

# --- certificates (a lab CA and one certificate per role, names after catalogue.md §5) ---------
echo "certificates"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -keyout ca.key -out ca.pem -subj "/O=Contoso Lab/CN=Contoso Lab Root CA" 2>/dev/null
mkcert() { # mkcert NAME CN SAN,SAN,...
    local name=$1 cn=$2 sans=$3
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$name.key" -out "$name.csr" -subj "/O=Contoso Lab/CN=$cn" 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' \
        "$(echo "$sans" | sed 's/[^,]*/DNS:&/g')" > "$name.ext"
    openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile "$name.ext" -out "$name.pem" 2>/dev/null
    cat "$name.pem" "$name.key" > "$name.bundle"
}
mkcert fe pool.corp.contoso.com "pool.corp.contoso.com,fe1.corp.contoso.com,fe2.corp.contoso.com,sip.contoso.com,lyncdiscoverinternal.contoso.com,lyncdiscover.contoso.com,webext.contoso.com,meet.contoso.com,dialin.contoso.com,admin.contoso.com"
mkcert dir dir.corp.contoso.com "dir.corp.contoso.com,sipinternal.contoso.com,sip.contoso.com,lyncdiscoverinternal.contoso.com,lyncdiscover.contoso.com"
mkcert edgeint internal.corp.contoso.com "internal.corp.contoso.com"
mkcert edgeext access.contoso.com "access.contoso.com,sip.contoso.com,conf.contoso.com"
mkcert rp webext.contoso.com "webext.contoso.com,lyncdiscover.contoso.com,meet.contoso.com,dialin.contoso.com"
mkcert med med.corp.contoso.com "med.corp.contoso.com"
mkcert client alice-pc.corp.contoso.com "alice-pc.corp.contoso.com"

TLS="verify=0,openssl-max-proto-version=TLS1.2"          # TLS server: no client certificate
MTLS="verify=1,cafile=$WORK/ca.pem,openssl-max-proto-version=TLS1.2" # MTLS server: requires one

# --- helper programs run by the servers ---------------------------------------------------------
cat > sip_responder.sh <<'EOF'
#!/bin/bash
# Answers each SIP request on stdin on stdout (100 Trying + 200 OK for INVITE, 200 OK otherwise).
name=${1:-lab}
while IFS= read -r line; do
    line=${line%$'\r'}
    [ -z "$line" ] && continue
    method=${line%% *}
    vias= from= to= callid= cseq= clen=0
    while IFS= read -r h; do
        h=${h%$'\r'}
        [ -z "$h" ] && break
        case "${h,,}" in
            via:*|v:*) vias+="$h"$'\r\n' ;;
            from:*|f:*) from=$h ;;
            to:*|t:*) to=$h ;;
            call-id:*|i:*) callid=$h ;;
            cseq:*) cseq=$h ;;
            content-length:*|l:*) clen=${h#*:}; clen=${clen//[^0-9]/} ;;
        esac
    done
    [ "${clen:-0}" -gt 0 ] && IFS= read -r -N "$clen" _body
    common="$vias$from"$'\r\n'"$to;tag=$name-1"$'\r\n'"$callid"$'\r\n'"$cseq"$'\r\n'
    if [ "$method" = INVITE ]; then
        printf 'SIP/2.0 100 Trying\r\n%sServer: %s\r\nContent-Length: 0\r\n\r\n' "$common" "$name"
    fi
    printf 'SIP/2.0 200 OK\r\n%sServer: %s\r\nContent-Length: 0\r\n\r\n' "$common" "$name"
done
EOF
cat > http_responder.sh <<'EOF'
#!/bin/bash
# Reads one HTTP request, answers it and closes.
# $1 = autod-int | autod-ext (Autodiscover JSON) | redirect-int | redirect-ext (301) | 404.
dir=$(dirname "$0")
while IFS= read -r h; do h=${h%$'\r'}; [ -z "$h" ] && break; done
case "$1" in
    redirect-int|redirect-ext)
        printf 'HTTP/1.1 301 Moved Permanently\r\nLocation: %s\r\nServer: lab-iis\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' "$(cat "$dir/$1.url")" ;;
    autod-int|autod-ext)
        body=$(cat "$dir/$1.json")
        printf 'HTTP/1.1 200 OK\r\nContent-Type: application/vnd.microsoft.rtc.autodiscover+json; v=1\r\nServer: lab-iis\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "${#body}" "$body" ;;
    *) printf 'HTTP/1.1 404 Not Found\r\nServer: lab-iis\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' ;;
esac
EOF
cat > tds_responder.sh <<'EOF'
#!/bin/bash
# Reads a TDS PRELOGIN (47 bytes) and answers with a PRELOGIN response: version 13.0.1601,
# encryption not supported.
head -c 47 > /dev/null
printf '\x04\x01\x00\x25\x00\x00\x01\x00'
printf '\x00\x00\x15\x00\x06\x01\x00\x1b\x00\x01\x02\x00\x1c\x00\x01\x03\x00\x1d\x00\x00\xff'
printf '\x0d\x00\x06\x41\x00\x00\x02\x00'
EOF
chmod +x sip_responder.sh http_responder.sh tds_responder.sh
SIPR=$WORK/sip_responder.sh
HTTPR=$WORK/http_responder.sh

printf '%s' '{"_links":{"self":{"href":"https://lyncdiscoverinternal.contoso.com/Autodiscover/AutodiscoverService.svc/root?originalDomain=contoso.com"},"user":{"href":"https://pool.corp.contoso.com/Autodiscover/AutodiscoverService.svc/root/oauth/user?originalDomain=contoso.com"},"xframe":{"href":"https://pool.corp.contoso.com/Autodiscover/XFrame/XFrame.html"}}}' > autod-int.json
printf '%s' '{"_links":{"self":{"href":"https://lyncdiscover.contoso.com/Autodiscover/AutodiscoverService.svc/root?originalDomain=contoso.com"},"user":{"href":"https://webext.contoso.com/Autodiscover/AutodiscoverService.svc/root/oauth/user?originalDomain=contoso.com"},"xframe":{"href":"https://webext.contoso.com/Autodiscover/XFrame/XFrame.html"}}}' > autod-ext.json
echo 'https://lyncdiscoverinternal.contoso.com/' > redirect-int.url
echo 'https://lyncdiscover.contoso.com/' > redirect-ext.url

# SIPp scenarios: a UAC and a UAS; PLAY marks where the side that sends media plays the RTP file.
# The RTP file is the first 50 packets (1.5 s of G.711 A-law) of SIPp's own g711a.pcap.
head -c $((24 + 50 * (16 + 294))) /usr/share/sip-tester/g711a.pcap > g711a-short.pcap
PLAY='<nop><action><exec play_pcap_audio="'"$WORK"'/g711a-short.pcap"/></action></nop>'
cat > uac.tmpl <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<scenario name="lab-uac">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port];user=phone SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:+14255550123@[local_ip];user=phone>;tag=[pid]lab[call_number]
To: <sip:[service]@[remote_ip]:[remote_port];user=phone>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:+14255550123@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
User-Agent: SIPp lab
Content-Type: application/sdp
Content-Length: [len]

v=0
o=- 53655765 2353687637 IN IP[local_ip_type] [media_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8
a=rtpmap:8 PCMA/8000
]]></send>
  <recv response="100" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port];user=phone SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:+14255550123@[local_ip];user=phone>;tag=[pid]lab[call_number]
To: <sip:[service]@[remote_ip]:[remote_port];user=phone>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  PLAY
  <pause milliseconds="2200"/>
  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port];user=phone SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:+14255550123@[local_ip];user=phone>;tag=[pid]lab[call_number]
To: <sip:[service]@[remote_ip]:[remote_port];user=phone>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200" crlf="true"/>
</scenario>
EOF
cat > uas.tmpl <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<scenario name="lab-uas">
  <recv request="INVITE" crlf="true"/>
  <send><![CDATA[
SIP/2.0 100 Trying
[last_Via:]
[last_From:]
[last_To:];tag=[pid]lab[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]lab[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:gw@[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=- 53655766 2353687638 IN IP[local_ip_type] [media_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8
a=rtpmap:8 PCMA/8000
]]></send>
  <recv request="ACK" crlf="true"/>
  PLAY
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
</scenario>
EOF
for side in uac uas; do
    sed "s#^  PLAY\$#  $PLAY#" $side.tmpl > ${side}_play.xml
    sed "/^  PLAY\$/d" $side.tmpl > $side.xml
done

# sipreq METHOD RURI FROM TO CALLID CSEQ SRC [CONTENT-TYPE BODY]: a SIP request on stdout.
sipreq() {
    local method=$1 ruri=$2 from=$3 to=$4 callid=$5 cseq=$6 src=$7 ctype=${8:-} body=${9:-}
    printf '%s %s SIP/2.0\r\n' "$method" "$ruri"
    printf 'Via: SIP/2.0/TLS %s;branch=z9hG4bK-%s-%s\r\n' "$src" "$callid" "$cseq"
    printf 'Max-Forwards: 70\r\nFrom: <%s>;tag=lab%s\r\nTo: <%s>\r\n' "$from" "$cseq" "$to"
    printf 'Call-ID: %s\r\nCSeq: %s %s\r\nContact: <sip:%s;transport=tls>\r\n' "$callid" "$cseq" "$method" "$src"
    printf 'User-Agent: UCCAPI/16.0 OC/16.0 (Skype for Business) lab\r\n'
    if [ -n "$ctype" ]; then
        printf 'Content-Type: %s\r\nContent-Length: %d\r\n\r\n%s' "$ctype" "${#body}" "$body"
    else
        printf 'Content-Length: 0\r\n\r\n'
    fi
}
# tls_send SRC DST PORT SNI [CERT]: sends stdin over TLS from SRC (MTLS when CERT is given),
# keeps the connection open 0.6 s for the answer, then closes.
tls_send() {
    local src=$1 dst=$2 port=$3 sni=$4 cert=${5:-}
    local opts="bind=$src,verify=0,snihost=$sni,openssl-max-proto-version=TLS1.2"
    [ -n "$cert" ] && opts+=",cert=$WORK/$cert.bundle"
    { cat; sleep 0.6; } | timeout 8 socat -t 2 -T 5 - "OPENSSL:$dst:$port,$opts" >> "$LOGS/clients.log" 2>&1 || true
}
# tcp_send SRC DST PORT: the same over plain TCP.
tcp_send() {
    { cat; sleep 0.6; } | timeout 8 socat -t 2 -T 5 - "TCP:$2:$3,bind=$1" >> "$LOGS/clients.log" 2>&1 || true
}
# dns_query SRC SRCPORT SERVER NAME TYPE: one query from a fixed source port (one UDP flow each).
dns_query() {
    timeout 5 dig -b "$1#$2" "@$3" +tries=1 +time=2 +noall +comments +answer "$4" "$5" \
        >> "$LOGS/dig.log" 2>&1 || true
}
CURL=(timeout 8 curl -sS -m 5 --cacert "$WORK/ca.pem" -o /dev/null -w '%{http_code} %{url_effective}\n')

# --- capture -------------------------------------------------------------------------------------
# Only TCP/UDP whose both ends are lab addresses (127.0.0.0/16 without 127.0.0.0/24, which holds
# 127.0.0.1 and whatever else runs on this machine, and the out-of-band SIPp signalling).
FILTER='ip and (tcp or udp) and src net 127.0.0.0/16 and dst net 127.0.0.0/16 and not net 127.0.0.0/24'
echo "capture: tcpdump -i lo '$FILTER'"
tcpdump -i lo -U -s 0 -n -w "$WORK/lab.pcap" "$FILTER" > "$LOGS/tcpdump.log" 2>&1 &
TCPDUMP_PID=$!
for _ in $(seq 50); do grep -q "listening on" "$LOGS/tcpdump.log" && break; sleep 0.1; done
grep -q "listening on" "$LOGS/tcpdump.log" || { echo "tcpdump did not start" >&2; exit 1; }

# --- servers -------------------------------------------------------------------------------------
echo "servers"
DNSMASQ=(dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces --port=53
         --user=root --local-ttl=300 --local=/contoso.com/ --log-queries --log-facility=-)
# Internal DNS (catalogue.md §4.2 internal records).
start_bg dns-int "${DNSMASQ[@]}" --listen-address=$DNS_INT --pid-file=$WORK/dns-int.pid \
    --host-record=lyncdiscoverinternal.contoso.com,$FE1 \
    --host-record=pool.corp.contoso.com,$FE1 --host-record=pool.corp.contoso.com,$FE2 \
    --host-record=sip.contoso.com,$FE1 \
    --srv-host=_sipinternaltls._tcp.contoso.com,pool.corp.contoso.com,5061,0,0
# Public DNS (catalogue.md §4.2 external records).
start_bg dns-ext "${DNSMASQ[@]}" --listen-address=$DNS_EXT --pid-file=$WORK/dns-ext.pid \
    --host-record=lyncdiscover.contoso.com,$RP --host-record=webext.contoso.com,$RP \
    --host-record=access.contoso.com,$AE --host-record=sip.contoso.com,$AE \
    --host-record=conf.contoso.com,$WCE --host-record=av.contoso.com,$AVE \
    --srv-host=_sip._tls.contoso.com,access.contoso.com,443,0,0 \
    --srv-host=_sipfederationtls._tcp.contoso.com,access.contoso.com,5061,0,0

L="reuseaddr,fork"
# Front End 1: registrar (TLS 5061), internal web 80/443, external web 8080/4443, and 8443.
start_bg fe1-5061 socat -T 10 "OPENSSL-LISTEN:5061,bind=$FE1,$L,cert=$WORK/fe.bundle,$TLS" "EXEC:$SIPR fe1"
start_bg fe1-443 socat -T 10 "OPENSSL-LISTEN:443,bind=$FE1,$L,cert=$WORK/fe.bundle,$TLS" "EXEC:$HTTPR autod-int"
start_bg fe1-80 socat -T 10 "TCP-LISTEN:80,bind=$FE1,$L" "EXEC:$HTTPR redirect-int"
start_bg fe1-4443 socat -T 10 "OPENSSL-LISTEN:4443,bind=$FE1,$L,cert=$WORK/fe.bundle,$TLS" "EXEC:$HTTPR autod-ext"
start_bg fe1-8080 socat -T 10 "TCP-LISTEN:8080,bind=$FE1,$L" "EXEC:$HTTPR redirect-ext"
start_bg fe1-8443 socat -T 10 "OPENSSL-LISTEN:8443,bind=$FE1,$L,cert=$WORK/fe.bundle,$TLS" "EXEC:$HTTPR 404"
# Front End 2: the pool's server-facing SIP (MTLS 5061) and the IM Conferencing service (5062).
start_bg fe2-5061 socat -T 10 "OPENSSL-LISTEN:5061,bind=$FE2,$L,cert=$WORK/fe.bundle,$MTLS" "EXEC:$SIPR fe2"
start_bg fe2-5062 socat -T 10 "OPENSSL-LISTEN:5062,bind=$FE2,$L,cert=$WORK/fe.bundle,$MTLS" "EXEC:$SIPR fe2-imconf"
# Director: proxies what the Edge hands it to the user's home pool (FE2), MTLS both ways.
start_bg dir-5061 socat -t 2 -T 10 "OPENSSL-LISTEN:5061,bind=$DIR,$L,cert=$WORK/dir.bundle,$MTLS" \
    "OPENSSL:$FE2:5061,bind=$DIR,cert=$WORK/dir.bundle,verify=0,snihost=pool.corp.contoso.com,openssl-max-proto-version=TLS1.2"
# Edge: the Access Edge (443, TLS) proxies to the Director from the Edge internal address;
# the internal side answers SIP (5061) and MRAS (5062) over MTLS; the Web Conferencing Edge
# takes PSOM over TLS on 443 (echoed back).
start_bg ae-443 socat -t 2 -T 10 "OPENSSL-LISTEN:443,bind=$AE,$L,cert=$WORK/edgeext.bundle,$TLS" \
    "OPENSSL:$DIR:5061,bind=$EDGE_INT,cert=$WORK/edgeint.bundle,verify=0,snihost=dir.corp.contoso.com,openssl-max-proto-version=TLS1.2"
start_bg ei-5061 socat -T 10 "OPENSSL-LISTEN:5061,bind=$EDGE_INT,$L,cert=$WORK/edgeint.bundle,$MTLS" "EXEC:$SIPR edge-int"
start_bg ei-5062 socat -T 10 "OPENSSL-LISTEN:5062,bind=$EDGE_INT,$L,cert=$WORK/edgeint.bundle,$MTLS" "EXEC:$SIPR mras"
start_bg wce-443 socat -T 10 "OPENSSL-LISTEN:443,bind=$WCE,$L,cert=$WORK/edgeext.bundle,$TLS" "EXEC:cat"
# TURN/STUN: coturn on the A/V Edge (UDP+TCP 3478, and TCP 443) and on the Edge internal side.
TURN=(turnserver -n --no-cli --no-tls --no-dtls --fingerprint --lt-cred-mech --realm=contoso.com
      --user=carol:lab-secret --user=alice:lab-secret --allow-loopback-peers --no-tcp-relay
      --log-file=stdout --simple-log)
start_bg av-3478 "${TURN[@]}" --listening-ip=$AVE --relay-ip=$AVE --listening-port=3478 \
    --min-port=50000 --max-port=50049 --pidfile=$WORK/av-3478.pid --userdb=$WORK/turndb-av1
start_bg av-443 "${TURN[@]}" --listening-ip=$AVE --relay-ip=$AVE --listening-port=443 --no-udp \
    --min-port=50050 --max-port=50099 --pidfile=$WORK/av-443.pid --userdb=$WORK/turndb-av2
start_bg ei-3478 "${TURN[@]}" --listening-ip=$EDGE_INT --relay-ip=$EDGE_INT --listening-port=3478 \
    --min-port=50100 --max-port=50149 --pidfile=$WORK/ei-3478.pid --userdb=$WORK/turndb-ei
# The federated partner's A/V Edge: UDP echo peers for the relayed media.
start_bg fed-50100 turnutils_peer -L $FED -p 50100
start_bg fed-50200 turnutils_peer -L $FED -p 50200
# Reverse proxy: external 443 -> pool 4443 (TLS again), external 80 -> pool 8080 (catalogue §6.1).
start_bg rp-443 socat -t 2 -T 10 "OPENSSL-LISTEN:443,bind=$RP,$L,cert=$WORK/rp.bundle,$TLS" \
    "OPENSSL:$FE1:4443,bind=$RP,verify=0,snihost=webext.contoso.com,openssl-max-proto-version=TLS1.2"
start_bg rp-80 socat -t 2 -T 10 "TCP-LISTEN:80,bind=$RP,$L" "TCP:$FE1:8080,bind=$RP"
# Mediation Server: SIP from the Front End on 5070 (MTLS).
start_bg med-5070 socat -T 10 "OPENSSL-LISTEN:5070,bind=$MED,$L,cert=$WORK/med.bundle,$MTLS" "EXEC:$SIPR mediation"
# Back End SQL: answers a TDS PRELOGIN on 1433.
start_bg sql-1433 socat -T 10 "TCP-LISTEN:1433,bind=$SQL,$L" "EXEC:$WORK/tds_responder.sh"
# Alice's PC listening on 5061 (for the connection the Front End should never open).
start_bg alice-5061 socat -T 10 "OPENSSL-LISTEN:5061,bind=$ALICE,$L,cert=$WORK/client.bundle,$TLS" "EXEC:$SIPR alice-pc"

for hp in "udp $DNS_INT 53" "udp $DNS_EXT 53" "tcp $FE1 5061" "tcp $FE1 443" "tcp $FE1 80" \
          "tcp $FE1 4443" "tcp $FE1 8080" "tcp $FE1 8443" "tcp $FE2 5061" "tcp $FE2 5062" \
          "tcp $DIR 5061" "tcp $AE 443" "tcp $EDGE_INT 5061" "tcp $EDGE_INT 5062" "tcp $WCE 443" \
          "udp $AVE 3478" "tcp $AVE 443" "udp $EDGE_INT 3478" "udp $FED 50100" "udp $FED 50200" \
          "tcp $RP 443" "tcp $RP 80" "tcp $MED 5070" "tcp $SQL 1433" "tcp $ALICE 5061"; do
    wait_listen $hp
done
gap 0.5

# --- 1. internal sign-in: Alice ------------------------------------------------------------------
echo "1. internal sign-in (alice $ALICE)"
step "DNS, poster order (catalogue §4.1 internal 1a-1f) -> $DNS_INT"
dns_query $ALICE 40001 $DNS_INT lyncdiscoverinternal.contoso.com A
dns_query $ALICE 40002 $DNS_INT lyncdiscover.contoso.com A
dns_query $ALICE 40003 $DNS_INT _sipinternaltls._tcp.contoso.com SRV
dns_query $ALICE 40004 $DNS_INT _sipinternal._tcp.contoso.com SRV
dns_query $ALICE 40005 $DNS_INT sipinternal.contoso.com A
dns_query $ALICE 40006 $DNS_INT sip.contoso.com A
gap
step "HTTP 80 -> Front End (301 to HTTPS, catalogue §6.3)"
"${CURL[@]}" --interface $ALICE --resolve lyncdiscoverinternal.contoso.com:80:$FE1 \
    "http://lyncdiscoverinternal.contoso.com/?sipuri=alice@contoso.com" >> "$LOGS/clients.log" 2>&1 || true
gap
step "HTTPS 443 -> Front End (Autodiscover, SNI lyncdiscoverinternal)"
"${CURL[@]}" --interface $ALICE --resolve lyncdiscoverinternal.contoso.com:443:$FE1 \
    "https://lyncdiscoverinternal.contoso.com/?sipuri=alice@contoso.com" >> "$LOGS/clients.log" 2>&1 || true
gap
step "SIP REGISTER over TLS 5061 -> Front End"
sipreq REGISTER sip:contoso.com sip:alice@contoso.com sip:alice@contoso.com lab-alice-register 1 $ALICE \
    | tls_send $ALICE $FE1 5061 pool.corp.contoso.com
gap

# --- 2. external sign-in: Carol ------------------------------------------------------------------
echo "2. external sign-in (carol $CAROL)"
step "DNS, poster order (catalogue §4.1 external 1a-1h) -> $DNS_EXT"
dns_query $CAROL 40011 $DNS_EXT lyncdiscoverinternal.contoso.com A
dns_query $CAROL 40012 $DNS_EXT lyncdiscover.contoso.com A
dns_query $CAROL 40013 $DNS_EXT _sipinternaltls._tcp.contoso.com SRV
dns_query $CAROL 40014 $DNS_EXT _sipinternal._tcp.contoso.com SRV
dns_query $CAROL 40015 $DNS_EXT _sip._tls.contoso.com SRV
dns_query $CAROL 40016 $DNS_EXT sipinternal.contoso.com A
dns_query $CAROL 40017 $DNS_EXT sip.contoso.com A
dns_query $CAROL 40018 $DNS_EXT sipexternal.contoso.com A
gap
step "HTTP 80 -> reverse proxy -> Front End 8080"
"${CURL[@]}" --interface $CAROL --resolve lyncdiscover.contoso.com:80:$RP \
    "http://lyncdiscover.contoso.com/?sipuri=carol@contoso.com" >> "$LOGS/clients.log" 2>&1 || true
gap
step "HTTPS 443 -> reverse proxy -> Front End 4443 (SNI lyncdiscover)"
"${CURL[@]}" --interface $CAROL --resolve lyncdiscover.contoso.com:443:$RP \
    "https://lyncdiscover.contoso.com/?sipuri=carol@contoso.com" >> "$LOGS/clients.log" 2>&1 || true
gap
step "SIP REGISTER over TLS 443 -> Access Edge -> Director 5061 -> Front End 5061"
sipreq REGISTER sip:contoso.com sip:carol@contoso.com sip:carol@contoso.com lab-carol-register 1 $CAROL \
    | tls_send $CAROL $AE 443 access.contoso.com
gap

# --- 3. IM, conferencing, back end ---------------------------------------------------------------
echo "3. IM and conferencing, server to server"
step "Front End 1 -> Front End 2 IM Conferencing 5062 (MTLS)"
sipreq INVITE "sip:alice@contoso.com;gruu;opaque=app:conf:chat:id:LAB1" sip:alice@contoso.com \
    "sip:alice@contoso.com;gruu;opaque=app:conf:chat:id:LAB1" lab-imconf 1 $FE1 \
    | tls_send $FE1 $FE2 5062 fe2.corp.contoso.com fe
gap
step "Front End -> Edge internal 5061 (MTLS, IM to the remote user)"
sipreq MESSAGE sip:carol@contoso.com sip:alice@contoso.com sip:carol@contoso.com lab-im-carol 1 $FE1 \
    text/plain "hello from the lab" | tls_send $FE1 $EDGE_INT 5061 internal.corp.contoso.com fe
gap
step "Front End -> Edge internal 5062 (MTLS, MRAS credentials)"
MRAS='<request requestID="1" version="2.0" to="sip:internal.corp.contoso.com@contoso.com;gruu;opaque=srvr:MRAS:LAB" from="sip:alice@contoso.com" xmlns="http://schemas.microsoft.com/2006/09/sip/mrasp"><credentialsRequest credentialsRequestID="1"><identity>sip:alice@contoso.com</identity><location>intranet</location><duration>480</duration></credentialsRequest></request>'
sipreq SERVICE "sip:internal.corp.contoso.com@contoso.com;gruu;opaque=srvr:MRAS:LAB" sip:alice@contoso.com \
    "sip:internal.corp.contoso.com@contoso.com;gruu;opaque=srvr:MRAS:LAB" lab-mras 1 $FE1 \
    application/msrtc-media-relay-auth+xml "$MRAS" \
    | tls_send $FE1 $EDGE_INT 5062 internal.corp.contoso.com fe
gap
TDS_PRELOGIN='\x12\x01\x00\x2f\x00\x00\x01\x00\x00\x00\x1a\x00\x06\x01\x00\x20\x00\x01\x02\x00\x21\x00\x01\x03\x00\x22\x00\x04\x04\x00\x26\x00\x01\xff\x0e\x00\x0c\x1c\x00\x00\x00\x00\x00\x00\x00\x00\x00'
step "Front End -> Back End SQL 1433 (TDS PRELOGIN)"
printf "$TDS_PRELOGIN" | tcp_send $FE1 $SQL 1433
gap
step "Carol -> Web Conferencing Edge 443 (PSOM over TLS)"
printf 'PSOM lab data-collaboration hello\r\n' | tls_send $CAROL $WCE 443 conf.contoso.com
gap

# --- 4. A/V: STUN and TURN ------------------------------------------------------------------------
echo "4. A/V Edge: STUN and TURN"
step "Alice -> Edge internal UDP 3478 (STUN Binding)"
timeout 5 turnutils_stunclient -L $ALICE $EDGE_INT >> "$LOGS/turn-clients.log" 2>&1 || true
gap
step "Carol -> A/V Edge UDP 3478 (TURN Allocate, media relayed to the partner's 50100)"
timeout 15 turnutils_uclient -c -n 5 -l 160 -z 20 -L $CAROL -u carol -w lab-secret -e $FED -r 50100 $AVE \
    >> "$LOGS/turn-clients.log" 2>&1 || true
gap
step "Carol -> A/V Edge TCP 443 (TURN over TCP, media relayed to the partner's 50200)"
timeout 15 turnutils_uclient -t -p 443 -c -n 5 -l 160 -z 20 -L $CAROL -u carol -w lab-secret -e $FED -r 50200 $AVE \
    >> "$LOGS/turn-clients.log" 2>&1 || true
gap

# --- 5. Enterprise Voice -------------------------------------------------------------------------
echo "5. Enterprise Voice"
step "Front End -> Mediation 5070 (MTLS INVITE to the PSTN)"
sipreq INVITE "sip:+14255550100@contoso.com;user=phone" sip:bob@contoso.com \
    "sip:+14255550100@contoso.com;user=phone" lab-pstn-call 1 $FE1 \
    | tls_send $FE1 $MED 5070 med.corp.contoso.com fe
gap
step "Mediation -> gateway SIP/TCP 5060 (SIPp), gateway -> Mediation RTP 60000"
start_bg gw-uas sipp -sf "$WORK/uas_play.xml" -t t1 -i $GW -p 5060 -mi $GW -mp 20000 -m 1 -nostdin -timeout 20
wait_listen tcp $GW 5060
timeout 20 sipp -sf "$WORK/uac.xml" -t t1 -i $MED -mi $MED -mp 60000 -rtp_echo -s +14255550100 -m 1 -nostdin \
    -timeout 15 $GW:5060 > "$LOGS/med-uac.log" 2>&1 || echo "    (mediation SIPp UAC failed, see logs)"
gap
step "Bob -> Mediation RTP 49200 (signalling out of band)"
start_bg med-media sipp -sf "$WORK/uas.xml" -t u1 -i $OOB_B -p 5072 -mi $MED -mp 49200 -rtp_echo -m 1 -nostdin -timeout 20
wait_listen udp $OOB_B 5072
timeout 20 sipp -sf "$WORK/uac_play.xml" -t u1 -i $OOB_A -p 5071 -mi $BOB -mp 21000 -s +14255550100 -m 1 -nostdin \
    -timeout 15 $OOB_B:5072 > "$LOGS/bob-uac.log" 2>&1 || echo "    (bob SIPp UAC failed, see logs)"
gap
step "Mediation -> Front End 2 5061 (MTLS INVITE from the PSTN)"
sipreq INVITE sip:alice@contoso.com "sip:+14255550199@contoso.com;user=phone" sip:alice@contoso.com \
    lab-pstn-inbound 1 $MED | tls_send $MED $FE2 5061 pool.corp.contoso.com med
gap

# --- 6. what the documentation does not account for ---------------------------------------------
echo "6. undocumented and mismatched traffic"
step "Mallory -> Front End TCP 8443 (HTTPS on a port no rule uses)"
"${CURL[@]}" --interface $MALLORY --resolve pool.corp.contoso.com:8443:$FE1 \
    "https://pool.corp.contoso.com:8443/" >> "$LOGS/clients.log" 2>&1 || true
gap
step "Mallory -> Back End SQL 1433 (client to SQL)"
printf "$TDS_PRELOGIN" | tcp_send $MALLORY $SQL 1433
gap
step "Front End -> Alice's PC 5061 (TLS, the reverse of the client's registration)"
sipreq INVITE sip:alice@$ALICE sip:bob@contoso.com sip:alice@contoso.com lab-reversed 1 $FE1 \
    | tls_send $FE1 $ALICE 5061 alice-pc.corp.contoso.com
gap
step "$STRANGER (no role) -> Front End 5061 (TLS REGISTER)"
sipreq REGISTER sip:contoso.com sip:eve@contoso.com sip:eve@contoso.com lab-stranger 1 $STRANGER \
    | tls_send $STRANGER $FE1 5061 pool.corp.contoso.com
gap
step "Dave -> Front End 5061 directly from outside (TLS REGISTER)"
sipreq REGISTER sip:contoso.com sip:dave@contoso.com sip:dave@contoso.com lab-dave-direct 1 $DAVE \
    | tls_send $DAVE $FE1 5061 pool.corp.contoso.com
gap
step "Dave -> A/V Edge UDP 40000 RTP (signalling out of band)"
start_bg av-media sipp -sf "$WORK/uas.xml" -t u1 -i $OOB_B -p 5074 -mi $AVE -mp 40000 -rtp_echo -m 1 -nostdin -timeout 20
wait_listen udp $OOB_B 5074
timeout 20 sipp -sf "$WORK/uac_play.xml" -t u1 -i $OOB_A -p 5073 -mi $DAVE -mp 22000 -s carol -m 1 -nostdin \
    -timeout 15 $OOB_B:5074 > "$LOGS/dave-uac.log" 2>&1 || echo "    (dave SIPp UAC failed, see logs)"
gap
step "Mallory -> Front End 5061 cleartext SIP over TCP"
sipreq REGISTER sip:contoso.com sip:mallory@contoso.com sip:mallory@contoso.com lab-cleartext 1 $MALLORY \
    | sed 's#SIP/2.0/TLS#SIP/2.0/TCP#; s#transport=tls#transport=tcp#' | tcp_send $MALLORY $FE1 5061
gap
step "Mallory -> Front End 443 plain HTTP"
"${CURL[@]}" --interface $MALLORY --resolve lyncdiscoverinternal.contoso.com:443:$FE1 \
    "http://lyncdiscoverinternal.contoso.com:443/?sipuri=mallory@contoso.com" >> "$LOGS/clients.log" 2>&1 || true
gap
step "Dave -> A/V Edge UDP 3478 'hello' (not STUN)"
printf 'hello' | timeout 5 socat -u - "UDP-SENDTO:$AVE:3478,bind=$DAVE:40032" >> "$LOGS/clients.log" 2>&1 || true
gap 1

# --- stop and write ------------------------------------------------------------------------------
kill -INT "$TCPDUMP_PID"
for _ in $(seq 50); do kill -0 "$TCPDUMP_PID" 2>/dev/null || break; sleep 0.1; done
wait "$TCPDUMP_PID" 2>/dev/null || true
TCPDUMP_PID=
mkdir -p "$(dirname "$OUT")"
cp "$WORK/lab.pcap" "$OUT"
echo "wrote $OUT ($(stat -c %s "$OUT") bytes)"
grep -E "packets (captured|dropped)" "$LOGS/tcpdump.log" || true
if command -v tshark >/dev/null 2>&1; then
    echo "conversations: tcp $(tshark -r "$OUT" -q -z conv,tcp 2>/dev/null | grep -c '<->')," \
         "udp $(tshark -r "$OUT" -q -z conv,udp 2>/dev/null | grep -c '<->')"
fi
