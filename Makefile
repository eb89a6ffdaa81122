# fleetwatch: `make demo` to try it, `make test` for the checks CI runs.
CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build release demo test bench clean

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
	$(CARGO) clippy --locked --all-targets -- -D warnings
	$(CARGO) test --locked

bench: deps
	$(CARGO) bench --locked --bench fleet

clean:
	$(CARGO) clean
