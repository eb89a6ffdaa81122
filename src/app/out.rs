//! Standard output for the commands. `print!` panics when the reader has gone (`fleetwatch
//! history | head -1`); a command whose output nobody reads any more just stops, quietly, as
//! other Unix tools do, with the status a shell reports for SIGPIPE.

use std::io::Write;

/// Exit status after the reader closed the pipe (128 + SIGPIPE, what a shell shows).
pub const BROKEN_PIPE: i32 = 141;

/// Writes `text` to standard output; ends the process quietly if the reader is gone.
pub fn write(text: &str) {
    let mut out = std::io::stdout().lock();
    let done = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    if let Err(e) = done {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            fleetwatch_libvirt::children::end_all();
            std::process::exit(BROKEN_PIPE);
        }
        // Any other failure (a full disk behind a redirect): say so once, where it can be seen.
        eprintln!("fleetwatch: cannot write the output: {e}");
        fleetwatch_libvirt::children::end_all();
        std::process::exit(1);
    }
}

/// `print!` that survives a closed pipe.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::app::out::write(&format!($($arg)*)) };
}

/// `println!` that survives a closed pipe.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => { $crate::app::out::write(&format!("{}\n", format_args!($($arg)*))) };
}
