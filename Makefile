# SPDX-License-Identifier: GPL-2.0-only
#
# icepath: one non-recursive Makefile (see shared/STYLE.md).
#
#   make            build everything into build/
#   make check      install missing packages, build, run every test
#   make demo       install missing packages, build, run the netns demo
#   make fuzz       run every libFuzzer target for FUZZ_SECONDS (default 60)
#   make bench      side-by-side throughput: XDP vs userspace vs rtpengine
#   make deps       install missing Debian packages (apt), nothing else
#   V=1             show full commands
#
# Layout conventions (new files need no Makefile edit):
#   userspace/*.c, kernel/*.c     -> build/lib/libicepath.a
#   bpf/NAME.bpf.c                -> build/bpf/NAME.bpf.o -> build/include/NAME.skel.h
#   tools/NAME/*.c                -> build/bin/NAME
#   userspace/icepathd/*.c        -> build/bin/icepathd
#   tests/unit/test_NAME.c        -> build/tests/test_NAME and build/asan/tests/test_NAME
#   tests/bpf/test_NAME.c         -> build/tests/test_NAME (needs root, run by check-bpf)
#   tests/net/test_NAME.sh        -> run by check-net (needs root)
#   tests/fuzz/fuzz_NAME.c        -> build/fuzz/fuzz_NAME (clang libFuzzer)

.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BUILD    := build
CC       := gcc
CLANG    := clang
BPFTOOL  := bpftool
AR       := ar


# libnl-route-3: the fast path's next hop caches (kernel/fastpath_nh.c).
NL_CFLAGS := $(shell pkg-config --cflags libnl-route-3.0 2>/dev/null || echo -I/usr/include/libnl3)
NL_LIBS   := $(shell pkg-config --libs libnl-route-3.0 2>/dev/null || echo -lnl-route-3 -lnl-3)
CPPFLAGS := -Iinclude -I$(BUILD)/include -D_GNU_SOURCE $(NL_CFLAGS)
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS   := -std=c11 -O2 -g $(WARN) -MMD -MP
LDLIBS   := -lbpf -lelf -lmnl $(NL_LIBS) -lcrypto -lz -lm
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZFLAGS := -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer
FUZZ_SECONDS ?= 60

ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wextra -Werror \
	-Wno-unused-parameter -Iinclude -I/usr/include/$(shell uname -m)-linux-gnu -MMD -MP

# ---- sources ---------------------------------------------------------------
LIB_SRCS   := $(wildcard userspace/*.c) $(wildcard kernel/*.c)
BPF_SRCS   := $(wildcard bpf/*.bpf.c)
TOOL_DIRS  := $(patsubst %/,%,$(dir $(wildcard tools/*/*.c)))
TOOLS      := $(sort $(notdir $(TOOL_DIRS)))
DAEMON_SRCS := $(wildcard userspace/icepathd/*.c)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
BPFT_SRCS  := $(wildcard tests/bpf/test_*.c)
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
NET_TESTS  := $(sort $(wildcard tests/net/test_*.sh))

LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
ASAN_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/asan/obj/%.o)
FUZZ_OBJS  := $(filter $(BUILD)/fuzz/obj/userspace/%,$(LIB_SRCS:%.c=$(BUILD)/fuzz/obj/%.o))
BPF_OBJS   := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
SKELS      := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/include/%.skel.h)
LIB        := $(BUILD)/lib/libicepath.a
ASAN_LIB   := $(BUILD)/asan/lib/libicepath.a
FUZZ_LIB   := $(BUILD)/fuzz/lib/libicepath.a
BINS       := $(TOOLS:%=$(BUILD)/bin/%) $(if $(DAEMON_SRCS),$(BUILD)/bin/icepathd)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
ASAN_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/asan/tests/%)
BPFT_BINS  := $(BPFT_SRCS:tests/bpf/%.c=$(BUILD)/tests/%)
FUZZ_BINS  := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)

# Every object waits for the generated skeletons (order-only), so a kernel/
# file can include NAME.skel.h; -MMD then records the real dependency.
GEN := $(SKELS)

.PHONY: all deps check check-unit check-asan check-bpf check-net demo fuzz bench clean
all: $(LIB) $(BINS) $(UNIT_BINS) $(BPFT_BINS)

# ---- userspace and kernel/ library ------------------------------------------
$(BUILD)/obj/%.o: %.c Makefile | $(GEN)
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/asan/obj/%.o: %.c Makefile | $(GEN)
	$(call msg,CC-ASAN,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -c $< -o $@

$(BUILD)/fuzz/obj/%.o: %.c Makefile | $(GEN)
	$(call msg,CC-FUZZ,$@)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(CPPFLAGS) $(filter-out -Wstrict-prototypes,$(CFLAGS)) \
		-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(ASAN_LIB): $(ASAN_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_LIB): $(FUZZ_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# ---- BPF --------------------------------------------------------------------
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c Makefile
	$(call msg,BPF,$@)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(BUILD)/include/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	@mkdir -p $(@D)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

# ---- programs ---------------------------------------------------------------
.SECONDEXPANSION:
$(BUILD)/bin/icepathd: $(DAEMON_SRCS:%.c=$(BUILD)/obj/%.o) $(LIB)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/%: $$(foreach f,$$(wildcard tools/%/*.c),$(BUILD)/obj/$$(basename $$(f)).o) $(LIB)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

$(BUILD)/asan/tests/%: $(BUILD)/asan/obj/tests/unit/%.o $(ASAN_LIB)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

$(BPFT_BINS): $(BUILD)/tests/%: $(BUILD)/obj/tests/bpf/%.o $(LIB)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

$(BUILD)/fuzz/%: $(BUILD)/fuzz/obj/tests/fuzz/%.o $(FUZZ_LIB)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZFLAGS) -o $@ $^ $(LDLIBS)

# ---- extra programs with their own libraries ---------------------------------
-include tests/interop/interop.mk

# ---- top-level jobs -----------------------------------------------------------
deps:
	$(Q)tools/install-deps.sh

check: deps
	$(Q)$(MAKE) --no-print-directory all $(ASAN_BINS) $(FUZZ_BINS)
	$(Q)tests/run-tests.sh $(BUILD)

check-unit: all
	$(Q)tests/run-tests.sh $(BUILD) unit

check-asan: $(ASAN_BINS)
	$(Q)tests/run-tests.sh $(BUILD) asan

check-bpf: all
	$(Q)tests/run-tests.sh $(BUILD) bpf

check-net: all
	$(Q)tests/run-tests.sh $(BUILD) net

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/demo/demo.sh $(BUILD)

fuzz: deps
	$(Q)$(MAKE) --no-print-directory $(FUZZ_BINS)
	$(Q)tests/fuzz/run-fuzz.sh $(BUILD) $(FUZZ_SECONDS)

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/bench/bench.sh $(BUILD)

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
