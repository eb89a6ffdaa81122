//! The corner pane of actions running and finished: progress of a migration, the outcome of
//! each, until Esc dismisses the finished ones.

use super::actions::popup;
use super::format::rate;
use super::state::actions::Running;
use super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

/// Running and finished actions, bottom right, until dismissed.
pub fn draw(f: &mut Frame, area: Rect, running: &[Running], theme: Theme) {
    if running.is_empty() {
        return;
    }
    let mut lines = Vec::new();
    for r in running.iter().rev().take(4) {
        let status = match (&r.result, &r.progress) {
            (Some(Ok(m)), _) => Span::styled(format!("done: {m}"), theme.good()),
            (Some(Err(e)), _) => Span::styled(format!("FAILED: {e}"), theme.bad()),
            (None, Some(p)) => Span::raw(format!(
                "{}% · {} left · downtime {} · {}s",
                p.percent.map_or("?".into(), |x| format!("{x:.0}")),
                rate(p.remaining_bytes.map(|b| b as f64)).trim_end_matches("/s"),
                p.downtime_ms.map_or("-".into(), |d| format!("{d} ms")),
                p.elapsed_ms.unwrap_or(0) / 1000
            )),
            (None, None) => Span::raw("running..."),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", r.title), theme.title()),
            status,
        ]));
    }
    let any_running = running.iter().any(|r| r.result.is_none());
    lines.push(Line::styled(
        if any_running {
            "A: abort a migration · Esc: hide"
        } else {
            "Esc: hide"
        },
        theme.dim(),
    ));
    let w = area.width.min(90);
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = Rect::new(area.x + area.width - w, area.y + area.height - h, w, h);
    popup(f, r, " Actions ".into(), lines, theme);
}
