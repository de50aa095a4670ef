/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * daemon_priv: icepathd gives up root once its sockets are bound, the fast
 * path is loaded, attached and pinned, and the state file is read
 * (--user/--group). What stays is what the running daemon uses: fast-path
 * map updates on the map descriptors it already holds, and binding media
 * ports >= 1024. Binding such ports needs no capability; a map update on an
 * open descriptor needs CAP_BPF only on kernels before 6.5 with
 * kernel.unprivileged_bpf_disabled set (they check it for every bpf(2)
 * command). So CAP_BPF is kept only when a probe without it fails.
 */
#ifndef ICEPATH_DAEMON_PRIV_H
#define ICEPATH_DAEMON_PRIV_H

#include <stdbool.h>

#include "daemon_opts.h"

/*
 * Switch to o->run_uid/o->run_gid (supplementary groups dropped) and make
 * the bounding, permitted and effective sets empty, except CAP_BPF when
 * need_bpf and probe(ctx) (a harmless map operation) fails without it and
 * succeeds with it. Also sets no_new_privs. Logs what the process runs as
 * and with which capabilities. 0, or -errno after a log line naming what
 * failed; on error the caller must exit (the process may be half-dropped).
 */
int daemon_priv_drop(const struct daemon_opts *o, bool need_bpf, int (*probe)(void *ctx),
		     void *ctx);

/*
 * Before the drop: the state file's directory must be writable by the
 * user. Creates it (mode 0750, owned by the user) when missing; otherwise
 * 0 when the user can write it, -EACCES after a log line saying what to do.
 */
int daemon_priv_prepare_dir(const struct daemon_opts *o, const char *file);

#endif
