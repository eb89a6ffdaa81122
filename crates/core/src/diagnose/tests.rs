use super::*;

fn cause(uri: &str, raw: &str) -> Option<Cause> {
    explain(uri, raw).map(|e| e.cause)
}

const SSH: &str = "qemu+ssh://root@127.0.0.11/system";
const TLS: &str = "qemu+tls://127.0.0.11/system";

#[test]
fn ssh_failures_are_named() {
    let e = explain(
        SSH,
        "Cannot recv data: Host key verification failed.: Connection reset by peer",
    )
    .unwrap();
    assert_eq!(e.cause, Cause::HostKeyUnknown);
    assert!(e.reason.contains("127.0.0.11"), "{e:?}");
    assert!(e.next.contains("ssh-keyscan 127.0.0.11"), "{e:?}");
    assert_eq!(
        cause(
            SSH,
            "Cannot recv data: @@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@ ... \
             Host key verification failed.: Connection reset by peer"
        ),
        Some(Cause::HostKeyChanged)
    );
    assert_eq!(
        cause(
            SSH,
            "Cannot recv data: root@127.0.0.11: Permission denied (publickey).: Connection reset by peer"
        ),
        Some(Cause::LoginRefused)
    );
    assert_eq!(
        cause(
            SSH,
            "Cannot recv data: ssh: Could not resolve hostname nohost: Name or service not known: Connection reset by peer"
        ),
        Some(Cause::NameNotFound)
    );
    assert_eq!(
        cause(
            SSH,
            "Cannot recv data: ssh: connect to host 127.0.0.11 port 22: Connection refused: Connection reset by peer"
        ),
        Some(Cause::Refused)
    );
    assert_eq!(
        cause(SSH, "no answer to connect within 10s"),
        Some(Cause::Timeout)
    );
}

#[test]
fn tls_failures_are_named() {
    assert_eq!(
        cause(
            TLS,
            "Unable to verify TLS peer: The certificate is NOT trusted. The certificate issuer is unknown."
        ),
        Some(Cause::TlsUntrusted)
    );
    assert_eq!(
        cause(
            TLS,
            "Unable to verify TLS peer: The certificate has expired"
        ),
        Some(Cause::TlsExpired)
    );
    assert_eq!(
        cause(
            TLS,
            "Cannot read CA certificate '/etc/pki/CA/cacert.pem': No such file or directory"
        ),
        Some(Cause::TlsFilesMissing)
    );
    // As libvirt 9 words them in the lab (lab.sh errors).
    assert_eq!(
        cause(
            TLS,
            "authentication failed: Failed to verify peer's certificate"
        ),
        Some(Cause::TlsUntrusted)
    );
    let e = explain(
        TLS,
        "The client certificate /p/expired/clientcert.pem has expired",
    )
    .unwrap();
    assert_eq!(e.cause, Cause::TlsClientCert);
    assert!(e.reason.contains("has expired"), "{e:?}");
    assert_eq!(
        cause(
            TLS,
            "Our own certificate /p/clientcert.pem failed validation against /p/cacert.pem: The certificate hasn't got a known issuer."
        ),
        Some(Cause::TlsClientCert)
    );
    assert_eq!(
        cause(
            SSH,
            "Cannot recv data: Warning: Identity file /k not accessible: No such file or directory. root@h: Permission denied (publickey).: Connection reset by peer"
        ),
        Some(Cause::KeyfileMissing)
    );
    assert_eq!(
        cause(
            SSH,
            "End of file while reading data: virt-ssh-helper: cannot connect to '/var/run/libvirt/libvirt-sock': Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory: Input/output error"
        ),
        Some(Cause::DaemonNotRunning)
    );
    let e = explain(
        TLS,
        "unable to connect to server at '127.0.0.11:16514': Connection refused",
    )
    .unwrap();
    assert!(e.next.contains("listen_tls"), "{e:?}");
}

#[test]
fn a_missing_test_driver_file_is_named() {
    assert_eq!(
        cause(
            "test:///x/nope.xml",
            "XML error: failed to parse xml document '/x/nope.xml'"
        ),
        Some(Cause::FileUnreadable)
    );
}

#[test]
fn unknown_messages_stay_as_they_are() {
    assert_eq!(explain(SSH, "internal error: something new"), None);
}
