//! The header line: hosts, VMs, load, findings, how old the data is, and the mode. Its parts are
//! said in full where they fit and shortened, then dropped (load first), where they do not: the
//! data's age and the mode (read-only, actions, REC) are never the ones that go.

use super::Context;
use super::format::{age, percent};
use super::state::{UiState, View};
use super::theme::Theme;
use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::Fleet;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::time::Instant;
use unicode_width::UnicodeWidthStr;

/// One part of the header, in full and short.
struct Part {
    full: String,
    short: String,
    style: Style,
    /// Dropped in this order (lowest first) when even the short forms do not fit.
    drop: Option<u8>,
    /// Shortened before the others: its short form says as much.
    terse: bool,
}

fn part(full: String, short: String, style: Style, drop: Option<u8>) -> Part {
    Part {
        full,
        short,
        style,
        drop,
        terse: false,
    }
}

/// How old the data is: that of the up host heard from longest ago, so one lagging host cannot
/// hide behind fresh ones, and how many hosts have gone stale.
pub fn data_age(fleet: &Fleet, now: Instant) -> (String, String, usize) {
    let stale = fleet
        .hosts
        .iter()
        .filter(|h| h.link == LinkState::Stale)
        .count();
    let oldest_up = fleet
        .hosts
        .iter()
        .filter(|h| h.link == LinkState::Up)
        .filter_map(|h| h.last_sample_at)
        .min();
    let newest = fleet.hosts.iter().filter_map(|h| h.last_sample_at).max();
    let ago = |t: Instant| age(now.saturating_duration_since(t));
    let (full, short) = match (oldest_up, newest) {
        (Some(t), _) => (format!("data {} ago", ago(t)), format!("{} ago", ago(t))),
        // Nobody answers now: how old the freshest of what is shown is.
        (None, Some(t)) => (
            format!("last data {} ago", ago(t)),
            format!("last {} ago", ago(t)),
        ),
        (None, None) => ("no data yet".to_owned(), "no data".to_owned()),
    };
    if stale == 0 {
        (full, short, 0)
    } else {
        (
            format!("{full} · {stale} stale"),
            format!("{short} {stale} stale"),
            stale,
        )
    }
}

fn mode_text(cx: &Context, ui: &UiState, wide: bool) -> String {
    let mut m = if wide {
        cx.mode.to_owned()
    } else {
        cx.mode
            .replace(" · read-only", " RO")
            .replace("read-only", "RO")
            .replace(" · actions on", " ACT")
            .replace("actions on ", "ACT ")
            .replace(" host(s)", "")
    };
    if let Some(s) = &cx.history.status {
        m.push_str(if wide { " · " } else { " " });
        m.push_str(&s.short());
    }
    // Updates a host replaced before the UI took them: the UI fell behind its collectors.
    if ui.merged > 0 {
        m.push_str(&if wide {
            format!(" · {} updates merged (UI behind)", ui.merged)
        } else {
            format!(" {}M", ui.merged)
        });
    }
    m
}

fn counts_style(crit: usize, warn: usize, t: Theme) -> Style {
    match (crit, warn) {
        (0, 0) => t.good(),
        (0, _) => t.warn(),
        _ => t.bad(),
    }
}

