use clap::{CommandFactory, Parser, Subcommand};
use fleetwatch::{app, demo};
use fleetwatch_core::config::{self, Config, ConfigError};
use std::path::PathBuf;
use std::process::ExitCode;

/// Watch a fleet of libvirt hypervisor hosts live.
#[derive(Parser)]
#[command(
    version,
    about,
    after_help = "Keys: press ? in the UI. Config: `fleetwatch config example` prints a documented one."
)]
struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/fleetwatch/config.toml).
    #[arg(long, global = true, value_name = "PATH", conflicts_with = "demo")]
    config: Option<PathBuf>,
    /// Watch the built-in demo fleet (libvirt's test driver; no hypervisor needed).
    #[arg(long, global = true)]
    demo: bool,
    /// No action at all, whatever the config allows (hosts are opened read-only).
    #[arg(long, global = true)]
    read_only: bool,
    /// Watch the fleet as the recorders write it into a shared database (postgresql://...;
    /// without a value, [history] url): no libvirt connection is opened but for an action.
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "", conflicts_with = "demo")]
    store: Option<String>,
    /// Wall display: read-only, no prompts, cycles overview, findings and recent migrations.
    #[arg(long)]
    wall: bool,
    /// Serve Prometheus metrics on this address while the UI runs, e.g. 127.0.0.1:9177
    /// (path /metrics; `record --metrics` is the service's way).
    #[arg(long, value_name = "ADDR:PORT")]
    metrics: Option<String>,
    /// Log file (default: $XDG_STATE_HOME/fleetwatch/fleetwatch.log). Set FLEETWATCH_LOG=debug for more.
    #[arg(long, global = true, value_name = "PATH")]
    log: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the collectors headless and write history until stopped (what a team runs as a
    /// service, so history exists while nobody watches).
    Record {
        /// Instead: list the recorders, the hosts each records and their lease ages; exit 1
        /// when a configured host is recorded by none.
        #[arg(long)]
        status: bool,
        /// With --status: as JSON.
        #[arg(long, requires = "status")]
        json: bool,
        /// Serve Prometheus metrics on this address, e.g. 127.0.0.1:9177 (path /metrics).
        #[arg(long, value_name = "ADDR:PORT", conflicts_with = "status")]
        metrics: Option<String>,
    },
    /// Events from the history, oldest first.
    History {
        /// Only this VM (name or UUID).
        #[arg(long)]
        vm: Option<String>,
        /// Only this host (also as either end of a migration).
        #[arg(long)]
        host: Option<String>,
        /// Only the last span, e.g. 6h, 30m, 7d.
        #[arg(long)]
        since: Option<String>,
        /// Only these kinds, comma-separated (migrated,started,stopped,...).
        #[arg(long, value_delimiter = ',')]
        kind: Vec<String>,
        /// At most this many, the newest.
        #[arg(long, default_value_t = 10_000)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// fleetwatch's own actions: who did what, when, to which VM, and how it ended.
    Audit {
        #[arg(long)]
        json: bool,
    },
    /// The fleet as it was at TIME (-6h, "2026-11-21 14:30", RFC 3339), like `snapshot`.
    At {
        #[arg(allow_hyphen_values = true)]
        time: String,
        #[arg(long)]
        json: bool,
    },
    /// Poll every host once and print the findings. Exit 0 none, 1 warnings only, 2 any
    /// critical, 3 could not check (Nagios plugin convention).
    Check {
        /// One JSON document instead of plugin output.
        #[arg(long)]
        json: bool,
    },
    /// Plan moving every running VM off HOST (targets by memory, the vCPU overcommit limit
    /// and anti-affinity; local disks block). Exit 1 when some VM has no target.
    Evacuate {
        host: String,
        /// Only plan: nothing moves.
        #[arg(long)]
        dry_run: bool,
        /// Run it: the host's name again, as the TUI has it typed.
        #[arg(long, value_name = "HOST")]
        confirm: Option<String>,
        /// VMs on local disks move with their disks (slow, heavy I/O) instead of blocking.
        #[arg(long)]
        copy_storage: bool,
        #[arg(long)]
        json: bool,
    },
    /// Plan bringing back onto HOST the VMs its evacuation moved away (the history store keeps
    /// where they went). Exit 1 when some cannot come back, or HOST is not in maintenance.
    Return {
        host: String,
        /// Only plan: nothing moves.
        #[arg(long)]
        dry_run: bool,
        /// Run it: the host's name again, as the TUI has it typed.
        #[arg(long, value_name = "HOST")]
        confirm: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The hosts in maintenance: by whom, since when, which of their VMs are away and where.
    Maintenance {
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge a finding: it still shows, dimmed, but raises check's status no more until
    /// it expires or clears (and fires again if it returns). `--list` shows them all.
    Ack {
        /// The finding's kind (unbacked, unapproved, drift, host-down, ...).
        #[arg(required_unless_present = "list")]
        kind: Option<String>,
        /// What it is about: the VM (UUID or name) or the host.
        #[arg(required_unless_present = "list")]
        subject: Option<String>,
        /// Why it may wait: who handles it, which ticket.
        #[arg(long, required_unless_present = "list")]
        reason: Option<String>,
        /// How long, e.g. 8h, 3d (default 24h, at most 90d).
        #[arg(long = "for", value_name = "SPAN")]
        lasts: Option<String>,
        #[arg(long, conflicts_with_all = ["kind", "subject", "reason", "lasts"])]
        list: bool,
        /// With --list: as JSON.
        #[arg(long, requires = "list")]
        json: bool,
    },
    /// End an acknowledgement by hand: the finding counts again at once.
    Unack { kind: String, subject: String },
    /// The configuration file.
    Config {
        #[command(subcommand)]
        what: ConfigCommand,
    },
    /// Writes the man pages or a shell's completions, made from this very command line
    /// (`make install` runs it).
    #[command(hide = true)]
    Generate {
        #[arg(value_enum)]
        what: app::generate::What,
        /// Where the files go.
        dir: PathBuf,
    },
    /// Poll every host twice, one interval apart, print the fleet and exit (1 if no host is up).
    Snapshot {
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the example configuration, every key documented (save it as
    /// ~/.config/fleetwatch/config.toml and edit).
    Example,
}

fn load(cli: &Cli) -> Result<(Config, Option<demo::Demo>), ConfigError> {
    if cli.demo {
        let d = demo::write()?;
        return Ok((d.config.clone(), Some(d)));
    }
    let path = match &cli.config {
        Some(p) => p.clone(),
        None => config::default_path().ok_or(ConfigError::NoHome)?,
    };
    if cli.config.is_none() && !path.exists() {
        return Err(ConfigError::NotFound {
            path: path.display().to_string(),
        });
    }
    Ok((
        Config::load(&path, &fleetwatch::ui::bindings::key_rules())?,
        None,
    ))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = run(cli);
    // ssh processes libvirt started for connections must not outlive fleetwatch (cron `check`
    // runs would pile them up under init).
    fleetwatch_libvirt::children::end_all();
    code
}

fn run(cli: Cli) -> ExitCode {
    let _ = color_eyre::install();
    // Neither needs a config, nor opens a log.
    match &cli.command {
        Some(Command::Config {
            what: ConfigCommand::Example,
        }) => {
            fleetwatch::out!("{}", app::generate::EXAMPLE_CONFIG);
            return ExitCode::SUCCESS;
        }
        Some(Command::Generate { what, dir }) => {
            return app::generate::write(*what, Cli::command(), dir);
        }
        _ => {}
    }
    let log = app::logging::path(cli.log.clone());
    // A recorder run by a service manager logs to its stderr (the journal), plainly; one on a
    // terminal, or told where, logs to the file.
    let journal = matches!(cli.command, Some(Command::Record { status: false, .. }))
        && cli.log.is_none()
        && !std::io::IsTerminal::is_terminal(&std::io::stderr());
    if journal {
        app::logging::to_stderr();
    } else {
        app::logging::to_file(log.clone());
    }

    let (mut config, _demo) = match load(&cli) {
        Ok(c) => c,
        Err(e) => {
            fleetwatch::errln!("fleetwatch: {e}");
            // For `check`, a broken config is "could not check" to the monitoring system.
            let code = if matches!(cli.command, Some(Command::Check { .. })) {
                app::check::UNKNOWN
            } else {
                2
            };
            return ExitCode::from(code);
        }
    };
    // What libvirt, libxml2 and ssh write to fd 2 goes to the log from the first connection to
    // the exit (threads of given-up connections may still be retrying on the way out); our own
    // messages reach the user through errln!.
    let polls = matches!(
        cli.command,
        None | Some(
            Command::Check { .. }
                | Command::Snapshot { .. }
                | Command::Evacuate { .. }
                | Command::Return { .. }
        )
    );
    let _quiet = polls.then(|| app::stderr::Redirect::to(log.as_deref()).ok());
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            fleetwatch::errln!("fleetwatch: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match cli.command {
        Some(Command::Check { json }) => rt.block_on(app::check::run(&config, json)),
        Some(Command::Evacuate {
            host,
            dry_run,
            confirm,
            copy_storage,
            json,
        }) => {
            let args = app::evacuate::Args {
                host: &host,
                copy_storage,
                json,
                back: false,
            };
            rt.block_on(app::evacuate::plan_or_run(&config, &args, dry_run, confirm))
        }
        Some(Command::Return {
            host,
            dry_run,
            confirm,
            json,
        }) => {
            let args = app::evacuate::Args {
                host: &host,
                copy_storage: false,
                json,
                back: true,
            };
            rt.block_on(app::evacuate::plan_or_run(&config, &args, dry_run, confirm))
        }
        Some(Command::Maintenance { json }) => app::evacuate::list(&config, json),
        Some(Command::Record {
            status: true, json, ..
        }) => app::record_status::status(&config, json),
        Some(Command::Record {
            status: false,
            metrics,
            ..
        }) => rt.block_on(app::record::record(&config, metrics.as_deref())),
        Some(Command::History {
            vm,
            host,
            since,
            kind,
            limit,
            json,
        }) => app::cli::history(
            &config,
            &app::cli::HistoryArgs {
                vm,
                host,
                since,
                kinds: kind,
                limit,
                json,
            },
        ),
        Some(Command::At { time, json }) => app::cli::at(&config, &time, json),
        Some(Command::Audit { json }) => app::cli::audit(&config, json),
        Some(Command::Ack {
            list: true, json, ..
        }) => app::acks::list(&config, json),
        Some(Command::Ack {
            kind,
            subject,
            reason,
            lasts,
            ..
        }) => app::acks::ack(
            &config,
            &app::acks::AckArgs {
                kind: kind.as_deref().unwrap_or_default(),
                subject: subject.as_deref().unwrap_or_default(),
                reason: reason.as_deref().unwrap_or_default(),
                lasts: lasts.as_deref(),
            },
        ),
        Some(Command::Unack { kind, subject }) => app::acks::unack(&config, &kind, &subject),
        // Answered before the config was read.
        Some(Command::Config { .. } | Command::Generate { .. }) => ExitCode::SUCCESS,
        Some(Command::Snapshot { json }) => rt.block_on(app::snapshot::print(&config, json)),
        None => {
            if let Some(url) = &cli.store {
                if !url.is_empty() {
                    config.history.url = Some(url.clone());
                    config.history.path = None;
                }
                config.history.client = true;
            }
            if let Err(e) = config.history.validate() {
                fleetwatch::errln!("fleetwatch: {e}");
                return ExitCode::from(2);
            }
            config.read_only = cli.read_only || cli.wall;
            let acting = config.actions_allowed().iter().filter(|a| **a).count();
            let mode = match (cli.demo, config.read_only, acting) {
                (_, _, _) if cli.wall => "WALL · read-only".to_owned(),
                (true, true, _) => "DEMO · read-only".to_owned(),
                (true, false, _) => "DEMO · actions on".to_owned(),
                (false, true, _) | (false, false, 0) => "read-only".to_owned(),
                (false, false, n) => format!("actions on {n} host(s)"),
            };
            let mode = if config.history.client {
                format!("via store · {mode}")
            } else {
                mode
            };
            let mode = mode.as_str();
            let result = rt.block_on(app::tui::run(
                config,
                mode,
                cli.wall,
                cli.metrics.as_deref(),
            ));
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    fleetwatch::errln!("fleetwatch: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
