#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A plain RTP/AVP endpoint (a SIP trunk's media side) for the gateway tests.

Binds RTP on --bind IP:PORT and RTCP on PORT+1, sends PCMU (payload type 0,
160 bytes every 20 ms) to --to and an RTCP sender report every second to
--rtcp-to, for --seconds, and counts what arrives: a packet counts as plain
RTP only if it is exactly a 12-byte header plus 160 bytes of PCMU (SRTP would
add its 4-16 byte tag, RFC 3711 §3.1), and as plain RTCP only if the length
fields of its compound packets add up to the datagram (SRTCP appends the
E-flag/index word and a tag, RFC 3711 §3.4). Prints one JSON line at the end.

Usage: rtp_plain_peer.py --bind IP:PORT --to IP:PORT --rtcp-to IP:PORT --seconds S
"""
import argparse
import json
import os
import select
import socket
import struct
import time


def hostport(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def rtcp_plain(b):
    """Every packet of a compound: V=2, length field fits exactly."""
    off = 0
    while off < len(b):
        if len(b) - off < 4 or b[off] >> 6 != 2:
            return False
        off += (struct.unpack_from("!H", b, off + 2)[0] + 1) * 4
    return off == len(b) and len(b) > 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", required=True, type=hostport)
    ap.add_argument("--to", required=True, type=hostport)
    ap.add_argument("--rtcp-to", required=True, type=hostport)
    ap.add_argument("--seconds", type=float, default=10)
    # once this file exists, plain RTP is also counted in rtp_plain_after
    ap.add_argument("--mark")
    a = ap.parse_args()
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(a.bind)
    rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtcp.bind((a.bind[0], a.bind[1] + 1))
    ssrc = struct.unpack("!I", os.urandom(4))[0]
    seq, ts, sent, sent_rtcp = 0, 0, 0, 0
    st = {"rtp_plain": 0, "rtp_other": 0, "rtcp_plain": 0, "rtcp_other": 0,
          "pt": {}, "sources": [], "rtp_plain_after": 0}
    start = time.monotonic()
    next_rtp, next_rtcp = start, start + 1
    while time.monotonic() - start < a.seconds:
        now = time.monotonic()
        if now >= next_rtp:
            hdr = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
            rtp.sendto(hdr + b"\xff" * 160, a.to)  # mu-law silence
            seq, ts, sent = seq + 1, ts + 160, sent + 1
            next_rtp += 0.02
        if now >= next_rtcp:
            # RFC 3550 §6.4.1 sender report, no report blocks: 28 bytes
            sr = struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, 0, 0, ts & 0xFFFFFFFF,
                             sent, sent * 160)
            rtcp.sendto(sr, a.rtcp_to)
            sent_rtcp += 1
            next_rtcp += 1
        r, _, _ = select.select([rtp, rtcp], [], [], max(0, min(next_rtp, next_rtcp) - now))
        for s in r:
            b, src = s.recvfrom(4096)
            if "%s:%d" % src not in st["sources"]:
                st["sources"].append("%s:%d" % src)
            if s is rtp:
                pt = str(b[1] & 0x7F) if len(b) > 1 else "?"
                st["pt"][pt] = st["pt"].get(pt, 0) + 1
                plain = len(b) == 12 + 160 and b[0] >> 6 == 2 and b[1] & 0x7F == 0
                st["rtp_plain" if plain else "rtp_other"] += 1
                if plain and a.mark and os.path.exists(a.mark):
                    st["rtp_plain_after"] += 1
            else:
                st["rtcp_plain" if rtcp_plain(b) else "rtcp_other"] += 1
    st["sent"], st["sent_rtcp"] = sent, sent_rtcp
    print(json.dumps(st), flush=True)


if __name__ == "__main__":
    main()
