#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A plain RTP/AVP endpoint with audio and video on separate ports (a SIP
trunk's media side, one port pair per m= line) for
tests/net/test_icepathd_webrtc_bundle.sh.

Audio: binds RTP on --audio IP:PORT and RTCP on PORT+1, sends PCMU (payload
type 0, 160 bytes every 20 ms) to --audio-to and an RTCP sender report every
second to --audio-rtcp-to.

Video: binds RTP on --video IP:PORT and RTCP on PORT+1. It has no encoder of
its own: every video RTP packet that arrives with --video-pt and a payload
(padding-only probes are skipped) is sent back to --video-to as it came
(same payload, timestamp and marker) but under its own SSRC and sequence
numbers, without header extensions or padding: Chromium then decodes the
frames it sent itself, which it can only do if the payload reached this
side decrypted. A sender report every second goes to --video-rtcp-to.

With --nack-at N it NACKs (RFC 4585 generic NACK, on the video RTCP port)
the ten video packets before the Nth, once, and counts the RTX (RFC 4588,
--rtx-pt) retransmissions that come back: with a payload and an original
sequence number it asked for, with one it did not ask for, padding only.

Counts, per port, what arrives: payload types, RTP packets with a header
extension (X bit: the browser's MID and the like, passed through), the SSRCs of RTP, the sender
SSRCs of RTCP; audio RTP counts as plain only if it is exactly a 12-byte
header (and the header extensions the browser put there) plus 160 bytes of
PCMU (SRTP would add its tag, RFC 3711 §3.1), RTCP
as plain only if the length fields of its compound packets add up to the
datagram (SRTCP appends the E-flag/index word and a tag, RFC 3711 §3.4).
Prints one JSON line at the end.

Usage: rtp_plain_av_peer.py --audio IP:PORT --video IP:PORT --video-pt PT
       --audio-to IP:PORT --audio-rtcp-to IP:PORT --video-to IP:PORT
       --video-rtcp-to IP:PORT --seconds S [--ready FILE] [--rtx-pt PT --nack-at N]
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


def rtp_payload(b):
    """RFC 3550 §5.1/§5.3.1: the payload after CSRCs and the extension,
    padding removed; None when the header does not fit."""
    if len(b) < 12 or b[0] >> 6 != 2:
        return None
    off = 12 + 4 * (b[0] & 0x0F)
    if b[0] & 0x10:
        if off + 4 > len(b):
            return None
        off += 4 + 4 * struct.unpack_from("!H", b, off + 2)[0]
    end = len(b)
    if b[0] & 0x20:
        if end <= off or b[-1] > end - off:
            return None
        end -= b[-1]
    return b[off:end] if off <= end else None


def sr(ssrc, ts, sent, octets):
    # RFC 3550 §6.4.1 sender report, no report blocks: 28 bytes
    return struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, 0, 0, ts & 0xFFFFFFFF,
                       sent & 0xFFFFFFFF, octets & 0xFFFFFFFF)


def new_stats():
    return {"rtp": 0, "ext": 0, "rtp_plain": 0, "rtp_other": 0, "rtcp_plain": 0, "rtcp_other": 0,
            "pt": {}, "ssrcs": [], "rtcp_ssrcs": [], "sources": []}


