#!/bin/sh
# `make install` into a scratch prefix, then what an admin would try: the binary runs, the man
# pages read, completions complete, the unit passes systemd's own check, the example config
# installed is the one the binary prints.
set -eu
cd "$(dirname "$0")/.."
p=$(mktemp -d)
trap 'rm -rf "$p"' EXIT
cargo build --locked -q
make -s install PREFIX="$p" PROFILE=debug >/dev/null
# Nothing is built by install itself: a missing binary is said, not compiled as root.
if make -s install PREFIX="$p/x" PROFILE=nonexistent >/dev/null 2>&1; then
  echo "install check: make install without a built binary succeeded" >&2; exit 1
fi
fail() { echo "install check: $*" >&2; exit 1; }
for f in bin/fleetwatch share/man/man1/fleetwatch.1 share/man/man1/fleetwatch-record.1 \
         share/bash-completion/completions/fleetwatch share/zsh/site-functions/_fleetwatch \
         share/fish/vendor_completions.d/fleetwatch.fish lib/systemd/system/fleetwatch-recorder.service \
         lib/sysusers.d/fleetwatch.conf share/fleetwatch/config.example.toml share/fleetwatch/alerts.yml; do
  [ -s "$p/$f" ] || fail "$f not installed"
done
"$p/bin/fleetwatch" --version | grep -q '^fleetwatch ' || fail "the installed binary does not run"
MANWIDTH=80 man -l "$p/share/man/man1/fleetwatch.1" 2>/dev/null | grep -q 'EXIT STATUS' || fail "man page fleetwatch.1 unreadable"
MANWIDTH=80 man -l "$p/share/man/man1/fleetwatch-record.1" 2>/dev/null | grep -q -- '--metrics' || fail "fleetwatch-record.1 lacks --metrics"
"$p/bin/fleetwatch" config example | cmp -s - "$p/share/fleetwatch/config.example.toml" || fail "config example differs from share/"
got=$(bash -c ". '$p/share/bash-completion/completions/fleetwatch'; COMP_WORDS=(fleetwatch rec); COMP_CWORD=1; _fleetwatch fleetwatch rec fleetwatch; echo \${COMPREPLY[*]}")
[ "$got" = record ] || fail "bash completion of 'fleetwatch rec' gave '$got'"
grep -q "^ExecStart=$p/bin/fleetwatch " "$p/lib/systemd/system/fleetwatch-recorder.service" || fail "unit's ExecStart is not the installed binary"
if command -v systemd-analyze >/dev/null; then
  out=$(MANPATH="$p/share/man" systemd-analyze verify "$p/lib/systemd/system/fleetwatch-recorder.service" 2>&1) || fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify: $out"
else
  echo "install check: no systemd-analyze here; the unit was not verified" >&2
fi
echo "install check: ok ($p)"
