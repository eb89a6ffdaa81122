//! What a libvirt URI says about how a host is reached, and the changes fleetwatch makes to it
//! before opening it. Pure text: no libvirt here, so every rule has a plain test.

/// How libvirt reaches the daemon (the `+transport` part of the URI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// No host: the local daemon's UNIX socket, or an embedded driver (`test:`).
    Local,
    /// `ssh` runs the system's OpenSSH client as a child process.
    Ssh,
    /// libvirt's built-in ssh clients (libssh, libssh2): no child process.
    LibSsh,
    Tls,
    Tcp,
    Unix,
    Ext,
    Other,
}

impl Transport {
    pub fn of(uri: &str) -> Transport {
        let Some((scheme, rest)) = uri.split_once("://") else {
            return Transport::Local;
        };
        let explicit = scheme.split_once('+').map(|(_, t)| t.to_ascii_lowercase());
        match explicit.as_deref() {
            Some("ssh") => Transport::Ssh,
            Some("libssh" | "libssh2") => Transport::LibSsh,
            Some("tls") => Transport::Tls,
            Some("tcp") => Transport::Tcp,
            Some("unix") => Transport::Unix,
            Some("ext") => Transport::Ext,
            Some(_) => Transport::Other,
            // libvirt's default for a URI with a host is TLS.
            None if !authority(rest).1.is_empty() => Transport::Tls,
            None => Transport::Local,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Transport::Local => "local",
            Transport::Ssh => "ssh",
            Transport::LibSsh => "libssh",
            Transport::Tls => "tls",
            Transport::Tcp => "tcp",
            Transport::Unix => "unix",
            Transport::Ext => "ext",
            Transport::Other => "other",
        }
    }

    /// Whether libvirt's keepalive applies (a remote daemon on the other end of a socket).
    pub fn is_remote(self) -> bool {
        !matches!(self, Transport::Local | Transport::Unix | Transport::Other)
    }
}

/// `user@host:port` of a URI, split as (user, host, port).
fn authority(rest: &str) -> (Option<&str>, &str, Option<&str>) {
    let auth = rest.split(['/', '?']).next().unwrap_or("");
    let (user, hostport) = match auth.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, auth),
    };
    if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']').unwrap_or((v6, ""));
        return (user, host, after.strip_prefix(':'));
    }
    match hostport.split_once(':') {
        Some((h, p)) => (user, h, Some(p)),
        None => (user, hostport, None),
    }
}

/// The host part of a URI ("" for a local one).
pub fn host(uri: &str) -> &str {
    uri.split_once("://").map_or("", |(_, r)| authority(r).1)
}

fn query(uri: &str) -> Option<&str> {
    uri.split_once('?').map(|(_, q)| q)
}