def main():
    ap = argparse.ArgumentParser()
    for o in ("--audio", "--video", "--audio-to", "--audio-rtcp-to", "--video-to",
              "--video-rtcp-to"):
        ap.add_argument(o, required=True, type=hostport)
    ap.add_argument("--video-pt", required=True, type=int)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--ready", help="a file written once the sockets are bound")
    ap.add_argument("--rtx-pt", type=int, default=-1,
                    help="the RTX payload type of the video (RFC 4588) it answered")
    ap.add_argument("--nack-at", type=int, default=0,
                    help="after this many video packets, NACK (RFC 4585 §6.2.1) the "
                    "10 packets before the last one, once")
    a = ap.parse_args()
    socks = {}
    for kind, bind in (("audio", a.audio), ("video", a.video)):
        for comp, port in (("rtp", bind[1]), ("rtcp", bind[1] + 1)):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((bind[0], port))
            socks[s] = (kind, comp)
    by = {v: k for k, v in socks.items()}
    if a.ready:  # the browser's first video (its only key frame) must find a socket
        with open(a.ready, "w") as f:
            f.write("bound\n")
    assrc, vssrc = struct.unpack("!II", os.urandom(8))
    aseq = ats = asent = 0
    vseq = vsent = voctets = vts = 0
    st = {"audio": new_stats(), "video": new_stats(), "nack_sent": 0, "rtx": 0,
          "rtx_unasked": 0, "rtx_padding": 0}
    nacked = set()
    start = time.monotonic()
    next_rtp, next_rtcp = start, start + 1
    while time.monotonic() - start < a.seconds:
        now = time.monotonic()
        if now >= next_rtp:
            hdr = struct.pack("!BBHII", 0x80, 0, aseq & 0xFFFF, ats & 0xFFFFFFFF, assrc)
            by[("audio", "rtp")].sendto(hdr + b"\xff" * 160, a.audio_to)  # mu-law silence
            aseq, ats, asent = aseq + 1, ats + 160, asent + 1
            next_rtp += 0.02
        if now >= next_rtcp:
            by[("audio", "rtcp")].sendto(sr(assrc, ats, asent, asent * 160), a.audio_rtcp_to)
            if vsent:
                by[("video", "rtcp")].sendto(sr(vssrc, vts, vsent, voctets), a.video_rtcp_to)
            next_rtcp += 1
        r, _, _ = select.select(list(socks), [], [], max(0, min(next_rtp, next_rtcp) - now))
        for s in r:
            b, src = s.recvfrom(4096)
            kind, comp = socks[s]
            k = st[kind]
            if "%s:%d" % src not in k["sources"]:
                k["sources"].append("%s:%d" % src)
            if comp == "rtcp":
                plain = rtcp_plain(b)
                k["rtcp_plain" if plain else "rtcp_other"] += 1
                if plain and len(b) >= 8:
                    x = struct.unpack_from("!I", b, 4)[0]
                    if x not in k["rtcp_ssrcs"]:
                        k["rtcp_ssrcs"].append(x)
                continue
            k["rtp"] += 1
            if len(b) < 12:
                k["rtp_other"] += 1
                continue
            pt = b[1] & 0x7F
            k["ext"] += 1 if b[0] & 0x10 else 0
            k["pt"][str(pt)] = k["pt"].get(str(pt), 0) + 1
            x = struct.unpack_from("!I", b, 8)[0]
            if x not in k["ssrcs"]:
                k["ssrcs"].append(x)
            if kind == "video" and a.nack_at and pt == a.video_pt and k["rtp"] == a.nack_at:
                # Generic NACK: sender (ours), media source (the browser's
                # video SSRC), PID = 10 back and BLP = the 9 after it
                seq = struct.unpack_from("!H", b, 2)[0]
                nack = struct.pack("!BBHIIHH", 0x81, 205, 3, vssrc, x, (seq - 10) & 0xFFFF, 0x01FF)
                by[("video", "rtcp")].sendto(nack, a.video_rtcp_to)
                st["nack_sent"] = 10
                nacked.update((seq - 10 + i) & 0xFFFF for i in range(10))
            pl = rtp_payload(b)
            if kind == "video" and pt == a.rtx_pt and pl is not None:
                # RFC 4588 §4: the original sequence number, then its payload;
                # none: a padding probe on the RTX stream
                if len(pl) > 2:
                    st["rtx"] += 1
                    osn = struct.unpack_from("!H", pl, 0)[0]
                    st["rtx_unasked"] += 0 if osn in nacked else 1
                else:
                    st["rtx_padding"] += 1
            if kind == "audio":
                # the browser's header extensions (its MID) may come along
                plain = pl is not None and len(pl) == 160 and pt == 0
                k["rtp_plain" if plain else "rtp_other"] += 1
                continue
            k["rtp_plain" if pl is not None else "rtp_other"] += 1
            if pt != a.video_pt or not pl:
                continue
            vts = struct.unpack_from("!I", b, 4)[0]
            hdr = struct.pack("!BBHII", 0x80, b[1] & 0x80 | pt, vseq & 0xFFFF, vts, vssrc)
            by[("video", "rtp")].sendto(hdr + pl, a.video_to)
            vseq, vsent, voctets = vseq + 1, vsent + 1, voctets + len(pl)
    st["audio"]["sent"], st["video"]["sent"] = asent, vsent
    print(json.dumps(st), flush=True)


if __name__ == "__main__":
    main()
