#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Forged datagrams toward a relay's media port, from a source address and
port another process owns (the browser's selected ICE candidate): a raw
socket writes the UDP header itself (checksum 0: none, RFC 768), so the
relay sees exactly the 5-tuple of the real peer, as an on-path attacker
would send. For the gateway test: nothing of this may be forwarded.

  srtp     RTP headers (V=2, PT 0) with random payload and a random 16-byte
           "tag": SRTP that fails authentication (RFC 3711 §3.3)
  srtcp    RTCP SR headers with random body and trailer
  dtls     DTLS records (content type 20..63, RFC 7983) of random bytes,
           truncated records and an oversized length field

Usage: udp_forge.py --src IP:PORT --dst IP:PORT --kind srtp|srtcp|dtls --count N
"""
import argparse
import os
import socket
import struct
import time


def hostport(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def payload(kind, i):
    r = os.urandom
    if kind == "srtp":
        return struct.pack("!BBHII", 0x80, 0, (40000 + i) & 0xFFFF, i * 160, 0x1234) + r(176)
    if kind == "srtcp":
        return struct.pack("!BBHI", 0x80, 200, 6, 0x1234) + r(20) + r(4 + 16)
    # DTLS: type, version FEFD, epoch, seq, length (RFC 6347 §4.1)
    body = r(i % 200)
    if i % 3 == 0:
        return bytes([22]) + b"\xfe\xfd" + r(8) + struct.pack("!H", len(body)) + body
    if i % 3 == 1:
        return bytes([20 + i % 44]) + r(i % 13)  # truncated header
    return bytes([23]) + b"\xfe\xfd" + r(8) + b"\xff\xff" + body  # length past the end


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, type=hostport)
    ap.add_argument("--dst", required=True, type=hostport)
    ap.add_argument("--kind", required=True, choices=["srtp", "srtcp", "dtls"])
    ap.add_argument("--count", type=int, default=100)
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    s.bind((a.src[0], 0))
    for i in range(a.count):
        p = payload(a.kind, i)
        udp = struct.pack("!HHHH", a.src[1], a.dst[1], 8 + len(p), 0) + p
        s.sendto(udp, (a.dst[0], 0))
        time.sleep(0.002)
    print("sent %d forged %s datagrams from %s:%d" % (a.count, a.kind, a.src[0], a.src[1]))


if __name__ == "__main__":
    main()
