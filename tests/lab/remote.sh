# shellcheck shell=bash
# fleetwatch lab, remote transports: sourced by lab.sh (uses its helpers).
#
#   ssh   an sshd in every host's namespace on 127.0.0.N:22 (so an ssh session
#         sees that host's /var/run/libvirt), root login with the lab key
#         run/ssh/id_ed25519 only; the hosts' keys in root's known_hosts while up
#         (for the host's own address and its relay address).
#   tls   a lab CA (run/pki/ca), a server certificate per host (valid for the
#         host's address, its relay address and its name), libvirtd listen_tls on
#         127.0.0.N:16514; client dirs for pkipath=: run/pki/client (good),
#         run/pki/wrongca (an unrelated CA), run/pki/expired (good CA, expired
#         client certificate).
#   far   one more host, lab-hv-far (number LAB_HOSTS+1), with LAB_FAR_GUESTS
#         guests, reached through relays on 127.0.0.40. Not in
#         run/fleetwatch.toml; run/far.toml.
#   relay relay.py processes outside the namespaces, one per port (libvirt tcp
#         16509, ssh 22, libvirt tls 16514), each adding LAB_RELAY_DELAY_MS (100)
#         each way: 200 ms of round trip. The far host always sits behind them
#         (on 127.0.0.40); every near host N too (on 127.0.1.(10+N), e.g.
#         127.0.1.11 for lab-hv-1) unless LAB_RELAY_NEAR=0. Files: run/relays/.
#         Only the TCP connections to libvirtd and sshd are relayed: a live
#         migration's data (QEMU to QEMU, on the destination's migration_host)
#         goes directly; see write_host_config in lab.sh.
#
# hosts.env gains, for each host N (the far one too):
#   LAB_SSH_URI_N     qemu+ssh://root@ADDR/system?keyfile=... with ADDR the relay
#                     address when N is relayed (no no_tty: add &no_tty=1
#                     yourself when calling virsh); LAB_DIRECT_SSH_URI_N: 127.0.0.N
#   LAB_TLS_URI_N     qemu+tls://ADDR/system?pkipath=... (relayed like the ssh
#                     one); LAB_DIRECT_TLS_URI_N: 127.0.0.N
#   LAB_SSHD_PIDFILE_N, LAB_RELAY_ADDR_N (only when N is relayed)
# and LAB_SSH_KEY, LAB_KNOWN_HOSTS, LAB_PKI_GOOD, LAB_PKI_WRONGCA, LAB_PKI_EXPIRED,
# LAB_RELAY_NEAR (1: near hosts relayed, 0: direct), LAB_RELAY_DELAY_MS,
# LAB_FAR_GUESTS (0: no far host), else LAB_FAR_N, LAB_FAR_NAME, LAB_FAR_ADDR,
# LAB_FAR_URI (tcp via relay), LAB_FAR_SSH_URI, LAB_FAR_TLS_URI (via relay),
# LAB_FAR_DIRECT_URI (tcp, no delay), LAB_FAR_CONFIG, LAB_FAR_PIDFILE,
# LAB_FAR_GUEST_NAMES, LAB_RELAY_ADDR (the far host's relay address).

RELAY_ADDR=127.0.0.40 # the far host's relays
# relay port on the relay address : port on the host (libvirt tcp, ssh, libvirt tls)
RELAYS=(16509:16509 22:22 16514:16514)
RELAY_DIR=$RUN/relays
SSH_DIR=$RUN/ssh
SSH_KEY=$SSH_DIR/id_ed25519
PKI=$RUN/pki
PYTHON=$(command -v /usr/bin/python3 || command -v python3 || echo python3)
FAR_N= # number of the far host; empty when there is none

# Host n's relay address (whether or not its relays run): near hosts on 127.0.1.(10+N),
# a block of their own that mirrors 127.0.0.(10+N) and never meets it, the far host on
# RELAY_ADDR.
relay_addr() { if [[ -n ${FAR_N:-} && $1 == "$FAR_N" ]]; then echo "$RELAY_ADDR"; else echo "127.0.1.$((10 + $1))"; fi; }
# Whether host n sits behind relays: the far host always, near ones unless LAB_RELAY_NEAR=0.
relayed() { [[ -n ${FAR_N:-} && $1 == "$FAR_N" ]] || [[ ${LAB_RELAY_NEAR:-1} != 0 ]]; }
# The address clients (fleetwatch) reach host n at: its relay when relayed.
reach() { if relayed "$1"; then relay_addr "$1"; else addr "$1"; fi; }
client_uri() { echo "qemu+tcp://$(reach "$1")/system"; }
ssh_uri() { echo "qemu+ssh://root@$(addr "$1")/system?keyfile=$SSH_KEY"; }
tls_uri() { echo "qemu+tls://$(addr "$1")/system?pkipath=$PKI/client"; }
client_ssh_uri() { echo "qemu+ssh://root@$(reach "$1")/system?keyfile=$SSH_KEY"; }
client_tls_uri() { echo "qemu+tls://$(reach "$1")/system?pkipath=$PKI/client"; }
far_uri() { client_uri "$FAR_N"; }
far_ssh_uri() { client_ssh_uri "$FAR_N"; }
far_tls_uri() { client_tls_uri "$FAR_N"; }
# virsh over ssh for the lab's own checks: non-interactive (no_tty=1), no agent.
vssh() { local n=$1; shift; SSH_AUTH_SOCK='' timeout "${VT:-$VIRSH_TIMEOUT}" virsh -q -c "$(ssh_uri "$n")&no_tty=1" "$@"; }
vtls() { local n=$1; shift; timeout "${VT:-$VIRSH_TIMEOUT}" virsh -q -c "$(tls_uri "$n")" "$@"; }
env_get() { sed -n "s/^$1=//p" "$RUN/hosts.env" 2>/dev/null; }
# What the caller asked for (up), before far_load replaces it with what up chose.
RELAY_NEAR_ASKED=${LAB_RELAY_NEAR:-1}
far_load() {
    FAR_N=$(cat "$RUN/far-host" 2>/dev/null || true)
    # Commands after up (status, check, down, ...) see the relay layout up chose.
    LAB_RELAY_NEAR=$(cat "$RUN/relay-near" 2>/dev/null || echo 1)
}
# Hosts with a directory under run/ (the near ones and the far one).
all_hosts() { local n; for ((n = 1; n <= LAB_HOSTS; n++)); do echo "$n"; done; [[ -z $FAR_N ]] || echo "$FAR_N"; }

