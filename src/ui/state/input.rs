//! Typed `:` commands and the mouse.

use super::{Effect, Focus, Overlay, UiState, View};
use crate::ui::rows::SortKey;
use fleetwatch_core::model::Fleet;
use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Position;

impl UiState {
    pub(super) fn command(&mut self, line: &str, fleet: &Fleet) -> Effect {
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or("");
        let arg = words.collect::<Vec<_>>().join(" ");
        match verb {
            "" => {}
            "q" | "q!" | "quit" | "exit" => return Effect::Quit,
            "help" | "h" => self.open_help(),
            "sort" => match SortKey::parse(&arg) {
                Some(k) => self.set_sort(k),
                None => {
                    let names: Vec<&str> = SortKey::ALL.iter().map(|k| k.name()).collect();
                    self.message = Some(format!("sort by what? one of: {}", names.join(" ")));
                }
            },
            "host" | "hosts" => {
                if arg.is_empty() || arg == "all" {
                    self.host_filter = None;
                    self.invalidate();
                } else {
                    match super::marks::host_named(fleet, &arg) {
                        Ok(i) => {
                            self.host_filter = None;
                            self.toggle_host(i);
                            self.host_selected = i;
                        }
                        Err(why) => self.message = Some(why),
                    }
                }
            }
            "filter" => self.set_filter(arg),
            "evacuate" | "return" => match super::marks::host_named(fleet, &arg) {
                Ok(host) => {
                    return Effect::Evacuate {
                        host,
                        back: verb == "return",
                    };
                }
                Err(why) => self.message = Some(why),
            },
            "find" => self.find(&arg, fleet),
            "findings" | "f" => self.view = View::Findings,
            "services" | "service" => self.view = View::Services,
            "at" => match fleetwatch_core::history::time::parse_moment(&arg, chrono::Utc::now()) {
                Ok(t) => return Effect::TimeTravel(t.timestamp_millis()),
                Err(e) => self.message = Some(e.to_string()),
            },
            "live" => return Effect::Live,
            "history" | "migrations" => {
                // `:history 6h`: only the last span (default 30 days).
                if !arg.is_empty() {
                    match fleetwatch_core::history::time::parse_span(&arg) {
                        Ok(d) => self.history_since = d,
                        Err(e) => {
                            self.message = Some(e.to_string());
                            return Effect::None;
                        }
                    }
                }
                self.view = View::History;
                self.history_tab = if verb == "migrations" {
                    super::history::Tab::Migrations
                } else {
                    super::history::Tab::All
                };
                return Effect::LoadEvents;
            }
            "flag" | "kind" => {
                if arg.is_empty() || arg == "all" {
                    self.kind_filter = None;
                } else {
                    match super::marks::finding_kind(&arg) {
                        Ok(k) => {
                            self.kind_filter = Some(k);
                            self.view = View::Vms;
                        }
                        Err(why) => self.message = Some(why),
                    }
                }
                self.invalidate();
            }
            "refresh" => return Effect::PollNow,
            "mark" => self.mark(&arg, fleet, true),
            "unmark" => self.mark(&arg, fleet, false),
            other => self.message = Some(format!("unknown command {other:?}; try :help")),
        }
        self.refresh_rows(fleet);
        Effect::None
    }

    /// `:find IP` says which VMs report the address (two is an address conflict) and shows
    /// them; anything else filters as `/` would.
    fn find(&mut self, what: &str, fleet: &Fleet) {
        let Ok(ip) = what.trim().parse::<std::net::IpAddr>() else {
            self.set_filter(what.to_owned());
            return;
        };
        let owners: Vec<String> = fleet
            .hosts
            .iter()
            .flat_map(|h| {
                h.vms
                    .values()
                    .filter(|v| v.guest.as_deref().is_some_and(|g| g.has_address(&ip)))
                    .map(move |v| format!("{} on {}", v.name, h.name))
            })
            .collect();
        self.message = Some(match owners.len() {
            0 => format!(
                "no VM reports {ip} (addresses come from guest agents, DHCP leases and ARP, a minute or so after a VM starts)"
            ),
            1 => format!("{ip}: {}", owners[0]),
            n => format!("{n} VMs report {ip}: {}", owners.join(", ")),
        });
        if !owners.is_empty() {
            self.set_filter(ip.to_string());
        }
    }

    pub fn mouse(&mut self, m: MouseEvent, fleet: &Fleet) -> Effect {
        if self.overlay != Overlay::None || self.wall.is_some() {
            return Effect::None;
        }
        let p = Position::new(m.column, m.row);
        let a = self.areas;
        match m.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let d = if m.kind == MouseEventKind::ScrollDown {
                    3
                } else {
                    -3
                };
                let focus = if a.hosts.contains(p) {
                    Focus::Hosts
                } else {
                    Focus::Vms
                };
                let keep = self.focus;
                self.focus = focus;
                self.move_by(d, fleet);
                self.focus = keep;
            }
            MouseEventKind::Down(MouseButton::Left) if a.hosts.contains(p) => {
                let row = m.row.saturating_sub(a.hosts.y + 1) as usize;
                if row < fleet.hosts.len() {
                    self.focus = Focus::Hosts;
                    if self.host_selected == row {
                        self.toggle_host(row);
                    }
                    self.host_selected = row;
                }
            }
            MouseEventKind::Down(MouseButton::Left) if a.table.contains(p) => {
                self.focus = Focus::Vms;
                if m.row == a.table.y + 1 {
                    let key = a
                        .columns
                        .iter()
                        .rev()
                        .find(|(x, k)| k.is_some() && *x <= m.column);
                    if let Some((_, Some(k))) = key {
                        self.set_sort(*k);
                    }
                } else if m.row >= a.table.y + 2 {
                    let i = self.offset + (m.row - a.table.y - 2) as usize;
                    if i < self.rows.len() {
                        if i == self.selected {
                            self.show_detail = !self.show_detail;
                        }
                        self.selected = i;
                        self.chosen = true;
                    }
                }
                self.clamp(fleet);
            }
            _ => return Effect::None,
        }
        self.refresh_rows(fleet);
        Effect::None
    }
}
