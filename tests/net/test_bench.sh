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
#    one second, the sink counts every packet sent, checksums right.
# What makes the benchmark's pps and ratios trustworthy: generator, relay
# and sink agree on every frame at a rate where nothing needs to be lost.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=$(cd "${1:?usage: test_bench.sh BUILD_DIR}" && pwd)
icp_require_root
[ -x "$build/bin/icepath-bench" ] || icp_fail "build first: $build/bin/icepath-bench missing"
rows="gen bare xdplib rtpengine"
[ -x "$build/bin/icepathd" ] && rows="gen bare xdp xdplib userspace rtpengine"
frames=20000

out=$ICP_TMP/bench
BENCH_OUT=$out BENCH_SECONDS=1 BENCH_STATS_SECONDS=1 BENCH_REPS=1 BENCH_FLOWS="1 100" \
	BENCH_XDP_MAX_CALLS=100 BENCH_US_MAX_CALLS=100 BENCH_MQ_FLOWS=100 BENCH_LIB_FLOWS=100 BENCH_FRAMES=$frames \
	BENCH_GEN_RATE=100000 BENCH_RATE=2000 BENCH_VERIFY=1 BENCH_ROWS="$rows" \
	bash "$here/../../tools/bench/bench.sh" "$build" >"$ICP_TMP/bench.log" 2>&1
rc=$?
cat "$ICP_TMP/bench.log"
[ $rc -eq 0 ] || icp_fail "bench.sh exited $rc"

python3 - "$out/runs.jsonl" "$rows" "$frames" <<'EOF' || icp_fail "counts do not add up (see above)"
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
want, frames = sys.argv[2].split(), int(sys.argv[3])
bad = [f"{r['row']}: skipped: {r['skipped']}" for r in runs if "skipped" in r]
measured = [r for r in runs if "sender" in r]
# every row at every flow count and queue count it should have
expect = {(m, n, 1) for m in want for n in (1, 100)} | {(m, 100, 2) for m in want if m in ("gen", "bare", "xdp")}
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
icp_log "bench machinery: every row delivered every frame, counted once, checksums right"
