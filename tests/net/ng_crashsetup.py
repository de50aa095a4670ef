#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""NG driver for tests/net/test_icepathd_crashsetup.sh.

  ng_crashsetup.py drive SERVER ACKS FIRST MAX
      Offer/answer plain-RTP calls crash-FIRST, crash-FIRST+1, ... (at most
      MAX of them) as fast as
      the relay answers, one at a time (a SIP proxy's worker). Each reply is
      appended to ACKS as it arrives ("offer ID PORT" / "answer ID PORT",
      PORT the relay's port in the reply's SDP), flushed at once, so what
      was acknowledged before a kill -9 is on record. Stops when the relay
      stops answering.
  ng_crashsetup.py check SERVER ACKS ORPHANS NEW
      After the restart: every call whose offer and answer were both
      acknowledged is known, with the ports its replies gave; no relay port
      belongs to two calls; no removed orphan flow (ORPHANS: "remote-port"
      per line, from the log) belongs to an acknowledged call; and NEW more
      calls get ports no recovered call holds. Prints one line of figures;
      exit 1 with the reasons on a violation.

Call i's caller is 203.0.113.10:(20000 + 2i), its callee 203.0.113.20:
(40000 + 2i): a flow's remote port names its call.
"""
import os
import socket
import sys

CALLER = "203.0.113.10"
CALLEE = "203.0.113.20"


def benc(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(benc(x) for x in v) + b"e"
    if isinstance(v, dict):
        return b"d" + b"".join(benc(k) + benc(v[k]) for k in sorted(v)) + b"e"
    raise TypeError(v)


def bdec(b, i=0):
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    if c == b"l":
        out, i = [], i + 1
        while b[i:i + 1] != b"e":
            x, i = bdec(b, i)
            out.append(x)
        return out, i + 1
    if c == b"d":
        out, i = {}, i + 1
        while b[i:i + 1] != b"e":
            k, i = bdec(b, i)
            v, i = bdec(b, i)
            out[k.decode()] = v
        return out, i + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    return b[j + 1:j + 1 + n], j + 1 + n


class Ng:
    def __init__(self, server, timeout):
        host, port = server.rsplit(":", 1)
        self.addr = (host, int(port))
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.settimeout(timeout)
        self.n = 0

    def call(self, req, tries=3):
        """The reply dict, or None when the relay does not answer."""
        self.n += 1
        cookie = b"%d_%d" % (os.getpid(), self.n)
        msg = cookie + b" " + benc(req)
        for _ in range(tries):  # a retransmission reuses the cookie
            self.s.sendto(msg, self.addr)
            try:
                while True:
                    data = self.s.recv(65536)
                    ck, _, body = data.partition(b" ")
                    if ck == cookie:
                        return bdec(body)[0]
            except socket.timeout:
                continue
            except ConnectionRefusedError:
                return None
        return None


def sdp(ip, port):
    return ("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=sendrecv\r\n" % (ip, ip, port))


def sdp_port(d):
    for line in d.get("sdp", b"").decode().split("\r\n"):
        if line.startswith("m="):
            return int(line.split()[1])
    return 0


def offer(ng, cid, i):
    return ng.call({"command": "offer", "call-id": cid, "from-tag": "ft-" + cid,
                    "sdp": sdp(CALLER, 20000 + 2 * i)})


def answer(ng, cid, i):
    return ng.call({"command": "answer", "call-id": cid, "from-tag": "ft-" + cid,
                    "to-tag": "tt-" + cid, "sdp": sdp(CALLEE, 40000 + 2 * i)})


def drive(server, acks, first, most):
    ng = Ng(server, 0.25)
    fd = os.open(acks, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    i = first
    while i < first + most:
        cid = "crash-%d" % i
        for what, fn in (("offer", offer), ("answer", answer)):
            r = fn(ng, cid, i)
            if r is None:
                return 0
            if r.get("result") != b"ok":
                sys.stderr.write("%s %s: %r\n" % (what, cid, r))
                return 1
            os.write(fd, b"%s %s %d\n" % (what.encode(), cid.encode(), sdp_port(r)))
        i += 1
    return 0


def ports_of(reply):
    """{tag: [local ports]} of a query reply."""
    out = {}
    for tag, leg in reply.get("tags", {}).items():
        ps = out.setdefault(tag, [])
        for m in leg.get("medias", []):
            for st in m.get("streams", []):
                ps.append(st.get("local port"))
    return out


def check(server, acks, orphans, new):
    ng = Ng(server, 0.5)
    offered, answered = {}, {}
    for line in open(acks):
        what, cid, port = line.split()
        (offered if what == "offer" else answered)[cid] = int(port)
    bad = []
    owner = {}  # relay port -> call-id

    def claim(cid, ports):
        for p in ports:
            if owner.get(p, cid) != cid:
                bad.append("port %d held by %s and %s" % (p, owner[p], cid))
            owner[p] = cid

    lst = ng.call({"command": "list", "limit": 1000})
    if lst is None or lst.get("result") != b"ok":
        print("FAIL: list: %r" % (lst,))
        return 1
    known = [c.decode() for c in lst.get("calls", [])]
    for cid in known:
        q = ng.call({"command": "query", "call-id": cid})
        if q is None or q.get("result") != b"ok":
            bad.append("%s listed but query fails: %r" % (cid, q))
            continue
        by_tag = ports_of(q)
        claim(cid, [p for ps in by_tag.values() for p in ps])
        # the ports its replies acknowledged are the ports it has
        callee_side = by_tag.get("tt-" + cid, [])
        caller_side = by_tag.get("ft-" + cid, [])
        if cid in offered and cid in answered:
            if offered[cid] not in callee_side and offered[cid] not in caller_side:
                bad.append("%s: offer acknowledged port %d, recovered with %r" %
                           (cid, offered[cid], by_tag))
            if answered[cid] not in caller_side and answered[cid] not in callee_side:
                bad.append("%s: answer acknowledged port %d, recovered with %r" %
                           (cid, answered[cid], by_tag))
    both = [c for c in answered if c in offered]
    for cid in both:
        if cid not in known:
            bad.append("%s: offer and answer acknowledged, not recovered" % cid)
    for line in open(orphans):
        port = int(line.split()[0])
        i = (port - 20000) // 2 if port < 40000 else (port - 40000) // 2
        cid = "crash-%d" % i
        if cid in both:
            bad.append("%s: an acknowledged call's flow (remote port %d) was removed as "
                       "an orphan" % (cid, port))
    # new calls after the restart never get a recovered call's port
    for k in range(new):
        cid = "after-%d-%d" % (os.getpid(), k)
        i = 9000 + k
        o = offer(ng, cid, i)
        a = answer(ng, cid, i) if o else None
        if not o or not a or o.get("result") != b"ok" or a.get("result") != b"ok":
            bad.append("%s: new call refused: %r %r" % (cid, o, a))
            continue
        q = ng.call({"command": "query", "call-id": cid})
        claim(cid, [p for ps in ports_of(q).values() for p in ps])
    # deleted only now: a deleted call's port may go to the next one
    for k in range(new):
        cid = "after-%d-%d" % (os.getpid(), k)
        ng.call({"command": "delete", "call-id": cid, "from-tag": "ft-" + cid})
    print("acknowledged %d, recovered %d, ports %d, orphans %d" %
          (len(both), len([c for c in both if c in known]), len(owner),
           sum(1 for _ in open(orphans))))
    for b in bad:
        print("FAIL: " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "drive":
        sys.exit(drive(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
    sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
