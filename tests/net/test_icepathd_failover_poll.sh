#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test_icepathd_failover with a Redis whose CONFIG is renamed away: the
# standby cannot turn keyspace notifications on, says so (and what to set)
# and polls the calls every second; the failover must work the same.
FAILOVER_NOTIFY=off exec bash "$(dirname "$0")/test_icepathd_failover.sh" "$@"
