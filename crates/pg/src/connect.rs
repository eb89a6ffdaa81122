//! Reaching the database: `[history] url = "postgresql://user@host:port/db"`, the password
//! never in the config. It comes, as libpq's users expect, from `PGPASSWORD`, from a file the
//! config names, or from the matching line of `PGPASSFILE` or `~/.pgpass`.

use postgres::config::Host;
use postgres::{Client, Config, NoTls};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("[history] url {url:?} is not a PostgreSQL URL: {why}")]
    BadUrl { url: String, why: String },
    #[error(
        "[history] url for {db} carries a password; the config is no place for one: \
         use PGPASSWORD, ~/.pgpass or [history] password_file"
    )]
    PasswordInUrl { db: String },
    #[error("password file {path:?}: {why}")]
    PasswordFile { path: PathBuf, why: String },
    #[error("cannot reach the history database {db}: {why}")]
    Connect { db: String, why: String },
}

/// A parsed URL, and its name without secrets for messages (`user@host:port/db`).
pub struct Target {
    pub config: Config,
    pub name: String,
}

/// Seconds a connect may take before the store says the server does not answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub fn parse(url: &str) -> Result<Target, ConnectError> {
    if !(url.starts_with("postgresql://") || url.starts_with("postgres://")) {
        return Err(ConnectError::BadUrl {
            url: url.into(),
            why: "it must start with postgresql://".into(),
        });
    }
    let config: Config = url
        .parse()
        .map_err(|e: postgres::Error| ConnectError::BadUrl {
            url: url.into(),
            why: e.to_string(),
        })?;
    let name = describe(&config);
    if config.get_password().is_some() {
        return Err(ConnectError::PasswordInUrl { db: name });
    }
    Ok(Target { config, name })
}

fn host_of(c: &Config) -> String {
    match c.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    }
}

fn port_of(c: &Config) -> u16 {
    c.get_ports().first().copied().unwrap_or(5432)
}

fn user_of(c: &Config) -> String {
    c.get_user()
        .map(str::to_owned)
        .or_else(|| std::env::var("PGUSER").ok())
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_default()
}

fn db_of(c: &Config) -> String {
    c.get_dbname().map_or_else(|| user_of(c), str::to_owned)
}

fn describe(c: &Config) -> String {
    format!("{}@{}:{}/{}", user_of(c), host_of(c), port_of(c), db_of(c))
}

/// A secret file must be its owner's alone, as libpq demands of ~/.pgpass.
fn read_private(path: &Path) -> Result<String, ConnectError> {
    use std::os::unix::fs::PermissionsExt;
    let bad = |why: String| ConnectError::PasswordFile {
        path: path.to_path_buf(),
        why,
    };
    let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(bad(format!(
            "readable by others (mode {mode:o}); chmod 600 it"
        )));
    }
    std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))
}

/// One `host:port:db:user:password` field, its `\:` and `\\` unescaped, up to the next `:`.
fn fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(n), Some(last)) = (chars.next(), out.last_mut()) {
                    last.push(n);
                }
            }
            ':' if out.len() < 5 => out.push(String::new()),
            c => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    out
}

/// The password of the first line of a pgpass file matching this target.
pub fn pgpass_lookup(text: &str, c: &Config) -> Option<String> {
    let want = [host_of(c), port_of(c).to_string(), db_of(c), user_of(c)];
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map(fields)
        .filter(|f| f.len() == 5)
        .find(|f| {
            f.iter()
                .zip(&want)
                .all(|(field, want)| field == "*" || field == want)
        })
        .map(|mut f| f.remove(4))
}

fn pgpass_path() -> Option<PathBuf> {
    std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pgpass")))
}

/// The password to send, if any: PGPASSWORD, then `password_file`, then the pgpass file.
pub fn password(t: &Target, password_file: Option<&Path>) -> Result<Option<String>, ConnectError> {
    if let Ok(p) = std::env::var("PGPASSWORD") {
        return Ok(Some(p));
    }
    if let Some(path) = password_file {
        let text = read_private(path)?;
        return Ok(Some(text.lines().next().unwrap_or("").to_owned()));
    }
    match pgpass_path() {
        Some(path) if path.exists() => Ok(pgpass_lookup(&read_private(&path)?, &t.config)),
        _ => Ok(None),
    }
}

/// The server's own words when it sent any ("database \"x\" does not exist"), else the
/// client's and their causes ("db error" alone names nothing).
pub fn explain(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_owned();
    }
    let mut said = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        said.push_str(&format!(": {c}"));
        cause = c.source();
    }
    said
}

/// Opens one connection (no TLS yet: a server on another machine is reached through a tunnel
/// or a local socket).
pub fn connect(url: &str, password_file: Option<&Path>) -> Result<(Client, String), ConnectError> {
    let mut t = parse(url)?;
    if let Some(p) = password(&t, password_file)? {
        t.config.password(p);
    }
    t.config.connect_timeout(CONNECT_TIMEOUT);
    t.config.application_name("fleetwatch");
    let client = t.config.connect(NoTls).map_err(|e| ConnectError::Connect {
        db: t.name.clone(),
        why: explain(&e),
    })?;
    Ok((client, t.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Config {
        parse(url)
            .map(|t| t.config)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn pgpass_lines_match_by_field_with_wildcards_and_escapes() {
        let c = target("postgresql://fleet@db.example:6432/history");
        let text = "\
# comment
other:6432:history:fleet:wrong
db.example:5432:history:fleet:wrong-port
db.example:*:history:fleet:pa\\:ss\\\\word
*:*:*:*:fallback
";
        assert_eq!(pgpass_lookup(text, &c).as_deref(), Some("pa:ss\\word"));
        let c = target("postgresql://someone@elsewhere/db");
        assert_eq!(pgpass_lookup(text, &c).as_deref(), Some("fallback"));
        assert_eq!(pgpass_lookup("short:line\n", &c), None);
    }

    #[test]
    fn the_name_in_messages_has_no_secret_and_defaults_filled_in() {
        let t = parse("postgresql://fleet@127.0.0.1/fleet").unwrap();
        assert_eq!(t.name, "fleet@127.0.0.1:5432/fleet");
    }
}
