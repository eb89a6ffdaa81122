//! History in the TUI: the fleet as it was (time travel), the event list (migrations, host
//! up/down, everything), the selected VM's timeline, and graphs over longer ranges. The data
//! comes from the reader thread; this module draws what came, `state::history` keeps what to ask
//! for.

use super::format::fit;
use super::state::UiState;
use super::state::history::Tab;
use super::theme::Theme;
use fleetwatch_core::history::query::{EventRow, Point};
use fleetwatch_core::history::writer::Status;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

/// What the history has answered, for drawing.
#[derive(Debug, Clone, Default)]
pub struct HistoryData {
    pub status: Option<Status>,
    /// Newest first.
    pub events: Vec<EventRow>,
    pub events_error: Option<String>,
    pub timeline: Option<(String, Vec<EventRow>)>,
    pub graph: Option<(String, i64, Vec<Point>)>,
    /// Why the history's rollups or retention stopped advancing (a banner); empty when not.
    pub stalled: Vec<String>,
    /// Acknowledged findings, as the store last said.
    pub acks: Vec<fleetwatch_core::model::acks::Ack>,
}

/// A span as said aloud, in its largest whole unit: "30 days", "6 hours", "90 minutes".
pub fn span_words(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = [(86_400, "day"), (3_600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(u, _)| secs >= *u && secs.is_multiple_of(*u))
        .map_or((secs, "second"), |(u, name)| (secs / u, name));
    let s = if n == 1 { "" } else { "s" };
    format!("{n} {unit}{s}")
}

fn when(ms: i64, now_ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&chrono::Local);
    if now_ms - ms < 20 * 3_600_000 {
        t.format("%H:%M:%S").to_string()
    } else {
        t.format("%m-%d %H:%M").to_string()
    }
}

fn place(e: &EventRow) -> String {
    match (&e.from_host, &e.to_host) {
        (Some(f), Some(t)) => format!("{f}→{t}"),
        _ => e.host.clone().unwrap_or_default(),
    }
}

/// Draws the view; returns its page and the cursor kept on the events, when it lists any.
pub fn draw_view(
    f: &mut Frame,
    area: Rect,
    ui: &UiState,
    data: &HistoryData,
    theme: Theme,
    now_ms: i64,
) -> Option<(usize, usize)> {
    let tabs = [Tab::All, Tab::Migrations, Tab::Hosts]
        .iter()
        .map(|t| {
            let name = match t {
                Tab::All => "all",
                Tab::Migrations => "migrations",
                Tab::Hosts => "hosts",
            };
            if *t == ui.history_tab {
                format!("[{name}]")
            } else {
                name.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Span::styled(
            // The keys are in the footer, once.
            format!(
                " History · last {} · {tabs} {}",
                span_words(ui.history_since),
                if ui.filter_text.is_empty() {
                    String::new()
                } else {
                    format!("· filter {:?} ", ui.filter_text)
                }
            ),
            theme.title(),
        ));
    let inner = block.inner(area);
    let needle = ui.filter_text.to_lowercase();
    let rows: Vec<&EventRow> = data
        .events
        .iter()
        .filter(|e| ui.history_tab.admits(e))
        .filter(|e| {
            needle.is_empty()
                || [
                    e.vm.as_deref(),
                    e.host.as_deref(),
                    e.from_host.as_deref(),
                    e.to_host.as_deref(),
                    Some(e.kind.as_str()),
                ]
                .iter()
                .flatten()
                .any(|s| s.to_lowercase().contains(&needle))
        })
        .collect();
    if rows.is_empty() {
        f.render_widget(block, area);
        let msg = data
            .events_error
            .clone()
            .unwrap_or_else(|| "no events recorded in that span".into());
        f.render_widget(Paragraph::new(msg).style(theme.dim()), inner);
        return None;
    }
    let page = inner.height.saturating_sub(1) as usize;
    let selected = ui.history_selected.min(rows.len() - 1);
    let first = selected.saturating_sub(page.saturating_sub(1));
    let wide = inner.width >= 120;
    let vm_w = if wide { 24 } else { 14 };
    let where_w = if wide { 26 } else { 18 };
    let body = rows
        .iter()
        .enumerate()
        .skip(first)
        .take(page)
        .map(|(i, e)| {
            let took = e.duration_s.map(|d| format!("{d:.1}s")).unwrap_or_default();
            let style = match e.kind.as_str() {
                "migrated" | "host-up" => theme.good(),
                "crashed" | "host-down" | "undefined" => theme.bad(),
                "host-stale" | "stopped" | "paused" => theme.warn(),
                _ => theme.plain(),
            };
            let mut cells = vec![
                Cell::from(when(e.at_ms, now_ms)),
                Cell::from(Span::styled(e.kind.clone(), style)),
                Cell::from(fit(e.vm.as_deref().unwrap_or("-"), vm_w)),
                Cell::from(fit(&place(e), where_w)),
                Cell::from(took),
                Cell::from(e.actor.clone()),
            ];
            if wide {
                cells.push(Cell::from(e.detail.clone()));
            }
            let row = Row::new(cells);
            if i == selected {
                row.style(theme.selected())
            } else {
                row
            }
        });
    let mut widths = vec![
        Constraint::Length(11),
        Constraint::Length(14),
        Constraint::Length(vm_w as u16),
        Constraint::Length(where_w as u16),
        Constraint::Length(7),
        Constraint::Length(10),
    ];
    let mut header = vec!["WHEN", "EVENT", "VM", "WHERE", "TOOK", "ACTOR"];
    if wide {
        widths.push(Constraint::Min(10));
        header.push("DETAIL");
    }
    let table = Table::new(body, widths)
        .header(Row::new(header).style(theme.header()))
        .column_spacing(1)
        .block(block);
    f.render_widget(table, area);
    Some((page, selected))
}

/// The selected VM's recent events, for the detail pane.
pub fn timeline_lines(
    data: &HistoryData,
    uuid: &str,
    theme: Theme,
    now_ms: i64,
    width: usize,
) -> Vec<Line<'static>> {
    let Some((u, events)) = &data.timeline else {
        return Vec::new();
    };
    if u != uuid || events.is_empty() {
        return Vec::new();
    }
    events
        .iter()
        .take(6)
        .map(|e| {
            let text = format!(
                "{} {} {} {}",
                when(e.at_ms, now_ms),
                e.kind,
                place(e),
                e.actor
            );
            Line::from(vec![
                Span::styled("history  ", theme.dim()),
                Span::raw(fit(&text, width.saturating_sub(9))),
            ])
        })
        .collect()
}
