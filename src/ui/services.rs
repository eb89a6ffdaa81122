//! The Services view: every service group (from the inventory's or the metadata's `group`),
//! the worst exposed first, each with how many members run, its findings and what one host's
//! loss would do to it; under the group the cursor is on, its VMs with host, state and flags.

use super::Context;
use super::format::fit;
use super::state::UiState;
use super::state::services::Entry;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::services::Exposure;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

/// Draws the view; returns its page height and the cursor kept on the list.
pub fn draw(
    f: &mut Frame,
    area: Rect,
    fleet: &Fleet,
    ui: &UiState,
    cx: &Context,
) -> Option<(usize, usize)> {
    let theme = cx.theme;
    // Grouped before the frame (`UiState::refresh_services`): a frame only reads it.
    let l = &ui.services;
    let entries = l.entries(ui.service_open.as_deref());
    let down = l
        .services
        .iter()
        .filter(|s| s.exposure == Exposure::Down)
        .count();
    let one = l
        .services
        .iter()
        .filter(|s| matches!(s.exposure, Exposure::OneHost(_)))
        .count();
    let silent = l
        .services
        .iter()
        .filter(|s| s.exposure == Exposure::Silent)
        .count();
    let mut title = format!(" Services · {} groups", l.services.len());
    if down > 0 {
        title += &format!(" · {down} down");
    }
    if silent > 0 {
        title += &format!(" · {silent} unknown");
    }
    if one > 0 {
        title += &format!(" · {one} on one host");
    }
    if l.ungrouped > 0 {
        title += &format!(" · {} VMs in none", l.ungrouped);
    }
    // The keys only where the counts leave room for them.
    if title.chars().count() + 28 <= area.width as usize {
        title += " · Enter: show · Esc: back";
    }
    title.push(' ');
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Span::styled(title, theme.title()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    if l.services.is_empty() {
        let msg = "No service groups: a VM joins one through `group` in its inventory line or \
                   its fleetwatch metadata's approval.";
        f.render_widget(
            Paragraph::new(msg)
                .style(theme.dim())
                .wrap(ratatui::widgets::Wrap { trim: true }),
            inner,
        );
        return None;
    }
    let page = (inner.height as usize).max(1);
    let selected = ui.service_selected.min(entries.len() - 1);
    let start = (selected + 1).saturating_sub(page);
    let w = inner.width as usize;
    let name_w = if w >= 120 { 24 } else { 16 };
    let host_w = if w >= 120 { 14 } else { 10 };
    let lines: Vec<Line> = entries
        .iter()
        .enumerate()
        .skip(start)
        .take(page)
        .map(|(i, e)| {
            let line = match *e {
                Entry::Service(s) => {
                    let s = &l.services[s];
                    let head = format!(
                        "{} {:<name_w$} {:>3}/{:<3} running {:>4} findings  ",
                        if matches!(s.exposure, Exposure::Down | Exposure::Silent) {
                            '!'
                        } else {
                            ' '
                        },
                        fit(&s.name, name_w),
                        s.running,
                        s.members.len(),
                        s.findings,
                    );
                    let style = match s.exposure {
                        Exposure::Down | Exposure::Silent => theme.bad(),
                        Exposure::OneHost(_) => theme.warn(),
                        Exposure::Spread(_) => theme.good(),
                    };
                    let rest = w.saturating_sub(head.chars().count());
                    let mut risk = s.risk(fleet);
                    if risk.chars().count() > rest {
                        risk = s.risk_short(fleet);
                    }
                    Line::from(vec![
                        Span::styled(head, theme.header()),
                        Span::styled(fit(&risk, rest), style),
                    ])
                }
                Entry::Member(s, m) => {
                    let uuid = &l.services[s].members[m];
                    match fleet.vm(uuid) {
                        Some(vm) => {
                            let host = fleet.hosts.get(vm.host).map_or("?", |h| h.name.as_str());
                            let flags: String =
                                fleet.findings_of(uuid).map(|x| x.kind.badge()).collect();
                            Line::from(vec![
                                Span::raw(format!(
                                    "    {:<name_w$} {:<host_w$} {:<8} ",
                                    fit(&vm.name, name_w),
                                    fit(host, host_w),
                                    vm.state.label(),
                                )),
                                Span::styled(flags, theme.warn()),
                            ])
                        }
                        None => Line::styled(format!("    {uuid} (gone)"), theme.dim()),
                    }
                }
            };
            if i == selected {
                line.style(theme.selected())
            } else {
                line
            }
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
    Some((page, selected))
}
