//! The detail pane for the selected VM: identity, placement, devices and short history.

use super::Context;
use super::format::{bytes, percent, rate};
use super::state::UiState;
use fleetwatch_core::history::query::Point;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::storage::{is_shared, source_label};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use std::borrow::Cow;
use std::collections::VecDeque;

const TICKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The newest `width` points as a one-line sparkline, scaled to `max` (or the largest point).
pub fn sparkline(points: &VecDeque<f32>, width: usize, max: Option<f32>) -> String {
    let start = points.len().saturating_sub(width);
    let top = max.unwrap_or_else(|| points.iter().skip(start).copied().fold(0.0, f32::max));
    points
        .iter()
        .skip(start)
        .map(|&v| {
            if top <= 0.0 || v <= 0.0 {
                ' '
            } else {
                TICKS[(((v / top).min(1.0)) * 7.0).round() as usize]
            }
        })
        .collect()
}

pub fn draw(
    f: &mut Frame,
    area: Rect,
    fleet: &Fleet,
    uuid: Option<&str>,
    cx: &Context,
    ui: &UiState,
) {
    let (theme, shared) = (cx.theme, cx.shared_storage);
    let mut title = match ui.historical {
        Some(t) => format!(
            " Detail · as of {} ",
            fleetwatch_core::history::time::show(at(t))
        ),
        None => " Detail ".to_owned(),
    };
    title.push_str(&format!("· graphs {} (t) ", ui.graph_range.label()));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(false))
        .title(Span::styled(title, theme.title()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(vm) = uuid.and_then(|u| fleet.vm(u)) else {
        f.render_widget(Paragraph::new("no VM selected").style(theme.dim()), inner);
        return;
    };
    let host = &fleet.hosts[vm.host];
    // Always a space after the label, even one as long as "disk vda".
    let label = |s: &str| Span::styled(format!("{s:<7} "), theme.dim());
    let mut lines = vec![
        Line::from(vec![
            Span::styled(vm.name.clone(), theme.title()),
            Span::raw("  "),
            Span::styled(vm.state.label(), theme.vm_state(vm.state)),
        ]),
        Line::from(vec![label("uuid"), Span::raw(vm.uuid.clone())]),
        Line::from(
            [
                vec![
                    label("host"),
                    Span::raw(format!("{} ({})", host.name, host.link.label())),
                ],
                group_label(host, cx),
            ]
            .concat(),
        ),
    ];
    let also = fleet.also_defined_on(&vm.uuid);
    if !also.is_empty() {
        // Each copy with its state: a shut-off definition left behind is not a running twin.
        let names: Vec<String> = fleet
            .copies(&vm.uuid)
            .into_iter()
            .filter(|c| c.host != vm.host)
            .map(|c| format!("{} ({})", fleet.hosts[c.host].name, c.state.label()))
            .collect();
        lines.push(Line::from(vec![
            label("also on"),
            Span::styled(names.join(", "), theme.warn()),
        ]));
    }
    if let Some(g) = vm.guest.as_deref() {
        lines.extend(guest_lines(g, &label));
    }
    let cfg = vm.config.as_deref();
    if let Some(c) = cfg.filter(|c| !c.title.is_empty()) {
        lines.push(Line::from(vec![label("title"), Span::raw(c.title.clone())]));
    }
    lines.push(Line::from(vec![
        label("cpu"),
        Span::raw(format!(
            "{} vCPU, {}% of them, {}% of host",
            vm.vcpus.map_or("-".into(), |v| v.to_string()),
            percent(vm.cpu_percent),
            percent(vm.host_cpu_percent)
        )),
    ]));
    lines.push(Line::from(vec![
        label("memory"),
        Span::raw(format!(
            "{} of max {}, rss {}",
            bytes(vm.memory_bytes),
            bytes(vm.max_memory_bytes),
            bytes(vm.rss_bytes)
        )),
    ]));
    lines.push(Line::from(vec![
        label("io"),
        Span::raw(format!(
            "disk r {} w {}  net rx {} tx {}",
            rate(vm.disk_read_bps),
            rate(vm.disk_write_bps),
            rate(vm.net_rx_bps),
            rate(vm.net_tx_bps)
        )),
    ]));
    // Snapshot and backup apart: an internal snapshot lives on the VM's own disks and is not a
    // backup unless the policy says so (the findings below say what counted).
    let ago = |t: chrono::DateTime<chrono::Utc>| {
        (chrono::Utc::now() - t).to_std().map_or_else(
            |_| "just now".to_owned(),
            |d| format!("{} ago", fleetwatch_core::model::age(d)),
        )
    };
    if let Some(c) = cfg {
        let snap = c
            .newest_snapshot
            .as_ref()
            .map_or_else(|| "none".to_owned(), |(n, t)| format!("{n:?}, {}", ago(*t)));
        lines.push(Line::from(vec![label("snapshot"), Span::raw(snap)]));
        let backup = c.fleet.as_ref().and_then(|m| m.backup_last).map_or_else(
            || "no backup metadata (catalog: see findings)".to_owned(),
            |t| format!("{} (metadata)", ago(t)),
        );
        lines.push(Line::from(vec![label("backup"), Span::raw(backup)]));
    }
    // Each graph ends with the newest value and the scale it is drawn against.
    let w = inner.width.saturating_sub(9 + 20) as usize;
    let graph = match ui.graph_range.query() {
        // Live: drawn straight from the model, no copy per frame.
        None => fleet.series(&vm.uuid).map(|s| {
            (
                Cow::Borrowed(&s.cpu_percent),
                Cow::Borrowed(&s.memory_bytes),
                Cow::Borrowed(&s.disk_bps),
                Cow::Borrowed(&s.net_bps),
            )
        }),
        Some((level, _)) => cx
            .history
            .graph
            .as_ref()
            .filter(|(u, l, _)| u == &vm.uuid && *l == level)
            .map(|(_, _, pts)| {
                let col = |get: fn(&Point) -> Option<f64>| {
                    Cow::Owned(
                        pts.iter()
                            .map(|p| get(p).unwrap_or(0.0) as f32)
                            .collect::<VecDeque<f32>>(),
                    )
                };
                (
                    col(|p| p.cpu),
                    col(|p| p.mem),
                    col(|p| p.disk),
                    col(|p| p.net),
                )
            }),
    };
    match graph {
        Some((cpu, mem, disk, net)) => {
            let max_of = |q: &VecDeque<f32>| q.iter().copied().fold(0.0_f32, f32::max);
            let spark = |name: &str, pts: &VecDeque<f32>, max: f32, tail: String| {
                Line::from(vec![
                    label(name),
                    Span::styled(
                        format!("{:<w$}", sparkline(pts, w, Some(max))),
                        theme.good(),
                    ),
                    Span::styled(format!(" {tail}"), theme.dim()),
                ])
            };
            let mem_max = vm
                .max_memory_bytes
                .map_or_else(|| max_of(&mem), |m| m as f32);
            let (disk_max, net_max) = (max_of(&disk), max_of(&net));
            lines.push(spark(
                "cpu%",
                &cpu,
                100.0,
                format!("{} of 100", percent(vm.cpu_percent)),
            ));
            lines.push(spark(
                "mem",
                &mem,
                mem_max,
                format!("of {}", bytes(Some(mem_max as u64))),
            ));
            lines.push(spark(
                "disk",
                &disk,
                disk_max,
                format!("max {}", rate(Some(f64::from(disk_max)))),
            ));
            lines.push(spark(
                "net",
                &net,
                net_max,
                format!("max {}", rate(Some(f64::from(net_max)))),
            ));
        }
        None if ui.graph_range.query().is_some() => {
            lines.push(Line::styled(
                format!(
                    "graphs: no {} of history for this VM yet",
                    ui.graph_range.label()
                ),
                theme.dim(),
            ));
        }
        None => {}
    }
    // Findings first among the facts below the graphs: they are why an operator looks here.
    for x in fleet.findings_of(&vm.uuid) {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{} {:<8} ", x.kind.badge(), x.kind.name()),
                super::findings::severity_style(theme, x.severity),
            ),
            Span::raw(x.detail.clone()),
        ]));
    }
    lines.extend(super::history::timeline_lines(
        cx.history,
        &vm.uuid,
        theme,
        chrono::Utc::now().timestamp_millis(),
        inner.width as usize,
    ));
    if let Some(problems) = cfg.and_then(|c| c.fleet.as_ref()).map(|m| &m.problems) {
        for p in problems {
            lines.push(Line::from(vec![
                label("metadata"),
                Span::styled(p.clone(), theme.warn()),
            ]));
        }
    }
    if cfg.is_none() {
        lines.push(Line::from(vec![
            label("config"),
            Span::styled(
                "XML not read yet: disks, NICs, metadata unknown",
                theme.dim(),
            ),
        ]));
    }
    if let Some(c) = cfg {
        for d in &c.disks {
            let where_ = if is_shared(d, shared) {
                Span::styled("shared", theme.good())
            } else {
                Span::styled("LOCAL ", theme.warn())
            };
            lines.push(Line::from(vec![
                label(&format!("disk {}", d.target)),
                where_,
                Span::raw(format!(" {} {}", source_label(&d.source), d.path)),
            ]));
        }
        for n in &c.nics {
            lines.push(Line::from(vec![
                label("nic"),
                Span::raw(format!(
                    "{} {} {} {}",
                    n.mac,
                    n.kind,
                    n.source,
                    n.target.as_deref().unwrap_or("")
                )),
            ]));
        }
        if !c.description.is_empty() {
            lines.push(Line::from(vec![
                label("about"),
                Span::raw(c.description.replace('\n', " ")),
            ]));
        }
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn at(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A host's group as a label (`prod` on its colour), or nothing for a host without one.
/// The guest's addresses (and where they came from), then its hostname and OS when known.
fn guest_lines(
    g: &fleetwatch_core::model::guest::GuestInfo,
    label: &dyn Fn(&str) -> Span<'static>,
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if !g.addresses.is_empty() {
        let ips: Vec<String> = g.addresses.iter().map(|a| a.ip.to_string()).collect();
        let from = g.source.map_or("", |s| s.label());
        out.push(Line::from(vec![
            label("ip"),
            Span::raw(format!("{} ({from})", ips.join(", "))),
        ]));
    }
    let about: Vec<&str> = [g.hostname.as_deref(), g.os.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if !about.is_empty() {
        out.push(Line::from(vec![
            label("guest"),
            Span::raw(about.join(" · ")),
        ]));
    }
    out
}

pub fn group_label(host: &fleetwatch_core::model::host::Host, cx: &Context) -> Vec<Span<'static>> {
    let Some(g) = &host.group else {
        return Vec::new();
    };
    vec![
        Span::raw(" "),
        Span::styled(format!(" {g} "), cx.group_style(g)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_and_truncates() {
        let pts: VecDeque<f32> = [0.0, 50.0, 100.0, 25.0].into_iter().collect();
        assert_eq!(sparkline(&pts, 10, Some(100.0)), " ▅█▃");
        assert_eq!(sparkline(&pts, 2, Some(100.0)), "█▃");
        assert_eq!(sparkline(&pts, 4, None), " ▅█▃");
        assert_eq!(sparkline(&VecDeque::new(), 4, None), "");
    }
}