/// The value of a query parameter, if the URI sets it.
pub fn param<'a>(uri: &'a str, name: &str) -> Option<&'a str> {
    query(uri)?
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn with_param(uri: &str, kv: &str) -> String {
    let (base, frag) = match uri.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (uri, None),
    };
    let sep = match base.split_once('?') {
        Some((_, "")) => "",
        Some(_) => "&",
        None => "?",
    };
    let mut out = format!("{base}{sep}{kv}");
    if let Some(f) = frag {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Why a URI cannot be used as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriRefused(pub String);

impl std::error::Error for UriRefused {}

impl std::fmt::Display for UriRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The URI fleetwatch opens for a configured one. Over `ssh`, libvirt runs OpenSSH, which would
/// ask on the terminal the UI draws on (an unknown host key, a passphrase) and take the keys
/// typed afterwards; `no_tty=1` makes libvirt run it non-interactively, so such a question
/// becomes an error that names the host. A URI that asks for a terminal on purpose is refused.
pub fn prepare(uri: &str) -> Result<String, UriRefused> {
    if Transport::of(uri) != Transport::Ssh {
        return Ok(uri.to_owned());
    }
    match param(uri, "no_tty") {
        None => Ok(with_param(uri, "no_tty=1")),
        Some("1") => Ok(uri.to_owned()),
        Some(v) => Err(UriRefused(format!(
            "no_tty={v} would let ssh prompt on the terminal fleetwatch draws on; \
             remove it (fleetwatch sets no_tty=1), and make the host key and login work \
             without questions (known_hosts, ssh-agent or keyfile=)"
        ))),
    }
}

/// A URI fit to show: a password in the user part is hidden.
pub fn redact(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.to_owned();
    };
    let auth_len = rest.find(['/', '?']).unwrap_or(rest.len());
    let (auth, tail) = rest.split_at(auth_len);
    match auth.rsplit_once('@') {
        Some((user, hostport)) if user.contains(':') => {
            let name = user.split(':').next().unwrap_or("");
            format!("{scheme}://{name}:***@{hostport}{tail}")
        }
        _ => uri.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports() {
        assert_eq!(Transport::of("qemu+ssh://root@hv1/system"), Transport::Ssh);
        assert_eq!(
            Transport::of("qemu+libssh2://hv1/system"),
            Transport::LibSsh
        );
        assert_eq!(Transport::of("qemu+tls://hv1/system"), Transport::Tls);
        assert_eq!(Transport::of("qemu://hv1/system"), Transport::Tls);
        assert_eq!(Transport::of("qemu+TCP://hv1/system"), Transport::Tcp);
        assert_eq!(Transport::of("qemu:///system"), Transport::Local);
        assert_eq!(Transport::of("test:///default"), Transport::Local);
        assert_eq!(Transport::of("qemu+unix:///system"), Transport::Unix);
        assert!(!Transport::Local.is_remote());
        assert!(Transport::Ssh.is_remote());
    }

    #[test]
    fn hosts_and_params() {
        assert_eq!(host("qemu+ssh://root@hv1:2222/system"), "hv1");
        assert_eq!(host("qemu+ssh://root@[::1]:2222/system"), "::1");
        assert_eq!(host("qemu:///system"), "");
        assert_eq!(host("test:///default"), "");
        let u = "qemu+ssh://h/system?keyfile=/k&no_tty=1";
        assert_eq!(param(u, "keyfile"), Some("/k"));
        assert_eq!(param(u, "no_tty"), Some("1"));
        assert_eq!(param(u, "no_verify"), None);
    }

    #[test]
    fn ssh_gets_no_tty_and_nothing_else() {
        assert_eq!(
            prepare("qemu+ssh://root@hv1/system").unwrap(),
            "qemu+ssh://root@hv1/system?no_tty=1"
        );
        assert_eq!(
            prepare("qemu+ssh://hv1/system?keyfile=/k").unwrap(),
            "qemu+ssh://hv1/system?keyfile=/k&no_tty=1"
        );
        assert_eq!(
            prepare("qemu+ssh://hv1/system?no_tty=1").unwrap(),
            "qemu+ssh://hv1/system?no_tty=1"
        );
        let e = prepare("qemu+ssh://hv1/system?no_tty=0").unwrap_err();
        assert!(e.0.contains("no_tty=0"), "{e}");
        // Host keys are checked: never no_verify, whatever the transport.
        for u in [
            "qemu+ssh://hv1/system",
            "qemu+tls://hv1/system",
            "qemu+tcp://hv1/system",
        ] {
            assert!(!prepare(u).unwrap().contains("no_verify"));
        }
        assert_eq!(
            prepare("qemu+tcp://hv1/system").unwrap(),
            "qemu+tcp://hv1/system"
        );
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("qemu+ssh://admin:s3cret@hv1:22/system?keyfile=/k"),
            "qemu+ssh://admin:***@hv1:22/system?keyfile=/k"
        );
        assert_eq!(
            redact("qemu+ssh://admin@hv1/system"),
            "qemu+ssh://admin@hv1/system"
        );
        assert_eq!(redact("qemu:///system"), "qemu:///system");
    }
}
