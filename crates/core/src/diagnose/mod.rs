//! Why a host is not up, in plain words with the next step. libvirt passes on what ssh, the TLS
//! library or the socket said; these are the failures admins meet first with remote hosts, each
//! named so nobody has to decode "Cannot recv data: ... Connection reset by peer" at 3 a.m.
//! Pure text: tested on the messages libvirt 9 and OpenSSH 9 print.

use super::transport::{self, Transport};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    HostKeyUnknown,
    HostKeyChanged,
    LoginRefused,
    NameNotFound,
    Refused,
    Timeout,
    TlsUntrusted,
    TlsExpired,
    TlsHostMismatch,
    TlsFilesMissing,
    TlsClientCert,
    KeyfileMissing,
    DaemonNotRunning,
    LinkLost,
    FileUnreadable,
}

/// A failure explained: what happened, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    pub cause: Cause,
    pub reason: String,
    pub next: String,
}

fn has(raw: &str, needles: &[&str]) -> bool {
    let lower = raw.to_ascii_lowercase();
    needles
        .iter()
        .any(|n| lower.contains(&n.to_ascii_lowercase()))
}

fn cause_of(raw: &str) -> Option<Cause> {
    // Order matters: a changed key also says "Host key verification failed".
    let rules: &[(Cause, &[&str])] = &[
        (
            Cause::HostKeyChanged,
            &[
                "IDENTIFICATION HAS CHANGED",
                "Offending ",
                "key for this host has changed",
            ],
        ),
        (
            Cause::HostKeyUnknown,
            &["Host key verification failed", "authenticity of host"],
        ),
        (Cause::KeyfileMissing, &["Identity file"]),
        (
            Cause::LoginRefused,
            &[
                "Permission denied (",
                "Too many authentication failures",
                "Could not open a connection to your authentication agent",
                "no identities",
            ],
        ),
        (
            Cause::NameNotFound,
            &[
                "Could not resolve hostname",
                "Name or service not known",
                "Temporary failure in name resolution",
                "No address associated with hostname",
            ],
        ),
        (
            Cause::TlsClientCert,
            &["Our own certificate", "client certificate"],
        ),
        (
            Cause::TlsExpired,
            &[
                "certificate has expired",
                "certificate expired",
                "has expired",
            ],
        ),
        (
            Cause::TlsHostMismatch,
            &["does not match hostname", "does not match the hostname"],
        ),
        (
            Cause::TlsUntrusted,
            &[
                "certificate is NOT trusted",
                "issuer is unknown",
                "Failed to verify peer's certificate",
                "Unable to verify TLS peer",
            ],
        ),
        (
            Cause::TlsFilesMissing,
            &[
                "Cannot read CA certificate",
                "Cannot read certificate",
                "Cannot read private key",
            ],
        ),
        (
            Cause::DaemonNotRunning,
            &[
                "Failed to connect socket to '/var/run/libvirt",
                "libvirt-sock",
            ],
        ),
        (Cause::Refused, &["Connection refused"]),
        (
            Cause::FileUnreadable,
            &[
                "failed to parse xml document",
                "failed to load external entity",
            ],
        ),
        (
            Cause::Timeout,
            &[
                "timed out",
                "no answer within",
                "no answer to connect within",
            ],
        ),
        (
            Cause::LinkLost,
            &[
                "client socket is closed",
                "End of file while reading data",
                "Broken pipe",
                "Connection reset by peer",
                "keepalive",
            ],
        ),
    ];
    rules
        .iter()
        .find(|(_, needles)| has(raw, needles))
        .map(|(c, _)| *c)
}