# ---------------------------------------------------------------- ssh
ssh_setup() {
    install -d -m 700 "$SSH_DIR"
    [[ -s $SSH_KEY ]] || ssh-keygen -q -t ed25519 -N '' -C fleetwatch-lab-client -f "$SSH_KEY"
    cp "$SSH_KEY.pub" "$SSH_DIR/authorized_keys"
    # sshd's privilege separation directory (shared /run: namespaces only replace /run/libvirt).
    if [[ ! -d /run/sshd ]]; then
        install -d -m 755 /run/sshd
        echo /run/sshd >>"$RUN/created-mountpoints" # removed again by down, if still empty
    fi
}

write_sshd_config() {
    local n=$1 h d
    h=$(hdir "$n") d=$(hdir "$n")/sshd
    mkdir -p "$d"
    [[ -s $d/ssh_host_ed25519_key ]] || ssh-keygen -q -t ed25519 -N '' -C "$(hname "$n")" -f "$d/ssh_host_ed25519_key"
    cat >"$d/sshd_config" <<EOF
# lab host $(hname "$n") (generated by tests/lab/lab.sh); runs inside its namespace
ListenAddress $(addr "$n"):22
HostKey $d/ssh_host_ed25519_key
PidFile $h/sshd.pid
AuthorizedKeysFile $SSH_DIR/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
X11Forwarding no
PrintMotd no
PrintLastLog no
MaxStartups 100:30:200
EOF
}

start_sshd() {
    local n=$1 h target i
    h=$(hdir "$n")
    pid_of "$h/sshd.pid" >/dev/null && return 0
    target=$(pid_of "$h/holder.pid") || target=$(pid_of "$h/virtlogd.pid") ||
        die "host $n: its namespace is gone (lab.sh restart $n first)"
    write_sshd_config "$n"
    rm -f "$h/sshd.pid"
    nsenter -t "$target" -m -u /usr/sbin/sshd -f "$h/sshd/sshd_config" -E "$h/log/sshd.log" 9<&- </dev/null
    # sshd forks, then binds, then writes its pid file.
    for ((i = 0; i < 50; i++)); do
        pid_of "$h/sshd.pid" >/dev/null && return 0
        sleep 0.1
    done
    die "host $n: sshd does not listen on $(addr "$n"):22 (port 22 listeners: $(ss -Hltn 'sport = :22' 2>/dev/null | awk '{printf "%s ", $4}')); see $h/log/sshd.log"
}

