//! Actions as drawn: the menu, the target and snapshot forms, the confirmation pane on top.
//! Their state and keys are in `state::actions`.

use super::bindings;
use super::state::scroll::Scroll;
use super::state::{Overlay, UiState};
use super::theme::Theme;
use fleetwatch_core::model::Fleet;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

pub(super) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

pub(super) fn popup(
    f: &mut Frame,
    r: Rect,
    title: String,
    lines: Vec<Line<'static>>,
    theme: Theme,
) {
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Span::styled(title, theme.title()));
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        r,
    );
}

/// Draws the open action pane; returns the confirmation pane's scroll, when that is open.
pub fn draw_overlay(
    f: &mut Frame,
    area: Rect,
    ui: &UiState,
    fleet: &Fleet,
    theme: Theme,
) -> Option<Scroll> {
    let targets = ui.action_targets();
    let who = match targets.len() {
        0 => "nothing selected".to_owned(),
        1 => fleet
            .vm(&targets[0])
            .map_or("?".into(), |v| format!("{} ({})", v.name, v.state.label())),
        n => format!("{n} marked VMs"),
    };
    match &ui.overlay {
        Overlay::Menu => {
            let mut lines = vec![
                Line::styled(format!("for {who}"), theme.dim()),
                Line::raw(""),
            ];
            // Keys as configured in [keys]: the ones that work here.
            for (key, label, _) in bindings::menu(&ui.action_keys) {
                lines.push(Line::from(vec![
                    Span::styled(format!(" {key}  "), theme.title()),
                    Span::raw(label),
                ]));
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                "Each opens a confirmation first. Esc: close",
                theme.dim(),
            ));
            popup(
                f,
                centered(area, 60, lines.len() as u16 + 2),
                " Actions ".into(),
                lines,
                theme,
            );
        }
        Overlay::Target(form) => {
            let from = targets.first().and_then(|u| fleet.vm(u)).map(|v| v.host);
            let mut lines = vec![Line::styled(format!("migrate {who} to:"), theme.dim())];
            for (i, h) in fleet.hosts.iter().enumerate() {
                let free = h
                    .free_memory_bytes
                    .map_or("-".into(), |b| format!("{} MiB free", b >> 20));
                let mark = if Some(i) == from { " (here)" } else { "" };
                let text = format!(" {:<16} {:<6} {free}{mark}", h.name, h.link.label());
                let line = Line::raw(text);
                lines.push(if i == form.selected {
                    line.style(theme.selected())
                } else {
                    line
                });
            }
            lines.push(Line::raw(""));
            lines.push(Line::raw(format!(
                " [{}] copy local disks too (c)",
                if form.copy_storage { "x" } else { " " }
            )));
            lines.push(Line::styled(
                "↑↓ choose · Enter: review · Esc: cancel",
                theme.dim(),
            ));
            popup(
                f,
                centered(area, 70, lines.len() as u16 + 2),
                " Migrate ".into(),
                lines,
                theme,
            );
        }
        Overlay::Ack(form) => {
            let field = |label: &str, v: &str, on: bool| form_field(label, v, on, theme);
            let lines = vec![
                Line::styled(
                    format!("acknowledge {} of {}", form.kind, form.label),
                    theme.title(),
                ),
                Line::styled(
                    "it stays listed, dimmed, and raises no status until it expires or clears",
                    theme.dim(),
                ),
                field("why", &form.reason, !form.on_lasts),
                field("for", &form.lasts, form.on_lasts),
                Line::styled(
                    "Tab: next field · Enter: acknowledge · Esc: cancel",
                    theme.dim(),
                ),
            ];
            popup(
                f,
                centered(area, 76, 7),
                " Acknowledge ".into(),
                lines,
                theme,
            );
        }
        Overlay::Snapshot(form) => {
            let field = |label: &str, v: &str, on: bool| form_field(label, v, on, theme);
            let lines = vec![
                Line::styled(format!("snapshot of {who}"), theme.dim()),
                field("name", &form.name, !form.on_description),
                field("description", &form.description, form.on_description),
                Line::styled("Tab: next field · Enter: review · Esc: cancel", theme.dim()),
            ];
            popup(f, centered(area, 70, 6), " Snapshot ".into(), lines, theme);
        }
        Overlay::Confirm(pane) => {
            return Some(super::confirm::draw(f, area, pane, theme, ui.scroll.top));
        }
        _ => {}
    }
    None
}

/// One line of a form: its label, and the text typed so far with the cursor.
fn form_field(label: &str, v: &str, on: bool, theme: Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!(" {label:<12}"), theme.dim()),
        Span::styled(
            format!("{v}█"),
            if on { theme.selected() } else { theme.plain() },
        ),
    ])
}
