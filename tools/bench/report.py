#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""make bench's report: medians per relay and load, ratios between relays, a
plain table for the terminal, a Markdown table for the README, and
BUILD/bench/results.json. Input: the runs.jsonl that tools/bench/bench.sh
writes (one JSON object per measured run, per relay setup, per skip).

usage: report.py RUNS.jsonl OUTDIR START_DATE COMMAND SND_CPU RCV_CPU
"""
import json
import os
import re
import statistics
import sys

ORDER = ["xdp", "userspace", "rtpengine", "forward"]
LABEL = {
    "xdp": "icepathd --xdp native",
    "userspace": "icepathd --xdp off",
    "rtpengine": "rtpengine (userspace)",
    "forward": "kernel forwarding (no relay)",
}
RATIOS = [("xdp", "userspace"), ("xdp", "rtpengine"), ("userspace", "rtpengine")]


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def per_run(r):
    """Derived figures of one measured run."""
    s, v = r["send"], r["recv"]
    pkts = v["packets"]
    sender = s["cpu_user_s"] + s["cpu_sys_s"]
    sink = v["cpu_user_s"] + v["cpu_sys_s"]
    pipeline = sender + sink + r["relay_cpu_s"] + r["ksoftirqd_cpu_s"]
    us = lambda cpu: cpu / pkts * 1e6 if pkts else None
    return {
        "offered_pps": s["pps"],
        "sent": s["sent"],
        # delivered per second of sending: never above the offered rate
        # (the sink's own first-to-last span is in the runs' raw JSON)
        "received_pps": pkts / s["seconds"] if s["seconds"] else None,
        "received": pkts,
        "loss_pct": 100.0 * (1 - pkts / s["sent"]) if s["sent"] else None,
        "seq_lost": v["lost"],
        "reordered": v["reordered"],
        "duplicates": v["duplicates"],
        "wrong": v["wrong_ssrc"] + v["wrong_source"] + v["malformed"],
        "silent_flows": v["silent_flows"],
        "relay_cpu_s": r["relay_cpu_s"],
        "sender_cpu_s": sender,
        "sink_cpu_s": sink,
        "ksoftirqd_cpu_s": r["ksoftirqd_cpu_s"],
        "pipeline_cpu_s": pipeline,
        "pipeline_us_per_pkt": us(pipeline),
        "relay_us_per_pkt": us(r["relay_cpu_s"]),
        "machine_us_per_pkt": us(r["machine_busy_s"]),
        "machine_softirq_s": r["machine_softirq_s"],
        "softirq_us_per_pkt": us(r["machine_softirq_s"]),
        # CPUs' worth of work that was not the pipeline's (other users of the
        # machine) during the run: how noisy this run was
        "foreign_cpus": (r["machine_busy_s"] - pipeline) / r["wall_s"] if r.get("wall_s") else None,
        # share of the received packets the XDP program forwarded itself
        "xdp_pct": 100.0 * r["xdp_forwarded"] / pkts if pkts else None,
    }


def aggregate(runs):
    keys = runs[0].keys()
    agg = {k: med([r[k] for r in runs]) for k in keys}
    got = [r["received_pps"] for r in runs if r["received_pps"] is not None]
    agg["received_pps_min"] = min(got) if got else None
    agg["received_pps_max"] = max(got) if got else None
    agg["reps"] = len(runs)
    return agg


def fmt(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, float) and abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:,.{nd}f}" if isinstance(v, float) else f"{v:,}"


def ratio(a, b, higher_better=True):
    if a is None or b is None or b == 0 or a == 0:
        return None
    return a / b if higher_better else b / a


def main():
    runs_path, outdir, start, command, snd_cpu, rcv_cpu = sys.argv[1:7]
    setups, skipped, runs = {}, {}, {}
    with open(runs_path) as f:
        for line in f:
            o = json.loads(line)
            if "skipped" in o:
                skipped[o["relay"]] = o["skipped"]
            elif "setup" in o:
                setups.setdefault(o["relay"], []).append(o)
            else:
                runs.setdefault((o["relay"], o["load"]), []).append(per_run(o))
    relays = [m for m in ORDER if m in setups]
    res = {}
    for m in relays:
        sts = setups[m]
        calls = sts[0]["calls"]
        mem = None
        if m != "forward":
            mem = med([(st["rss_after_kib"] - st["rss_before_kib"]) * 1024 / calls for st in sts])
        res[m] = {
            "label": LABEL[m],
            "calls": calls,
            "setups": len(sts),
            "setup_calls_per_s": med([calls / st["setup"]["seconds"] for st in sts if st["setup"]["seconds"]]),
            "rss_before_kib": med([st["rss_before_kib"] for st in sts]),
            "rss_after_kib": med([st["rss_after_kib"] for st in sts]),
            "rss_bytes_per_call": mem,
            "bpf_map_kib": med([st["bpf_map_kib"] for st in sts]),
            # "XDP attached to rs in native mode;" -> "rs native"; "fast path off" -> "off"
            "datapath": sorted({", ".join(re.findall(r"XDP attached to (\S+ in \S+) mode", st.get("datapath", "")))
                                .replace(" in ", " ") or ("XDP off" if "off" in st.get("datapath", "") else "-")
                                for st in sts}),
            "fixed": aggregate(runs[(m, "fixed")]) if (m, "fixed") in runs else None,
            "max": aggregate(runs[(m, "max")]) if (m, "max") in runs else None,
        }
    fwd = res.get("forward")
    for m in relays:
        for load in ("fixed", "max"):
            a = res[m][load]
            if a and fwd and fwd[load] and m != "forward":
                a["over_forward_us_per_pkt"] = a["pipeline_us_per_pkt"] - fwd[load]["pipeline_us_per_pkt"]

    ratios = {}
    for a, b in RATIOS:
        if a in res and b in res:
            ra, rb = res[a], res[b]
            # None where a load did not run (BENCH_LOADS)
            get = lambda r, load, k: (r[load] or {}).get(k)
            ratios[f"{a}/{b}"] = {
                "max_received_pps": ratio(get(ra, "max", "received_pps"), get(rb, "max", "received_pps")),
                "fixed_pipeline_cpu_per_pkt_advantage": ratio(
                    get(ra, "fixed", "pipeline_us_per_pkt"), get(rb, "fixed", "pipeline_us_per_pkt"), False),
                "max_pipeline_cpu_per_pkt_advantage": ratio(
                    get(ra, "max", "pipeline_us_per_pkt"), get(rb, "max", "pipeline_us_per_pkt"), False),
                "memory_per_call_advantage": ratio(ra["rss_bytes_per_call"], rb["rss_bytes_per_call"], False),
                "total_memory_advantage": ratio(ra["rss_after_kib"] + ra["bpf_map_kib"],
                                                rb["rss_after_kib"] + rb["bpf_map_kib"], False),
                # the first relay lost nothing at max: it was not saturated,
                # so its pps is the generator's limit and the ratio a floor
                "max_received_pps_is_floor": bool(ra["max"] and ra["max"]["loss_pct"] is not None
                                                  and ra["max"]["loss_pct"] < 0.5),
            }

    limits = [
        f"2 CPUs shared with other work: the sender is pinned to CPU {snd_cpu}, the sink to CPU {rcv_cpu}, "
        "the relay is not pinned and competes with both; absolute numbers are this machine's, compare the ratios.",
        "veth, not a NIC: native XDP on veth runs in the softirq of the sending CPU, so its cost is charged to "
        "the sender process (tick-sampled: no IRQ_TIME_ACCOUNTING) and to ksoftirqd, not to icepathd; "
        "'pipeline CPU/pkt' (sender + sink + relay process + ksoftirqd, from /proc/PID/stat and getrusage) "
        "is the fair per-packet cost, 'over fwd' subtracts the kernel-forwarding floor.",
        "veth understates XDP: a veth hands XDP socket-made skbs, which it copies into a fresh xdp_buff "
        "(too little headroom), and the redirected frame becomes an skb again on the receiving veth; a NIC "
        "driver does neither, so on real hardware the XDP path saves more than it does here.",
        "'softirq us/pkt' is /proc/stat's machine-wide softirq time (tick-sampled) per packet: where XDP "
        "and the kernel's own UDP/IP receive work shows up.",
        "'max' is bounded by one sender core: when a relay loses nothing at max, it was not saturated and its "
        "received pps is the generator's limit, not the relay's; its ratio is then a floor, marked '>='.",
        "machine CPU/pkt comes from /proc/stat and includes everything else running on the machine (noisy); "
        "'foreign CPUs' is how many CPUs' worth of other work ran during the runs (machine busy time minus the "
        "pipeline's, per second): the higher, the less the 'max' figures mean; 'min..max' is the spread of "
        "received pps over the repetitions.",
        "RSS per call is the relay's resident memory growth over the call setup; the XDP fast path's BPF maps "
        "are preallocated at start for the largest flow table (BPF maps KiB, locked kernel memory), so they do "
        "not grow per call but are part of the footprint: 'RSS+maps' is the total after the setup.",
    ]

    # ---- plain table ----
    cols = ["relay", "load", "offered pps", "received pps", "min..max", "loss %", "in XDP %", "reord", "dup", "wrong",
            "pipeline us/pkt", "over fwd us/pkt", "relay proc us/pkt", "softirq us/pkt", "machine us/pkt", "foreign CPUs"]
    rows = []
    for m in relays:
        for load in ("fixed", "max"):
            a = res[m][load]
            if not a:
                continue
            spread = f'{fmt(a["received_pps_min"])}..{fmt(a["received_pps_max"])}'
            rows.append([m, load, fmt(a["offered_pps"]), fmt(a["received_pps"]), spread, fmt(a["loss_pct"], 2),
                         fmt(a["xdp_pct"], 1), fmt(a["reordered"], 0), fmt(a["duplicates"], 0), fmt(a["wrong"], 0),
                         fmt(a["pipeline_us_per_pkt"], 2), fmt(a.get("over_forward_us_per_pkt"), 2),
                         fmt(a["relay_us_per_pkt"], 2), fmt(a["softirq_us_per_pkt"], 2),
                         fmt(a["machine_us_per_pkt"], 2), fmt(a["foreign_cpus"], 2)])
    mcols = ["relay", "calls", "calls/s setup", "RSS before KiB", "RSS after KiB", "bytes/call", "BPF maps KiB",
             "RSS+maps KiB", "datapath"]
    mrows = [[m, fmt(res[m]["calls"]), fmt(res[m]["setup_calls_per_s"], 0), fmt(res[m]["rss_before_kib"], 0),
              fmt(res[m]["rss_after_kib"], 0), fmt(res[m]["rss_bytes_per_call"], 0), fmt(res[m]["bpf_map_kib"], 0),
              fmt(res[m]["rss_after_kib"] + res[m]["bpf_map_kib"], 0),
              " ".join(res[m]["datapath"]).strip() or "-"]
             for m in relays if m != "forward"]

    def plain(cols, rows):
        w = [max(len(str(c)), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(cols)]
        out = ["  ".join(str(c).rjust(w[i]) for i, c in enumerate(cols))]
        out += ["  ".join(r[i].rjust(w[i]) for i in range(len(cols))) for r in rows]
        return "\n".join(out)

    def md(cols, rows):
        out = ["| " + " | ".join(cols) + " |", "|" + "|".join(["---"] + ["---:"] * (len(cols) - 1)) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out)

    rcols = ["ratio", "max received pps", "CPU/pkt advantage (fixed)", "CPU/pkt advantage (max)",
             "memory/call advantage", "total memory advantage"]
    x = lambda v: fmt(v, 2) + "x" if v else "-"
    rrows = [[k, (">=" if v["max_received_pps_is_floor"] and v["max_received_pps"] else "") + x(v["max_received_pps"]),
              fmt(v["fixed_pipeline_cpu_per_pkt_advantage"], 2) + "x" if v["fixed_pipeline_cpu_per_pkt_advantage"] else "-",
              fmt(v["max_pipeline_cpu_per_pkt_advantage"], 2) + "x" if v["max_pipeline_cpu_per_pkt_advantage"] else "-",
              x(v["memory_per_call_advantage"]), x(v["total_memory_advantage"])]
             for k, v in ratios.items()]

    print()
    print(f"icepath bench, {start}: {command}")
    print()
    print(plain(cols, rows))
    print()
    print(plain(mcols, mrows))
    print()
    print(plain(rcols, rrows) if rrows else "(no ratios: fewer than two relays ran)")
    for m, why in skipped.items():
        print(f"skipped: {m}: {why}")
    print()
    print("Read with care:")
    for l in limits:
        print(" - " + l)

    mdtext = "\n".join([
        f"Measured {start} with `{command}` (medians of the repetitions; "
        "advantage = how many times less CPU or memory than the second relay).",
        "",
        md(cols, rows), "", md(mcols, mrows), "", md(rcols, rrows) if rrows else "",
        "",
        *(f"- {l}" for l in limits),
        *(f"- skipped: {m}: {why}" for m, why in skipped.items()),
        "",
    ])
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write(mdtext)
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"date": start, "command": command, "relays": res, "ratios": ratios,
                   "skipped": skipped, "limitations": limits,
                   "runs": {f"{m}/{l}": v for (m, l), v in runs.items()}}, f, indent=1)
    print()
    print("Markdown for the README:", os.path.join(outdir, "results.md"))
    print()
    print(mdtext)
    print("Full results:", os.path.join(outdir, "results.json"))


if __name__ == "__main__":
    main()
