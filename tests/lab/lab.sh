#!/usr/bin/env bash
# fleetwatch lab: several libvirtd "hosts" on one machine, for end-to-end tests.
#
# Each host is one libvirtd (+ its own virtlogd) in a private mount + UTS
# namespace, with private /var/run/libvirt, /var/lib/libvirt, /etc/libvirt,
# /var/log/libvirt (and /var/cache/libvirt, shared by the lab hosts only),
# listening on qemu+tcp://127.0.0.(10+N)/system, qemu+tls:// (port 16514) and
# qemu+ssh:// (an sshd in the namespace). One more host, lab-hv-far, sits
# behind delaying relays on 127.0.0.40; so does every near host N, on
# 127.0.1.(10+N) (LAB_RELAY_NEAR=0: near hosts direct). run/fleetwatch.toml and
# LAB_URI_N / LAB_SSH_URI_N / LAB_TLS_URI_N go through the relays; the
# LAB_DIRECT_* URIs reach the daemons without delay (for a test's own virsh).
# Only 127.0.0.0/8 is used. The ssh, tls, relay and far-host parts live in
# remote.sh.
#
#   lab.sh up              start LAB_HOSTS (3) hosts with LAB_GUESTS (4) guests each,
#                          and the far host with LAB_FAR_GUESTS (20; 0: no far host);
#                          relays adding LAB_RELAY_DELAY_MS (100) each way in front
#                          of the far host and, unless LAB_RELAY_NEAR=0, every near one
#   lab.sh down            destroy guests, stop daemons and relays, remove tests/lab/run/
#                          and the lab's entries in root's known_hosts
#   lab.sh status          hosts, pids, whether they answer, their guests, sshd, relays
#                          (pid, delay, whether each accepts)
#   lab.sh pid N           libvirtd pid of host N
#   lab.sh restart N       start host N's libvirtd again (same namespace), guests kept
#   lab.sh migrate GUEST FROM TO [--p2p]   live-migrate GUEST from host FROM to host TO
#                          (virsh drives it over direct URIs; --p2p: the source daemon
#                          itself connects to TO's relayed URI, as fleetwatch's m does)
#   lab.sh sshd-stop N     kill every sshd of host N (listener and open sessions)
#   lab.sh sshd-start N    start host N's sshd again
#   lab.sh sshd-pause N    SIGSTOP every sshd of host N (a hung link); sshd-resume N
#   lab.sh check           hostnames, ssh + tls on host 1, relays (tcp, ssh, tls through
#                          each), the far host, a migration round trip (back peer-to-peer)
#   lab.sh errors          print libvirt's error text for each failing-connection case
#
# Needs root. Exits 77 ("lab: needs root: ...") when it cannot run.
# State lives in tests/lab/run/ (git-ignored); run/hosts.env has variables for
# tests, run/fleetwatch.toml is a fleetwatch config for the lab.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN=$LAB_DIR/run
PACKAGES=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86
    openssh-server openssh-client openssl python3)
NEED_CMDS=(libvirtd virtlogd virsh qemu-system-x86_64 /usr/sbin/sshd ssh ssh-keygen openssl python3)
# Paths libvirtd uses, each replaced by a private directory inside a host's namespace.
MOUNTS=(run:/var/run/libvirt lib:/var/lib/libvirt etc:/etc/libvirt log:/var/log/libvirt)
CACHE_MOUNT=/var/cache/libvirt # QEMU capabilities cache, shared by lab hosts (saves probing)
ROLES=(web db cache batch api queue search auth mail proxy metrics build)
VIRSH_TIMEOUT=${LAB_VIRSH_TIMEOUT:-20}

T0=$EPOCHREALTIME
log() { printf 'lab: %s\n' "$*" >&2; }
# Progress with elapsed seconds since lab.sh started (LAB_QUIET=1 silences it).
step() { [[ -n ${LAB_QUIET:-} ]] || printf 'lab: [%6.2fs] %s\n' "$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" "$*" >&2; }
die() { printf 'lab: %s\n' "$*" >&2; exit 1; }
skip() { printf 'lab: needs root: %s\n' "$*" >&2; exit 77; }
skip_pkgs() { printf 'lab: needs packages: %s\n' "$*" >&2; exit 77; }

