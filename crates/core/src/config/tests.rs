use super::*;

fn parse(t: &str) -> Result<Config, ConfigError> {
    Config::parse(
        t,
        Some(Path::new("/etc/fw/config.toml")),
        &crate::actions::keys::KeyRules::default(),
    )
}

#[test]
fn defaults_apply() {
    let c = parse("[[host]]\nname = \"a\"\nuri = \"qemu:///system\"\n").unwrap();
    assert_eq!(c.poll, PollConfig::default());
    assert_eq!(c.hosts[0].tags, Vec::<String>::new());
}

#[test]
fn an_ssh_uri_that_asks_for_a_terminal_is_refused() {
    let e = parse("[[host]]\nname = \"a\"\nuri = \"qemu+ssh://h/system?no_tty=0\"\n").unwrap_err();
    assert!(
        e.to_string().contains("line 1") && e.to_string().contains("no_tty=0"),
        "{e}"
    );
    assert!(parse("[[host]]\nname = \"a\"\nuri = \"qemu+ssh://h/system\"\n").is_ok());
}

#[test]
fn relative_test_uri_resolves_against_config_folder() {
    let c = parse("[[host]]\nname = \"a\"\nuri = \"test:demo/a.xml\"\n").unwrap();
    assert_eq!(c.hosts[0].uri, "test:///etc/fw/demo/a.xml");
    let c = parse("[[host]]\nname = \"a\"\nuri = \"test:///default\"\n").unwrap();
    assert_eq!(c.hosts[0].uri, "test:///default");
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let e = parse("[poll]\ninterval = \"2s\"\nintervall = \"3s\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("/etc/fw/config.toml, line 3"), "{e}");
    assert!(e.contains("intervall"), "{e}");
}

#[test]
fn bad_duration_names_the_value() {
    let e = parse("[poll]\ninterval = \"fast\"\n[[host]]\nname=\"a\"\nuri=\"test:///default\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("line 2") && e.contains("interval") && e.contains("fast"),
        "{e}"
    );
}

#[test]
fn duplicate_host_names_are_refused() {
    let t = "[[host]]\nname=\"a\"\nuri=\"test:///default\"\n[[host]]\nname=\"a\"\nuri=\"test:///default\"\n";
    let e = parse(t).unwrap_err().to_string();
    assert!(e.contains("line 4") && e.contains("unique"), "{e}");
}

#[test]
fn errors_say_what_and_where_as_fields() {
    let e = parse("[[host]]\nname = \"a\"\nuri = \"nouri\"\n").unwrap_err();
    assert!(
        matches!(&e, ConfigError::Value { file, line: Some(1), key, .. }
            if file == "/etc/fw/config.toml" && key == "[[host]] uri"),
        "{e:?}"
    );
    let e = parse("[poll]\ntimeout = \"200ms\"\n[[host]]\nname=\"a\"\nuri=\"test:///default\"\n")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "/etc/fw/config.toml, line 2: timeout: must be at least 1s"
    );
}
