//! The Findings view: every kind with its count, the worst first, and under the kind the cursor
//! is on, its findings, so the whole picture fits a small terminal. Enter on a kind shows its
//! VMs in the table; on a finding, its VM (or host).

use super::Context;
use super::format::fit;
use super::state::UiState;
use super::state::findings::{Entry, entries};
use super::theme::Theme;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::findings::Severity;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

pub fn severity_style(theme: Theme, s: Severity) -> ratatui::style::Style {
    match s {
        Severity::Critical => theme.bad(),
        Severity::Warning => theme.warn(),
    }
}

/// Draws the view; returns the cursor kept on the list, when there is one.
pub fn draw(f: &mut Frame, area: Rect, fleet: &Fleet, ui: &UiState, cx: &Context) -> Option<usize> {
    let theme = cx.theme;
    let acks = &cx.history.acks;
    let c = super::acked::live_counts(fleet, acks, &ui.maintenance);
    let mut aside = String::new();
    if c.acked > 0 {
        aside += &format!("· {} acknowledged ", c.acked);
    }
    if c.held > 0 {
        aside += &format!("· {} in maintenance ", c.held);
    }
    let title = format!(
        " Findings · {} critical · {} warning {aside}· Enter: show · Esc: back ",
        c.crit, c.warn
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Span::styled(title, theme.title()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let list = entries(fleet, ui.finding_open);
    if list.is_empty() {
        let msg = if fleet.problems.is_empty() {
            "No findings: every VM approved and backed up, no drift, no placement risk."
        } else {
            "No findings, but some could not be checked: see the banner."
        };
        f.render_widget(Paragraph::new(msg).style(theme.good()), inner);
        return None;
    }
    let selected = ui.finding_selected.min(list.len() - 1);
    let page = inner.height as usize;
    // Every kind's line stays on screen; the open kind's findings get the rows left over, in a
    // window that follows the cursor.
    let groups = list
        .iter()
        .filter(|e| matches!(e, Entry::Group { .. }))
        .count();
    let room = page.saturating_sub(groups).max(1);
    let items: Vec<usize> = (0..list.len())
        .filter(|&i| matches!(list[i], Entry::Item(_)))
        .collect();
    // `items` is in ascending order: found by binary search, not a scan per line (a kind can
    // hold every VM of a 50,000-VM fleet).
    let at = items.binary_search(&selected).unwrap_or(0);
    let start = at
        .saturating_sub(room - 1)
        .min(items.len().saturating_sub(room));
    let shown: Vec<usize> = (0..list.len())
        .filter(|i| match list[*i] {
            Entry::Group { .. } => true,
            Entry::Item(_) => items
                .binary_search(i)
                .is_ok_and(|k| k >= start && k < start + room),
        })
        .collect();
    let w = inner.width as usize;
    let name_w = if w >= 120 { 24 } else { 16 };
    let host_w = if w >= 120 { 14 } else { 10 };
    let lines: Vec<Line> = shown
        .iter()
        .map(|&i| (i, &list[i]))
        .map(|(i, e)| {
            let line = match e {
                Entry::Group {
                    kind,
                    count,
                    severity,
                } => Line::from(vec![
                    Span::styled(
                        format!("{} {:<18}", kind.badge(), kind.name()),
                        severity_style(theme, *severity),
                    ),
                    Span::styled(format!("{count:>4}  {}", severity.name()), theme.header()),
                ]),
                Entry::Item(x) => {
                    let who = fit(x.vm.as_deref().unwrap_or("-"), name_w);
                    let host = fit(x.host.as_deref().unwrap_or(""), host_w);
                    let rest = w.saturating_sub(name_w + host_w + 4);
                    // Someone handles it: dimmed whole, and who, since when and why
                    // instead of the detail (the detail pane of its VM still has it).
                    let aside = super::acked::of(acks, x)
                        .map(super::acked::describe)
                        .or_else(|| {
                            super::acked::held(&ui.maintenance, x)
                                .map(|m| format!("maintenance {m}: {}", x.detail))
                        });
                    match aside {
                        Some(a) => Line::from(vec![Span::styled(
                            format!("  {who:<name_w$} {host:<host_w$} {}", fit(&a, rest)),
                            theme.dim(),
                        )]),
                        None => Line::from(vec![
                            Span::raw(format!("  {who:<name_w$} {host:<host_w$} ")),
                            Span::styled(fit(&x.detail, rest), theme.dim()),
                        ]),
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
    Some(selected)
}
