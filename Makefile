# fleetwatch: `make demo` to try it, `make test` for the checks CI runs.
CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build release demo test bench bench-poll lab-up lab-down e2e install clean

# `make install PREFIX=...` (and DESTDIR= for packaging); PROFILE=debug installs the debug build.
PREFIX ?= /usr/local
DESTDIR ?=
PROFILE ?= release
ROOT = $(DESTDIR)$(PREFIX)

all: build

# Installs what a fresh Debian/Ubuntu or Fedora machine lacks to build against libvirt.
deps:
	@if ! { command -v pkg-config >/dev/null && pkg-config --exists libvirt; }; then \
	  echo "fleetwatch: libvirt development files missing; installing them"; \
	  if command -v apt-get >/dev/null; then \
	    $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q libvirt-dev pkg-config; \
	  elif command -v dnf >/dev/null; then \
	    $(SUDO) dnf install -y libvirt-devel pkgconf-pkg-config; \
	  else \
	    echo "fleetwatch: install libvirt's development package (libvirt-dev or libvirt-devel) and pkg-config"; exit 1; \
	  fi; \
	fi
	@command -v tmux >/dev/null || { echo "fleetwatch: tmux missing (terminal tests drive the TUI in it); installing it"; \
	  if command -v apt-get >/dev/null; then DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q tmux || \
	    { $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q tmux; }; \
	  elif command -v dnf >/dev/null; then $(SUDO) dnf install -y tmux; fi; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "fleetwatch: PostgreSQL server missing (the history tests start one of their own); installing it"; \
	  if command -v apt-get >/dev/null; then DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q postgresql || \
	    { $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q postgresql; }; \
	  elif command -v dnf >/dev/null; then $(SUDO) dnf install -y postgresql-server; fi; }
	@command -v man >/dev/null || { echo "fleetwatch: man missing (the install check reads the man pages); installing it"; \
	  if command -v apt-get >/dev/null; then DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q man-db || \
	    { $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q man-db; }; \
	  elif command -v dnf >/dev/null; then $(SUDO) dnf install -y man-db; fi; }
	@command -v promtool >/dev/null || { \
	  echo "fleetwatch: Prometheus missing (promtool checks the metrics and alert rules; the e2e runs a server); installing it"; \
	  if command -v apt-get >/dev/null; then DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends prometheus || \
	    { $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends prometheus; }; \
	  elif command -v dnf >/dev/null; then $(SUDO) dnf install -y golang-github-prometheus; fi; }
	@command -v rustfmt >/dev/null && $(CARGO) clippy --version >/dev/null 2>&1 || \
	  rustup component add rustfmt clippy

build: deps
	$(CARGO) build --locked

release: deps
	$(CARGO) build --locked --release

demo: release
	./target/release/fleetwatch --demo

test: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	@# The core needs no libvirt: with libvirt's pkg-config file out of sight it still builds and passes.
	PKG_CONFIG_LIBDIR=/nonexistent PKG_CONFIG_PATH= $(CARGO) test --locked -p fleetwatch-core
	$(CARGO) tree --locked -p fleetwatch-core -e normal | { ! grep -E '^[^a-z]*(virt|ratatui|crossterm) '; }
	$(CARGO) test --locked --workspace --exclude fleetwatch-core
	promtool check rules assets/alerts.yml
	promtool test rules assets/alerts_test.yml
	tests/install.sh

bench: deps
	$(CARGO) bench --locked --bench fleet
	$(CARGO) bench --locked --bench process
	$(CARGO) bench --locked --bench share
	$(CARGO) bench --locked -p fleetwatch-core --bench history
	$(CARGO) bench --locked -p fleetwatch-pg --bench store

# The cost of one poll against a real libvirtd, e.g. make bench-poll URI=qemu+tcp://127.0.0.11/system
bench-poll: deps
	FLEETWATCH_BENCH_URI=$(URI) $(CARGO) bench --locked -p fleetwatch-libvirt --bench poll

# The real-libvirtd lab: LAB_HOSTS (3) libvirtd hosts on 127.0.0.11.. with LAB_GUESTS (4) tiny
# QEMU guests each, each reached through a relay adding 200 ms of round trip (127.0.1.11..;
# LAB_RELAY_NEAR=0 for direct, quicker local runs), and a far host with 20 guests behind one.
# Needs root; exits 77 with the reason when the machine cannot run it.
lab-up:
	tests/lab/lab.sh up

lab-down:
	tests/lab/lab.sh down

# End-to-end tests against the lab (make lab-up first): the real binary, snapshot --json and the
# TUI under tmux, one test at a time since they share the lab.
e2e: deps
	@command -v tmux >/dev/null || $(SUDO) apt-get install -y -q tmux
	$(CARGO) test --locked --test e2e -- --ignored --test-threads=1 --nocapture

# The binary, its man pages and completions (made by the binary from its own command line),
# the recorder's systemd unit and user, the example config and the Prometheus alert rules.
# It builds nothing as root: `make release` first (as yourself), then `sudo make install`.
install:
	@test -x target/$(PROFILE)/fleetwatch || { echo "fleetwatch: no target/$(PROFILE)/fleetwatch: run make $(if $(filter release,$(PROFILE)),release,build) first"; exit 1; }
	install -d $(ROOT)/bin $(ROOT)/share/man/man1 $(ROOT)/share/bash-completion/completions \
	  $(ROOT)/share/zsh/site-functions $(ROOT)/share/fish/vendor_completions.d \
	  $(ROOT)/lib/systemd/system $(ROOT)/lib/sysusers.d $(ROOT)/share/fleetwatch
	install -m 0755 target/$(PROFILE)/fleetwatch $(ROOT)/bin/fleetwatch
	@gen=$$(mktemp -d) && trap 'rm -rf "$$gen"' EXIT && \
	  for what in man bash zsh fish; do target/$(PROFILE)/fleetwatch generate $$what "$$gen/$$what" || exit 1; done && \
	  install -m 0644 "$$gen"/man/*.1 $(ROOT)/share/man/man1/ && \
	  install -m 0644 "$$gen/bash/fleetwatch.bash" $(ROOT)/share/bash-completion/completions/fleetwatch && \
	  install -m 0644 "$$gen/zsh/_fleetwatch" $(ROOT)/share/zsh/site-functions/_fleetwatch && \
	  install -m 0644 "$$gen/fish/fleetwatch.fish" $(ROOT)/share/fish/vendor_completions.d/fleetwatch.fish
	sed 's|@BINDIR@|$(PREFIX)/bin|' assets/systemd/fleetwatch-recorder.service > $(ROOT)/lib/systemd/system/fleetwatch-recorder.service
	chmod 0644 $(ROOT)/lib/systemd/system/fleetwatch-recorder.service
	install -m 0644 assets/systemd/fleetwatch.sysusers $(ROOT)/lib/sysusers.d/fleetwatch.conf
	install -m 0644 config.example.toml assets/alerts.yml $(ROOT)/share/fleetwatch/
	@echo "fleetwatch: installed into $(ROOT); the recorder as a service: see README, Install"

clean:
	$(CARGO) clean