fn parts(fleet: &Fleet, ui: &UiState, cx: &Context) -> Vec<Part> {
    let t = cx.theme;
    let up = fleet.hosts_up();
    let down = fleet
        .hosts
        .iter()
        .filter(|h| h.link == LinkState::Down)
        .count();
    let (mut busy, mut cpus, mut used, mut mem) = (0.0, 0.0, 0.0, 0.0);
    for h in fleet.hosts.iter().filter(|h| h.link == LinkState::Up) {
        if let Some(c) = h.totals.cpu_percent {
            busy += c * f64::from(h.cpus());
            cpus += f64::from(h.cpus());
        }
        if let Some(u) = h.totals.memory_used {
            used += u as f64;
            mem += h.memory_bytes() as f64;
        }
    }
    let cpu = (cpus > 0.0).then(|| busy / cpus);
    let mem_pct = (mem > 0.0).then(|| used / mem * 100.0);
    let hosts_style = if down > 0 {
        t.bad()
    } else if up < fleet.hosts.len() {
        t.warn()
    } else {
        t.good()
    };
    let n = fleet.hosts.len();
    let (running, vms) = (ui.running, fleet.vm_count());
    let load = |name: &str, p: Option<f64>, drop: u8| {
        let full = p.map_or(format!("{name} -"), |_| format!("{name} {}%", percent(p)));
        let short = p.map_or(format!("{name} -"), |p| format!("{name} {p:.0}%"));
        part(full, short, t.load(p), Some(drop))
    };
    // Acknowledged findings are someone's already: the counts are of those nobody handles.
    let c = super::acked::live_counts(fleet, &cx.history.acks, &ui.maintenance);
    let (crit, warn) = (c.crit, c.warn);
    let aside = |ack: &str, maint: &str| {
        let mut s = String::new();
        if c.acked > 0 {
            s += &format!(" {}{ack}", c.acked);
        }
        if c.held > 0 {
            s += &format!(" {}{maint}", c.held);
        }
        s
    };
    let findings = if ui.historical.is_some() {
        // Findings are about now: the past fleet's would be about other backups and rules.
        part(
            "findings: live only".into(),
            "findings live".into(),
            t.dim(),
            Some(3),
        )
    } else if !fleet.settled() {
        // Findings that compare hosts are held back until every host answered once: say so,
        // so a short count is not read as a healthy fleet.
        let n = fleet.unsettled();
        part(
            format!("findings {crit} crit {warn} warn · waiting for {n} host(s)"),
            format!("{crit}C {warn}W wait {n}"),
            t.warn(),
            Some(3),
        )
    } else {
        part(
            format!(
                "findings {crit} crit {warn} warn{}",
                aside(" ack", " maint")
            ),
            format!("{crit}C {warn}W{}", aside("A", "M")),
            counts_style(crit, warn, t),
            Some(3),
        )
    };
    let when = match ui.historical {
        // Nobody may mistake the past for the present: loud, and with the time.
        Some(ms) => {
            let at = fleetwatch_core::history::time::show(
                chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default(),
            );
            let loud = t.selected().add_modifier(Modifier::BOLD);
            part(
                format!(" HISTORICAL {at} "),
                format!("HISTORICAL {at}"),
                loud,
                None,
            )
        }
        None => {
            let (full, short, stale) = data_age(fleet, cx.now);
            let style = if stale > 0 { t.warn() } else { t.plain() };
            part(full, short, style, None)
        }
    };
    // The selected VM's host group, in its colour: production never looks like the lab.
    let group = ui
        .selected_uuid()
        .and_then(|u| fleet.vm(u))
        .and_then(|vm| fleet.hosts[vm.host].group.clone())
        .map(|g| part(format!(" {g} "), g.clone(), cx.group_style(&g), None));
    let mut parts = vec![
        part("fleetwatch".into(), "fleetwatch".into(), t.title(), None),
        part(
            format!("hosts {up}/{n} up"),
            format!("hosts {up}/{n}"),
            hosts_style,
            None,
        ),
        part(
            format!("VMs {running}/{vms} running"),
            format!("VMs {running}/{vms}"),
            t.plain(),
            Some(2),
        ),
        load("CPU", cpu, 0),
        load("MEM", mem_pct, 1),
        Part {
            terse: true,
            ..findings
        },
        when,
    ];
    parts.extend(group);
    parts.push(Part {
        terse: true,
        ..part(
            mode_text(cx, ui, true),
            mode_text(cx, ui, false),
            t.warn(),
            None,
        )
    });
    parts
}

/// How much of the header is said short.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Words {
    Full,
    /// The mode and the finding counts short, the rest in full.
    Terse,
    Short,
}