addr() { echo "127.0.0.$((10 + $1))"; }
uri() { echo "qemu+tcp://$(addr "$1")/system"; }
hname() { if [[ -n ${FAR_N:-} && $1 == "$FAR_N" ]]; then echo lab-hv-far; else echo "lab-hv-$1"; fi; }
hdir() { echo "$RUN/host$1"; }
vsh() { local n=$1; shift; timeout "${VT:-$VIRSH_TIMEOUT}" virsh -q -c "$(uri "$n")" "$@"; }

pid_of() { # pidfile -> pid if that process is alive
    local f=$1 p
    [[ -s $f ]] || return 1
    p=$(<"$f")
    [[ $p =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null || return 1
    [[ $(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) != Z ]] || return 1 # dying / unreaped
    echo "$p"
}
answers() { timeout 5 virsh -q -c "$(uri "$1")" hostname >/dev/null 2>&1; }
is_stopped() { [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == T ]]; }

# ---------------------------------------------------------------- prerequisites
need_root() {
    [[ $(id -u) -eq 0 ]] || skip "not running as root (uid $(id -u)); libvirtd hosts need mount namespaces"
    command -v unshare >/dev/null && command -v nsenter >/dev/null && command -v flock >/dev/null ||
        skip "unshare/nsenter/flock (util-linux) missing"
    unshare -m -u --propagation private true 2>/dev/null || skip "cannot create mount/UTS namespaces (unshare -m -u failed)"
}

need_packages() {
    local missing=() c pkgs=("${PACKAGES[@]}")
    for c in "${NEED_CMDS[@]}"; do
        command -v "$c" >/dev/null || missing+=("$c")
    done
    [[ -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ]] ||
        compgen -G '/usr/lib/*/libvirt/connection-driver/libvirt_driver_qemu.so' >/dev/null || missing+=(qemu-driver)
    if ((${#missing[@]})); then
        log "missing ${missing[*]}; installing ${pkgs[*]}"
        apt_install "${pkgs[@]}"
        for c in "${NEED_CMDS[@]}"; do
            command -v "$c" >/dev/null || skip_pkgs "$c still missing after installing ${pkgs[*]}"
        done
    fi
    # The remote end of libvirt's ssh transport: virt-ssh-helper (libvirt-daemon), else nc -U.
    if ! command -v virt-ssh-helper >/dev/null && ! command -v nc >/dev/null; then
        log "no virt-ssh-helper; installing netcat-openbsd for libvirt's ssh transport"
        apt_install netcat-openbsd
    fi
}

apt_install() {
    command -v apt-get >/dev/null || skip_pkgs "$* missing and no apt-get"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends "$@" >&2; then
        apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "$@" >&2 ||
            skip_pkgs "cannot install $* with apt-get"
    fi
}

# The Debian QEMU driver refuses to initialise when its built-in default user
# (libvirt-qemu) does not exist, even though qemu.conf says user = "root".
need_qemu_user() {
    getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
    getent passwd libvirt-qemu >/dev/null ||
        useradd --system -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin -M libvirt-qemu
}

# Bind mounts need their mount points. Create missing ones (empty dirs) and
# remember them so `down` can remove them again.
need_mountpoints() {
    local m
    for m in "${MOUNTS[@]#*:}" "$CACHE_MOUNT"; do
        if [[ ! -d $m ]]; then
            mkdir -p "$m"
            echo "$m" >>"$RUN/created-mountpoints"
        fi
    done
}

# ---------------------------------------------------------------- host setup
# libvirtd resolves its own hostname (getaddrinfo) at start and on every guest
# start; with the machine's resolv.conf that sends DNS queries off the machine.
# Inside the namespaces /etc/hosts knows every lab host and DNS points at 127.0.0.1.
write_name_files() {
    local n
    {
        grep -v 'lab-hv-' /etc/hosts 2>/dev/null || echo "127.0.0.1 localhost"
        echo "# fleetwatch lab hosts"
        for n in $(all_hosts); do echo "$(addr "$n") $(hname "$n")"; done
    } >"$RUN/etc-hosts"
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$RUN/etc-resolv.conf"
}

write_host_config() {
    local n=$1 h d
    h=$(hdir "$n")
    mkdir -p "$h"/{run,lib,etc,log,xml}
    cat >"$h/etc/libvirtd.conf" <<EOF
# lab host $(hname "$n") (generated by tests/lab/lab.sh)
$(tls_conf "$n")
listen_tcp = 1
auth_tcp = "none"
auth_unix_rw = "none"
auth_unix_ro = "none"
listen_addr = "$(addr "$n")"
host_uuid = "$(printf '6c616268-762d-4000-8000-%012d' "$n")"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
    cat >"$h/etc/virtlogd.conf" <<EOF
log_outputs = "3:file:/var/log/libvirt/virtlogd.log"
EOF
    cat >"$h/etc/qemu.conf" <<EOF
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
# Migration data (QEMU to QEMU) goes to the host's own address, not through its
# relay: the source is told migration_host:PORT with PORT the one the
# destination's QEMU listens on, and a relay listening on that port number on
# any address makes libvirt's port allocator (which test-binds 0.0.0.0:PORT)
# take it for used. The control connection of a peer-to-peer migration (source
# libvirtd to the destination's URI, e.g. fleetwatch's) does go through the relay.
migration_address = "$(addr "$n")"
migration_host = "$(addr "$n")"
# No cgroups: nothing to leave behind in /sys/fs/cgroup, no clash between hosts
# (cgroup names are qemu-ID-NAME, IDs are per libvirtd). cpu.* stats come from /proc.
cgroup_controllers = [ ]
EOF
    for d in qemu storage nwfilter secrets; do mkdir -p "$h/etc/$d"; done
}

# Runs inside the new namespace (argument of `unshare ... bash -c`).
# shellcheck disable=SC2016
NS_SETUP='
set -eu
h=$1 name=$2 run=$3; shift 3
for m in "$@"; do mount --bind "$h/${m%%:*}" "${m#*:}"; done
mount --bind "$run/cache" /var/cache/libvirt
# Name lookups stay local: lab names in hosts, and DNS (if ever asked) to 127.0.0.1.
mount --bind "$run/etc-hosts" /etc/hosts
mount --bind "$run/etc-resolv.conf" /etc/resolv.conf
hostname "$name"
# Anchor process: keeps the namespace alive and is the nsenter target for restart.
(exec -a "lab-ns-$name" sleep infinity) </dev/null >/dev/null 2>&1 &
echo $! >"$h/holder.pid"
virtlogd -d -p "$h/virtlogd.pid"
exec libvirtd -d --listen -p "$h/libvirtd.pid"
'

# Start libvirtd (and virtlogd if needed) for host n in its existing namespace:
# nsenter the holder (or virtlogd). If the namespace is gone, build a new one
# over the same directories: QEMU monitor sockets are files under lib/, so a
# new libvirtd still reconnects to the surviving guests.
start_libvirtd_in_ns() {
    local n=$1 h target
    h=$(hdir "$n")
    if target=$(pid_of "$h/holder.pid") || target=$(pid_of "$h/virtlogd.pid"); then
        pid_of "$h/virtlogd.pid" >/dev/null ||
            nsenter -t "$target" -m -u virtlogd -d -p "$h/virtlogd.pid" 9<&- </dev/null
        nsenter -t "$target" -m -u libvirtd -d --listen -p "$h/libvirtd.pid" 9<&- </dev/null
    else
        log "host $n: namespace gone, creating a new one"
        new_namespace "$n"
    fi
}

new_namespace() {
    local n=$1 h
    h=$(hdir "$n")
    # 9<&-: the daemons must not inherit the lock on lab.sh.
    unshare -m -u --propagation private bash -c "$NS_SETUP" lab-ns \
        "$h" "$(hname "$n")" "$RUN" "${MOUNTS[@]}" 9<&- </dev/null
    # Remember the UTS namespace: `down` kills whatever is left in it.
    readlink "/proc/$(<"$h/holder.pid")/ns/uts" >>"$h/uts-ns"
}

wait_answer() { # n
    local n=$1 i
    for ((i = 0; i < 150; i++)); do
        answers "$n" && return 0
        # libvirtd -d returns once initialised; if its pid is gone, it failed.
        ((i > 10)) && ! pid_of "$(hdir "$n")/libvirtd.pid" >/dev/null && break
        sleep 0.2
    done
    die "host $n ($(uri "$n")) does not answer; see $(hdir "$n")/log/libvirtd.log"
}

start_host() {
    local n=$1 h
    h=$(hdir "$n")
    if pid_of "$h/libvirtd.pid" >/dev/null && answers "$n"; then
        return 0 # already up (idempotent)
    fi
    if pid_of "$h/holder.pid" >/dev/null || pid_of "$h/virtlogd.pid" >/dev/null; then
        log "host $n: namespace alive, starting libvirtd in it"
        restart_host "$n"
        return 0
    fi
    write_host_config "$n"
    new_namespace "$n"
    wait_answer "$n"
    local got
    got=$(vsh "$n" hostname)
    [[ $got == "$(hname "$n")" ]] || die "host $n reports hostname '$got', expected $(hname "$n")"
}

# ---------------------------------------------------------------- guests
# kvm when /dev/kvm is usable, else qemu (TCG, slower); LAB_DOMAIN_TYPE overrides.
domain_type() {
    if [[ -n ${LAB_DOMAIN_TYPE:-} ]]; then echo "$LAB_DOMAIN_TYPE"
    elif [[ -c /dev/kvm && -w /dev/kvm ]]; then echo kvm
    else echo qemu; fi
}

guest_name() { # host guest
    local h=$1 g=$2 i r name
    i=$(((g - 1 + (h - 1) * 2) % ${#ROLES[@]}))
    r=$(((g - 1) / ${#ROLES[@]}))
    name=$(printf 'lab-%s-%02d' "${ROLES[i]}" "$h")
    ((r > 0)) && name+="-$((r + 1))"
    echo "$name"
}

guest_xml() { # host guest name [ROM: firmware instead of SeaBIOS, e.g. qboot.rom]
    local h=$1 g=$2 name=$3 rom=${4:-} mems=(48 56 64) mem vcpus boot="<boot dev='network'/>"
    [[ -z $rom ]] || boot="<loader readonly='yes' type='rom'>$rom</loader>"
    mem=${mems[$(((g + h) % 3))]}
    vcpus=$((g % 2 == 0 ? 2 : 1))
    cat <<EOF
<domain type='$(domain_type)'>
  <name>$name</name>
  <uuid>$(printf '6c616267-7565-4000-8000-%06d%06d' "$h" "$g")</uuid>
  <title>lab guest ${name#lab-} (home $(hname "$h"))</title>
  <metadata>
    <lab:guest xmlns:lab="urn:fleetwatch:lab"><home>$(hname "$h")</home><index>$g</index></lab:guest>
  </metadata>
  <memory unit='MiB'>$mem</memory>
  <currentMemory unit='MiB'>$mem</currentMemory>
  <vcpu>$vcpus</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    $boot
  </os>
  <features><acpi/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$RUN/disks/blank.img'/>
      <target dev='vda' bus='virtio'/>
      <readonly/>
    </disk>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='virtio'><stats period='5'/></memballoon>
  </devices>
</domain>
EOF
}

start_guests() {
    local n=$1 g m name xml where state
    # Where each lab guest is now (guests may have been migrated): name -> host.
    # A running copy wins over a shut-off definition left behind by a plain
    # `virsh migrate` (without --undefinesource) on another host.
    local -A at=() active=()
    for ((m = 1; m <= LAB_HOSTS; m++)); do
        for name in $(vsh "$m" list --inactive --name); do [[ -n ${at[$name]:-} ]] || at[$name]=$m; done
        for name in $(vsh "$m" list --name); do active[$name]=$m; done
    done
    for name in "${!active[@]}"; do at[$name]=${active[$name]}; done
    for ((g = 1; g <= LAB_GUESTS; g++)); do
        name=$(guest_name "$n" "$g")
        where=${at[$name]:-}
        if [[ -n $where ]]; then
            state=$(vsh "$where" domstate "$name")
            [[ $state == "shut off" ]] && vsh "$where" start "$name" >/dev/null
            continue
        fi
        xml=$(hdir "$n")/xml/$name.xml
        guest_xml "$n" "$g" "$name" >"$xml"
        if ((g % 2 == 1)); then # odd guests persistent, even ones transient
            vsh "$n" define "$xml" >/dev/null
            vsh "$n" start "$name" >/dev/null
        else
            vsh "$n" create "$xml" >/dev/null
        fi
    done
}

# ---------------------------------------------------------------- outputs
# KEY=VALUE, shell-quoted only when needed: an assignment does no globbing, so
# URIs keep their '?' (tests read hosts.env without a shell too).
kv() {
    if [[ $2 =~ ^[A-Za-z0-9_./:@?=+,%-]*$ ]]; then printf '%s=%s\n' "$1" "$2"; else printf '%s=%q\n' "$1" "$2"; fi
}

write_outputs() {
    local n
    {
        printf '# generated by tests/lab/lab.sh up\n'
        if [[ $LAB_RELAY_NEAR != 0 ]]; then
            printf '# every host through its relay, adding %s ms each way\n' "$LAB_RELAY_DELAY_MS"
        fi
        printf '[poll]\ninterval = "2s"\ntimeout = "8s"\n'
        for ((n = 1; n <= LAB_HOSTS; n++)); do
            printf '\n[[host]]\nname = "%s"\nuri = "%s"\ntags = ["lab"]\nactions = true\n' "$(hname "$n")" "$(client_uri "$n")"
        done
        # Every lab host reaches the guests' disk image (that is what lets them migrate).
        printf '\n[policy]\nshared_storage = ["%s/disks/"]\n' "$RUN"
    } >"$RUN/fleetwatch.toml"
    {
        echo "# generated by tests/lab/lab.sh up; source it from tests"
        kv LAB_DIR "$LAB_DIR"
        kv LAB_RUN "$RUN"
        kv LAB_SCRIPT "$LAB_DIR/lab.sh"
        kv LAB_HOSTS "$LAB_HOSTS"
        kv LAB_GUESTS "$LAB_GUESTS"
        kv LAB_DOMAIN_TYPE "$(domain_type)"
        kv LAB_CONFIG "$RUN/fleetwatch.toml"
        for ((n = 1; n <= LAB_HOSTS; n++)); do
            local gs=() g
            for ((g = 1; g <= LAB_GUESTS; g++)); do gs+=("$(guest_name "$n" "$g")"); done
            kv "LAB_NAME_$n" "$(hname "$n")"
            # What fleetwatch is given (through the relay, unless LAB_RELAY_NEAR=0) ...
            kv "LAB_ADDR_$n" "$(reach "$n")"
            kv "LAB_URI_$n" "$(client_uri "$n")"
            # ... and the daemon itself, without delay: for a test's own virsh.
            kv "LAB_DIRECT_ADDR_$n" "$(addr "$n")"
            kv "LAB_DIRECT_URI_$n" "$(uri "$n")"
            kv "LAB_PIDFILE_$n" "$(hdir "$n")/libvirtd.pid"
            kv "LAB_VIRTLOGD_PIDFILE_$n" "$(hdir "$n")/virtlogd.pid"
            kv "LAB_LOG_$n" "$(hdir "$n")/log/libvirtd.log"
            kv "LAB_GUESTS_$n" "${gs[*]}"
        done
        remote_env
    } >"$RUN/hosts.env"
    write_far_toml
}

# ---------------------------------------------------------------- commands
wait_all() { # wait for every background job; fail if one failed
    local j rc=0
    for j in $(jobs -p); do wait "$j" || rc=1; done
    ((rc == 0)) || die "$1 failed (see messages above)"
}

cmd_up() {
    LAB_HOSTS=${LAB_HOSTS:-3} LAB_GUESTS=${LAB_GUESTS:-4}
    [[ $LAB_HOSTS =~ ^[0-9]+$ ]] && ((LAB_HOSTS >= 1 && LAB_HOSTS <= 200)) || die "LAB_HOSTS must be 1..200"
    [[ $LAB_GUESTS =~ ^[0-9]+$ ]] || die "LAB_GUESTS must be a number"
    LAB_FAR_GUESTS=${LAB_FAR_GUESTS:-20}
    need_packages
    need_qemu_user
    if [[ -f $RUN/hosts.env ]]; then
        local old
        old="$(env_get LAB_HOSTS) x $(env_get LAB_GUESTS), far $(env_get LAB_FAR_GUESTS)"
        if [[ $old != "$LAB_HOSTS x $LAB_GUESTS, far $LAB_FAR_GUESTS" ]]; then
            log "lab is up with $old guests; taking it down first"
            cmd_down
        elif [[ -z $(env_get LAB_RELAY_NEAR) ]]; then
            # Its server certificates are not valid for the near relays' addresses.
            log "lab was brought up by an older lab.sh (no near relays); taking it down first"
            cmd_down
        fi
    fi
    mkdir -p "$RUN/cache" "$RUN/disks"
    need_mountpoints
    [[ -f $RUN/disks/blank.img ]] || truncate -s 1M "$RUN/disks/blank.img"
    far_init
    write_name_files
    ssh_setup
    pki_setup
    step "keys and certificates ready"
    local n
    # Host 1 first (it fills the shared QEMU capabilities cache), then the
    # others in parallel; guests in parallel across hosts, in order within one.
    start_host 1 && start_sshd 1
    step "$(hname 1) answers on $(uri 1) (libvirtd $(pid_of "$(hdir 1)/libvirtd.pid"))"
    for n in $(all_hosts); do
        ((n == 1)) && continue
        (start_host "$n" && start_sshd "$n" && step "$(hname "$n") answers on $(uri "$n") (libvirtd $(pid_of "$(hdir "$n")/libvirtd.pid"))") &
    done
    wait_all "starting hosts"
    for ((n = 1; n <= LAB_HOSTS; n++)); do
        (start_guests "$n" && step "$(hname "$n"): $LAB_GUESTS guests running") &
    done
    if [[ -n $FAR_N ]]; then
        (start_far_guests && step "$(hname "$FAR_N"): $LAB_FAR_GUESTS guests running") &
    fi
    start_relays
    local ports="${RELAYS[*]%%:*}"
    for n in $(all_hosts); do
        relayed "$n" || continue
        step "$(hname "$n"): relays on $(relay_addr "$n") (ports ${ports// /, }) +$LAB_RELAY_DELAY_MS ms each way"
    done
    kh_setup
    wait_all "starting guests"
    write_outputs
    local via="near hosts through relays at $((2 * LAB_RELAY_DELAY_MS)) ms RTT"
    [[ $LAB_RELAY_NEAR != 0 ]] || via="near hosts direct"
    log "up: $LAB_HOSTS hosts x $LAB_GUESTS guests ($(domain_type)), $via${FAR_N:+, far host with $LAB_FAR_GUESTS guests}; config $RUN/fleetwatch.toml, env $RUN/hosts.env"
}

# Kill a daemon by pid file and wait until it is gone.
stop_pidfile() {
    local f=$1 p i
    p=$(pid_of "$f") || return 0
    kill -CONT "$p" 2>/dev/null || true # a test may have left it stopped
    kill -TERM "$p" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$p" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$p" 2>/dev/null || return 0
        sleep 0.1
    done
    log "pid $p ($f) does not go away"
}

# Pids of every process in the given UTS namespaces (daemons, QEMU, holder).
# Never matches our own UTS namespace.
ns_pids() {
    local self p u
    self=$(readlink /proc/self/ns/uts)
    local -A want=()
    for u in "$@"; do [[ $u != "$self" ]] && want[$u]=1; done
    ((${#want[@]})) || return 0
    for p in /proc/[0-9]*; do
        u=$(readlink "$p/ns/uts" 2>/dev/null) || continue
        [[ -n ${want[$u]:-} ]] && echo "${p#/proc/}"
    done
    return 0
}

# UTS namespaces of lab hosts: recorded ones, plus those of any process that
# belongs to this lab (holder, or daemons with pid files under run/), in case
# run/ was damaged.
lab_namespaces() {
    local p cmd
    cat "$RUN"/host*/uts-ns 2>/dev/null || true
    for p in /proc/[0-9]*; do
        cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
        case $cmd in
        "lab-ns-lab-hv-"* | *"-p $RUN/host"*) readlink "$p/ns/uts" 2>/dev/null || true ;;
        esac
    done
}

down_host() {
    local h=$1 n p names name
    n=${h##*host}
    # Guests first, while libvirtd can still clean up after them.
    if p=$(pid_of "$h/libvirtd.pid"); then
        kill -CONT "$p" 2>/dev/null || true
        if answers "$n"; then
            names=$(vsh "$n" list --name --state-running --state-paused --state-other 2>/dev/null || true)
            # In parallel: tearing down a KVM guest takes ~1.7 s here (nested virt).
            for name in $names; do vsh "$n" destroy "$name" >/dev/null 2>&1 & done
            wait
            step "$(hname "$n"): guests destroyed"
        fi
    fi
    # QEMU processes whose libvirtd is gone: by their pid files.
    for p in "$h"/run/qemu/*.pid; do
        [[ -e $p ]] && stop_pidfile "$p" &
    done
    wait
    stop_pidfile "$h/libvirtd.pid" &
    stop_pidfile "$h/virtlogd.pid" &
    stop_pidfile "$h/sshd.pid" & # its sessions: by sweep_namespaces
    stop_pidfile "$h/holder.pid" &
    wait
}

# Last resort: SIGKILL whatever is still in a lab namespace (a daemon started by
# hand, QEMU without pid file, ...). The namespaces, and their mounts, go away
# with their last process.
sweep_namespaces() {
    local i p
    local -a ns
    mapfile -t ns < <(lab_namespaces | sort -u)
    ((${#ns[@]})) || return 0
    for ((i = 0; i < 50; i++)); do
        p=$(ns_pids "${ns[@]}")
        [[ -z $p ]] && return 0
        # shellcheck disable=SC2086
        kill -CONT $p 2>/dev/null || true
        # shellcheck disable=SC2086
        kill -KILL $p 2>/dev/null || true
        sleep 0.1
    done
    log "processes left in lab namespaces: $(ns_pids "${ns[@]}" | tr '\n' ' ')"
}

cmd_down() {
    local h m
    stop_relays
    [[ -d $RUN ]] || sweep_namespaces # run/ removed by hand while the lab was up
    if [[ -d $RUN ]]; then
        kh_cleanup
        for h in "$RUN"/host*; do
            [[ -d $h ]] || continue
            (down_host "$h" && step "$(basename "$h") down") &
        done
        wait
        sweep_namespaces
        # The bind mounts only ever existed inside the namespaces; if something was
        # mounted under run/ in this namespace, undo it.
        while read -r m; do
            umount -l "$m" 2>/dev/null || true
        done < <(awk -v r="$RUN" 'index($2, r) == 1 {print $2}' /proc/self/mounts | sort -r)
        if [[ -f $RUN/created-mountpoints ]]; then
            while read -r m; do
                rmdir "$m" 2>/dev/null || true
            done < <(sort -ru "$RUN/created-mountpoints")
        fi
        rm -rf "$RUN"
    fi
    log "down"
}

cmd_status() {
    [[ -f $RUN/hosts.env ]] || { echo "lab is down"; return 0; }
    LAB_HOSTS=$(sed -n 's/^LAB_HOSTS=//p' "$RUN/hosts.env")
    local n p state
    for n in $(all_hosts); do
        if p=$(pid_of "$(hdir "$n")/libvirtd.pid"); then
            if is_stopped "$p"; then
                state="stopped (SIGSTOP)"
            elif answers "$n"; then
                state="answers"
            else
                state="NOT answering"
            fi
        else
            p=-
            state="libvirtd dead"
        fi
        printf '%s  %s  pid %s  %s\n' "$(hname "$n")" "$(uri "$n")" "$p" "$state"
        if [[ $state == answers ]]; then
            vsh "$n" list --all | sed 's/^/    /'
        fi
    done
    remote_status
}

cmd_pid() {
    local n=${1:?usage: lab.sh pid N}
    [[ $n =~ ^[0-9]+$ ]] || die "usage: lab.sh pid N"
    pid_of "$(hdir "$n")/libvirtd.pid" || die "host $n: libvirtd not running"
}

restart_host() {
    local n=$1 h p
    h=$(hdir "$n")
    if p=$(pid_of "$h/libvirtd.pid"); then
        kill -CONT "$p" 2>/dev/null || true
        if answers "$n"; then
            log "host $n: libvirtd $p already running"
            return 0
        fi
        log "host $n: libvirtd $p does not answer; killing it"
        kill -KILL "$p" 2>/dev/null || true
        while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
    fi
    start_libvirtd_in_ns "$n"
    wait_answer "$n"
}

cmd_restart() {
    local n=${1:?usage: lab.sh restart N}
    need_up
    [[ $n =~ ^[0-9]+$ && -d $(hdir "$n") ]] || die "no lab host $n"
    restart_host "$n"
    log "host $n: libvirtd $(pid_of "$(hdir "$n")/libvirtd.pid") answers; guests: $(vsh "$n" list --name | tr '\n' ' ')"
}

cmd_migrate() {
    local name=${1:?usage: lab.sh migrate GUEST FROM TO [--p2p]} from=${2:?} to=${3:?} mode=${4:-} flags=() dest how=
    # Persistent guests move with their definition; transient ones stay transient.
    if [[ $(vsh "$from" dominfo "$name" | awk -F': *' '$1=="Persistent"{print $2}') == yes ]]; then
        flags=(--persistent --undefinesource)
    fi
    case $mode in
    "") dest=$(uri "$to") ;;
    --p2p)
        # The source libvirtd (in its namespace, sharing the network) dials the
        # destination's client URI itself: through the relay when relayed.
        flags+=(--p2p) dest=$(client_uri "$to") how=" peer-to-peer via $(client_uri "$to")"
        ;;
    *) die "usage: lab.sh migrate GUEST FROM TO [--p2p]" ;;
    esac
    local t0 t1
    t0=$(date +%s.%N)
    VT=300 vsh "$from" migrate --live "${flags[@]}" "$name" "$dest"
    t1=$(date +%s.%N)
    printf 'migrated %s from %s to %s%s in %.2f s\n' "$name" "$(hname "$from")" "$(hname "$to")" "$how" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"
}

need_up() {
    [[ -f $RUN/hosts.env ]] || die "lab is down (run: lab.sh up)"
    LAB_HOSTS=$(sed -n 's/^LAB_HOSTS=//p' "$RUN/hosts.env")
}

cmd_check() {
    need_up
    local n got
    for ((n = 1; n <= LAB_HOSTS; n++)); do
        got=$(vsh "$n" hostname)
        [[ $got == "$(hname "$n")" ]] || die "host $n says hostname '$got'"
        echo "$(uri "$n") -> $got, $(vsh "$n" list --name | wc -l) running"
    done
    remote_check
    if ((LAB_HOSTS >= 2)); then
        local g gs
        gs=$(vsh 1 list --name) # (no `| head`: SIGPIPE + pipefail)
        g=${gs%%$'\n'*}
        [[ -n $g ]] || die "no running guest on $(hname 1)"
        cmd_migrate "$g" 1 2
        cmd_migrate "$g" 2 1 --p2p
    fi
}

main() {
    local cmd=${1:-}
    shift || true
    case $cmd in
    up | down | restart | status | check | migrate | pid | errors) ;;
    sshd-stop | sshd-start | sshd-pause | sshd-resume) ;;
    *) die "usage: lab.sh up|down|status|pid N|restart N|migrate GUEST FROM TO [--p2p]|sshd-stop|sshd-start|sshd-pause|sshd-resume N|check|errors" ;;
    esac
    need_root
    far_load
    # One lab.sh at a time (except read-only commands).
    if [[ $cmd != pid && $cmd != status ]]; then
        exec 9<"${BASH_SOURCE[0]}"
        flock 9
    fi
    "cmd_${cmd//-/_}" "$@"
}

# shellcheck source-path=SCRIPTDIR source=remote.sh
source "$LAB_DIR/remote.sh"
main "$@"
