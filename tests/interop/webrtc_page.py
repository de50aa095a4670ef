#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The browser side of tests/net/test_icepathd_webrtc_gw.sh.

Serves one page to headless Chromium on 127.0.0.1 inside the browser's own
namespace (a secure context, so getUserMedia works with the fake device) and
is the page's signalling channel, through files in DIR that the test reads
and writes:

  POST /offer    the page's offer SDP (ICE gathering complete) -> DIR/offer.sdp
  GET  /answer   DIR/answer.sdp once the test wrote it (204 until then)
  POST /report   one JSON line of RTCPeerConnection states and getStats
                 figures -> appended to DIR/report.jsonl

With /?video=1 the page (offerer) sends the fake camera's video too, BUNDLEd
with the audio on one transport as Chromium always does
(tests/net/test_icepathd_webrtc_bundle.sh); its reports add the video
figures (rxVideo, txVideo, framesDecoded).

With /?role=answer the page is the callee instead (a SIP phone calls the
browser): it polls GET /remote-offer (DIR/remote-offer.sdp), answers, posts
the answer (ICE gathering complete) to POST /answer (DIR/local-answer.sdp)
and its reports to DIR/report-answer.jsonl.

Usage: webrtc_page.py PORT DIR
"""
import http.server
import os
import sys

PAGE = r"""<!doctype html>
<html><body><pre id="log"></pre><script>
const log = (m) => { document.getElementById('log').textContent += m + '\n'; };
async function post(path, body) {
  await fetch(path, {method: 'POST', body: body});
}
const answerer = location.search.indexOf('role=answer') >= 0;
const video = location.search.indexOf('video=1') >= 0;
async function report(pc, extra) {
  const r = {ice: pc.iceConnectionState, conn: pc.connectionState,
             signaling: pc.signalingState, t: Date.now()};
  Object.assign(r, extra || {});
  try {
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type === 'transport') {
        r.dtls = s.dtlsState; r.srtp = s.srtpCipher || ''; r.tls = s.tlsVersion || '';
        r.dtlsRole = s.dtlsRole || '';
      }
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        r.rx = s.packetsReceived; r.rxLost = s.packetsLost; r.rxBytes = s.bytesReceived;
      }
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        r.rxVideo = (r.rxVideo || 0) + s.packetsReceived;
        r.framesDecoded = (r.framesDecoded || 0) + (s.framesDecoded || 0);
        r.framesReceived = (r.framesReceived || 0) + (s.framesReceived || 0);
        r.keyFramesDecoded = (r.keyFramesDecoded || 0) + (s.keyFramesDecoded || 0);
        r.pli = (r.pli || 0) + (s.pliCount || 0);
      }
      if (s.type === 'outbound-rtp' && s.kind === 'audio') r.tx = s.packetsSent;
      if (s.type === 'outbound-rtp' && s.kind === 'video') r.txVideo = (r.txVideo || 0) + s.packetsSent;
      if (s.type === 'codec' && s.mimeType) r.codec = s.mimeType;
      if (s.type === 'remote-inbound-rtp') r.remoteRr = (r.remoteRr || 0) + 1;
    });
  } catch (e) { r.statsError = String(e); }
  await post(answerer ? '/report-answer' : '/report', JSON.stringify(r));
}
async function fetchWait(path) {
  for (;;) {
    const r = await fetch(path);
    if (r.status === 200) return await r.text();
    await new Promise((res) => setTimeout(res, 200));
  }
}
async function callee() {
  const pc = new RTCPeerConnection({iceServers: []});
  try {
    const offer = await fetchWait('/remote-offer');
    await pc.setRemoteDescription({type: 'offer', sdp: offer});
    const stream = await navigator.mediaDevices.getUserMedia({audio: true});
    stream.getTracks().forEach((t) => pc.addTrack(t, stream));
    const gathered = new Promise((res) => {
      pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') res(); };
    });
    await pc.setLocalDescription(await pc.createAnswer());
    await Promise.race([gathered, new Promise((res) => setTimeout(res, 5000))]);
    await post('/answer', pc.localDescription.sdp);
    setInterval(() => report(pc), 500);
  } catch (e) {
    await report(pc, {error: String(e)});
  }
}
(async () => {
  if (answerer) return callee();
  try {
    const pc = new RTCPeerConnection({iceServers: []});
    const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: video});
    stream.getTracks().forEach((t) => pc.addTrack(t, stream));
    const gathered = new Promise((res) => {
      pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') res(); };
    });
    await pc.setLocalDescription(await pc.createOffer());
    await Promise.race([gathered, new Promise((res) => setTimeout(res, 5000))]);
    await post('/offer', pc.localDescription.sdp);
    let answer = null;
    while (!answer) {
      const r = await fetch('/answer');
      if (r.status === 200) answer = await r.text();
      else await new Promise((res) => setTimeout(res, 200));
    }
    try {
      await pc.setRemoteDescription({type: 'answer', sdp: answer});
    } catch (e) {
      await report(pc, {error: 'setRemoteDescription: ' + e});
      return;
    }
    setInterval(() => report(pc), 500);
  } catch (e) {
    await post('/report', JSON.stringify({error: String(e)}));
  }
})();
</script></body></html>
"""


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):  # quiet: the test prints what matters
        pass

    def reply(self, code, body=b"", ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        d = self.server.dir
        if self.path == "/" or self.path.startswith("/?"):
            self.reply(200, PAGE.encode(), "text/html")
        elif self.path in ("/answer", "/remote-offer"):
            p = os.path.join(d, "answer.sdp" if self.path == "/answer" else "remote-offer.sdp")
            if os.path.exists(p):
                with open(p, "rb") as f:
                    self.reply(200, f.read())
            else:
                self.reply(204)
        else:
            self.reply(404)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n) if n > 0 else b""
        d = self.server.dir
        if self.path == "/offer":
            tmp = os.path.join(d, "offer.sdp.tmp")
            with open(tmp, "wb") as f:
                f.write(body)
            os.rename(tmp, os.path.join(d, "offer.sdp"))
        elif self.path == "/answer":
            tmp = os.path.join(d, "local-answer.sdp.tmp")
            with open(tmp, "wb") as f:
                f.write(body)
            os.rename(tmp, os.path.join(d, "local-answer.sdp"))
        elif self.path in ("/report", "/report-answer"):
            name = "report.jsonl" if self.path == "/report" else "report-answer.jsonl"
            with open(os.path.join(d, name), "ab") as f:
                f.write(body.replace(b"\n", b" ") + b"\n")
        else:
            self.reply(404)
            return
        self.reply(200)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    srv.dir = sys.argv[2]
    srv.serve_forever()


if __name__ == "__main__":
    main()
