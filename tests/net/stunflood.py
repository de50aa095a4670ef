#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# stunflood.py HOST PORT N RELAY_UFRAG RELAY_PWD PEER_UFRAG: send N
# unauthenticated 20-byte STUN Binding requests to HOST:PORT (a media port of
# icepathd) from one socket, and every 2000 of them one authenticated
# connectivity check of the real call on that port (RFC 8445 7.2.2: USERNAME
# "RELAY_UFRAG:PEER_UFRAG", MESSAGE-INTEGRITY with RELAY_PWD, FINGERPRINT)
# from another, retransmitted every 50 ms until answered. Prints "answered A
# of N" and the checks' answer latencies (from the first transmission); a
# check unanswered within 1 s counts as 1000 ms. For tests/net only: the
# target is an address of a test namespace.
import hashlib, hmac, os, select, socket, struct, sys, time, zlib

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rufrag, rpwd, pufrag = sys.argv[4], sys.argv[5], sys.argv[6]
MAGIC = 0x2112A442


def attr(t, v):
    return struct.pack("!HH", t, len(v)) + v + b"\0" * (-len(v) % 4)


def check(tid):
    body = attr(0x0006, (rufrag + ":" + pufrag).encode())  # USERNAME
    body += attr(0x0024, struct.pack("!I", 0x6E7FFFFF))  # PRIORITY (prflx)
    body += attr(0x802A, os.urandom(8))  # ICE-CONTROLLING: we play the caller
    hdr = struct.pack("!HHI", 0x0001, len(body) + 24, MAGIC) + tid
    mac = hmac.new(rpwd.encode(), hdr + body, hashlib.sha1).digest()
    body += attr(0x0008, mac)  # MESSAGE-INTEGRITY (RFC 8489 14.5)
    hdr = struct.pack("!HHI", 0x0001, len(body) + 8, MAGIC) + tid
    crc = (zlib.crc32(hdr + body) ^ 0x5354554E) & 0xFFFFFFFF
    return hdr + body + attr(0x8028, struct.pack("!I", crc))  # FINGERPRINT


flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
flood.setblocking(False)
dst = (host, port)
answered = 0
retx = 0
lat = []


def drain():
    global answered
    while True:
        try:
            flood.recv(2048)
            answered += 1
        except BlockingIOError:
            return


for i in range(n):
    req = struct.pack("!HHI", 0x0001, 0, MAGIC) + struct.pack("!IQ", i, 0)
    while True:
        try:
            flood.sendto(req, dst)
            break
        except BlockingIOError:
            select.select([], [flood], [], 0.01)
    if i % 256 == 0:
        drain()
    if i % 2000 == 1000:
        # a real agent retransmits a check the network lost (RFC 8489
        # 6.2.1; here every 50 ms): the flood overflows the relay's socket
        # buffer now and then, which no daemon can prevent
        tid = os.urandom(12)
        msg = check(tid)
        t0 = time.monotonic()
        ms = 1000.0
        tries = 0
        while ms == 1000.0 and time.monotonic() - t0 < 1.0:
            probe.sendto(msg, dst)
            tries += 1
            t1 = time.monotonic()
            while time.monotonic() - t1 < 0.05:
                r, _, _ = select.select([probe], [], [], 0.05 - (time.monotonic() - t1))
                if not r:
                    break
                m = probe.recv(2048)
                if len(m) >= 20 and m[8:20] == tid:
                    ms = (time.monotonic() - t0) * 1000.0
                    break
        retx += tries - 1
        lat.append(ms)
time.sleep(0.5)
drain()
lat.sort()
print("answered %d of %d" % (answered, n))
print("checks %d answered %d latency ms median %.2f max %.2f retransmissions %d" %
      (len(lat), sum(1 for x in lat if x < 1000.0), lat[len(lat) // 2], lat[-1], retx))
