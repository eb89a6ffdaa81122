//! The confirmation pane as drawn: the plan above, the typed name and the buttons pinned below
//! it. A plan longer than the screen scrolls (↑↓ PgUp PgDn) under the buttons, which therefore
//! always show; what stops the action comes right after the VMs, before the lines that scroll.

use super::format::fit;
use super::state::scroll::Scroll;
use super::theme::Theme;
use super::wrap::wrap;
use fleetwatch_core::actions::confirm::{Focus, Pane};
use fleetwatch_core::actions::plan::Plan;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

/// At most this many VMs and changes are listed one a line; the rest are counted.
const LISTED: usize = 8;

fn plan_lines(p: &Plan, theme: Theme) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = Vec::new();
    for vm in p.vms.iter().take(LISTED) {
        lines.push(Line::from(vec![
            Span::styled(fit(&vm.name, 24), theme.title()),
            Span::raw(format!(
                "  {}  on {}  {}",
                vm.uuid,
                vm.host,
                vm.state.label()
            )),
        ]));
    }
    if p.vms.len() > LISTED {
        lines.push(Line::raw(format!("... and {} more", p.vms.len() - LISTED)));
    }
    if !p.refusals.is_empty() {
        lines.push(Line::styled("Cannot run:", theme.header()));
        for r in &p.refusals {
            lines.push(Line::styled(format!("  x {r}"), theme.bad()));
        }
    }
    lines.push(Line::styled("Will:", theme.header()));
    for c in p.changes.iter().take(LISTED) {
        lines.push(Line::raw(format!("  {c}")));
    }
    if p.changes.len() > LISTED {
        lines.push(Line::raw(format!(
            "  ... and {} more",
            p.changes.len() - LISTED
        )));
    }
    if !p.risks.is_empty() {
        lines.push(Line::styled("Risks known now:", theme.header()));
        for r in &p.risks {
            lines.push(Line::styled(format!("  ! {r}"), theme.warn()));
        }
    }
    lines
}

/// The lines that never scroll away: what to type, the buttons, the last answer.
fn pinned_lines(pane: &Pane, theme: Theme) -> Vec<Line<'static>> {
    let p = &pane.plan;
    let mut lines = Vec::new();
    let refused = !p.refusals.is_empty();
    // Nothing to type where nothing can run: the refusal is the answer.
    if let Some(want) = p.typed.as_ref().filter(|_| !refused) {
        let what = if matches!(
            p.kind,
            fleetwatch_core::actions::ActionKind::Evacuate { .. }
        ) {
            "the host's name"
        } else if p.vms.len() > 1 {
            "the number of VMs"
        } else if matches!(
            p.kind,
            fleetwatch_core::actions::ActionKind::DeleteSnapshot { .. }
        ) {
            "the snapshot's name"
        } else {
            "the VM's name"
        };
        let or = p
            .typed_alt
            .as_ref()
            .map(|u| format!(" or the UUID's start {u}"))
            .unwrap_or_default();
        lines.push(Line::from(vec![
            Span::raw(format!("Type {what} ({want}){or} to confirm: ")),
            Span::styled(format!("{}█", pane.typed), theme.selected()),
        ]));
    }
    let button = |label: String, on: bool| {
        if on {
            Span::styled(format!("[ {label} ]"), theme.selected())
        } else {
            Span::raw(format!("  {label}  "))
        }
    };
    let hint = if refused {
        Span::styled("   cannot run · Esc: close", theme.bad())
    } else {
        Span::styled("   Tab: switch · Enter: choose · Esc: cancel", theme.dim())
    };
    lines.push(Line::from(vec![
        button("Cancel".into(), pane.focus == Focus::Cancel),
        Span::raw("   "),
        button(p.kind.name().to_uppercase(), pane.focus == Focus::Confirm),
        hint,
    ]));
    if let Some(m) = &pane.message {
        lines.push(Line::styled(m.clone(), theme.bad()));
    }
    lines
}

/// Draws the pane with its plan scrolled to `top`; returns where it ended up.
pub fn draw(f: &mut Frame, area: Rect, pane: &Pane, theme: Theme, top: usize) -> Scroll {
    let p = &pane.plan;
    let w = area.width.min(100);
    let inner_w = w.saturating_sub(2) as usize;
    let rows = |lines: Vec<Line<'static>>| -> Vec<Line<'static>> {
        lines
            .into_iter()
            .flat_map(|l| wrap(l, inner_w, 4))
            .collect()
    };
    let body = rows(plan_lines(p, theme));
    let pinned = rows(pinned_lines(pane, theme));
    let h = (body.len() + pinned.len() + 2).min(area.height as usize) as u16;
    let page = (h as usize).saturating_sub(2 + pinned.len());
    let max = body.len().saturating_sub(page);
    let scroll = Scroll {
        top: top.min(max),
        max,
        page,
    };
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    f.render_widget(Clear, r);
    let danger = if p.kind.disruptive() {
        " — DISRUPTIVE"
    } else {
        ""
    };
    let mut title = vec![];
    if !p.production.is_empty() {
        // Before anything else, where it cannot be missed (a 3 a.m. reboot of production).
        title.push(Span::styled(
            format!(" PRODUCTION ({}) ", p.production.join(", ")),
            theme.bad().add_modifier(ratatui::style::Modifier::REVERSED),
        ));
    }
    title.push(Span::styled(
        format!(" Confirm: {}{danger} ", p.kind.name()),
        theme.title(),
    ));
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Line::from(title));
    if max > 0 {
        block = block.title_bottom(Span::styled(
            format!(" ↑↓ PgUp PgDn:{}", scroll.label(body.len())),
            theme.dim(),
        ));
    }
    let inner = block.inner(r);
    f.render_widget(block, r);
    let [above, below] =
        Layout::vertical([Constraint::Length(page as u16), Constraint::Min(0)]).areas(inner);
    let shown: Vec<Line> = body.into_iter().skip(scroll.top).collect();
    f.render_widget(Paragraph::new(shown), above);
    f.render_widget(Paragraph::new(pinned), below);
    scroll
}
