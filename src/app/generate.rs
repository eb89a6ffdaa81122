//! What an installed fleetwatch carries besides its binary, made from the binary itself so it
//! cannot drift from it: man pages from the command line's definition, shell completions, and
//! the example configuration.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// The documented example configuration, as in the source tree (tests parse it).
pub const EXAMPLE_CONFIG: &str = include_str!("../../config.example.toml");

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum What {
    /// fleetwatch.1 and one page per command (fleetwatch-record.1, ...).
    Man,
    Bash,
    Zsh,
    Fish,
}

/// The main page's sections beyond what the command line says.
const MORE: &str = r#".SH FILES
.TP
\fI$XDG_CONFIG_HOME/fleetwatch/config.toml\fR
The configuration (usually ~/.config/fleetwatch/config.toml). \fBfleetwatch config example\fR prints a documented one; installed, it is also in \fIshare/fleetwatch/config.example.toml\fR.
.TP
\fI$XDG_DATA_HOME/fleetwatch/history.db\fR
The history (SQLite) unless [history] sets a path or a PostgreSQL url.
.TP
\fI$XDG_STATE_HOME/fleetwatch/fleetwatch.log\fR
The log: what libvirt and ssh say goes here, never onto the screen.
.SH ENVIRONMENT
.TP
\fBFLEETWATCH_LOG\fR
Log filter, e.g. debug.
.TP
\fBNO_COLOR\fR
No colours in the UI.
.SH EXIT STATUS
\fBcheck\fR follows the Nagios plugin convention: 0 no finding, 1 warnings only, 2 any critical finding (a stalled history included), 3 could not check. Other commands exit 0 on success, 1 on failure, 2 on bad usage or configuration.
.SH SERVICE
\fBfleetwatch record\fR is what a team runs as a service, so history exists while nobody watches; the installed unit \fIfleetwatch-recorder.service\fR runs it with \fB--metrics 127.0.0.1:9177\fR for Prometheus. Alert rules for Prometheus are in \fIshare/fleetwatch/alerts.yml\fR.
.SH SEE ALSO
\fBvirsh\fR(1), \fBssh\fR(1), \fBprometheus\fR(1)
"#;

fn man(cmd: clap::Command, dir: &Path) -> std::io::Result<()> {
    // Every command's page as clap_mangen writes it; then the main page again, with the
    // sections an admin looks for.
    clap_mangen::generate_to(cmd.clone(), dir)?;
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let page = clap_mangen::Man::new(cmd).manual("fleetwatch manual");
    let mut f = std::fs::File::create(dir.join(page.get_filename()))?;
    page.render_title(&mut f)?;
    page.render_name_section(&mut f)?;
    page.render_synopsis_section(&mut f)?;
    page.render_description_section(&mut f)?;
    page.render_options_section(&mut f)?;
    page.render_subcommands_section(&mut f)?;
    f.write_all(MORE.as_bytes())?;
    page.render_version_section(&mut f)?;
    f.flush()
}

pub fn write(what: What, mut cmd: clap::Command, dir: &Path) -> ExitCode {
    use clap_complete::Shell;
    if let Err(e) = std::fs::create_dir_all(dir) {
        crate::errln!("fleetwatch: cannot create {}: {e}", dir.display());
        return ExitCode::from(1);
    }
    let done = match what {
        What::Man => man(cmd, dir),
        What::Bash | What::Zsh | What::Fish => {
            let shell = match what {
                What::Bash => Shell::Bash,
                What::Zsh => Shell::Zsh,
                _ => Shell::Fish,
            };
            clap_complete::generate_to(shell, &mut cmd, "fleetwatch", dir).map(drop)
        }
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            crate::errln!("fleetwatch: cannot write into {}: {e}", dir.display());
            ExitCode::from(1)
        }
    }
}
