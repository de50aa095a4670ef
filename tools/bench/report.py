#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""make bench's report: one table from one run (tools/bench/bench.sh writes
runs.jsonl: one JSON object per measured run, relay setup, skip or row not
measured). Medians over the rounds; every ratio to the bare XDP program is
taken within a round (runs seconds apart) and then the median of those.
Prints the table, writes BUILD/bench/results.md (for the README) and
results.json.

usage: report.py RUNS.jsonl OUTDIR START_DATE COMMAND DURATION_S
"""
import json
import os
import statistics
import sys

ORDER = ["gen", "bare", "xdp", "xdplib", "userspace", "rtpengine"]
LABEL = {
    "gen": "generator alone (XDP_DROP at relay ingress)",
    "bare": "bare XDP (bench_bare: rewrite + devmap redirect)",
    "xdp": "icepathd --xdp native",
    "xdplib": "icepath XDP native, flows installed by its library (no calls)",
    "userspace": "icepathd --xdp off",
    "rtpengine": "rtpengine --table=-1 (userspace)",
    "srtp-icepathd-1": "icepathd --xdp off --media-threads 1",
    "srtp-icepathd-n": "icepathd --xdp off --media-threads N (one per CPU)",
    "srtp-rtpengine": "rtpengine --table=-1 (userspace, its default threads)",
}
# the paced SRTP <-> RTP rows: paced-DIR-RELAY
DIRS = {"srtp2rtp": "SRTP -> RTP", "rtp2srtp": "RTP -> SRTP"}
for _d in DIRS:
    for _r in ("icepathd-1", "icepathd-n", "rtpengine"):
        LABEL[f"paced-{_d}-{_r}"] = LABEL[f"srtp-{_r}"]


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def derive(o):
    """The figures of one measured run, whichever sender fed it."""
    if o["sender"] == "xdp-gen":
        r = o["run"]
        sent, secs, got = r["sent"], r["seconds"], r["sink_packets"]
        return {
            "offered_pps": r["gen_pps"],
            "sink_pps": r["sink_pps"],
            "loss_pct": 100.0 * (1 - got / sent) if sent else None,
            "cores": r["machine_busy_s"] / secs if secs else None,
            "cpu_ns_per_pkt": r["machine_busy_s"] * 1e9 / got if got else None,
            "ns_relay": r["ns_relay"] or None,
            "ns_gen": r["ns_gen"] or None,
            "ns_sink": r["ns_sink"] or None,
            "bare_map_bytes": r["bare_map_bytes"] if r["bare_map_bytes"] >= 0 else None,
            "xdp_pct": 100.0 * o["xdp_forwarded"] / r["total_sent"]
            if o["row"] in ("xdp", "xdplib") and r["total_sent"] else None,
        }
    s, k = o["send"], o["sink"]
    got = k["packets"]
    return {
        "offered_pps": s["pps"],
        "sink_pps": got / s["seconds"] if s["seconds"] else None,
        "loss_pct": 100.0 * (1 - got / s["sent"]) if s["sent"] else None,
        "cores": o["machine_busy_s"] / s["seconds"] if s["seconds"] else None,
        "cpu_ns_per_pkt": o["machine_busy_s"] * 1e9 / got if got else None,
        "ns_relay": None, "ns_gen": None, "ns_sink": None, "bare_map_bytes": None, "xdp_pct": None,
    }


def fmt(v, nd=0, suffix=""):
    if v is None:
        return "-"
    if isinstance(v, float) and nd == 0:
        return f"{v:,.0f}{suffix}"
    return f"{v:,.{nd}f}{suffix}" if isinstance(v, float) else f"{v:,}{suffix}"


def threads_busy(runs):
    """Median cores each relay thread (by name) was busy over runs; the
    threads that did < 0.01 cores are left out."""
    names = {n for o in runs for n in o.get("thread_cpu_s", {})}
    out = {}
    for n in sorted(names):
        v = med([o["thread_cpu_s"].get(n, 0) / o["send"]["seconds"] for o in runs
                 if o["send"]["seconds"]])
        if v is not None and v >= 0.01:
            out[n] = v
    return out


def busy_str(b):
    return " + ".join(f"{n} {v:.2f}" for n, v in b.items()) if b else "-"


def paced_rows(paced):
    """The paced SRTP <-> RTP rows: the same offered rate to every relay, so
    they differ in CPU, not in what got through. pps per core = sink pps /
    (relay CPU s / wall s); the ratio to rtpengine is taken per round and
    direction, then the median."""
    rows = []
    for d in DIRS:
        ref = {o["rep"]: o for o in paced.get(f"paced-{d}-rtpengine", [])}

        # sink pps / (relay CPU s / s) over the same seconds: packets per
        # CPU second, whatever the wall time
        def ppc(o):
            return o["sink"]["packets"] / o["relay_cpu_s"] if o["relay_cpu_s"] > 0 else None

        for name in (f"paced-{d}-icepathd-1", f"paced-{d}-icepathd-n", f"paced-{d}-rtpengine"):
            runs = paced.get(name)
            if not runs:
                continue
            per = []
            for o in runs:
                # the sender's clock: the relay's CPU was read right before
                # and after it (its packets protected before its clock started)
                s, k, w = o["send"], o["sink"], o["send"]["seconds"]
                size = o.get("size", 0)
                tag = 10 if d == "rtp2srtp" else 0  # AES_CM_128_HMAC_SHA1_80's tag
                ratio = None
                if o["rep"] in ref and ppc(o) and ppc(ref[o["rep"]]):
                    ratio = ppc(o) / ppc(ref[o["rep"]])
                per.append({
                    "offered_pps": s["pps"], "sink_pps": k["packets"] / w if w else None,
                    "loss_pct": 100.0 * (1 - k["packets"] / s["sent"]) if s["sent"] else None,
                    "relay_cpu_s": o["relay_cpu_s"], "wall_s": w,
                    "cores": o["relay_cpu_s"] / w if w else None, "pps_per_core": ppc(o),
                    "vs_rtpengine": ratio,
                    # every packet the sink got: the flow's RTP, the size the
                    # direction must give, and for RTP -> SRTP authenticated
                    "checked": (k["packets"] > 0 and k["bytes"] == k["packets"] * (size + tag)
                                and k.get("plain_bytes") == k["packets"] * size
                                and k["wrong_ssrc"] == 0 and k["malformed"] == 0
                                and k.get("srtp_auth_fail", 0) == 0 and k.get("srtp_replay", 0) == 0
                                and k.get("srtp_other_fail", 0) == 0),
                    "reordered": k["reordered"],
                    "auth_ok": k["packets"] - k.get("srtp_auth_fail", 0) - k.get("srtp_replay", 0)
                    - k.get("srtp_other_fail", 0) if k.get("srtp") else None,
                })
            agg = {key: med([x[key] for x in per]) for key in per[0] if key != "checked"}
            agg["checked"] = all(x["checked"] for x in per)
            agg["loss_rounds_pct"] = [x["loss_pct"] for x in per]
            rows.append({"row": name, "dir": d, "label": LABEL[name], "calls": runs[0]["calls"],
                         "threads": runs[0]["threads"], "reps": len(runs), "paced_pps": runs[0]["paced_pps"],
                         "threads_busy": threads_busy(runs), **agg})
    return rows


def main():
    runs_path, outdir, start, command, duration = sys.argv[1:6]
    runs, setups, skipped, not_measured, srtp, pairs, paced = {}, {}, [], [], {}, {}, {}
    with open(runs_path) as f:
        for line in f:
            o = json.loads(line)
            if "skipped" in o:
                skipped.append(o)
            elif o["row"].startswith("srtp-"):
                srtp.setdefault(o["row"], []).append(o)
            elif o["row"].startswith("paced-"):
                paced.setdefault(o["row"], []).append(o)
            elif "not_measured" in o:
                not_measured.append(o)
            elif "setup" in o and o["row"] == "xdplib":
                setups.setdefault((o["row"], o["flows"]), []).append(o)
            elif "setup" in o:
                setups.setdefault((o["row"], o["calls"]), []).append(o)
            elif o.get("pair"):
                # a bare run right before or after an icepath run (bench.sh
                # bare_pair): "before:xdp", "after:xdplib"
                side, of = o["pair"].split(":")
                pairs.setdefault((of, o["flows"], o["threads"], o["rep"]), {})[side] = derive(o)
            else:
                key = (o["row"], o["flows"], o["threads"])
                runs.setdefault(key, {})[o["rep"]] = (o, derive(o))

    def sink_pps(key, rep):
        got = runs.get(key, {}).get(rep)
        return got[1]["sink_pps"] if got else None

    rows = []
    for key in sorted(runs, key=lambda k: (ORDER.index(k[0]), k[2], k[1])):
        row, flows, threads = key
        reps = runs[key]
        d = [v[1] for v in reps.values()]
        agg = {k: med([x[k] for x in d]) for k in d[0]}
        pps = [x["sink_pps"] for x in d if x["sink_pps"] is not None]
        agg["sink_pps_min"], agg["sink_pps_max"] = (min(pps), max(pps)) if pps else (None, None)
        agg["reps"] = len(d)
        # ratios within a round: bare at the same flows and queues; for
        # two queues also the same row on one queue
        bare_key = ("bare", flows, threads)
        # the bare figure of round r for this row: the mean of the bare runs
        # right before and after it when the bench paired them, else the
        # round's bare row
        def bare_of(r, what):
            pr = pairs.get((row, flows, threads, r), {})
            v = [p[what] for p in pr.values() if p[what]]
            if v:
                return sum(v) / len(v)
            got = runs.get(bare_key, {}).get(r)
            return got[1][what] if got else None
        ratios = [sink_pps(key, r) / bare_of(r, "sink_pps") for r in reps
                  if bare_of(r, "sink_pps") and sink_pps(key, r) is not None]
        agg["vs_bare"] = med(ratios) if row != "bare" else 1.0
        agg["vs_bare_min"], agg["vs_bare_max"] = (min(ratios), max(ratios)) \
            if ratios and row != "bare" else (None, None)
        agg["paired"] = any((row, flows, threads, r) in pairs for r in reps)
        agg["ns_vs_bare"] = None
        if row in ("xdp", "xdplib"):
            nb = [(runs[key][r][1]["ns_relay"], bare_of(r, "ns_relay")) for r in reps]
            agg["ns_vs_bare"] = med([b / a for a, b in nb if a and b])
        one_q = (row, flows, 1)
        agg["vs_1q"] = med([sink_pps(key, r) / sink_pps(one_q, r) for r in reps
                            if sink_pps(one_q, r) and sink_pps(key, r) is not None]) \
            if threads > 1 else None
        sender = next(iter(reps.values()))[0]["sender"]
        calls = next(iter(reps.values()))[0]["calls"]
        mem_k = mem_u = None
        st = setups.get((row, calls))
        if st and calls:
            mem_u = med([(s["rss_after_kib"] - s["rss_before_kib"]) * 1024 / calls for s in st])
            mem_k = med([s["bpf_map_kib"] * 1024 / calls for s in st])
        if row == "bare" and agg["bare_map_bytes"]:
            mem_k = agg["bare_map_bytes"] / flows
        if row == "xdplib":
            st = setups.get((row, flows))
            if st:
                mem_k = med([s["setup"]["map_bytes"] / flows for s in st])
                agg["install_s"] = med([s["setup"]["install_s"] for s in st])
        agg["kernel_bytes_per_call"], agg["user_bytes_per_call"] = mem_k, mem_u
        agg["kernel_kib_total"] = med([s.get("bpf_map_kib", s.get("setup", {}).get("map_bytes", 0) / 1024)
                                       for s in st]) if st else (
            agg["bare_map_bytes"] / 1024 if agg["bare_map_bytes"] else None)
        # a socket-fed relay that lost nothing was not saturated: its rate is
        # the sender's, a floor of the relay's
        agg["floor"] = sender == "socket" and agg["loss_pct"] is not None and agg["loss_pct"] < 0.5
        rows.append({"row": row, "label": LABEL[row], "flows": flows, "calls": calls,
                     "threads": threads, "sender": sender, **agg})

    cols = ["path", "flows", "calls", "gen threads / RX queues", "sender", "offered pps",
            "sink pps", "min..max", "loss %", "vs bare", "vs 1 queue", "cores busy", "CPU ns/pkt",
            "relay prog ns/pkt", "vs bare ns", "gen ns/pkt", "sink ns/pkt",
            "kernel B/call (maps)", "user B/call (RSS)"]
    table = []
    for r in rows:
        table.append([
            r["label"], fmt(r["flows"]), fmt(r["calls"]) if r["calls"] else "-", str(r["threads"]),
            "in-kernel" if r["sender"] == "xdp-gen" else "socket",
            fmt(r["offered_pps"]), (">=" if r["floor"] else "") + fmt(r["sink_pps"]),
            f'{fmt(r["sink_pps_min"])}..{fmt(r["sink_pps_max"])}', fmt(r["loss_pct"], 2),
            (">=" if r["floor"] else "") + fmt(r["vs_bare"], 2), fmt(r["vs_1q"], 2), fmt(r["cores"], 2), fmt(r["cpu_ns_per_pkt"]),
            fmt(r["ns_relay"]), fmt(r["ns_vs_bare"], 2), fmt(r["ns_gen"]), fmt(r["ns_sink"]),
            fmt(r["kernel_bytes_per_call"]), fmt(r["user_bytes_per_call"]),
        ])
    seen = set()
    for o in not_measured:
        if (o["row"], o["flows"]) in seen:
            continue
        seen.add((o["row"], o["flows"]))
        table.append([LABEL[o["row"]], fmt(o["flows"]), "-", "-", "-", "not measured (see notes)"]
                     + ["-"] * (len(cols) - 6))

    notes = []
    for r in rows:
        if r["row"] in ("xdp", "xdplib") and r.get("vs_bare_min") is not None:
            notes.append(
                f"{r['label']}, {fmt(r['flows'])} flows, {r['threads']} queue(s): ratio to bare "
                f"{r['vs_bare']:.2f} (median of {r['reps']} rounds, each against "
                + ("the bare runs right before and after it" if r["paired"] else "the round's bare row")
                + f"; range {r['vs_bare_min']:.2f}..{r['vs_bare_max']:.2f}).")
    gen1 = next((r for r in rows if r["row"] == "gen" and r["threads"] == 1), None)
    bares = [r for r in rows if r["row"] == "bare" and r["threads"] == 1]
    if gen1 and bares:
        fastest = max(bares, key=lambda r: r["sink_pps"] or 0)
        g = (gen1["sink_pps"] or 0) / (fastest["sink_pps"] or 1)
        notes.append(
            f"The generator alone delivers {fmt(gen1['sink_pps'])} pps ({fmt(gen1['flows'])} flows, one thread), "
            f"{g:.2f}x the fastest bare row ({fmt(fastest['sink_pps'])} pps at {fmt(fastest['flows'])} flows): "
            + ("the generator is not the limit of the XDP rows."
               if g > 1.2 else "the generator is NOT clearly faster than the bare relay: the XDP rows "
               "measure the generator as much as the relay."))
    notes += [
        "One CPU does it all on veth: the generator's BPF_PROG_RUN, then in the softirq of the same CPU the "
        "relay's XDP program on r0 and the sink's on k0. 'sink pps' of an XDP row is therefore 1 / (generator + "
        "relay + sink + veth) per packet, and the ratio to bare understates the difference of the programs "
        "themselves; 'relay prog ns/pkt' is the relay program alone on live traffic (run_time_ns / run_cnt with "
        "BPF statistics on, measured in a separate phase because the statistics slow every program down), "
        "'vs bare ns' is bare's ns/pkt over icepath's.",
        "'vs bare' is the row's sink rate over the bare program's at the same flow count and queue count, "
        "taken within each round and then the median; for the icepath XDP rows on one queue (BENCH_PAIRED=1) "
        "the bare program ran right before and right after each icepath run, seconds apart, and the ratio is "
        "to the mean of those two runs (the per-run ratios' range is in a note below); 'vs 1 queue' is the two-queue row over the same row on "
        "one queue: whether the path scales with RX queues (two generator threads pinned to CPUs 0 and 1, each "
        "on its own RX queue of r0). The 2 CPUs are shared with other work: absolute figures are this "
        "machine's, the ratios are what to compare.",
        "The userspace relays are fed by the socket sender (icepath-bench send, sendmmsg, one socket per flow, "
        "flat out from CPU 0), not the in-kernel generator: the generator's 2-5 Mpps would reach their sockets "
        "too, but far above what any socket path drains, so the rows would measure drops in a full receive "
        "queue. The socket sender offers a few hundred kpps, about the load these relays take, and the same "
        "XDP sink on k0 counts for every row, where the frames leave the relay. Their ratio to bare is the "
        "gap between the paths as deployed, not between programs. A socket-fed row that lost (almost) nothing "
        "was not saturated: its rate is the sender's, marked '>=' (a floor of the relay's). The relay's and the "
        "sender's TX checksum offload is off on the veths, so every frame at the sink carries a finished "
        "checksum (the sink can verify them, BENCH_VERIFY=1), as from a wire.",
        "Flows: the bare and generator rows use flows without calls (distinct 4-tuples in the bare table); "
        "icepathd rows have one NG call per flow (offer/answer, ICE=remove, media caller -> callee only), so a "
        "row's 'calls' is what was set up. 100k flows through icepathd would need 100k calls, 400k relay "
        "ports and sockets on one address: not measurable here (see the rows marked not measured). The "
        "library row is icepath's same XDP program and maps with the flows installed directly by its fast-path "
        "library (icepath-bench fp: fastpath_flow_install_many, no daemon, no calls, no deadline), on relay "
        "addresses 192.0.2.1-8 with 12,500 ports each, the bare rows' flows file; its kernel bytes are per flow "
        "(the maps sized for those flows plus 1/8), not per call (a call is 2-4 flows).",
        "CPU: 'cores busy' is machine-wide busy time from /proc/stat per second of the run (tick-sampled, "
        "everything on the machine, other users included); 'CPU ns/pkt' the same per packet at the sink.",
        "Memory per call: kernel = locked memory (fdinfo memlock) of the BPF maps the relay holds, divided by "
        "the calls set up (icepath's maps are preallocated for the flows its port range (or --max-sessions) can hold, whatever the calls set up; bare's hash is "
        "sized to its flows, per flow); user = RSS growth over the call setup per call.",
    ]
    # An XDP row keeps exactly `threads` CPUs busy (the generator thread does
    # all the work of its frames on its CPU): the rest of the machine's busy
    # time was someone else's.
    foreign = med([r["cores"] - r["threads"] for r in rows
                   if r["sender"] == "xdp-gen" and r["threads"] == 1 and r["cores"] is not None])
    if foreign is not None:
        notes.append(
            f"Other work on the machine during the one-queue XDP runs: {foreign:.2f} CPUs of 2 (machine busy time "
            "minus the generator's one CPU). " + (
                "The two-queue rows need both CPUs for themselves: with this much foreign load their 'vs 1 queue' "
                "says more about the free CPU time than about the fast path's scaling."
                if foreign > 0.3 else "Little enough for the two-queue rows to have had both CPUs."))
    for r in rows:
        if r["row"] in ("xdp", "xdplib") and r["xdp_pct"] is not None and r["xdp_pct"] < 99:
            notes.append(f"icepathd --xdp native at {fmt(r['flows'])} flows, {r['threads']} queue(s): only "
                         f"{r['xdp_pct']:.1f}% of the generated frames were forwarded by its XDP program.")
    for o in not_measured:
        if (o["row"], o["flows"], "n") not in seen:
            seen.add((o["row"], o["flows"], "n"))
            notes.append(f"not measured: {LABEL[o['row']]} at {fmt(o['flows'])} flows: {o['not_measured']}.")
    for o in skipped:
        notes.append(f"skipped: {LABEL[o['row']]} ({o['calls']} calls, round {o['rep']}): {o['skipped']}.")

    def plain(cols, rows):
        w = [max(len(str(c)), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(cols)]
        out = ["  ".join(str(c).rjust(w[i]) for i, c in enumerate(cols))]
        out += ["  ".join(r[i].rjust(w[i]) for i in range(len(cols))) for r in rows]
        return "\n".join(out)

    def md(cols, rows):
        out = ["| " + " | ".join(cols) + " |", "|" + "|".join(["---"] + ["---:"] * (len(cols) - 1)) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out)

    # SRTP <-> RTP (issue 12): SDES-SRTP in, plain RTP out, per relay
    srtp_rows = []
    for name in ("srtp-icepathd-1", "srtp-icepathd-n", "srtp-rtpengine"):
        d = srtp.get(name)
        if not d:
            continue
        per = []
        for o in d:
            secs = o["send"]["seconds"]
            sink = o["sink"]["packets"] / secs
            cores = o["relay_cpu_s"] / secs
            per.append({"sent_pps": o["send"]["pps"], "sink_pps": sink,
                        "loss_pct": 100.0 * (1 - o["sink"]["packets"] / o["send"]["sent"]) if o["send"]["sent"] else None,
                        "cores": cores, "pps_per_core": sink / cores if cores > 0 else None,
                        "exhausted": o["send"].get("exhausted", False),
                        "machine_cores": o["machine_busy_s"] / secs,
                        # the sender's own CPU while it sent: its total less
                        # the packets' protection before the clock (one
                        # thread, CPU-bound: its wall time is its CPU time)
                        "sender_cores": max(0.0, o["send"]["cpu_user_s"] + o["send"]["cpu_sys_s"]
                                            - o["send"].get("srtp_prep_s", 0)) / secs})
            per[-1]["threads_busy"] = threads_busy([o])
        agg = {k: med([x[k] for x in per if x[k] is not None]) if k != "exhausted" else any(x[k] for x in per)
               for k in per[0] if k != "threads_busy"}
        agg["threads_busy"] = threads_busy(d)
        # the relay kept up with the sender (< 1% lost): its limit is higher
        agg["sender_bound"] = agg["loss_pct"] is not None and agg["loss_pct"] < 1.0
        srtp_rows.append({"row": name, "label": LABEL[name], "calls": d[0]["calls"],
                          "threads": d[0]["threads"], "reps": len(d), **agg})
    ref = next((r for r in srtp_rows if r["row"] == "srtp-rtpengine"), None)
    stable = []
    ref_dead = ref is not None and ref["loss_pct"] is not None and ref["loss_pct"] > 90 and ref["cores"] < 0.05
    for r in srtp_rows:
        ge = ">=" if r["sender_bound"] else ""
        # against an rtpengine that stopped forwarding (see the note): none
        vs = (f"{r['sink_pps'] / ref['sink_pps']:.2f}x" if ref and ref["sink_pps"] and not ref_dead else "-")
        stable.append([r["label"], fmt(r["calls"]), str(r["threads"]), fmt(r["sent_pps"]),
                       ge + fmt(r["sink_pps"]), fmt(r["loss_pct"], 1, "%"), fmt(r["cores"], 2),
                       busy_str(r["threads_busy"]), ge + fmt(r["pps_per_core"]), vs])
    scols = ["SRTP -> RTP relay", "calls", "media threads", "sent pps", "sink pps", "loss", "relay cores",
             "threads busy (cores)", "pps per core", "vs rtpengine"]
    snotes = []
    if srtp_rows:
        snotes.append(
            "SRTP <-> RTP: SDES-SRTP (AES_CM_128_HMAC_SHA1_80) from the socket sender, protected before the "
            "clock starts (icepath-bench send --srtp), offered RTP/SAVP with transport-protocol=RTP/AVP toward "
            "the sink (the same NG requests to both relays); the relay unprotects and sends plain RTP, which the "
            "XDP sink counts on k0. 'relay cores' is the relay process's CPU time (all its threads) over the run; "
            "'pps per core' is sink pps over it; 'threads busy' is each relay thread's CPU (by name, "
            "/proc/PID/task/*/stat: icepathd's media threads are icepath-mN) over the run. '>=' marks a row that lost < 1%: the sender, not the relay, was "
            "the limit (one sender thread on a CPU the relay also needs), so the relay's own ceiling is higher.")
        one = next((r for r in srtp_rows if r["row"] == "srtp-icepathd-1"), None)
        many = next((r for r in srtp_rows if r["row"] == "srtp-icepathd-n"), None)
        if one and many and one["sink_pps"] and many["sink_pps"]:
            # per round: the N-thread row over the one-thread row, and the
            # cores each got
            r1 = {o["rep"]: o for o in srtp.get("srtp-icepathd-1", [])}
            rounds = []
            for o in sorted(srtp.get("srtp-icepathd-n", []), key=lambda o: o["rep"]):
                p = r1.get(o["rep"])
                if p and p["sink"]["packets"]:
                    rounds.append(f"{(o['sink']['packets'] / o['send']['seconds']) / (p['sink']['packets'] / p['send']['seconds']):.2f}x "
                                  f"({p['relay_cpu_s'] / p['send']['seconds']:.2f} -> {o['relay_cpu_s'] / o['send']['seconds']:.2f} cores)")
            snotes.append(
                f"Media threads: with {many['threads']} threads and {many['calls']} calls the work lands on "
                f"{busy_str(many['threads_busy'])} cores (one thread: {busy_str(one['threads_busy'])}). Sink pps of "
                f"{many['threads']} threads over 1, per round: {', '.join(rounds)}; pps per core "
                f"{fmt(many['pps_per_core'])} against {fmt(one['pps_per_core'])}: the threads do the same work per "
                "packet, and what the second one gains is CPU time the single thread did not get. The sender took "
                f"about {many['sender_cores']:.2f} / {one['sender_cores']:.2f} cores of its own (sendmmsg of packets "
                "protected beforehand) and on veth the receive path into the relay's sockets runs in the sender's "
                "softirq on its CPU, charged to no process: on this 2-CPU box (shared with other work) the relay "
                "gets what the sender, the kernel and the rest leave of two CPUs, about one core, so the flat-out "
                "rows cannot show the relay's own ceiling with two threads.")
        for r in srtp_rows:
            if r["loss_pct"] is not None and r["loss_pct"] > 90 and r["cores"] < 0.05:
                snotes.append(f"{r['label']}: lost {r['loss_pct']:.1f}% with {r['cores']:.2f} cores busy: it "
                              "stopped forwarding under the flood (not a CPU limit), so there is no 'vs rtpengine' "
                              "here: the paced rows compare the relays at a rate it forwards.")
            if r["exhausted"]:
                snotes.append(f"{r['label']}: the sender ran out of pre-protected packets before the end "
                              "(BENCH_SRTP_PPS_MAX): its rate is over a shorter run.")

    prows = paced_rows(paced)
    pcols = ["SRTP <-> RTP, paced", "relay", "calls", "media threads", "offered pps", "sink pps", "loss",
             "relay CPU s", "relay cores", "threads busy (cores)", "pps per core", "vs rtpengine (pps/core)"]
    ptable = [[DIRS[r["dir"]], r["label"], fmt(r["calls"]), str(r["threads"]), fmt(r["offered_pps"]),
               fmt(r["sink_pps"]), fmt(r["loss_pct"], 1, "%"), fmt(r["relay_cpu_s"], 2), fmt(r["cores"], 2),
               busy_str(r["threads_busy"]), fmt(r["pps_per_core"]),
               (f"{r['vs_rtpengine']:.2f}x" if r["vs_rtpengine"] is not None else "-")] for r in prows]
    pnotes = []
    if prows:
        pnotes.append(
            f"SRTP <-> RTP, paced: the same offered rate (BENCH_SRTP_PACED_PPS={prows[0]['paced_pps']} packets/s "
            f"over {prows[0]['calls']} SDES calls, AES_CM_128_HMAC_SHA1_80) to every relay, the same NG requests; "
            "SRTP -> RTP: the caller offers RTP/SAVP with a=crypto and transport-protocol=RTP/AVP, the relay "
            "unprotects; RTP -> SRTP: the caller offers plain RTP/AVP with transport-protocol=RTP/SAVP, the "
            "relay offers its own a=crypto to the sink and protects. The sink is a userspace receiver "
            "(icepath-bench recv) that checks every packet (the flow's SSRC, sequence accounting, the size: "
            "plain 200 bytes, SRTP 200 + the 10-byte tag) and, for RTP -> SRTP, authenticates and decrypts "
            "every one with libsrtp2 and the key the relay offered. 'relay CPU s' is utime + stime of all the "
            "relay's threads (/proc/PID/stat) over the sender's run; 'relay cores' that per second of the sender's run; "
            "'pps per core' = sink pps / relay cores (= packets at the sink per relay CPU second); 'threads busy' the same per thread name "
            "(/proc/PID/task/*/stat: icepathd's media threads are icepath-mN, rtpengine's workers 'poller'). "
            "'vs rtpengine' is icepathd's pps per core over rtpengine's in the same round and direction "
            "(median over rounds). Softirq work of the packets' receive path is not charged to either process.")
        for r in prows:
            if not r["checked"]:
                pnotes.append(f"{DIRS[r['dir']]} {r['label']}: NOT every packet checked out at the sink "
                              "(size, SSRC or SRTP authentication; see runs.jsonl).")
            if r["reordered"]:
                pnotes.append(f"{DIRS[r['dir']]} {r['label']}: the sink saw {r['reordered']:,.0f} packets out of "
                              "order a run (median): the relay reorders within a stream.")
            lr = [x for x in r["loss_rounds_pct"] if x is not None]
            if lr and max(lr) >= 0.1:
                pnotes.append(f"{DIRS[r['dir']]} {r['label']}: lost "
                              f"{', '.join(f'{x:.1f}%' for x in lr)} of the offered packets in the rounds "
                              "(the table has the median): a round with loss is not at the same work as the others'.")

    if not table:  # SRTP rows only: the XDP table's notes do not apply
        notes = [n for n in notes if n.startswith(("skipped", "not measured"))]
    head = (f"Measured {start} with `{command}` ({duration} s in all; medians of "
            f"{max((r['reps'] for r in rows + srtp_rows + prows), default=0)} rounds; 242-byte frames).")
    print()
    print(head)
    print()
    if table:
        print(plain(cols, table))
        print()
    if srtp_rows:
        print(plain(scols, stable))
        print()
        for n in snotes:
            print(" - " + n)
        print()
    if prows:
        print(plain(pcols, ptable))
        print()
        for n in pnotes:
            print(" - " + n)
        print()
    for n in notes:
        print(" - " + n)
    mdtext = "\n".join([head, ""] + ([md(cols, table), ""] if table else []) + [*(f"- {n}" for n in notes), ""] +
                       (["", md(scols, stable), "", *(f"- {n}" for n in snotes), ""] if srtp_rows else []) +
                       (["", md(pcols, ptable), "", *(f"- {n}" for n in pnotes), ""] if prows else []))
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write(mdtext)
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"date": start, "command": command, "duration_s": int(duration), "rows": rows,
                   "srtp_rows": srtp_rows, "srtp_paced_rows": prows,
                   "not_measured": not_measured, "skipped": skipped, "notes": notes}, f, indent=1)
    print()
    print("Markdown for the README:", os.path.join(outdir, "results.md"))
    print("Full results:", os.path.join(outdir, "results.json"))


if __name__ == "__main__":
    main()
