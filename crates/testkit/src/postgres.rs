//! A real PostgreSQL server for tests: the distribution's own binaries, a new cluster in a
//! temporary folder, listening on 127.0.0.1 only at a free port, stopped and removed on drop.
//! As root, the server runs as the `postgres` user (initdb refuses root).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// One running server. Its superuser is `fleet` (trust auth on 127.0.0.1) and it has a
/// database `fleet`; [`Postgres::create_db`] makes more.
pub struct Postgres {
    root: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

/// Where the server's programs are: Debian keeps them out of PATH, per major version.
fn bindir() -> Result<PathBuf, String> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return Ok(bin);
    }
    let out = Command::new("pg_config").arg("--bindir").output();
    match out {
        Ok(o)
            if o.status.success()
                && Path::new(String::from_utf8_lossy(&o.stdout).trim())
                    .join("initdb")
                    .exists() =>
        {
            Ok(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        }
        _ => Err(
            "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin or pg_config); \
                  `make deps` installs the postgresql package"
                .into(),
        ),
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn said(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

impl Postgres {
    /// initdb, start, and create the `fleet` database. Tries a few ports: another test may take
    /// the free one found between the look and the listen.
    pub fn start() -> Result<Postgres, String> {
        let bin = bindir()?;
        let as_postgres = euid_is_root();
        let root = std::env::temp_dir().join(format!(
            "fleetwatch-pg-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(root.join("data")).map_err(|e| format!("{root:?}: {e}"))?;
        let mut pg = Postgres {
            root,
            bin,
            port: 0,
            as_postgres,
        };
        if as_postgres {
            pg.run(
                "chown",
                &["-R", "postgres:", &pg.root.display().to_string()],
            )?;
        }
        let data = pg.data().display().to_string();
        pg.server(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "fleet", "-E", "UTF8"],
        )?;
        let mut last = String::new();
        for _ in 0..5 {
            pg.port = free_port()?;
            let opts = pg.options();
            let log = pg.root.join("server.log").display().to_string();
            match pg.server(
                "pg_ctl",
                &["-D", &data, "-o", &opts, "-l", &log, "-w", "start"],
            ) {
                Ok(_) => {
                    pg.create_db("fleet")?;
                    return Ok(pg);
                }
                Err(e) => {
                    last = format!("{e}; {}", std::fs::read_to_string(&log).unwrap_or_default());
                }
            }
        }
        Err(format!("PostgreSQL would not start: {last}"))
    }

    /// Stops the server (as an operator's restart does, closing every connection) and starts
    /// it again on the same port.
    pub fn restart(&self) -> Result<(), String> {
        let data = self.data().display().to_string();
        self.server("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"])?;
        let log = self.root.join("server.log").display().to_string();
        let opts = self.options();
        self.server(
            "pg_ctl",
            &["-D", &data, "-o", &opts, "-l", &log, "-w", "start"],
        )
        .map(|_| ())
    }

    fn options(&self) -> String {
        format!(
            "-k {} -h 127.0.0.1 -p {} -c fsync=off -c full_page_writes=off",
            self.root.display(),
            self.port
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgresql://fleet@127.0.0.1:PORT/DB`
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://fleet@127.0.0.1:{}/{db}", self.port)
    }

    /// A new, empty database: each test its own.
    pub fn create_db(&self, name: &str) -> Result<String, String> {
        self.server(
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "fleet",
                name,
            ],
        )?;
        Ok(self.url(name))
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// One of the server's programs, as the postgres user when we are root.
    fn server(&self, prog: &str, args: &[&str]) -> Result<Output, String> {
        let path = self.bin.join(prog);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        // The server's programs need a working directory they may read.
        cmd.args(args).current_dir(&self.root);
        check(prog, cmd.output())
    }

    fn run(&self, prog: &str, args: &[&str]) -> Result<Output, String> {
        check(prog, Command::new(prog).args(args).output())
    }
}

fn check(prog: &str, out: std::io::Result<Output>) -> Result<Output, String> {
    match out {
        Ok(o) if o.status.success() => Ok(o),
        Ok(o) => Err(format!("{prog}: {}: {}", o.status, said(&o).trim())),
        Err(e) => Err(format!("{prog}: {e}")),
    }
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Root runs the server as `postgres`. Read from /proc so the kit needs no libc crate.
fn euid_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let _ = self.server("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
