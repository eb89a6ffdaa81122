//! The host detail (Enter or `i` on a host): how it is reached, its state since when, the whole
//! error with what to do next, when the next attempt starts, and what it runs. The hosts pane
//! has one line per host; this is where the full story goes.

use super::format::{age, bytes, millis};
use super::theme::Theme;
use fleetwatch_core::diagnose;
use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::fleet::Host;
use fleetwatch_core::transport::{self, Transport};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use std::time::Instant;

fn row<'a>(label: &'a str, value: String, style: ratatui::style::Style) -> Line<'a> {
    Line::from(vec![
        Span::raw(format!("{label:<11}")),
        Span::styled(value, style),
    ])
}

/// The text of the detail, one entry per line (wrapped when drawn).
pub fn lines<'a>(h: &'a Host, theme: Theme, now: Instant) -> Vec<Line<'a>> {
    let plain = theme.plain();
    let via = Transport::of(&h.uri);
    let mut out = vec![
        row("uri", transport::redact(&h.uri), plain),
        row("transport", via.label().to_owned(), plain),
    ];
    let since = h.state_since.map_or(String::new(), |t| {
        let ago = (chrono::Utc::now() - t).to_std().unwrap_or_default();
        format!(
            " since {} ({} ago)",
            fleetwatch_core::history::time::show(t),
            age(ago)
        )
    });
    out.push(row(
        "state",
        format!("{}{since}", h.link.label().to_uppercase()),
        theme.link(h.link),
    ));
    if let Some(e) = &h.error {
        if let Some(x) = diagnose::explain(&h.uri, e) {
            out.push(row("why", x.reason, theme.bad()));
            out.push(row("next", x.next, plain));
        }
        out.push(row("error", e.clone(), theme.bad()));
    }
    if let Some(r) = h.retry.filter(|_| h.link == LinkState::Down) {
        let secs = r.at.saturating_duration_since(now).as_secs_f64().ceil() as u64;
        out.push(row(
            "retry",
            format!("attempt {} failed; next in {secs}s (F5: now)", r.attempts),
            theme.warn(),
        ));
    }
    if let Some(t) = h.last_sample_at {
        out.push(row(
            "last data",
            format!("{} ago", age(now.saturating_duration_since(t))),
            plain,
        ));
    }
    // What a host never reported is unknown, not zero.
    let never = if h.last_sample_at.is_none() {
        "- (never reported)"
    } else {
        "-"
    };
    if h.info.is_none() {
        out.push(row("host", never.to_owned(), theme.dim()));
    }
    if let Some(i) = h.info.as_deref() {
        out.push(row(
            "host",
            format!(
                "{} · {} cpus {} MHz {} · {}",
                i.hostname,
                i.cpus,
                i.mhz,
                i.cpu_model,
                bytes(Some(i.memory_bytes))
            ),
            plain,
        ));
        out.push(row(
            "versions",
            format!(
                "libvirt {} · {} {}",
                i.libvirt_version, i.driver, i.hypervisor_version
            ),
            plain,
        ));
    }
    if let Some(us) = h.poll_micros {
        let mut cost = format!("{:.1} ms", us as f64 / 1000.0);
        if let Some(c) = h.calls {
            cost.push_str(&format!(", {c} round trips"));
        }
        if let Some(r) = h.rtt_micros {
            cost.push_str(&format!(" · rtt {}", millis(r)));
        }
        if let Some(p) = h.configs_pending.filter(|&p| p > 0) {
            cost.push_str(&format!(" · {p} VM configs still to read"));
        }
        out.push(row("poll", cost, plain));
    }
    let vms = format!("{} running of {}", h.totals.running, h.totals.vms);
    out.push(match (h.last_sample_at, h.link) {
        (None, _) => row("vms", never.to_owned(), theme.dim()),
        (Some(_), LinkState::Up) => row("vms", vms, plain),
        (Some(_), _) => row("vms", format!("{vms} when last heard from"), plain),
    });
    out.push(Line::styled(
        "Enter: only its VMs · F5: retry now · ↑↓: other host · Esc: close",
        theme.dim(),
    ));
    out
}

pub fn draw(f: &mut Frame, area: Rect, fleet: &Fleet, i: usize, theme: Theme, now: Instant) {
    let Some(h) = fleet.hosts.get(i) else { return };
    let w = area.width.min(100);
    let body = lines(h, theme, now);
    // Room for wrapped lines: a generous estimate, clipped to the screen.
    let inner_w = w.saturating_sub(2).max(1) as usize;
    let needed: usize = body
        .iter()
        .map(|l| l.width().div_ceil(inner_w).max(1))
        .sum();
    let hgt = (needed as u16 + 2).min(area.height);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - hgt) / 2,
        width: w,
        height: hgt,
    };
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Span::styled(format!(" Host {} ", h.name), theme.title()));
    f.render_widget(
        Paragraph::new(body).block(block).wrap(Wrap { trim: false }),
        r,
    );
}