/// Explains a connection failure on `uri`, or `None` when the message is not one of the known
/// kinds (it is then shown as libvirt wrote it).
pub fn explain(uri: &str, raw: &str) -> Option<Explained> {
    let cause = cause_of(raw)?;
    let host = match transport::host(uri) {
        "" => "the host",
        h => h,
    };
    let via = Transport::of(uri);
    let (reason, next) = match cause {
        Cause::HostKeyUnknown => (
            format!("ssh host key of {host} is not known"),
            format!(
                "verify the key with the host's owner (ssh-keyscan {host} | ssh-keygen -lf - \
                 shows its fingerprint), add it to ~/.ssh/known_hosts (ssh-keyscan {host} >> \
                 ~/.ssh/known_hosts, or ssh {host} once and answer yes), then F5; fleetwatch \
                 never accepts an unknown key by itself"
            ),
        ),
        Cause::HostKeyChanged => (
            format!("ssh host key of {host} has CHANGED since it was recorded"),
            format!(
                "this may be an attack or a reinstalled host: confirm the new key with the \
                 host's owner before anything else, then ssh-keygen -R {host} and add the new \
                 key, then F5"
            ),
        ),
        Cause::LoginRefused => (
            format!("ssh login to {host} was refused"),
            "check the user in the URI, that the key is in the host's authorized_keys, and \
             that ssh-agent runs with the key loaded (SSH_AUTH_SOCK) or keyfile= names it; \
             ssh -o BatchMode=yes USER@HOST true must work without questions"
                .to_owned(),
        ),
        Cause::NameNotFound => (
            format!("name {host} cannot be resolved"),
            "check the spelling, /etc/hosts or DNS, or a Host alias in ~/.ssh/config".to_owned(),
        ),
        Cause::Refused => (
            format!("{host} refused the connection ({})", via.label()),
            match via {
                Transport::Ssh | Transport::LibSsh => {
                    "sshd is not listening there (port in the URI?)".to_owned()
                }
                Transport::Tls => {
                    "libvirtd does not listen for TLS (listen_tls, port 16514)".to_owned()
                }
                Transport::Tcp => {
                    "libvirtd does not listen for TCP (listen_tcp, port 16509)".to_owned()
                }
                _ => "is the daemon running?".to_owned(),
            },
        ),
        Cause::Timeout => (
            format!("{host} did not answer in time"),
            "the host or the network is down or very slow; fleetwatch retries with back-off \
             (F5 retries now)"
                .to_owned(),
        ),
        Cause::TlsUntrusted => (
            format!("TLS certificate of {host} is not trusted"),
            "its issuer is not the CA in cacert.pem (pkipath= in the URI, else \
             /etc/pki/CA/cacert.pem or ~/.pki/libvirt); or the host refused this client's \
             certificate"
                .to_owned(),
        ),
        Cause::TlsExpired => (
            format!("TLS certificate for {host} has expired"),
            "renew the expired certificate (the host's or this client's clientcert.pem)".to_owned(),
        ),
        Cause::TlsHostMismatch => (
            format!("TLS certificate does not name {host}"),
            "connect by a name or address the certificate lists (subjectAltName), or reissue it"
                .to_owned(),
        ),
        Cause::TlsFilesMissing => (
            "TLS certificate files are missing".to_owned(),
            "pkipath= in the URI must hold cacert.pem, clientcert.pem and clientkey.pem \
             (else /etc/pki or ~/.pki/libvirt)"
                .to_owned(),
        ),
        Cause::KeyfileMissing => (
            "the keyfile= in the URI cannot be read".to_owned(),
            "fix the path in keyfile= (it must be readable by this user), or drop it and use \
             ssh-agent"
                .to_owned(),
        ),
        Cause::TlsClientCert if has(raw, &["has expired"]) => (
            "this client's TLS certificate has expired".to_owned(),
            "renew clientcert.pem (in pkipath= or ~/.pki/libvirt / /etc/pki/libvirt)".to_owned(),
        ),
        Cause::TlsClientCert => (
            "this client's TLS certificate is not signed by the CA it trusts".to_owned(),
            "clientcert.pem and cacert.pem in pkipath= must come from the same CA".to_owned(),
        ),
        Cause::DaemonNotRunning => (
            format!("libvirtd is not running on {host}"),
            "start libvirtd (or virtqemud) there; the login itself worked".to_owned(),
        ),
        Cause::FileUnreadable => (
            "the driver's XML file cannot be read".to_owned(),
            "check that the file in the URI exists, is readable and is libvirt XML".to_owned(),
        ),
        Cause::LinkLost => (
            format!("connection to {host} was lost"),
            "fleetwatch reconnects with back-off (F5 retries now)".to_owned(),
        ),
    };
    Some(Explained {
        cause,
        reason,
        next,
    })
}

#[cfg(test)]
mod tests;
