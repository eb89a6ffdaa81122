//! What the kernel says about a process: CPU time (whole and per thread), memory, threads.
//! Everything is read from /proc; a file that cannot be read (the process just exited) is
//! None, never a panic.

use std::collections::HashMap;

pub fn ticks_per_second() -> f64 {
    rustix::param::clock_ticks_per_second() as f64
}

/// The fields of a `stat` line after the command name, which is in parentheses and may itself
/// hold spaces and parentheses.
fn stat_fields(text: &str) -> Option<(String, Vec<&str>)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_owned();
    Some((name, text.get(close + 1..)?.split_whitespace().collect()))
}

fn field(fields: &[&str], n: usize) -> Option<u64> {
    // proc(5) numbers fields from 1, and the name is field 2: field n is fields[n - 3].
    fields.get(n.checked_sub(3)?)?.parse().ok()
}

/// utime + stime of a whole process (every thread, living or exited), in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, f) = stat_fields(&text)?;
    Some(field(&f, 14)? + field(&f, 15)?)
}

/// cutime + cstime of this process: what its reaped children used, in clock ticks.
pub fn reaped_children_ticks() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    let (_, f) = stat_fields(&text)?;
    Some(field(&f, 16)? + field(&f, 17)?)
}

/// Every thread of `pid`: id -> (name, utime + stime ticks).
pub fn threads(pid: u32) -> HashMap<u32, (String, u64)> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        // A thread may end between the listing and the read.
        let Ok(text) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        if let Some((name, f)) = stat_fields(&text)
            && let (Some(u), Some(s)) = (field(&f, 14), field(&f, 15))
        {
            out.insert(tid, (name, u + s));
        }
    }
    out
}

#[derive(Clone, Copy, Default)]
pub struct Status {
    pub rss_kib: u64,
    pub hwm_kib: u64,
    pub threads: u64,
}

pub fn status(pid: u32) -> Option<Status> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mut s = Status::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let n = || v.split_whitespace().next().and_then(|x| x.parse().ok());
        match k {
            "VmRSS" => s.rss_kib = n()?,
            "VmHWM" => s.hwm_kib = n()?,
            "Threads" => s.threads = n()?,
            _ => {}
        }
    }
    Some(s)
}

/// The name of a process (what it exec'd last).
pub fn comm(pid: u32) -> Option<String> {
    Some(
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .ok()?
            .trim()
            .to_owned(),
    )
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| {
            Some(s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "?".into())
}

/// CPU per thread group between two readings, as % of one core over `secs`. Threads are
/// grouped by the part of their name before the first '-' (`collect-hv-ams-0001` counts as
/// `collect-*`), since per-host threads one by one would say nothing; the thread whose id is
/// the pid (the UI loop) stands alone. Busiest first.
pub fn thread_groups(
    pid: u32,
    before: &HashMap<u32, (String, u64)>,
    after: &HashMap<u32, (String, u64)>,
    secs: f64,
) -> Vec<(String, usize, f64)> {
    let mut groups: HashMap<String, (usize, u64)> = HashMap::new();
    for (tid, (name, t)) in after {
        // A thread born during the window counts from zero; one that died is lost (its time
        // is still in the process total).
        let used = t.saturating_sub(before.get(tid).map_or(0, |b| b.1));
        let key = if *tid == pid {
            format!("{name} (main: UI loop)")
        } else {
            match name.split_once('-') {
                Some((head, _)) => format!("{head}-*"),
                None => name.clone(),
            }
        };
        let g = groups.entry(key).or_default();
        g.0 += 1;
        g.1 += used;
    }
    let ticks = ticks_per_second();
    let mut v: Vec<_> = groups
        .into_iter()
        .map(|(k, (n, t))| (k, n, t as f64 / ticks / secs * 100.0))
        .collect();
    v.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    v
}
