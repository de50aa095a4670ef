#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench's machinery, checked on exact counts with a short, paced run of
# the same driver (tools/bench/bench.sh), every row it measures:
#  - in-kernel generator rows (generator alone, bare XDP relay, icepathd
#    --xdp native; one and two RX queues): the generator sends exactly
#    BENCH_FRAMES frames per phase (throughput, then BPF statistics), and
#    the XDP_DROP sink must count exactly what was sent (two queues: half on
#    each RX queue of the relay's veth), every frame with
#    right IPv4 and UDP checksums (BENCH_VERIFY), the relay program must
#    have run on every frame of the statistics phase and report ns/packet,
#    and for icepathd (and the library row: icepath's program with flows
#    installed by icepath-bench fp) its own counters must show every frame
#    forwarded by XDP (none left to userspace);
#  - socket rows (icepathd --xdp off, rtpengine): 2000 packets a second for
#    one second, the sink counts every packet sent, checksums right;
#  - the paced SRTP <-> RTP rows (srtp-paced: icepathd --media-threads 1
#    and N, rtpengine; both directions over 2 SDES calls): the sender paced
#    to 2000 packets a second for one second, the userspace receiver gets
#    every packet once, in sequence, of the flow's SSRC and of the
#    direction's size: SRTP -> RTP plain (200 bytes), RTP -> SRTP 200 + the
#    10-byte tag, each packet authenticated and decrypted with the key the
#    relay offered (libsrtp2); the relay's CPU is read per thread, and
#    icepathd's media threads are there by name (icepath-m0.., one or N).
# What makes the benchmark's pps and ratios trustworthy: generator, relay
# and sink agree on every frame at a rate where nothing needs to be lost.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=$(cd "${1:?usage: test_bench.sh BUILD_DIR}" && pwd)
icp_require_root
[ -x "$build/bin/icepath-bench" ] || icp_fail "build first: $build/bin/icepath-bench missing"
rows="gen bare xdplib rtpengine"
[ -x "$build/bin/icepathd" ] && rows="gen bare xdp xdplib userspace rtpengine srtp-paced"
frames=20000

out=$ICP_TMP/bench
BENCH_OUT=$out BENCH_SECONDS=1 BENCH_STATS_SECONDS=1 BENCH_REPS=1 BENCH_FLOWS="1 100" \
	BENCH_XDP_MAX_CALLS=100 BENCH_US_MAX_CALLS=100 BENCH_MQ_FLOWS=100 BENCH_LIB_FLOWS=100 BENCH_FRAMES=$frames \
	BENCH_GEN_RATE=100000 BENCH_RATE=2000 BENCH_VERIFY=1 BENCH_ROWS="$rows" \
	BENCH_SRTP_CALLS=2 BENCH_SRTP_PACED_PPS=2000 \
	bash "$here/../../tools/bench/bench.sh" "$build" >"$ICP_TMP/bench.log" 2>&1
rc=$?
cat "$ICP_TMP/bench.log"
[ $rc -eq 0 ] || icp_fail "bench.sh exited $rc"

python3 - "$out/runs.jsonl" "$rows" "$frames" "$(nproc)" <<'EOF' || icp_fail "counts do not add up (see above)"
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
want, frames, ncpu = sys.argv[2].split(), int(sys.argv[3]), int(sys.argv[4])
bad = [f"{r['row']}: skipped: {r['skipped']}" for r in runs if "skipped" in r]
measured = [r for r in runs if "sender" in r and not r["row"].startswith("paced-")]
paced = [r for r in runs if r["row"].startswith("paced-") and "sender" in r]
if "srtp-paced" in want:
    expect = {f"paced-{d}-{m}" for d in ("srtp2rtp", "rtp2srtp") for m in ("icepathd-1", "icepathd-n", "rtpengine")}
    bad += [f"{k}: no measured run" for k in sorted(expect - {r["row"] for r in paced})]
for r in paced:
    s, k, d = r["send"], r["sink"], r["dir"]
    tag = 10 if d == "rtp2srtp" else 0
    checks = {
        "direction from the row": r["row"].startswith(f"paced-{d}-"),
        "paced: sent about 2000": 1900 <= s["sent"] <= 2100 and r["paced_pps"] == 2000,
        "sink got every packet once": k["packets"] == s["sent"] == k["expected"] and k["lost"] == 0
                                      and k["duplicates"] == 0 and k["silent_flows"] == 0,
        "RTP of the flow's SSRC": k["wrong_ssrc"] == 0 and k["malformed"] == 0,
        "size of the direction": k["bytes"] == s["sent"] * (r["size"] + tag)
                                 and k["plain_bytes"] == s["sent"] * r["size"],
        "SRTP authenticated at sink": (k["srtp"] and k["srtp_auth_fail"] == 0 and k["srtp_replay"] == 0
                                       and k["srtp_other_fail"] == 0) if tag else not k["srtp"],
        "relay CPU read": r["relay_cpu_s"] >= 0 and r["thread_cpu_s"],
    }
    if "icepathd" in r["row"]:
        n = 1 if r["row"].endswith("-1") else ncpu
        checks["media threads by name"] = {t for t in r["thread_cpu_s"] if t.startswith("icepath-m")} == \
            {f"icepath-m{i}" for i in range(n)}
    for what, ok in checks.items():
        print(f"{r['row']:28} {what:28} {'ok' if ok else 'FAILED'}")
        if not ok:
            bad.append(f"{r['row']}: {what}: {json.dumps(r)}")