/// The parts as one line: in full with roomy separators, in full, with the terse parts short,
/// all short, then short with the droppable parts gone one by one, whichever fits first.
fn fit_line(parts: &[Part], width: usize, dim: Style) -> Line<'static> {
    let build = |words: Words, roomy: bool, dropped: u8| -> Line<'static> {
        let sep = if roomy { " │ " } else { "│" };
        let mut spans = Vec::new();
        if roomy {
            spans.push(Span::raw(" "));
        }
        let shown = parts.iter().filter(|p| p.drop.is_none_or(|d| d >= dropped));
        for (i, p) in shown.enumerate() {
            if i > 0 {
                spans.push(Span::styled(sep, dim));
            }
            let short = words == Words::Short || (words == Words::Terse && p.terse);
            let text = if short { &p.short } else { &p.full };
            spans.push(Span::styled(text.clone(), p.style));
        }
        Line::from(spans)
    };
    let fits = |l: &Line| l.spans.iter().map(|s| s.content.width()).sum::<usize>() <= width;
    let mut tries = vec![
        build(Words::Full, true, 0),
        build(Words::Full, false, 0),
        build(Words::Terse, false, 0),
    ];
    tries.extend((0..=4).map(|dropped| build(Words::Short, false, dropped)));
    let last = tries.pop().unwrap_or_default();
    tries.into_iter().find(fits).unwrap_or(last)
}

pub fn draw(f: &mut Frame, area: Rect, fleet: &Fleet, ui: &UiState, cx: &Context) {
    let line = fit_line(&parts(fleet, ui, cx), area.width as usize, cx.theme.dim());
    f.render_widget(Paragraph::new(line), area);
}

/// The wall display's summary, big enough to read across a room: the counts that matter and
/// the time, on a bar of its own.
pub fn draw_wall(f: &mut Frame, area: Rect, fleet: &Fleet, ui: &UiState, cx: &Context) {
    let t = cx.theme;
    let up = fleet.hosts_up();
    let c = super::acked::live_counts(fleet, &cx.history.acks, &ui.maintenance);
    let (crit, warn) = (c.crit, c.warn);
    let (_, _, stale) = data_age(fleet, cx.now);
    let bad = up < fleet.hosts.len() || crit > 0;
    let style =
        if bad { t.bad() } else { t.good() }.add_modifier(Modifier::BOLD | Modifier::REVERSED);
    let view = match ui.view {
        View::Vms => "overview",
        View::Findings => "findings",
        View::Services => "services",
        View::History => "recent migrations",
    };
    let paused = if ui.wall == Some(true) {
        " · cycling paused"
    } else {
        ""
    };
    let n = fleet.hosts.len();
    let (running, vms) = (ui.running, fleet.vm_count());
    let clock = chrono::Local::now().format("%H:%M:%S");
    let stale = (stale > 0).then(|| format!("{stale} STALE"));
    let w = area.width as usize;
    let says = |words: [&str; 4], sep: &str| {
        let mut all: Vec<&str> = vec![words[0]];
        all.extend(stale.as_deref());
        all.extend(&words[1..]);
        format!("  {}", all.join(sep))
    };
    let clock = clock.to_string();
    let tries = [
        says(
            [
                &format!("HOSTS {up}/{n} UP"),
                &format!("VMS {running}/{vms} RUNNING"),
                &format!("FINDINGS {crit} CRITICAL {warn} WARNING"),
                &clock,
            ],
            "    ",
        ),
        says(
            [
                &format!("HOSTS {up}/{n} UP"),
                &format!("VMS {running}/{vms} RUNNING"),
                &format!("{crit} CRIT {warn} WARN"),
                &clock,
            ],
            "  ",
        ),
        says(
            [
                &format!("HOSTS {up}/{n}"),
                &format!("VMS {running}/{vms}"),
                &format!("{crit}C {warn}W"),
                &clock,
            ],
            " ",
        ),
    ];
    let text = tries
        .iter()
        .find(|s| s.width() <= w)
        .or(tries.last())
        .cloned()
        .unwrap_or_default();
    let lines = vec![
        Line::styled(" ".repeat(w), style),
        Line::styled(format!("{text:<w$}"), style),
        Line::styled(
            format!("{:<w$}", format!("  fleetwatch wall · {view}{paused}")),
            style,
        ),
    ];
    f.render_widget(Paragraph::new(lines), area);
}
