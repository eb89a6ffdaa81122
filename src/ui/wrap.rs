//! Panes that can be longer than the screen (the confirmation pane): their lines are wrapped
//! before drawing, so the pane knows how many rows it needs and how far it can scroll.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

/// Splits `line` at spaces into rows at most `width` columns wide, each style kept; rows after
/// the first start with `indent` spaces. A word longer than a row is cut.
pub fn wrap(line: Line<'static>, width: usize, indent: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let indent = indent.min(width / 2);
    // Runs of spaces and runs of other characters, each with its span's style.
    let mut tokens: Vec<(String, Style, bool)> = Vec::new();
    for span in &line.spans {
        let style = line.style.patch(span.style);
        for c in span.content.chars() {
            let space = c == ' ';
            match tokens.last_mut() {
                Some((t, s, sp)) if *sp == space && *s == style => t.push(c),
                _ => tokens.push((c.to_string(), style, space)),
            }
        }
    }
    let mut rows: Vec<Line<'static>> = Vec::new();
    let mut row: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    let mut started = false;
    // Where the row's own text starts: after the indent on all rows but the first.
    let mut start = 0;
    let mut break_row = |row: &mut Vec<Span<'static>>, used: &mut usize, start: &mut usize| {
        while row.len() > 1 && row.last().is_some_and(|s| s.content.trim().is_empty()) {
            row.pop();
        }
        rows.push(Line::from(std::mem::replace(
            row,
            vec![Span::raw(" ".repeat(indent))],
        )));
        *used = indent;
        *start = indent;
    };
    for (text, style, space) in tokens {
        let w = text.width();
        if !space {
            started = true;
        }
        if space {
            // A line's leading spaces are kept; those where a row breaks are dropped.
            if !started || (used > start && used + w <= width) {
                row.push(Span::styled(text, style));
                used += w;
            }
            continue;
        }
        if used + w > width && used > start {
            break_row(&mut row, &mut used, &mut start);
        }
        if used + w <= width {
            row.push(Span::styled(text, style));
            used += w;
            continue;
        }
        for c in text.chars() {
            let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
            if used + cw > width && used > start {
                break_row(&mut row, &mut used, &mut start);
            }
            row.push(Span::styled(c.to_string(), style));
            used += cw;
        }
    }
    rows.push(Line::from(row));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn wraps_at_spaces_with_an_indent_and_cuts_long_words() {
        let l = Line::from(vec![
            Span::raw("  x "),
            Span::styled("one two three", Style::default().bold()),
        ]);
        assert_eq!(texts(&wrap(l, 9, 4)), ["  x one", "    two", "    three"]);
        assert_eq!(
            texts(&wrap(Line::raw("abcdefghij"), 4, 0)),
            ["abcd", "efgh", "ij"]
        );
        assert_eq!(texts(&wrap(Line::raw(""), 4, 0)), [""]);
    }
}
