#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench's machinery, checked on counts at a gentle rate: the same
# driver (tools/bench/bench.sh) sets up calls over NG on every relay it
# benchmarks (icepathd with XDP, icepathd in userspace, rtpengine) plus the
# kernel-forwarding baseline, sends 2000 RTP packets a second for one second
# on 10 flows, and the sink must count every packet exactly once, on the
# right flow (SSRC), from the relay's advertised address, with no sequence
# gap; in the XDP run the fast path's own counters must account for every
# packet. This is what makes the benchmark's loss and pps figures
# trustworthy: the generator, the NG setup and the sink agree on a relay
# that loses nothing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
build=$(cd "${1:?usage: test_bench.sh BUILD_DIR}" && pwd)
icp_require_root
[ -x "$build/bin/icepath-bench" ] || icp_fail "build first: $build/bin/icepath-bench missing"
relays="forward rtpengine"
[ -x "$build/bin/icepathd" ] && relays="xdp userspace $relays"

out=$ICP_TMP/bench
BENCH_OUT=$out BENCH_SECONDS=1 BENCH_REPS=1 BENCH_CALLS=40 BENCH_FLOWS=10 BENCH_RATE=2000 \
	BENCH_LOADS=fixed BENCH_RELAYS="$relays" bash "$here/../../tools/bench/bench.sh" "$build" \
	>"$ICP_TMP/bench.log" 2>&1
rc=$?
cat "$ICP_TMP/bench.log"
[ $rc -eq 0 ] || icp_fail "bench.sh exited $rc"

python3 - "$out/runs.jsonl" "$relays" <<'EOF' || icp_fail "counts do not add up (see above)"
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
want = sys.argv[2].split()
bad = []
for r in runs:
    if "skipped" in r:
        bad.append(f"{r['relay']}: skipped: {r['skipped']}")
seen = {r["relay"] for r in runs if "send" in r}
bad += [f"{m}: no measured run" for m in want if m not in seen]
for r in runs:
    if "send" not in r:
        continue
    m, s, v = r["relay"], r["send"], r["recv"]
    checks = {
        "sent about 2000": 1900 <= s["sent"] <= 2100,
        "received all": v["packets"] == s["sent"],
        "no sequence gap": v["lost"] == 0 and v["expected"] == s["sent"],
        "no duplicate": v["duplicates"] == 0,
        "right SSRC": v["wrong_ssrc"] == 0 and v["malformed"] == 0,
        "from the relay's address": v["wrong_source"] == 0,
        "every flow": v["silent_flows"] == 0,
    }
    if m == "xdp":
        checks["all through XDP"] = r["xdp_forwarded"] == s["sent"]
    else:
        checks["none through XDP"] = r["xdp_forwarded"] == 0
    for what, ok in checks.items():
        print(f"{m:10} {what:26} {'ok' if ok else 'FAILED'}")
        if not ok:
            bad.append(f"{m}: {what}: send {s} recv {v} xdp {r['xdp_forwarded']}")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
EOF
[ -s "$out/results.json" ] || icp_fail "no results.json written"
icp_log "bench machinery: every relay delivered every packet, counted once"
