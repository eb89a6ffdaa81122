//! The footer line: what is being typed (filter, command), else the last message, else the
//! keys that work here.

use super::state::{Overlay, UiState, View};
use super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// `hosts_pane` is where this frame drew the hosts pane: a wall says which of them it shows.
pub fn draw(f: &mut Frame, area: Rect, ui: &UiState, hosts: usize, hosts_pane: Rect, t: Theme) {
    let line = match &ui.overlay {
        Overlay::Filter { .. } => {
            let text = if ui.filter_selected() {
                Span::styled(ui.filter_text.clone(), t.selected())
            } else {
                Span::raw(ui.filter_text.clone())
            };
            let mut spans = vec![Span::styled("/", t.title()), text, Span::raw("█")];
            if let Some(e) = &ui.filter_error {
                spans.push(Span::styled(format!("  {e}"), t.bad()));
            } else {
                spans.push(Span::styled(
                    "  Enter keep · Esc cancel · ^U clear · ~ regex",
                    t.dim(),
                ));
            }
            Line::from(spans)
        }
        Overlay::Command(c) => Line::from(vec![
            Span::styled(":", t.title()),
            Span::raw(c.clone()),
            Span::raw("█"),
            Span::styled(
                "  sort COL · host NAME|all · filter TEXT · help · q",
                t.dim(),
            ),
        ]),
        _ => match &ui.message {
            Some(m) => Line::styled(m.clone(), t.warn()),
            // A wall takes no orders but these two.
            None if ui.wall.is_some() => {
                let visible = hosts_pane.height.saturating_sub(2) as usize;
                let page = ui
                    .wall_hosts_shown(visible, hosts)
                    .map(|p| format!(" {p}, the next with the view ·"))
                    .unwrap_or_default();
                let space = if ui.wall == Some(true) {
                    "space resumes the cycle"
                } else {
                    "space pauses the cycle"
                };
                Line::styled(format!("{page} q quits · {space}"), t.dim())
            }
            None if ui.view == View::Services => Line::styled(
                " ↑↓ move  Enter show the VM  Esc back  f findings  H history  ? help",
                t.dim(),
            ),
            None if ui.view == View::History => Line::styled(
                " ↑↓ move  Tab all/migrations/hosts  / filter  :history SPAN  Esc back  ? help",
                t.dim(),
            ),
            None => Line::styled(
                " ? help  / filter  : cmd  f findings  Tab pane  i detail  s sort  q quit",
                t.dim(),
            ),
        },
    };
    f.render_widget(Paragraph::new(line), area);
}
