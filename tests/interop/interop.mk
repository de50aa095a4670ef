# SPDX-License-Identifier: GPL-2.0-only
#
# Interop peers with their own libraries, -include'd by the Makefile.
# nice-peer: libnice (GLib) ICE endpoint speaking icepath-peer's file-based
# SDP exchange (tests/net/test_interop_libnice.sh). libnice-dev is a
# listed dependency (tools/install-deps.sh): a missing one fails loudly.
NICE_CFLAGS := $(shell pkg-config --cflags nice 2>/dev/null)
NICE_LIBS   := $(shell pkg-config --libs nice 2>/dev/null)
INTEROP_BINS := $(BUILD)/bin/nice-peer

all: $(INTEROP_BINS)

# It links the codec archive for the shared RTP header writer (rtpstat.h).
# GLib headers trip -Wstrict-prototypes/-Wmissing-prototypes; the rest of
# the house warnings stay on.
$(BUILD)/bin/nice-peer: tests/interop/nice-peer.c $(BUILD)/lib/libicepath-codec.a Makefile tests/interop/interop.mk
	$(call msg,CC-NICE,$@)
	@mkdir -p $(@D)
	$(Q)test -n "$(NICE_LIBS)" || { echo "libnice not found by pkg-config: make deps (libnice-dev)" >&2; exit 1; }
	$(Q)$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
		-Iinclude $(NICE_CFLAGS) -o $@ $< $(BUILD)/lib/libicepath-codec.a $(NICE_LIBS)

# sdes-peer: an SDES-SRTP phone on libsrtp2's own API (not icepath's glue);
# the a=crypto text through icepath's sdes.c (crypto + codec archives).
INTEROP_BINS += $(BUILD)/bin/sdes-peer
all: $(BUILD)/bin/sdes-peer
$(BUILD)/bin/sdes-peer: tests/interop/sdes-peer.c $(BUILD)/lib/libicepath-crypto.a $(BUILD)/lib/libicepath-codec.a Makefile tests/interop/interop.mk
	$(call msg,CC-SDES,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-declaration-after-statement \
		-Iinclude -o $@ $< $(BUILD)/lib/libicepath-crypto.a $(BUILD)/lib/libicepath-codec.a \
		-lsrtp2 -lssl -lcrypto -lz
