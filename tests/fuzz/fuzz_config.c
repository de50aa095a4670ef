// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for icepathd's config-file parser (daemon_opts_load_buf:
 * `key = value` lines into struct daemon_opts): no crash, no read past the
 * bytes, every accepted value within its field. Host names in --stun and
 * --turn would be resolved: getaddrinfo() is shimmed here so the fuzzer
 * never touches the network.
 */
#include <netdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon_opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The executable's definition wins over libc's for the archives it links. */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	(void)node;
	(void)service;
	(void)hints;
	*res = NULL;
	return EAI_NONAME;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct daemon_opts o;
	char err[256];
	char *copy = malloc(size ? size : 1); /* exactly size bytes: ASan sees overreads */

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	daemon_opts_defaults(&o);
	err[0] = 0;
	if (daemon_opts_load_buf(&o, "fuzz.conf", copy, size, err, sizeof(err)) == 0) {
		if (o.nifaces > DAEMON_MAX_INTERFACES || o.n_ng_allow > NG_ALLOW_MAX ||
		    memchr(o.turn_pass, 0, sizeof(o.turn_pass)) == NULL ||
		    memchr(o.user, 0, sizeof(o.user)) == NULL ||
		    memchr(o.state_file, 0, sizeof(o.state_file)) == NULL ||
		    o.max_sessions > 1000000)
			abort();
		(void)daemon_opts_session_cap(&o);
	} else if (!err[0] || memchr(err, 0, sizeof(err)) == NULL) {
		abort(); /* a refusal always says why */
	}
	free(copy);
	return 0;
}
