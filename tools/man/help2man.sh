#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A program's --help text on stdin -> its man page (roff) on stdout:
#   PROG --help | tools/man/help2man.sh PROG SECTION SOURCE DATE [SUMMARY]
#
# The --help text is the one source of each page, so the page cannot drift
# from the program. Two shapes are understood:
#   - man style (icepathd, icepathctl): headings in capitals at the left
#     margin (NAME, SYNOPSIS, ...), bodies indented by four spaces;
#   - usage style (icepath-peer, icepath-stun): "Usage: ..." lines, then
#     prose; the page gets NAME (PROG - SUMMARY), SYNOPSIS from the usage
#     lines and DESCRIPTION from the rest, headings kept as subsections.
# Bodies stay preformatted (.nf): the help text is already laid out.
set -euo pipefail
prog=${1:?usage: help2man.sh PROG SECTION SOURCE DATE [SUMMARY]}
section=${2:?section}
source=${3:?source}
date=${4:?date}
summary=${5:-}

awk -v prog="$prog" -v sec="$section" -v src="$source" -v date="$date" -v summary="$summary" '
function esc(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	if (s ~ /^[.'\'']/) s = "\\&" s
	return s
}
function body(s) { if (!nf) { print ".nf"; nf = 1 } print esc(s) }
function heading(h) { if (nf) { print ".fi"; nf = 0 } print ".SH " esc(h) }
function sub_heading(h) { if (nf) { print ".fi"; nf = 0 } print ".SS " esc(h) }
BEGIN {
	printf ".\\\" Generated from \"%s --help\" by tools/man/help2man.sh: edit the help text.\n", prog
	printf ".TH %s %s \"%s\" \"%s\" \"icepath\"\n", toupper(prog), sec, date, src
}
NR == 1 { style = ($0 == "NAME") ? "man" : "usage" }
style == "man" {
	if ($0 ~ /^[A-Z][A-Z ]+$/) { heading($0); in_name = ($0 == "NAME"); next }
	line = $0; sub(/^    /, "", line)
	if (in_name) { if (line != "") print esc(line); next }
	if (line == "") { if (nf) print ""; next }
	body(line)
	next
}
style == "usage" {
	if (NR == 1) {
		heading("NAME"); print esc(prog " - " (summary != "" ? summary : prog))
		heading("SYNOPSIS")
		line = $0; sub(/^Usage: */, "", line); body(line); in_syn = 1; next
	}
	if (in_syn) {
		if ($0 == "") { in_syn = 0; heading("DESCRIPTION"); next }
		line = $0; sub(/^ +/, "", line); body("    " line); next
	}
	# a short line at the margin ending the paragraph before it: a heading
	if ($0 ~ /^[A-Z][A-Za-z ()-]*:?$/ && length($0) < 40 && prev == "") {
		h = $0; sub(/:$/, "", h); sub_heading(h); prev = $0; next
	}
	if ($0 == "") { if (nf) print ""; prev = ""; next }
	body($0); prev = $0
}
END { if (nf) print ".fi" }
'
