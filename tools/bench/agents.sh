#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench, the ICE agents' row: what an agent costs at scale, from
# build/bin/icepath-agentbench (the agent's own API on a virtual clock, an
# in-memory network, each agent serviced only at its deadline, consent for
# AGENTS_SECONDS virtual seconds). Self-contained: no root, no namespaces.
#
#   tools/bench/agents.sh BUILD      AGENTS_PAIRS ("1000 10000 100000"),
#                                    AGENTS_SECONDS (60)
#
# Goals (issue 11): <= 4096 heap bytes per agent (one stream, one
# component, host candidates) and <= 1 us of CPU per agent-second of steady
# consent. The figures are printed, not asserted: CPU time on a shared
# machine is a report.
set -u
build=${1:?usage: agents.sh BUILD}
bin=$build/bin/icepath-agentbench
[ -x "$bin" ] || { echo "agents.sh: $bin not built (make all)" >&2; exit 1; }
pairs=${AGENTS_PAIRS:-1000 10000 100000}
seconds=${AGENTS_SECONDS:-60}
rc=0
echo
echo "ICE agents on one core ($seconds virtual s of consent; goal <= 4096 B, <= 1 us):"
printf '  %8s %8s %16s %20s %10s\n' pairs agents "heap B/agent" "us/agent-second" "connect ms"
for n in $pairs; do
	if ! line=$("$bin" "$n" "$seconds"); then
		echo "agents.sh: $n pairs: consent lost or a component failed: $line" >&2
		rc=1
	fi
	get() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$line"; }
	printf '  %8s %8s %16s %20s %10s\n' "$(get pairs)" "$(get agents)" \
		"$(get heap_bytes_per_agent)" "$(get us_per_agent_second)" "$(get connect_ms)"
done
echo "  (command: tools/bench/agents.sh $build, AGENTS_PAIRS=\"$pairs\" AGENTS_SECONDS=$seconds)"
exit $rc
