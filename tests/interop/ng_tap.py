#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A recording NG relay between a SIP proxy and icepathd, for the tests.

Listens for NG datagrams ("COOKIE bencoded-dictionary") on --listen, sends
each one on to --server and the server's reply back to the proxy that asked,
and appends both to --log, one line each: "request BYTES" / "reply BYTES",
the datagram as Latin-1 with CR and LF escaped, so a test can grep the
bencoded keys, flags and warnings exactly as they went over the wire. It
parses nothing: what the proxy sent is what the relay gets.

Usage: ng_tap.py --listen IP:PORT --server IP:PORT --log FILE
"""
import argparse
import select
import socket


def hostport(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def line(kind, data):
    text = data.decode("latin-1").replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")
    return "%s %s\n" % (kind, text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True, type=hostport)
    ap.add_argument("--server", required=True, type=hostport)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(a.listen)
    back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    back.connect(a.server)
    asked = {}  # cookie -> the proxy's address
    with open(a.log, "a", buffering=1) as log:
        while True:
            ready, _, _ = select.select([front, back], [], [])
            if front in ready:
                data, peer = front.recvfrom(65535)
                asked[data.split(b" ", 1)[0]] = peer
                log.write(line("request", data))
                back.send(data)
            if back in ready:
                try:
                    data = back.recv(65535)
                except ConnectionRefusedError:
                    continue
                log.write(line("reply", data))
                peer = asked.pop(data.split(b" ", 1)[0], None)
                if peer:
                    front.sendto(data, peer)


if __name__ == "__main__":
    main()
