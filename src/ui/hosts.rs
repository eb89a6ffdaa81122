//! The hosts pane: one line per host with its state, VM count, CPU and memory bars and
//! overcommit, or, for a host that is not up, why.

use super::format::{age, fit, millis, percent, ratio};
use super::state::{Focus, UiState};
use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::findings::Severity;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

/// A host this far away is shown as slow, with its round-trip time, in the line's main part:
/// it explains long polls (and a stale badge) before anyone suspects the host is failing.
pub const SLOW_RTT_MICROS: u64 = 50_000;

pub fn bar(pct: Option<f64>, width: usize) -> String {
    let filled = pct.map_or(0, |p| {
        ((p.clamp(0.0, 100.0) / 100.0) * width as f64).round() as usize
    });
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

fn badge(l: LinkState) -> &'static str {
    match l {
        LinkState::Up => " UP  ",
        LinkState::Stale => "STALE",
        LinkState::Down => "DOWN ",
        LinkState::Connecting => "CONN ",
    }
}

pub fn draw(f: &mut Frame, area: Rect, fleet: &Fleet, ui: &UiState, cx: &super::Context) {
    let (theme, now) = (cx.theme, cx.now);
    let focused = ui.focus == Focus::Hosts;
    let mut title = match ui.host_filter {
        Some(h) => format!(
            " Hosts · showing only {} (Enter/Esc: all) ",
            fleet.hosts[h].name
        ),
        None => " Hosts ".to_owned(),
    };
    if let Some(t) = ui.historical {
        let t = chrono::DateTime::from_timestamp_millis(t).unwrap_or_default();
        title.push_str(&format!(
            "· as of {} ",
            fleetwatch_core::history::time::show(t)
        ));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Span::styled(title, theme.title()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let w = inner.width as usize;
    let name_w = fleet
        .hosts
        .iter()
        .map(|h| h.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 18);
    let bar_w = if w >= 110 {
        16
    } else if w >= 90 {
        10
    } else {
        6
    };
    // A group column only where the config gives hosts groups.
    let group_w = fleet
        .hosts
        .iter()
        .filter_map(|h| h.group.as_ref().map(|g| g.chars().count().min(12)))
        .max();
    let visible = inner.height as usize;
    let first = ui.hosts_first(visible, fleet.hosts.len());
    let mut lines = Vec::new();
    for (i, h) in fleet.hosts.iter().enumerate().skip(first).take(visible) {
        // Evacuated and not yet returned (by anyone: the store keeps it): more than "up".
        let maint = h.link == LinkState::Up && ui.maintenance.contains_key(&h.name);
        let mut spans = vec![
            match maint {
                true => Span::styled("MAINT", theme.warn()),
                false => Span::styled(badge(h.link), theme.link(h.link)),
            },
            Span::raw(" "),
            Span::raw(format!("{:<name_w$} ", fit(&h.name, name_w))),
        ];
        if let Some(gw) = group_w {
            let g = h.group.as_deref().unwrap_or("");
            let style = if g.is_empty() {
                theme.plain()
            } else {
                cx.group_style(g)
            };
            spans.push(Span::styled(format!("{:<gw$}", fit(g, gw)), style));
            spans.push(Span::raw(" "));
        }
        // Host findings (F failover capacity, O overcommit) right after the name.
        let flags: String = h.flags.iter().map(|k| k.badge()).collect();
        let crit = h
            .flags
            .iter()
            .any(|k| fleet.severities.get(k) == Some(&Severity::Critical));
        spans.push(Span::styled(
            format!("{flags:<2} "),
            if crit { theme.bad() } else { theme.warn() },
        ));
        match h.link {
            LinkState::Up | LinkState::Stale => {
                let t = &h.totals;
                let mem_pct = t.memory_used.and_then(|u| {
                    let m = h.memory_bytes();
                    (m > 0).then(|| u as f64 / m as f64 * 100.0)
                });
                let vms = if w >= 90 { " VMs " } else { " " };
                spans.push(Span::raw(format!("{:>3}/{:<3}{vms}", t.running, t.vms)));
                spans.push(Span::raw("CPU "));
                spans.push(Span::styled(
                    bar(t.cpu_percent, bar_w),
                    theme.load(t.cpu_percent),
                ));
                spans.push(Span::raw(format!(" {:>5}% ", percent(t.cpu_percent))));
                spans.push(Span::raw("MEM "));
                spans.push(Span::styled(bar(mem_pct, bar_w), theme.load(mem_pct)));
                spans.push(Span::raw(format!(" {:>5}% ", percent(mem_pct))));
                let vo = h.vcpu_overcommit();
                let mo = h.memory_overcommit();
                let oc_style = if vo.is_some_and(|v| v > 4.0) || mo.is_some_and(|m| m > 1.0) {
                    theme.warn()
                } else {
                    theme.dim()
                };
                // The tail goes in whole or not at all, never cut to a stray letter; a stale
                // host's age first, as it matters more than overcommit.
                let fits = |spans: &[Span], s: &Span| {
                    spans.iter().map(Span::width).sum::<usize>() + s.width() <= w
                };
                if h.link == LinkState::Stale {
                    let a = h
                        .last_sample_at
                        .map(|t| age(now.saturating_duration_since(t)));
                    let stale = Span::styled(
                        format!("last data {} ago ", a.unwrap_or("-".into())),
                        theme.warn(),
                    );
                    if fits(&spans, &stale) {
                        spans.push(stale);
                    }
                }
                let slow = h.rtt_micros.filter(|&r| r >= SLOW_RTT_MICROS);
                if let Some(r) = slow {
                    let s = Span::styled(format!("slow: rtt {} ", millis(r)), theme.warn());
                    if fits(&spans, &s) {
                        spans.push(s);
                    }
                }
                let oc = Span::styled(format!("vCPU {} mem {}", ratio(vo), ratio(mo)), oc_style);
                if fits(&spans, &oc) {
                    spans.push(oc);
                }
                // Room to spare: what an operator checks next about a host.
                let info = h.info.as_deref();
                let mut extra = format!(
                    "   {} · {} {} · libvirt {}",
                    info.map_or("", |i| i.hostname.as_str()),
                    info.map_or("", |i| i.driver.as_str()),
                    info.map_or("", |i| i.hypervisor_version.as_str()),
                    info.map_or("", |i| i.libvirt_version.as_str()),
                );
                if let Some(us) = h.poll_micros {
                    extra.push_str(&format!(" · poll {:.1}ms", us as f64 / 1000.0));
                }
                if let Some(r) = h.rtt_micros.filter(|_| slow.is_none()) {
                    extra.push_str(&format!(" · rtt {}", millis(r)));
                }
                if let Some(n) = h.configs_pending.filter(|&n| n > 0) {
                    extra.push_str(&format!(" · {n} XML pending"));
                }
                if let Some(l) = &h.local {
                    extra.push_str(&format!(" · load {:.2}", l.load[0]));
                }
                let extra = Span::styled(extra, theme.dim());
                if fits(&spans, &extra) {
                    spans.push(extra);
                }
            }
            LinkState::Down => {
                let a = h
                    .last_sample_at
                    .map(|t| format!(" (last data {} ago)", age(now.saturating_duration_since(t))))
                    .unwrap_or_default();
                // The cause in plain words where it is a known one; the whole text, the next
                // step and the retry time are in the host detail (Enter).
                let raw = h.error.as_deref().unwrap_or("unreachable");
                let e = fleetwatch_core::diagnose::explain(&h.uri, raw)
                    .map_or_else(|| raw.to_owned(), |x| x.reason);
                let retry = h
                    .retry
                    .map(|r| {
                        let s = r.at.saturating_duration_since(now).as_secs_f64().ceil();
                        format!(" · retry in {s}s")
                    })
                    .unwrap_or_default();
                // Cut with an ellipsis, so a clipped error does not read as a whole one.
                let room = w.saturating_sub(spans.iter().map(Span::width).sum());
                spans.push(Span::styled(
                    fit(&format!("{e}{retry}{a}"), room),
                    theme.bad(),
                ));
            }
            LinkState::Connecting => spans.push(Span::styled(
                format!("connecting to {}", h.uri),
                theme.dim(),
            )),
        }
        let mut line = Line::from(spans);
        if focused && i == ui.host_selected {
            line = line.style(theme.selected());
        } else if ui.host_filter == Some(i) {
            line = line.style(theme.header());
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);
}