# every row at every flow count and queue count it should have
expect = {(m, n, 1) for m in want if m != "srtp-paced" for n in (1, 100)} | {(m, 100, 2) for m in want if m in ("gen", "bare", "xdp")}
expect -= {("gen", 1, 1)}  # the generator alone runs at the largest flow count only
expect -= {("xdplib", 1, 1)}  # the library row runs at BENCH_LIB_FLOWS only
seen = {(r["row"], r["flows"], r["threads"]) for r in measured}
bad += [f"{k}: no measured run" for k in sorted(expect - seen)]
for r in measured:
    m = f"{r['row']} flows={r['flows']} queues={r['threads']}"
    if r["sender"] == "xdp-gen":
        x = r["run"]
        checks = {
            "sent exactly N": x["sent"] == frames and x["stats_sent"] == frames,
            "sink counted every frame": x["sink_total"] == x["total_sent"] == 2 * frames,
            "every checksum right": x["sink_good"] == x["total_sent"] and x["sink_bad_sum"] == 0
                                    and x["sink_bad_shape"] == 0,
            "relay ran on every frame": x["relay_runs"] == frames,
            "ns/packet measured": x["ns_relay"] > 0 and x["ns_gen"] > 0 and x["ns_sink"] > 0,
        }
        # veth picks the RX queue by the sending CPU: one per thread
        q = [a - b for a, b in zip(r["rxq_after"], r["rxq_before"])]
        checks["RX queues fed"] = q == ([2 * frames, 0] if r["threads"] == 1 else [frames, frames])
        if r["row"] in ("xdp", "xdplib"):
            checks["all through icepath's XDP"] = r["xdp_forwarded"] == x["total_sent"]
    else:
        s, k = r["send"], r["sink"]
        checks = {
            "sent about 2000": 1900 <= s["sent"] <= 2100,
            "sink counted every packet": k["packets"] == s["sent"],
            "every checksum right": k["good"] == s["sent"] and k["bad_sum"] == 0 and k["bad_shape"] == 0,
        }
    for what, ok in checks.items():
        print(f"{m:28} {what:28} {'ok' if ok else 'FAILED'}")
        if not ok:
            bad.append(f"{m}: {what}: {json.dumps(r)}")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
EOF
[ -s "$out/results.json" ] || icp_fail "no results.json written"

# recv --srtp-keys refuses a keys file it cannot use, before it binds or
# counts anything (loopback, a port below the ephemeral range)
printf '5e000000 127.0.0.1:21000 127.0.0.1:21001 127.0.0.1:21002 -\n5e000001 127.0.0.1:21004 127.0.0.1:21005 127.0.0.1:21006 -\n' \
	>"$ICP_TMP/keys-flows"
good="1 AES_CM_128_HMAC_SHA1_80 inline:$(python3 -c 'import base64; print(base64.b64encode(bytes(range(30))).decode())')"
for bad in "1 AES_CM_128_HMAC_SHA1_80 inline:short" "1 NO_SUCH_SUITE inline:AAAA" "" "$good"; do
	# two flows: each file is malformed, has no usable line, or one key short
	printf '%s\n' "$bad" >"$ICP_TMP/keys-bad"
	"$build/bin/icepath-bench" recv --flows "$ICP_TMP/keys-flows" --srtp-keys "$ICP_TMP/keys-bad" \
		--duration 1 >"$ICP_TMP/keys.out" 2>"$ICP_TMP/keys.err"
	rc=$?
	[ $rc -eq 1 ] && [ ! -s "$ICP_TMP/keys.out" ] && grep -q -- '--srtp-keys' "$ICP_TMP/keys.err" ||
		icp_fail "recv took keys file '$bad' (exit $rc): $(cat "$ICP_TMP/keys.err" "$ICP_TMP/keys.out")"
done
printf '%s\n%s\n' "$good" "$good" >"$ICP_TMP/keys-good"
"$build/bin/icepath-bench" recv --flows "$ICP_TMP/keys-flows" --srtp-keys "$ICP_TMP/keys-good" \
	--duration 0.2 >"$ICP_TMP/keys.out" 2>"$ICP_TMP/keys.err" &&
	grep -q '"srtp":true' "$ICP_TMP/keys.out" ||
	icp_fail "recv refused a good keys file: $(cat "$ICP_TMP/keys.err")"
icp_log "bench machinery: every row delivered every frame, counted once, checksums right"
