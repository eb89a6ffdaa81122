//! The VMs table. Columns have priorities: on a narrow terminal the least important go first,
//! so a row is never wrapped or garbled. Only the rows on screen are built.

use super::format::{bytes, fit, percent, rate};
use super::rows::SortKey;
use super::state::{DrawnTable, Focus, UiState};
use super::theme::Theme;
use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::findings::Severity;
use fleetwatch_core::model::{Fleet, Vm};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Cell, Row, Table};

struct Col {
    title: &'static str,
    key: SortKey,
    width: u16,
    right: bool,
}

const COLS: [Col; 12] = [
    Col {
        title: "NAME",
        key: SortKey::Name,
        width: 14,
        right: false,
    },
    Col {
        title: "HOST",
        key: SortKey::Host,
        width: 10,
        right: false,
    },
    Col {
        title: "STATE",
        key: SortKey::State,
        // "running?", "shutoff?": room for the mark of a host that is not answering.
        width: 8,
        right: false,
    },
    Col {
        title: "VCPU",
        key: SortKey::Vcpus,
        width: 4,
        right: true,
    },
    Col {
        title: "CPU%",
        key: SortKey::Cpu,
        width: 5,
        right: true,
    },
    Col {
        title: "MEM",
        key: SortKey::Memory,
        width: 6,
        right: true,
    },
    Col {
        title: "DISK-R",
        key: SortKey::DiskRead,
        width: 7,
        right: true,
    },
    Col {
        title: "DISK-W",
        key: SortKey::DiskWrite,
        width: 7,
        right: true,
    },
    Col {
        title: "NET-RX",
        key: SortKey::NetRx,
        width: 7,
        right: true,
    },
    Col {
        title: "NET-TX",
        key: SortKey::NetTx,
        width: 7,
        right: true,
    },
    Col {
        title: "FLAGS",
        key: SortKey::Flags,
        width: 8,
        right: false,
    },
    Col {
        title: "IP",
        key: SortKey::Ip,
        // An IPv4 address whole; a longer IPv6 one is cut (the detail pane has it all).
        width: 15,
        right: false,
    },
];

/// Column indexes in the order they are given up to make room.
const PRIORITY: [usize; 12] = [0, 2, 1, 4, 5, 10, 3, 6, 7, 8, 9, 11];

/// Which columns fit in `width`, in display order, and the width the name column gets.
fn choose(width: u16) -> (Vec<usize>, u16) {
    let mut used = 0u16;
    let mut chosen = Vec::new();
    for &i in &PRIORITY {
        let need = COLS[i].width + 1;
        if used + need > width && !chosen.is_empty() {
            break;
        }
        used += need;
        chosen.push(i);
    }
    chosen.sort_unstable();
    let extra = width.saturating_sub(used);
    // The name column takes what is left, up to a point; the rest goes unused on the right.
    (chosen, COLS[0].width + extra.min(26))
}

fn cell(vm: &Vm, fleet: &Fleet, i: usize, name_w: u16, theme: Theme) -> Cell<'static> {
    let host = &fleet.hosts[vm.host];
    let text = match i {
        0 => return Cell::from(fit(&vm.name, name_w as usize)),
        1 => fit(&host.name, COLS[1].width as usize),
        2 => {
            // A "?" says the state is the last one seen: the host is not answering.
            let mark = if host.link == LinkState::Up { "" } else { "?" };
            return Cell::from(Span::styled(
                format!("{}{mark}", vm.state.label()),
                theme.vm_state(vm.state),
            ));
        }
        3 => vm.vcpus.map_or("-".into(), |v| v.to_string()),
        4 => percent(vm.cpu_percent),
        5 => bytes(vm.memory_bytes),
        6 => rate(vm.disk_read_bps),
        7 => rate(vm.disk_write_bps),
        8 => rate(vm.net_rx_bps),
        9 => rate(vm.net_tx_bps),
        11 => vm
            .guest
            .as_deref()
            .and_then(|g| g.main_address())
            .map_or_else(
                || "-".to_owned(),
                |ip| fit(&ip.to_string(), COLS[11].width as usize),
            ),
        _ => {
            let badges: Vec<Span> = vm
                .flags
                .iter()
                .map(|k| {
                    let style = match fleet.severities.get(k) {
                        Some(Severity::Critical) => theme.bad(),
                        _ => theme.warn(),
                    };
                    Span::styled(k.badge().to_string(), style)
                })
                .collect();
            return Cell::from(ratatui::text::Line::from(badges));
        }
    };
    let w = COLS[i].width as usize;
    Cell::from(if COLS[i].right {
        format!("{:>w$}", fit(&text, w))
    } else {
        text
    })
}

