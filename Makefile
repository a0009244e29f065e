# xrecover
#
#   make              build ./xrecover
#   make test         install what is missing, build, run every test
#   make test SANITIZE=1   the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make test-html    the HTML report rendered in headless Chromium (installs it)
#   make demo         a throwaway Redis, a crashed consumer, and xrecover at work
#   make bench        the benchmarks (bench/), each a ratio against a baseline
#   make man          the manual page build/rel/xrecover.1 (man ./build/rel/xrecover.1)
#                     and the bash completion build/rel/xrecover.bash
#   make install      the binary, units, config example, man page, completion
#                     (PREFIX=/usr/local, DESTDIR=); backs up what it replaces
#   make uninstall    removes what install put
#   make rollback-install BACKUP=DIR   puts back what that install replaced
#
# Objects go to build/rel or build/san so the two builds never mix.

CC      ?= cc
PKGS    := hiredis sqlite3 libcjson libcrypto libcurl libmicrohttpd
VARIANT := $(if $(SANITIZE),san,rel)
B       := build/$(VARIANT)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-missing-field-initializers
ifdef SANITIZE
OPT     := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDOPT   := -fsanitize=address,undefined
else
OPT     := -O2
LDOPT   :=
endif

# Evaluated when a recipe runs, i.e. after `deps` has installed the packages.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))

CFLAGS  += -std=gnu11 -g -pthread $(OPT) $(WARN) -D_GNU_SOURCE -MMD -MP
LDFLAGS += -pthread $(LDOPT)

# V=1 shows the commands.
Q        = $(if $(V),,@)
say      = $(if $(V),,@echo "  $(1)	$(2)";)

LIB_SRC := $(wildcard lib/*.c stream/*.c store/*.c notify/*.c core/*.c)
CMD_SRC := $(wildcard cmd/*.c)
SCHEMA  := $(sort $(wildcard schema/[0-9][0-9][0-9]_*.sql))

LIB_OBJ := $(LIB_SRC:%.c=$(B)/obj/%.o) $(B)/obj/schema.o
CMD_OBJ := $(CMD_SRC:%.c=$(B)/obj/%.o)
HELPERS := $(B)/xrtest $(B)/unit $(B)/bench-base
DOCS    := $(B)/xrecover.1 $(B)/xrecover.bash

.PHONY: all deps test test-sanitize test-html demo bench man clean install uninstall \
	rollback-install FORCE

all: xrecover

xrecover: $(B)/xrecover FORCE
	@cmp -s $< $@ || cp $< $@

$(B)/xrecover: $(CMD_OBJ) $(B)/libxr.a
	$(call say,LINK,$@) $(CC) $(LDFLAGS) -o $@ $(CMD_OBJ) $(B)/libxr.a $(PKG_LIBS)

$(B)/libxr.a: $(LIB_OBJ)
	$(Q)rm -f $@
	$(call say,AR,$@) ar rcs $@ $^

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<) $(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(B)/schema.c: $(SCHEMA) tools/sql2c.sh
	@mkdir -p $(dir $@)
	$(call say,GEN,$@) sh tools/sql2c.sh $@ $(SCHEMA)

$(B)/obj/schema.o: $(B)/schema.c store/migrations.h
	@mkdir -p $(dir $@)
	$(call say,CC,$<) $(CC) $(CFLAGS) -I. -c -o $@ $<

# The manual page and the completion: their command parts are written by
# xrecover itself, from the table `xrecover help` prints.
$(B)/xrecover.1: $(B)/xrecover doc/xrecover.1.in tools/man.sh
	$(call say,GEN,$@) sh tools/man.sh $(B)/xrecover doc/xrecover.1.in $@

$(B)/xrecover.bash: $(B)/xrecover
	$(call say,GEN,$@) $(B)/xrecover help --completion bash >$@.tmp && mv $@.tmp $@

man: $(DOCS)

$(B)/xrtest: $(B)/obj/tests/xrtest.o $(B)/libxr.a
	$(call say,LINK,$@) $(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/unit: $(B)/obj/tests/unit.o $(B)/obj/cmd/out.o $(B)/libxr.a
	$(call say,LINK,$@) $(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

deps:
	@sh tools/deps.sh

test: deps
	@$(MAKE) --no-print-directory xrecover $(HELPERS) $(DOCS)
	@XR_BUILD=$(B) XR_SANITIZE=$(SANITIZE) sh tests/run.sh $(T)

test-sanitize:
	@$(MAKE) --no-print-directory test SANITIZE=1

# The HTML report in headless Chromium: installs Chromium first (large), so apart.
test-html:
	@sh tools/deps.sh html
	@$(MAKE) --no-print-directory xrecover $(HELPERS)
	@XR_BUILD=$(B) XR_NEED_CHROMIUM=1 sh tests/run.sh html

demo: deps
	@$(MAKE) --no-print-directory xrecover
	@sh tools/demo.sh

bench: deps
	@$(MAKE) --no-print-directory xrecover $(B)/xrtest $(B)/bench-base
	@XR_BUILD=$(B) sh bench/run.sh

$(B)/bench-base: $(B)/obj/bench/baseline.o $(B)/libxr.a
	$(call say,LINK,$@) $(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

clean:
	rm -rf build xrecover

# ------------------------------------------------------------ install
#
# tools/install.sh does the work; these say where things go.  The units go
# where systemd looks for a prefix's units: PREFIX/lib/systemd/system for
# /usr and /usr/local, else /etc/systemd/system.

PREFIX        ?= /usr/local
DESTDIR       ?=
BINDIR        ?= $(PREFIX)/bin
SYSCONFDIR    ?= /etc
UNITDIR       ?= $(if $(filter /usr /usr/local,$(PREFIX)),$(PREFIX)/lib/systemd/system,$(SYSCONFDIR)/systemd/system)
SYSUSERSDIR   ?= $(if $(filter /usr /usr/local,$(PREFIX)),$(PREFIX)/lib/sysusers.d,$(SYSCONFDIR)/sysusers.d)
MANDIR        ?= $(PREFIX)/share/man
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
DOCDIR        ?= $(PREFIX)/share/doc/xrecover
BACKUPDIR     ?= $(PREFIX)/share/xrecover/backup

INSTALL_ENV = DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' BINDIR='$(BINDIR)' \
	SYSCONFDIR='$(SYSCONFDIR)' UNITDIR='$(UNITDIR)' SYSUSERSDIR='$(SYSUSERSDIR)' \
	MANDIR='$(MANDIR)' COMPLETIONDIR='$(COMPLETIONDIR)' DOCDIR='$(DOCDIR)' \
	BACKUPDIR='$(BACKUPDIR)' SRC=. BIN=$(B)/xrecover MAN=$(B)/xrecover.1 \
	COMPLETION=$(B)/xrecover.bash

install: $(B)/xrecover $(DOCS)
	@$(INSTALL_ENV) sh tools/install.sh install

uninstall:
	@$(INSTALL_ENV) sh tools/install.sh uninstall

rollback-install:
	@test -n '$(BACKUP)' || { echo 'make rollback-install BACKUP=DIR: DIR is a backup folder install printed' >&2; exit 2; }
	@$(INSTALL_ENV) sh tools/install.sh rollback '$(BACKUP)'

-include $(shell find build -name '*.d' 2>/dev/null)
