//! Draws the snapshots pane: one line a snapshot, the cursor's highlighted, what each key does.

use super::actions::{centered, popup};
use super::format::fit;
use super::state::snapshots::{SnapshotsPane, list};
use super::theme::Theme;
use fleetwatch_core::model::Fleet;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

pub fn draw(f: &mut Frame, area: Rect, fleet: &Fleet, pane: &SnapshotsPane, theme: Theme) {
    let name = fleet.vm(&pane.uuid).map_or("?", |v| v.name.as_str());
    let w = area.width.saturating_sub(4).min(96) as usize;
    let mut lines = Vec::new();
    match list(fleet, &pane.uuid) {
        None => lines.push(Line::styled(
            "its XML is not read yet: a few seconds",
            theme.dim(),
        )),
        Some([]) => lines.push(Line::styled("no snapshots: n takes one", theme.dim())),
        Some(snaps) => {
            let name_w = w.saturating_sub(48).clamp(8, 40);
            lines.push(Line::styled(
                format!(
                    "  {:<name_w$} {:<16} {:<8} PARENT",
                    "NAME", "CREATED", "STATE"
                ),
                theme.header(),
            ));
            let room = area.height.saturating_sub(6) as usize;
            let sel = pane.selected.min(snaps.len() - 1);
            let start = sel.saturating_sub(room.saturating_sub(1));
            for (i, s) in snaps.iter().enumerate().skip(start).take(room.max(1)) {
                let created = s
                    .created
                    .map(|t| {
                        t.with_timezone(&chrono::Local)
                            .format("%Y-%m-%d %H:%M")
                            .to_string()
                    })
                    .unwrap_or_else(|| "-".into());
                let mark = if s.current { "*" } else { " " };
                let text = format!(
                    "{mark} {:<name_w$} {created:<16} {:<8} {}",
                    fit(&s.name, name_w),
                    fit(&s.state, 8),
                    s.parent.as_deref().unwrap_or("-")
                );
                let style = if i == sel {
                    theme.selected()
                } else {
                    theme.plain()
                };
                lines.push(Line::from(Span::styled(fit(&text, w), style)));
            }
        }
    }
    lines.push(Line::styled(
        "* current · n take one · r revert to it · D delete it · Esc close",
        theme.dim(),
    ));
    let h = (lines.len() as u16 + 2).min(area.height);
    popup(
        f,
        centered(area, (w + 4) as u16, h),
        format!(" Snapshots of {name} "),
        lines,
        theme,
    );
}
