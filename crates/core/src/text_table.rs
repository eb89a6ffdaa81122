//! Plain-text tables for `snapshot`, `at`, `history` and `audit`: a header, one row per line
//! (a multi-line error is folded onto its row), columns aligned by what a terminal shows (a
//! wide character takes two cells, a combining one none), every cell sanitized.

use unicode_width::UnicodeWidthStr;

pub struct Table {
    headers: Vec<&'static str>,
    /// Columns aligned to the right (numbers).
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Columns by header; a header starting with '>' is right-aligned (the '>' is not shown).
    pub fn new(headers: &[&'static str]) -> Table {
        Table {
            right: headers.iter().map(|h| h.starts_with('>')).collect(),
            headers: headers.iter().map(|h| h.trim_start_matches('>')).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        let cells = cells
            .into_iter()
            .map(|c| crate::sanitize::clean(&c))
            .collect();
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.width()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                widths[i] = widths[i].max(c.width());
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        for cells in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map_or("", String::as_str);
                let pad = " ".repeat(width.saturating_sub(cell.width()));
                if i > 0 {
                    line.push_str("  ");
                }
                if self.right[i] {
                    line.push_str(&pad);
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if i + 1 < n {
                        line.push_str(&pad);
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_by_display_width_one_row_per_line() {
        let mut t = Table::new(&["NAME", ">CPU%", "ERROR"]);
        t.row(vec!["web-01".into(), "5.0".into(), "".into()]);
        t.row(vec![
            "日本-01".into(),
            "12.5".into(),
            "line one\nline two".into(),
        ]);
        t.row(vec!["evil\u{1b}[2J".into(), "-".into(), "x".into()]);
        let s = t.render();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 4, "{s}");
        assert_eq!(lines[0], "NAME      CPU%  ERROR");
        assert_eq!(lines[1], "web-01     5.0");
        assert_eq!(lines[2], "日本-01   12.5  line one line two");
        assert_eq!(lines[3], "evil\u{FFFD}[2J     -  x");
    }
}
