//! The `?` screen: every key, from the table the key map is read from. Where it does not fit it
//! scrolls, and its border says so.

use super::bindings;
use super::state::scroll::Scroll;
use super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// Draws the help scrolled to `top`; returns where it ended up.
pub fn draw(
    f: &mut Frame,
    area: Rect,
    theme: Theme,
    keys: &super::keys::ActionKeys,
    top: usize,
) -> Scroll {
    let w = area.width.min(84);
    // Action keys as configured in [keys], not as built in.
    let rows = bindings::help_rows(keys);
    let key_w = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(8);
    // Long descriptions wrap under themselves, not under the keys, where a word would read as
    // a key.
    let what_w = (w as usize).saturating_sub(2 + key_w + 2).max(10);
    let mut lines: Vec<Line> = Vec::new();
    for (shown, what) in &rows {
        for (n, part) in wrap(what, what_w).into_iter().enumerate() {
            let k = if n == 0 { shown.as_str() } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!("{k:<key_w$}  "), theme.title()),
                Span::raw(part),
            ]));
        }
    }
    // The notes wrap like the descriptions, so they survive an 80-column terminal.
    // The flags legend comes from the kinds themselves, so a new kind cannot be left out.
    let flags = fleetwatch_core::model::findings::Kind::ALL
        .iter()
        .map(|k| format!("{} {}", k.badge(), k.name()))
        .collect::<Vec<_>>()
        .join(", ");
    for note in [
        "STALE: late, its age shown · DOWN: error/timeout · \"running?\": last state seen"
            .to_owned(),
        format!("Flags: {flags}."),
    ] {
        for part in wrap(&note, (w as usize).saturating_sub(2)) {
            lines.push(Line::styled(part, theme.dim()));
        }
    }
    let h = area.height.min(lines.len() as u16 + 2);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    let page = h.saturating_sub(2) as usize;
    let max = lines.len().saturating_sub(page);
    let top = top.min(max);
    f.render_widget(Clear, r);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true));
    if max == 0 {
        block = block.title(Span::styled(" Help · Esc closes ", theme.title()));
    } else {
        block = block
            .title(Span::styled(
                " Help · ↑↓ PgUp PgDn g G scroll · Esc closes ",
                theme.title(),
            ))
            .title_bottom(Span::styled(
                Scroll { top, max, page }.label(lines.len()),
                theme.dim(),
            ));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((u16::try_from(top).unwrap_or(u16::MAX), 0))
            .block(block),
        r,
    );
    Scroll { top, max, page }
}

/// Splits `text` at spaces into lines of at most `width` characters (a longer word stays whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}