/// Draws the table; returns where its columns and rows went, for the mouse and the page keys.
pub fn draw(f: &mut Frame, area: Rect, fleet: &Fleet, ui: &UiState, theme: Theme) -> DrawnTable {
    let focused = ui.focus == Focus::Vms;
    let arrow = if ui.descending { "▼" } else { "▲" };
    let mut title = format!(" VMs {}/{} ", ui.rows.len(), fleet.vm_count());
    if let Some(t) = ui.historical {
        let t = chrono::DateTime::from_timestamp_millis(t).unwrap_or_default();
        title.push_str(&format!(
            "as of {} ",
            fleetwatch_core::history::time::show(t)
        ));
    }
    title.push_str(&format!("· sort {} {arrow} ", ui.sort.name()));
    if !ui.marks.is_empty() {
        title.push_str(&format!("· {} marked (space) ", ui.marks.len()));
    }
    if let Some(k) = ui.kind_filter {
        title.push_str(&format!("· only {k} (Esc: all) "));
    }
    if ui.filter_error.is_some() {
        // Every row shows: say the filter is not applied rather than that it matched them all.
        title.push_str(&format!("· filter {:?} not valid ", ui.filter_text));
    } else if !ui.filter_text.is_empty() {
        title.push_str(&format!("· filter {:?} ", ui.filter_text));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Span::styled(title, theme.title()));
    let inner = block.inner(area);
    let (cols, name_w) = choose(inner.width);
    let page = inner.height.saturating_sub(1) as usize;
    let offset = ui.table_offset(page);

    let mut x = inner.x;
    let mut drawn = DrawnTable {
        area,
        columns: [(u16::MAX, None); 12],
        page,
        offset,
    };
    let widths: Vec<Constraint> = cols
        .iter()
        .enumerate()
        .map(|(n, &i)| {
            let w = if i == 0 { name_w } else { COLS[i].width };
            drawn.columns[n] = (x, Some(COLS[i].key));
            x += w + 1;
            Constraint::Length(w)
        })
        .collect();
    let header = Row::new(cols.iter().map(|&i| {
        let c = &COLS[i];
        let t = if c.key == ui.sort {
            format!("{}{arrow}", c.title)
        } else {
            c.title.to_owned()
        };
        let t = if c.right {
            format!("{t:>w$}", w = c.width as usize)
        } else {
            t
        };
        Cell::from(t)
    }))
    .style(theme.header());
    let rows = ui
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(page)
        .filter_map(|(n, &r)| {
            let vm = fleet.vm_at(r)?;
            let marked = ui.marks.contains(&vm.uuid);
            let cells = cols.iter().map(|&i| {
                if i == 0 && marked {
                    // A marked VM is part of the next action's set.
                    Cell::from(Span::styled(
                        format!("+{}", fit(&vm.name, name_w as usize - 1)),
                        theme.warn(),
                    ))
                } else {
                    cell(vm, fleet, i, name_w, theme)
                }
            });
            let mut row = Row::new(cells);
            if n == ui.selected && focused {
                row = row.style(theme.selected());
            } else if n == ui.selected {
                row = row.style(theme.header());
            }
            Some(row)
        });
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(block);
    f.render_widget(table, area);
    drawn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_drops_low_priority_columns() {
        let (c, _) = choose(78);
        assert!(c.contains(&0) && c.contains(&2) && c.contains(&4) && c.contains(&10));
        assert!(!c.contains(&9), "net-tx should go first: {c:?}");
        let (all, name_w) = choose(198);
        assert_eq!(all.len(), 12);
        assert!(
            !choose(100).0.contains(&11),
            "the address goes before anything else"
        );
        assert!(name_w > 14);
        let (tiny, _) = choose(10);
        assert_eq!(tiny, vec![0]);
    }
}