# Every sshd in host n's namespace: the listener and each connection's processes.
sshd_pids() {
    local n=$1 p
    local -a ns
    mapfile -t ns < <(sort -u "$(hdir "$n")/uts-ns" 2>/dev/null)
    ((${#ns[@]})) || return 0
    for p in $(ns_pids "${ns[@]}"); do
        [[ $(cat "/proc/$p/comm" 2>/dev/null) == sshd ]] && echo "$p"
    done
    return 0
}

stop_sshd() {
    local n=$1 p i
    p=$(sshd_pids "$n")
    [[ -n $p ]] || return 0
    # shellcheck disable=SC2086
    kill -CONT $p 2>/dev/null || true
    # shellcheck disable=SC2086
    kill -TERM $p 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        p=$(sshd_pids "$n")
        [[ -z $p ]] && return 0
        sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -KILL $p 2>/dev/null || true
}

need_host() { need_up; [[ ${1:-} =~ ^[0-9]+$ && -d $(hdir "$1") ]] || die "no lab host '${1:-}'"; }
cmd_sshd_stop() {
    need_host "${1:-}"
    stop_sshd "$1"
    log "host $1: sshd stopped (listener and sessions)"
}
cmd_sshd_start() {
    need_host "${1:-}"
    start_sshd "$1"
    log "host $1: sshd $(pid_of "$(hdir "$1")/sshd.pid") listens on $(addr "$1"):22"
}
cmd_sshd_pause() {
    need_host "${1:-}"
    local p
    p=$(sshd_pids "$1")
    [[ -n $p ]] || die "host $1: no sshd running"
    # shellcheck disable=SC2086
    kill -STOP $p
    log "host $1: sshd stopped with SIGSTOP: ${p//$'\n'/ }"
}
cmd_sshd_resume() {
    need_host "${1:-}"
    local p
    p=$(sshd_pids "$1")
    # shellcheck disable=SC2086
    [[ -z $p ]] || kill -CONT $p
    log "host $1: sshd continued: ${p//$'\n'/ }"
}

# root's known_hosts. Entries the lab adds are listed in run/known-hosts; down
# removes exactly those addresses (ssh-keygen -R), nothing else.
kh_file() { local home; home=$(getent passwd "$(id -u)" | cut -d: -f6); echo "${home:-/root}/.ssh/known_hosts"; }
kh_forget() { # ADDR: remove its entries; keep known_hosts.old as it was
    local f keep=
    f=$(kh_file)
    [[ -f $f ]] && ssh-keygen -F "$1" -f "$f" >/dev/null 2>&1 || return 0
    if [[ -e $f.old ]]; then keep=$(mktemp); cp -p "$f.old" "$keep"; fi
    ssh-keygen -R "$1" -f "$f" >/dev/null 2>&1
    if [[ -n $keep ]]; then mv "$keep" "$f.old"; else rm -f "$f.old"; fi
}
kh_add() { # ADDR PUBKEY_FILE
    local f
    f=$(kh_file)
    [[ -d ${f%/*} ]] || install -d -m 700 "${f%/*}"
    grep -qxF "$1" "$RUN/known-hosts" 2>/dev/null || echo "$1" >>"$RUN/known-hosts"
    kh_forget "$1"
    printf '%s %s\n' "$1" "$(awk '{print $1, $2}' "$2")" >>"$f"
}
kh_setup() {
    local n
    for n in $(all_hosts); do
        kh_add "$(addr "$n")" "$(hdir "$n")/sshd/ssh_host_ed25519_key.pub"
        # ssh names the host by the address it dials: through a relay, the relay's.
        relayed "$n" && kh_add "$(relay_addr "$n")" "$(hdir "$n")/sshd/ssh_host_ed25519_key.pub"
    done
    return 0
}
kh_cleanup() {
    local a
    [[ -f $RUN/known-hosts ]] || return 0
    for a in $(sort -u "$RUN/known-hosts"); do kh_forget "$a"; done
    rm -f "$RUN/known-hosts"
}

# ---------------------------------------------------------------- tls
# One openssl config for every CA (LAB_CA_DIR) and certificate kind (LAB_SAN).
write_openssl_cnf() {
    cat >"$PKI/openssl.cnf" <<'EOF'
# fleetwatch lab PKI (generated by tests/lab/lab.sh)
[ca]
default_ca = lab_ca
[lab_ca]
dir = $ENV::LAB_CA_DIR
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir/issued
certificate = $dir/cacert.pem
private_key = $dir/cakey.pem
default_md = sha256
default_days = 30
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
[policy_any]
organizationName = optional
commonName = supplied
[req]
distinguished_name = req_dn
prompt = no
[req_dn]
CN = unused
[v3_ca]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $ENV::LAB_SAN
[v3_client]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
EOF
}

ossl() { LAB_CA_DIR=${LAB_CA_DIR:-/nonexistent} LAB_SAN=${LAB_SAN:-DNS:unused} openssl "$@"; }
ec_key() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; chmod 600 "$1"; }

make_ca() { # DIR CN
    local d=$1
    mkdir -p "$d/issued"
    : >"$d/index.txt"
    echo 1000 >"$d/serial"
    ec_key "$d/cakey.pem"
    ossl req -config "$PKI/openssl.cnf" -new -x509 -key "$d/cakey.pem" -subj "/O=fleetwatch lab/CN=$2" \
        -days 30 -extensions v3_ca -out "$d/cacert.pem"
}

issue() { # CA_DIR KEY CERT EXTENSIONS CN [STARTDATE ENDDATE]  (SAN from $LAB_SAN)
    local ca=$1 key=$2 cert=$3 ext=$4 cn=$5 dates=()
    [[ -z ${6:-} ]] || dates=(-startdate "$6" -enddate "$7")
    ec_key "$key"
    ossl req -config "$PKI/openssl.cnf" -new -key "$key" -subj "/O=fleetwatch lab/CN=$cn" -out "$cert.csr"
    LAB_CA_DIR=$ca ossl ca -config "$PKI/openssl.cnf" -batch -notext -in "$cert.csr" -out "$cert" \
        -extensions "$ext" "${dates[@]}" 2>"$cert.log" || { cat "$cert.log" >&2; die "cannot issue $cert"; }
    rm -f "$cert.csr" "$cert.log"
}

# CA, client dirs, and a server certificate for each host. Kept while the lab
# is up (the daemons use them); a fresh set after every down.
pki_setup() {
    local n h san
    mkdir -p "$PKI"
    if [[ ! -s $PKI/client/clientcert.pem ]]; then
        write_openssl_cnf
        make_ca "$PKI/ca" "fleetwatch lab CA"
        make_ca "$PKI/other-ca" "unrelated CA"
        mkdir -p "$PKI"/{client,wrongca,expired}
        cp "$PKI/ca/cacert.pem" "$PKI/client/"
        issue "$PKI/ca" "$PKI/client/clientkey.pem" "$PKI/client/clientcert.pem" v3_client lab-client
        cp "$PKI/other-ca/cacert.pem" "$PKI/wrongca/"
        issue "$PKI/other-ca" "$PKI/wrongca/clientkey.pem" "$PKI/wrongca/clientcert.pem" v3_client lab-client
        cp "$PKI/ca/cacert.pem" "$PKI/expired/"
        issue "$PKI/ca" "$PKI/expired/clientkey.pem" "$PKI/expired/clientcert.pem" v3_client lab-client \
            20200101000000Z 20200102000000Z
    fi
    for n in $(all_hosts); do
        h=$(hdir "$n")
        [[ -s $h/pki/servercert.pem ]] && continue
        mkdir -p "$h/pki"
        # Also valid through the host's relay (always: LAB_RELAY_NEAR may change while up).
        san="IP:$(addr "$n"),IP:$(relay_addr "$n"),DNS:$(hname "$n")"
        LAB_SAN=$san issue "$PKI/ca" "$h/pki/serverkey.pem" "$h/pki/servercert.pem" v3_server "$(hname "$n")"
    done
}

# libvirtd.conf lines for host n (appended by write_host_config).
tls_conf() {
    local h
    h=$(hdir "$1")
    cat <<EOF
listen_tls = 1
auth_tls = "none"
ca_file = "$PKI/ca/cacert.pem"
cert_file = "$h/pki/servercert.pem"
key_file = "$h/pki/serverkey.pem"
EOF
}

# ---------------------------------------------------------------- far host
# Sets FAR_N (LAB_FAR_GUESTS=0: no far host) and LAB_RELAY_NEAR for up.
far_init() {
    LAB_FAR_GUESTS=${LAB_FAR_GUESTS:-20} LAB_RELAY_DELAY_MS=${LAB_RELAY_DELAY_MS:-100}
    [[ $LAB_FAR_GUESTS =~ ^[0-9]+$ ]] || die "LAB_FAR_GUESTS must be a number"
    [[ $LAB_RELAY_DELAY_MS =~ ^[0-9]+$ ]] || die "LAB_RELAY_DELAY_MS must be a whole number of milliseconds"
    [[ $RELAY_NEAR_ASKED == [01] ]] || die "LAB_RELAY_NEAR must be 1 (near hosts behind relays, the default) or 0"
    LAB_RELAY_NEAR=$RELAY_NEAR_ASKED
    echo "$LAB_RELAY_NEAR" >"$RUN/relay-near"
    if ((LAB_FAR_GUESTS > 0)); then
        FAR_N=$((LAB_HOSTS + 1))
        echo "$FAR_N" >"$RUN/far-host"
    else
        FAR_N=
        rm -f "$RUN/far-host"
    fi
}

far_guest_name() { printf 'lab-far-%02d' "$1"; }

# LAB_FAR_PARALLEL (4) workers, each starting every 4th guest; odd guests
# persistent, even ones transient (as on the near hosts). Far guests boot
# qboot instead of SeaBIOS when QEMU has it: measured here (nested KVM), a
# SeaBIOS guest burns ~4 CPU-seconds in its first seconds and ~1.2% of a core
# after that, a qboot guest 0.4 CPU-seconds and then nothing (halted, still
# "running"). With SeaBIOS, 20 far guests starved the near hosts enough after
# up to fail e2e tests. LAB_FAR_FIRMWARE=seabios keeps SeaBIOS.
far_rom() {
    local f=/usr/share/qemu/qboot.rom
    [[ ${LAB_FAR_FIRMWARE:-qboot} == qboot && -r $f ]] && echo "$f"
    return 0
}
start_far_guests() {
    local n=$FAR_N k par=${LAB_FAR_PARALLEL:-4} name rom
    local -A state=()
    rom=$(far_rom)
    [[ -n $rom || ${LAB_FAR_FIRMWARE:-qboot} != qboot ]] || log "no /usr/share/qemu/qboot.rom: far guests boot SeaBIOS (more CPU)"
    for name in $(vsh "$n" list --inactive --name); do state[$name]=off; done
    for name in $(vsh "$n" list --name); do state[$name]=on; done
    for ((k = 1; k <= par; k++)); do
        (
            local g xml
            for ((g = k; g <= LAB_FAR_GUESTS; g += par)); do
                name=$(far_guest_name "$g")
                case ${state[$name]:-} in
                on) continue ;;
                off) vsh "$n" start "$name" >/dev/null; continue ;;
                esac
                xml=$(hdir "$n")/xml/$name.xml
                guest_xml "$n" "$g" "$name" "$rom" >"$xml"
                if ((g % 2 == 1)); then
                    vsh "$n" define "$xml" >/dev/null
                    vsh "$n" start "$name" >/dev/null
                else
                    vsh "$n" create "$xml" >/dev/null
                fi
            done
        ) &
    done
    wait_all "starting far guests"
}

# Relays run outside the lab namespaces, one relay.py per host and port, files
# run/relays/ADDR:PORT.{pid,args,log}; restarted when their arguments (e.g. the
# delay) change, stopped when their host is no longer relayed (LAB_RELAY_NEAR=0).
relay_file() { echo "$RELAY_DIR/$(relay_addr "$1"):$2"; } # host, listen port
# "host port" for every relay this layout wants.
wanted_relays() {
    local n spec
    for n in $(all_hosts); do
        relayed "$n" || continue
        for spec in "${RELAYS[@]}"; do echo "$n ${spec%%:*}"; done
    done
}
relay_args() { # host, listen port
    local spec
    for spec in "${RELAYS[@]}"; do
        [[ ${spec%%:*} == "$2" ]] && echo "$(relay_addr "$1"):$2 $(addr "$1"):${spec#*:} $LAB_RELAY_DELAY_MS"
    done
    return 0
}
start_relays() {
    local n port f args i
    local -A want=()
    mkdir -p "$RELAY_DIR"
    while read -r n port; do
        f=$(relay_file "$n" "$port")
        want[$f]=1
        args=$(relay_args "$n" "$port")
        if pid_of "$f.pid" >/dev/null; then
            [[ $(cat "$f.args" 2>/dev/null) == "$args" ]] && continue
            stop_pidfile "$f.pid"
        fi
        echo "$args" >"$f.args"
        rm -f "$f.pid"
        # Detached (subshell exits at once): not a job of lab.sh, holds no pipe.
        # shellcheck disable=SC2086
        (setsid "$PYTHON" "$LAB_DIR/relay.py" --pidfile "$f.pid" $args </dev/null >>"$f.log" 2>&1 9<&- &)
    done < <(wanted_relays)
    # Relays of a layout no longer wanted (not waited for in the background: up
    # has guest jobs running).
    for f in "$RELAY_DIR"/*.args "$RUN"/relay-*.args; do
        [[ -e $f ]] || continue
        f=${f%.args}
        [[ -n ${want[$f]:-} ]] && continue
        stop_pidfile "$f.pid"
        rm -f "$f.pid" "$f.args"
    done
    for f in "${!want[@]}"; do
        for ((i = 0; i < 100; i++)); do
            pid_of "$f.pid" >/dev/null && continue 2
            sleep 0.05
        done
        tail -3 "$f.log" >&2 || true
        die "relay $(<"$f.args") did not start; see $f.log"
    done
}

# By pid file, then any relay.py still running for this run/ directory.
stop_relays() {
    local f p cmd
    for f in "$RELAY_DIR"/*.pid "$RUN"/relay-*.pid; do [[ -e $f ]] && stop_pidfile "$f" & done
    wait
    for p in /proc/[0-9]*; do
        cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
        [[ $cmd == *"$LAB_DIR/relay.py --pidfile $RUN/"* ]] && kill -TERM "${p#/proc/}" 2>/dev/null
    done
    return 0
}

# ---------------------------------------------------------------- outputs
remote_env() { # more lines for hosts.env
    local n
    kv LAB_SSH_KEY "$SSH_KEY"
    kv LAB_KNOWN_HOSTS "$(kh_file)"
    kv LAB_PKI_GOOD "$PKI/client"
    kv LAB_PKI_WRONGCA "$PKI/wrongca"
    kv LAB_PKI_EXPIRED "$PKI/expired"
    kv LAB_RELAY_NEAR "$LAB_RELAY_NEAR"
    kv LAB_RELAY_DELAY_MS "$LAB_RELAY_DELAY_MS"
    for n in $(all_hosts); do
        kv "LAB_SSH_URI_$n" "$(client_ssh_uri "$n")"
        kv "LAB_DIRECT_SSH_URI_$n" "$(ssh_uri "$n")"
        kv "LAB_SSHD_PIDFILE_$n" "$(hdir "$n")/sshd.pid"
        kv "LAB_TLS_URI_$n" "$(client_tls_uri "$n")"
        kv "LAB_DIRECT_TLS_URI_$n" "$(tls_uri "$n")"
        relayed "$n" && kv "LAB_RELAY_ADDR_$n" "$(relay_addr "$n")"
    done
    kv LAB_FAR_GUESTS "$LAB_FAR_GUESTS"
    [[ -n $FAR_N ]] || return 0
    local gs=() g
    for ((g = 1; g <= LAB_FAR_GUESTS; g++)); do gs+=("$(far_guest_name "$g")"); done
    kv LAB_FAR_N "$FAR_N"
    kv LAB_FAR_NAME "$(hname "$FAR_N")"
    kv LAB_FAR_ADDR "$(addr "$FAR_N")"
    kv LAB_FAR_URI "$(far_uri)"
    kv LAB_FAR_SSH_URI "$(far_ssh_uri)"
    kv LAB_FAR_TLS_URI "$(far_tls_uri)"
    kv LAB_FAR_DIRECT_URI "$(uri "$FAR_N")"
    kv LAB_FAR_CONFIG "$RUN/far.toml"
    kv LAB_FAR_PIDFILE "$(hdir "$FAR_N")/libvirtd.pid"
    kv LAB_FAR_GUEST_NAMES "${gs[*]}"
    kv LAB_RELAY_ADDR "$RELAY_ADDR"
}

write_far_toml() {
    rm -f "$RUN/far.toml"
    [[ -n $FAR_N ]] || return 0
    {
        printf '# generated by tests/lab/lab.sh up: the far host, through a relay adding %s ms each way\n' "$LAB_RELAY_DELAY_MS"
        printf '[poll]\ninterval = "2s"\ntimeout = "8s"\n'
        printf '\n[[host]]\nname = "%s"\nuri = "%s"\ntags = ["lab", "far"]\nactions = true\n' "$(hname "$FAR_N")" "$(far_uri)"
    } >"$RUN/far.toml"
}

remote_status() {
    local n p s spec
    for n in $(all_hosts); do
        if p=$(pid_of "$(hdir "$n")/sshd.pid"); then
            s="listening"
            is_stopped "$p" && s="stopped (SIGSTOP)"
        else
            p=- s="not running"
        fi
        printf '%s  ssh %s:22  sshd %s  %s\n' "$(hname "$n")" "$(addr "$n")" "$p" "$s"
    done
    relay_status
}

# One line per relay the layout wants: listen -> target, delay, pid, and whether
# it accepts a connection now (the relay itself, not what is behind it).
relay_status() {
    local n port f p s a l t d
    while read -r n port; do
        f=$(relay_file "$n" "$port")
        a=$(relay_addr "$n")
        if ! p=$(pid_of "$f.pid"); then
            p=- s="NOT running"
        elif is_stopped "$p"; then
            s="stopped (SIGSTOP)"
        elif timeout 2 bash -c "exec 3<>/dev/tcp/$a/$port" 2>/dev/null; then
            s="accepts"
        else
            s="NOT accepting"
        fi
        read -r l t d <"$f.args" 2>/dev/null || l="$a:$port" t='?' d='?'
        printf '%s  relay %s -> %s  +%s ms each way  pid %s  %s\n' "$(hname "$n")" "$l" "$t" "$d" "$p" "$s"
    done < <(wanted_relays)
    [[ ${LAB_RELAY_NEAR:-1} != 0 ]] || echo "near hosts: direct (LAB_RELAY_NEAR=0)"
}

# ---------------------------------------------------------------- checks
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b-a}'; }
# Wall time of `virsh -c URI version`, best and median of COUNT runs.
time_version() { # URI COUNT
    local i t0 ts=()
    for ((i = 0; i < $2; i++)); do
        t0=$EPOCHREALTIME
        SSH_AUTH_SOCK='' timeout 30 virsh -q -c "$1" version >/dev/null || die "virsh -c $1 version failed"
        ts+=("$(secs "$t0" "$EPOCHREALTIME")")
    done
    printf '%s\n' "${ts[@]}" | sort -n | awk '{v[NR]=$1} END{printf "best %.3f s, median %.3f s", v[1], v[int((NR+1)/2)]}'
}

remote_check() {
    local got want far_n
    got=$(vssh 1 hostname) || die "ssh: $(ssh_uri 1)&no_tty=1 does not answer"
    [[ $got == "$(hname 1)" ]] || die "ssh: host 1 says hostname '$got'"
    want=$(vsh 1 list --name | sort)
    [[ $(vssh 1 list --name | sort) == "$want" ]] || die "ssh: host 1 lists other guests than over tcp"
    echo "$(ssh_uri 1)&no_tty=1 -> $got, $(grep -c . <<<"$want") running"
    got=$(vtls 1 hostname) || die "tls: $(tls_uri 1) does not answer"
    [[ $got == "$(hname 1)" ]] || die "tls: host 1 says hostname '$got'"
    [[ $(vtls 1 list --name | sort) == "$want" ]] || die "tls: host 1 lists other guests than over tcp"
    echo "$(tls_uri 1) -> $got"
    if timeout 20 virsh -q -c "qemu+tls://$(addr 1)/system?pkipath=$PKI/wrongca" hostname >/dev/null 2>&1; then
        die "tls: a client trusting the wrong CA connected"
    fi
    echo "qemu+tls://$(addr 1)/system?pkipath=$PKI/wrongca -> refused (as it should)"
    relay_check
    far_n=$(env_get LAB_FAR_N)
    [[ -n $far_n ]] || return 0
    want=$(env_get LAB_FAR_GUESTS)
    got=$(timeout 60 virsh -q -c "$(far_uri)" list --name | grep -c .) || die "far: $(far_uri) does not answer"
    ((got == want)) || die "far: $(far_uri) lists $got guests, expected $want"
    echo "$(far_uri) -> $(timeout 60 virsh -q -c "$(far_uri)" hostname), $got running"
    got=$(SSH_AUTH_SOCK='' timeout 60 virsh -q -c "$(far_ssh_uri)&no_tty=1" hostname) || die "far: ssh through the relay fails"
    echo "$(far_ssh_uri)&no_tty=1 -> $got"
    echo "virsh version, direct $(uri "$far_n"): $(time_version "$(uri "$far_n")" 3)"
    echo "virsh version, relay  $(far_uri): $(time_version "$(far_uri)" 3)"
}

# Every near host's relays: each one running, tcp, ssh and tls through them
# answering as that host (the TLS certificate valid for the relay address, the
# known_hosts entry found under it), and what the relay costs a call.
relay_check() {
    local n port f got
    relay_status
    while read -r n port; do
        f=$(relay_file "$n" "$port")
        pid_of "$f.pid" >/dev/null || die "relay $(cat "$f.args" 2>/dev/null || echo "$n:$port") is not running"
    done < <(wanted_relays)
    [[ ${LAB_RELAY_NEAR:-1} != 0 ]] || return 0
    for ((n = 1; n <= LAB_HOSTS; n++)); do
        got=$(timeout 60 virsh -q -c "$(client_uri "$n")" hostname) || die "relay: $(client_uri "$n") does not answer"
        [[ $got == "$(hname "$n")" ]] || die "relay: $(client_uri "$n") says hostname '$got'"
        got=$(SSH_AUTH_SOCK='' timeout 60 virsh -q -c "$(client_ssh_uri "$n")&no_tty=1" hostname) ||
            die "relay: ssh $(client_ssh_uri "$n")&no_tty=1 does not answer"
        [[ $got == "$(hname "$n")" ]] || die "relay: ssh to $(relay_addr "$n") reaches '$got'"
        got=$(timeout 60 virsh -q -c "$(client_tls_uri "$n")" hostname) || die "relay: tls $(client_tls_uri "$n") does not answer"
        [[ $got == "$(hname "$n")" ]] || die "relay: tls to $(relay_addr "$n") reaches '$got'"
        echo "$(hname "$n") through $(relay_addr "$n"): tcp, ssh and tls answer"
    done
    echo "virsh version, direct $(uri 1): $(time_version "$(uri 1)" 3)"
    echo "virsh version, relay  $(client_uri 1): $(time_version "$(client_uri 1)" 3)"
}

# ---------------------------------------------------------------- error texts
# `lab.sh errors`: make each connection fail in one known way and print what
# `virsh -c URI list` says (LC_ALL=C, no ssh agent), for fleetwatch's error
# classifier. Undoes everything it changes (known_hosts, host 1's sshd and
# libvirtd). Address 127.0.0.39 is assumed free (it is checked).
NOBODY=127.0.0.39
err_case() { # LABEL URI [COMMAND PREFIX...]; T (10) = timeout
    local label=$1 u=$2 out rc t0
    shift 2
    t0=$EPOCHREALTIME
    out=$(LC_ALL=C SSH_AUTH_SOCK='' "$@" timeout "${T:-10}" virsh -q -c "$u" list --name 2>&1 >/dev/null) && rc=0 || rc=$?
    printf "== %s\n   virsh -c '%s' list  ->  exit %s after %s s\n" "$label" "$u" "$rc" "$(secs "$t0" "$EPOCHREALTIME")"
    [[ -z $out ]] || sed 's/^/   | /' <<<"$out"
    ((rc != 124)) || echo "   | (no answer: killed by timeout after ${T:-10} s)"
}

# An openssl TLS server on NOBODY:16514 with the given certificate (no libvirtd
# behind it: the client's certificate checks fail first).
tls_decoy() { # CERT KEY; prints the pid
    local i
    openssl s_server -quiet -accept "$NOBODY:16514" -cert "$1" -key "$2" </dev/null >/dev/null 2>&1 9<&- &
    for ((i = 0; i < 50; i++)); do
        timeout 1 bash -c "exec 3<>/dev/tcp/$NOBODY/16514" 2>/dev/null && break
        sleep 0.1
    done
    echo $!
}

# A DNS server on 127.0.0.1:53 (UDP) answering every query "no such name"
# (NXDOMAIN), for the lab namespaces' resolv.conf. Prints its pid once ready.
# shellcheck disable=SC2016
NXDOMAIN_PY='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("ready", flush=True)
while True:
    q, peer = s.recvfrom(4096)
    if len(q) < 17:
        continue
    i = 12
    while i < len(q) and q[i]:
        i += q[i] + 1
    i += 5  # root label, QTYPE, QCLASS
    flags = bytes([0x80 | (q[2] & 0x79), 0x80 | 3])  # response, opcode+RD copied, RA, NXDOMAIN
    s.sendto(q[:2] + flags + q[4:6] + bytes(6) + q[12:i], peer)
'
nxdomain_server() {
    local line
    coproc NXDNS { exec "$PYTHON" -c "$NXDOMAIN_PY" 2>&1 9<&-; }
    read -r -t 5 line <&"${NXDNS[0]}" || true
    [[ $line == ready ]] || { kill "$NXDNS_PID" 2>/dev/null; return 1; }
    echo "$NXDNS_PID"
}

cmd_errors() {
    need_up
    local a u p
    a=$(addr 1) u="qemu+ssh://root@$(addr 1)/system?keyfile=$SSH_KEY&no_tty=1"
    for p in 22 16509 16514; do
        ! timeout 1 bash -c "exec 3<>/dev/tcp/$NOBODY/$p" 2>/dev/null || die "something listens on $NOBODY:$p"
    done
    [[ -s $SSH_DIR/unauthorized ]] || ssh-keygen -q -t ed25519 -N '' -C not-authorized -f "$SSH_DIR/unauthorized"
    [[ -s $SSH_DIR/other_host_key ]] || ssh-keygen -q -t ed25519 -N '' -C other-host -f "$SSH_DIR/other_host_key"
    echo "libvirt $(virsh --version), $(ssh -V 2>&1), LC_ALL=C, no ssh agent; root's default ssh keys:" \
        "$(cd "$(dirname "$(kh_file)")" && ls id_* 2>/dev/null | tr '\n' ' ' || true)"

    err_case "ssh: works (for comparison)" "$u"
    kh_forget "$a"
    err_case "ssh: host key unknown (no known_hosts entry)" "$u"
    printf '%s %s\n' "$a" "$(awk '{print $1, $2}' "$SSH_DIR/other_host_key.pub")" >>"$(kh_file)"
    err_case "ssh: host key changed (known_hosts has another key)" "$u"
    kh_add "$a" "$(hdir 1)/sshd/ssh_host_ed25519_key.pub"
    err_case "ssh: key refused (keyfile not authorized)" "qemu+ssh://root@$a/system?keyfile=$SSH_DIR/unauthorized&no_tty=1"
    err_case "ssh: no keyfile, no agent" "qemu+ssh://root@$a/system?no_tty=1"
    err_case "ssh: keyfile does not exist" "qemu+ssh://root@$a/system?keyfile=$SSH_DIR/no-such-key&no_tty=1"
    err_case "ssh: connection refused (nothing on $NOBODY:22)" "qemu+ssh://root@$NOBODY/system?keyfile=$SSH_KEY&no_tty=1"
    err_case "tcp: connection refused (nothing on $NOBODY:16509)" "qemu+tcp://$NOBODY/system"
    err_case "tls: connection refused (nothing on $NOBODY:16514)" "qemu+tls://$NOBODY/system?pkipath=$PKI/client"

    # Name lookups only inside host 1's namespace, whose resolv.conf says 127.0.0.1.
    p=$(pid_of "$(hdir 1)/holder.pid") || die "host 1: namespace holder gone"
    # shellcheck disable=SC2016
    if nsenter -t "$p" -m -u awk '$1 == "nameserver" && $2 !~ /^127\./ {bad=1} END {exit bad}' /etc/resolv.conf; then
        err_case "ssh: unknown host name (DNS: nothing on 127.0.0.1:53)" \
            "qemu+ssh://root@no-such-host.invalid/system?keyfile=$SSH_KEY&no_tty=1" nsenter -t "$p" -m -u
        err_case "tcp: unknown host name (DNS: nothing on 127.0.0.1:53)" "qemu+tcp://no-such-host.invalid/system" nsenter -t "$p" -m -u
        local dns
        if dns=$(nxdomain_server); then
            err_case "ssh: unknown host name (DNS answers NXDOMAIN)" \
                "qemu+ssh://root@no-such-host.invalid/system?keyfile=$SSH_KEY&no_tty=1" nsenter -t "$p" -m -u
            err_case "tcp: unknown host name (DNS answers NXDOMAIN)" "qemu+tcp://no-such-host.invalid/system" nsenter -t "$p" -m -u
            kill "$dns" 2>/dev/null
            wait "$dns" 2>/dev/null || true
        else
            echo "== NXDOMAIN cases skipped: cannot serve DNS on 127.0.0.1:53"
        fi
    else
        echo "== DNS cases skipped: host 1's resolv.conf names a nameserver outside 127.0.0.0/8"
    fi

    err_case "tls: works (for comparison)" "$(tls_uri 1)"
    err_case "tls: client trusts another CA (run/pki/wrongca)" "qemu+tls://$a/system?pkipath=$PKI/wrongca"
    mkdir -p "$PKI/foreign-client"
    cp "$PKI/ca/cacert.pem" "$PKI/foreign-client/"
    cp "$PKI/wrongca/clientcert.pem" "$PKI/wrongca/clientkey.pem" "$PKI/foreign-client/"
    err_case "tls: client certificate from another CA (right CA trusted)" "qemu+tls://$a/system?pkipath=$PKI/foreign-client"
    err_case "tls: client certificate expired (run/pki/expired)" "qemu+tls://$a/system?pkipath=$PKI/expired"
    err_case "tls: pkipath directory does not exist" "qemu+tls://$a/system?pkipath=$PKI/no-such-dir"
    mkdir -p "$PKI/expired-server"
    [[ -s $PKI/expired-server/servercert.pem ]] ||
        LAB_SAN="IP:$NOBODY" issue "$PKI/ca" "$PKI/expired-server/serverkey.pem" "$PKI/expired-server/servercert.pem" \
            v3_server expired-server 20200101000000Z 20200102000000Z
    p=$(tls_decoy "$PKI/expired-server/servercert.pem" "$PKI/expired-server/serverkey.pem")
    err_case "tls: server certificate expired (openssl s_server on $NOBODY)" "qemu+tls://$NOBODY/system?pkipath=$PKI/client"
    kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true
    p=$(tls_decoy "$(hdir 2)/pki/servercert.pem" "$(hdir 2)/pki/serverkey.pem")
    err_case "tls: server certificate for another host ($(hname 2)'s, on $NOBODY)" "qemu+tls://$NOBODY/system?pkipath=$PKI/client"
    kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true

    stop_sshd 1
    err_case "ssh: sshd stopped on $(hname 1) (lab.sh sshd-stop 1)" "$u"
    start_sshd 1
    cmd_sshd_pause 1 2>/dev/null
    T=5 err_case "ssh: link hung (lab.sh sshd-pause 1)" "$u"
    cmd_sshd_resume 1 2>/dev/null
    stop_pidfile "$(hdir 1)/libvirtd.pid"
    err_case "ssh: sshd answers, libvirtd dead on $(hname 1)" "$u"
    err_case "tcp: libvirtd dead on $(hname 1)" "$(uri 1)"
    err_case "tls: libvirtd dead on $(hname 1)" "$(tls_uri 1)"
    restart_host 1
    err_case "ssh: works again after libvirtd restart" "$u"
}
