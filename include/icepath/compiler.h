/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * compiler: the few language helpers every layer shares, defined once.
 * A leaf: it includes nothing of icepath, so any layer (and bpf/) may use it.
 */
#ifndef ICEPATH_COMPILER_H
#define ICEPATH_COMPILER_H

/* Elements of an array (not a pointer: sizeof would be the pointer's). */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
