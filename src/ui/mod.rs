//! UI: draws the fleet and maps keys to actions. Reads the model, never calls libvirt. What the
//! operator looks at and every change to it is in `state`, which imports none of the drawing
//! modules here; they only read it, so a frame can never change what the next key does except
//! through what it hands back (`state::Drawn`).

pub mod acked;
pub mod action;
pub mod actions;
pub mod bindings;
pub mod confirm;
pub mod detail;
pub mod findings;
pub mod footer;
pub mod format;
pub mod header;
pub mod help;
pub mod history;
pub mod host_detail;
pub mod hosts;
pub mod keys;
pub mod progress;
pub mod row_cache;
pub mod rows;
pub mod services;
pub mod snapshots;
pub mod state;
pub mod theme;
pub mod vms;
pub mod wrap;

use fleetwatch_core::model::Fleet;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use state::{Drawn, Overlay, UiState, View};
use std::time::Instant;
use theme::Theme;

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 12;
/// From this width the detail pane sits beside the table all the time.
const WIDE: u16 = 150;

/// Things the UI shows that are not fleet state.
pub struct Context<'a> {
    pub theme: Theme,
    pub shared_storage: &'a [String],
    pub mode: &'a str,
    pub now: Instant,
    /// What the history store answered (status, events, timeline, graphs).
    pub history: &'a history::HistoryData,
    /// `[group.NAME]`: the host groups' colours.
    pub groups: &'a std::collections::BTreeMap<String, fleetwatch_core::config::HostGroup>,
}

impl Context<'_> {
    /// How host group `g`'s label looks: on its colour (reverse video without one).
    pub fn group_style(&self, g: &str) -> ratatui::style::Style {
        let color = self.groups.get(g).and_then(|x| x.color.as_deref());
        self.theme.group(color)
    }
}

/// Whether the screen has room for the UI, rather than only a request to enlarge it.
pub fn fits(area: Rect) -> bool {
    area.width >= MIN_WIDTH && area.height >= MIN_HEIGHT
}

/// Draws the screen from the state, which it only reads; returns what the next event needs of
/// what it showed (see `state::Drawn`). The rows must be up to date with `fleet`.
pub fn draw(f: &mut Frame, fleet: &Fleet, ui: &UiState, cx: &Context) -> Drawn {
    let area = f.area();
    let mut drawn = Drawn::default();
    if !fits(area) {
        let msg = format!(
            "fleetwatch needs at least {MIN_WIDTH}x{MIN_HEIGHT}; this terminal is {}x{}. Enlarge it, or q to quit.",
            area.width, area.height
        );
        f.render_widget(
            Paragraph::new(msg).wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return drawn;
    }
    let mut problems = fleet.problems.clone();
    if let Some(fleetwatch_core::history::writer::Status::Error(e)) = &cx.history.status {
        problems.insert(0, format!("history: {e}"));
    }
    for why in cx.history.stalled.iter().rev() {
        problems.insert(0, format!("history stalled: {why}"));
    }
    let banner_h = u16::from(!problems.is_empty());
    let header_h = if ui.wall.is_some() && area.height >= 20 {
        3
    } else {
        1
    };
    let [header, banner, body, footer] = Layout::vertical([
        Constraint::Length(header_h),
        Constraint::Length(banner_h),
        Constraint::Min(5),
        Constraint::Length(1),
    ])
    .areas(area);
    if header_h == 3 {
        header::draw_wall(f, header, fleet, ui, cx);
    } else {
        header::draw(f, header, fleet, ui, cx);
    }
    if let Some(first) = problems.first() {
        // Bad input or a failing history: monitoring goes on, but say what is missing.
        let more = match problems.len() {
            1 => String::new(),
            n => format!(" (+{} more: see fleetwatch check)", n - 1),
        };
        let text = format::fit(&format!("! {first}{more}"), banner.width as usize);
        f.render_widget(Paragraph::new(Line::styled(text, cx.theme.bad())), banner);
    }

    // On a short terminal the detail pane borrows the hosts pane's lines.
    let hide_hosts = ui.show_detail && area.width < WIDE && body.height < 35;
    // A wall is about the hosts: they get more room, and page through what is left.
    let share = if ui.wall.is_some() { 2 } else { 3 };
    let host_h = if hide_hosts {
        0
    } else {
        (fleet.hosts.len() as u16 + 2)
            .min(body.height / share)
            .max(3)
    };
    let [hosts_area, rest] =
        Layout::vertical([Constraint::Length(host_h), Constraint::Min(3)]).areas(body);
    drawn.hosts = Some(hosts_area);
    if !hide_hosts {
        hosts::draw(f, hosts_area, fleet, ui, cx);
    }

    let selected = ui.selected_uuid().map(str::to_owned);
    drawn.detail_beside = Some(area.width >= WIDE);
    if ui.view == View::Findings {
        drawn.finding = findings::draw(f, rest, fleet, ui, cx);
    } else if ui.view == View::Services {
        drawn.service = services::draw(f, rest, fleet, ui, cx);
    } else if ui.view == View::History {
        drawn.history = history::draw_view(
            f,
            rest,
            ui,
            cx.history,
            cx.theme,
            chrono::Utc::now().timestamp_millis(),
        );
    } else if area.width >= WIDE {
        let [table, side] =
            Layout::horizontal([Constraint::Percentage(64), Constraint::Percentage(36)])
                .areas(rest);
        drawn.table = Some(vms::draw(f, table, fleet, ui, cx.theme));
        detail::draw(f, side, fleet, selected.as_deref(), cx, ui);
    } else if ui.show_detail {
        let [table, below] =
            Layout::vertical([Constraint::Length(5), Constraint::Min(4)]).areas(rest);
        drawn.table = Some(vms::draw(f, table, fleet, ui, cx.theme));
        detail::draw(f, below, fleet, selected.as_deref(), cx, ui);
    } else {
        drawn.table = Some(vms::draw(f, rest, fleet, ui, cx.theme));
    }
    footer::draw(f, footer, ui, fleet.hosts.len(), hosts_area, cx.theme);
    progress::draw(f, body, &ui.actions_running, cx.theme);
    drawn.scroll = actions::draw_overlay(f, area, ui, fleet, cx.theme);
    if let Overlay::Snapshots(pane) = &ui.overlay {
        snapshots::draw(f, body, fleet, pane, cx.theme);
    }
    if let Overlay::Host(i) = ui.overlay {
        host_detail::draw(f, body, fleet, i, cx.theme, cx.now);
    }
    if ui.overlay == Overlay::Help {
        // The whole screen: at 80x24 every key still fits.
        drawn.scroll = Some(help::draw(
            f,
            area,
            cx.theme,
            &ui.action_keys,
            ui.scroll.top,
        ));
    }
    drawn
}
