//! A process that looks, to the others, as if it ran on another machine.

use std::ffi::OsStr;
use std::process::Command;

/// `program` in a UTS namespace of its own whose host name is `hostname`: the processes beside
/// it see a machine not theirs, so its pid tells them nothing (a recorder there that dies is
/// known dead only by the age of its leases). Arguments, environment and pipes are added to
/// the command returned as to any other.
pub fn on_another_machine(program: &OsStr, hostname: &str) -> Command {
    let mut c = Command::new("unshare");
    c.args(["--uts", "sh", "-c"])
        .arg(format!("hostname {hostname} && exec \"$0\" \"$@\""))
        .arg(program);
    c
}
