#![allow(clippy::unwrap_used)]
//! Whole-app screen tests, in the style of gitui's: the real `ui::draw` on a `TestBackend`,
//! driven by the real `app::handle_event`, on a fleet built from recorded-style samples with a
//! fixed clock. Snapshots are the buffer's symbols only (no colour: `Theme { color: false }`).

mod screen;
use fleetwatch_testkit as support;

use fleetwatch::app::{Handled, handle_event};
use fleetwatch::ui;
use fleetwatch::ui::keys::Verb;
use fleetwatch::ui::rows::SortKey;
use fleetwatch::ui::state::{Focus, Overlay};
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::sample::HostSample;
use fleetwatch_core::sanitize::{clean, is_hostile};
use fleetwatch_libvirt::ffi::ParamValue;
use fleetwatch_libvirt::{domxml, stats};
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use screen::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{host_config, info, sample};

// ---------------------------------------------------------------------------------------------
// 1. Overview
// ---------------------------------------------------------------------------------------------

#[test]
fn overview_80x24() {
    let mut s = Screen::lab(80, 24);
    let t = s.draw();
    assert!(
        t.contains("hv-003 did not answer in time"),
        "the down host's cause is shown in plain words:\n{t}"
    );
    assert!(t.contains("STALE"), "{t}");
    assert!(s.vms_title().contains("VMs 12/12"), "{}", s.vms_title());
    insta::assert_snapshot!("overview_80x24", t);
}

#[test]
fn overview_200x50() {
    let mut s = Screen::lab(200, 50);
    let t = s.draw();
    assert!(
        t.contains("hv-003 did not answer in time (last data 1m33s ago)"),
        "{t}"
    );
    assert!(t.contains("hosts 2/4 up"), "{t}");
    assert!(t.contains("data 3s ago"), "{t}");
    assert!(t.contains("last data 43s ago"), "stale age:\n{t}");
    // Every VM fits, and the detail pane sits beside the table.
    for name in s.row_names() {
        assert!(t.contains(&name), "{name} missing:\n{t}");
    }
    assert!(t.contains(" Detail "), "{t}");
    insta::assert_snapshot!("overview_200x50", t);
}

// ---------------------------------------------------------------------------------------------
// 2. Help
// ---------------------------------------------------------------------------------------------

#[test]
fn help_opens_and_esc_closes_it() {
    let mut s = Screen::lab(80, 24);
    s.key(KeyCode::Char('?'));
    assert_eq!(s.ui.overlay, Overlay::Help);
    let t = s.text();
    assert!(t.contains("Help · Esc closes"), "{t}");
    insta::assert_snapshot!("help_80x24", t);

    s.key(KeyCode::Esc);
    assert_eq!(s.ui.overlay, Overlay::None);
    let t = s.text();
    assert!(!t.contains("Help · Esc closes"), "help still shown:\n{t}");
    assert!(t.contains(" VMs 12/12"), "{t}");
}

// ---------------------------------------------------------------------------------------------
// 3. Filter
// ---------------------------------------------------------------------------------------------

#[test]
fn filter_substring() {
    let mut s = Screen::lab(80, 24);
    s.key(KeyCode::Char('/'));
    s.keys("web");
    assert!(s.footer().starts_with("/web█"), "{}", s.footer());
    s.key(KeyCode::Enter);
    assert_eq!(s.ui.overlay, Overlay::None);
    let title = s.vms_title();
    assert!(title.contains("VMs 3/12"), "{title}");
    assert!(title.contains("filter \"web\""), "{title}");
    assert_eq!(s.row_names(), ["web-01", "web-02", "web-03"]);
    let t = s.text();
    for gone in ["db-01", "db-02", "cache-01", "vm-000-000"] {
        assert!(!t.contains(gone), "{gone} shown under filter web:\n{t}");
    }
    // Esc clears it again.
    s.key(KeyCode::Esc);
    assert!(s.vms_title().contains("VMs 12/12"), "{}", s.vms_title());
}

#[test]
fn filter_regex() {
    let mut s = Screen::lab(80, 24);
    s.key(KeyCode::Char('/'));
    s.keys(r"~^db-\d+$");
    s.key(KeyCode::Enter);
    assert!(s.vms_title().contains("VMs 3/12"), "{}", s.vms_title());
    assert_eq!(s.row_names(), ["db-01", "db-02", "db-04"]);
    let t = s.text();
    assert!(!t.contains("db-backup"), "{t}");
    assert!(!t.contains("web-01"), "{t}");
}

#[test]
fn filter_bad_regex_shows_error_in_footer() {
    let mut s = Screen::lab(80, 24);
    s.key(KeyCode::Char('/'));
    s.keys("~(");
    let footer = s.footer();
    assert!(footer.starts_with("/~(█  bad regex:"), "{footer}");
    assert!(footer.contains("unclosed group"), "{footer}");
    // Nothing is hidden by a filter that does not compile.
    assert!(s.vms_title().contains("VMs 12/12"), "{}", s.vms_title());
    // Esc cancels the filter and the error with it.
    s.key(KeyCode::Esc);
    assert!(!s.footer().contains("bad regex"), "{}", s.footer());
    assert!(s.ui.filter_error.is_none());
}

// ---------------------------------------------------------------------------------------------
// 4. Sort
// ---------------------------------------------------------------------------------------------

#[test]
fn sort_cycles_and_cpu_puts_busiest_first() {
    let mut s = Screen::lab(80, 24);
    assert!(s.vms_title().contains("sort host ▲"), "{}", s.vms_title());
    for want in ["sort state ▲", "sort vcpu ▼", "sort cpu ▼"] {
        s.key(KeyCode::Char('s'));
        assert!(s.vms_title().contains(want), "{want}: {}", s.vms_title());
    }
    assert_eq!(s.ui.sort, SortKey::Cpu);
    let by_cpu = [
        "web-01",     // 90%
        "db-01",      // 66%
        "web-03",     // 50%, host stale: last known
        "db-02",      // 35%
        "vm-000-000", // 25% each, ties by name
        "vm-001-000",
        "vm-002-000",
        "web-02",    // 15%
        "cache-01",  // 5%
        "db-backup", // shut off: 0
        "db-04",     // host down: unknown, last
        "vm-003-000",
    ];
    assert_eq!(s.row_names(), by_cpu);
    // The top data row on screen is the busiest VM, and it is selected.
    let lines = s.lines();
    let header = lines
        .iter()
        .position(|l| l.contains("CPU%▼"))
        .expect("CPU%▼ header");
    assert!(
        lines[header + 1].contains("web-01"),
        "{}",
        lines[header + 1]
    );
    assert!(
        lines[header + 1].contains(" 90.0 "),
        "{}",
        lines[header + 1]
    );
    assert_eq!(s.selected_name(), "web-01");
    // S reverses: the busiest goes last.
    s.key(KeyCode::Char('S'));
    assert!(s.vms_title().contains("sort cpu ▲"), "{}", s.vms_title());
    assert_eq!(s.row_names().last().map(String::as_str), Some("web-01"));
    // And the cycle goes on to memory.
    s.key(KeyCode::Char('s'));
    assert!(s.vms_title().contains("sort mem ▼"), "{}", s.vms_title());
}

// ---------------------------------------------------------------------------------------------
// 5. Host narrowing
// ---------------------------------------------------------------------------------------------

#[test]
fn enter_on_a_host_shows_only_its_vms() {
    let mut s = Screen::lab(80, 24);
    s.key(KeyCode::Tab);
    assert_eq!(s.ui.focus, Focus::Hosts);
    s.key(KeyCode::Char('j'));
    s.key(KeyCode::Enter);
    assert!(
        s.text().contains("Host hv-001"),
        "Enter opens the host detail"
    );
    s.key(KeyCode::Enter);
    assert_eq!(s.ui.host_filter, Some(1));
    assert_eq!(s.ui.focus, Focus::Vms, "Enter in it moves to its VMs");
    let t = s.text();
    assert!(t.contains("showing only hv-001"), "{t}");
    assert!(s.vms_title().contains("VMs 4/12"), "{}", s.vms_title());
    assert_eq!(
        s.row_names(),
        ["cache-01", "db-02", "db-backup", "vm-001-000"]
    );
    assert!(
        s.table_rows().iter().all(|r| r[1] == "hv-001"),
        "{}",
        s.text()
    );
    for other in ["web-01", "db-01", "vm-000-000", "web-03"] {
        assert!(!t.contains(other), "{other} is not on hv-001:\n{t}");
    }
    s.key(KeyCode::Esc);
    assert_eq!(s.ui.host_filter, None);
    assert!(s.vms_title().contains("VMs 12/12"), "{}", s.vms_title());
    assert!(!s.text().contains("showing only"));
}

#[test]
fn host_detail_names_the_cause_the_next_step_and_the_whole_error() {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut s = Screen::lab(w, h);
        s.key(KeyCode::Tab);
        for _ in 0..3 {
            s.key(KeyCode::Char('j'));
        }
        s.key(KeyCode::Char('i'));
        let t = s.text();
        assert!(t.contains("Host hv-003"), "{t}");
        assert!(t.contains("DOWN since"), "{t}");
        assert!(t.contains("did not answer in time"), "{t}");
        // Wrapped rather than cut: read it as one text.
        let flat: String = t
            .lines()
            .map(|l| l.trim_matches(|c| c == '│' || c == ' '))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            flat.contains("retries with back-off"),
            "the next step:\n{t}"
        );
        assert!(
            flat.contains("timed out after 5s (no route to host)"),
            "the whole error:\n{t}"
        );
        assert!(t.contains("transport"), "{t}");
        s.key(KeyCode::Up);
        assert!(
            s.text().contains("Host hv-002"),
            "↑ steps to the host above"
        );
        s.key(KeyCode::Esc);
        assert!(!s.text().contains("Host hv-002"), "Esc closes it");
        assert_eq!(s.ui.host_filter, None, "closing filters nothing");
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Detail pane
// ---------------------------------------------------------------------------------------------

/// What the detail pane says about db-01 in its first eight lines: all an 80x24 terminal has
/// room for below the table.
const DB01_TOP: [&str; 5] = [
    "db-01  running",
    "uuid    5a0c1f3e-7d1b-4f4e-9b0a-0000000000d1",
    "host    hv-000 (up)",
    "title   Primary database",
    // CPU rising poll by poll; the first poll has no rate, drawn as a blank.
    "cpu%     ▂▃▄▅▆",
];

/// The rest: more sparklines, and each disk marked shared or LOCAL.
const DB01_REST: [&str; 6] = [
    "│mem     ▃▃▃▃▃▃",
    "│disk     █████",
    "│net      █████",
    "disk vda shared file /srv/shared/images/db-01.qcow2",
    "disk vdb LOCAL  file /var/lib/libvirt/images/db-01-scratch.qcow2",
    "disk vdc shared network/rbd rbd/db-01-data",
];

fn assert_shows(t: &str, wants: &[&str]) {
    for want in wants {
        assert!(t.contains(want), "screen lacks {want:?}:\n{t}");
    }
}

#[test]
fn detail_pane_at_80x24() {
    let mut s = Screen::lab(80, 24);
    assert!(!s.text().contains(" Detail "), "hidden until asked for");
    s.key(KeyCode::Char('i'));
    assert!(s.ui.show_detail);
    let t = s.text();
    assert_eq!(s.selected_name(), "db-01");
    assert_shows(&t, &DB01_TOP);
    // The selected row stays in view above the pane.
    let shown: Vec<String> = s.table_rows().into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(shown, ["db-01", "vm-000-000"]);
    insta::assert_snapshot!("detail_80x24", t);

    // The same narrow layout on a taller terminal has room for the disks.
    s.term.backend_mut().resize(80, 40);
    let t = s.draw();
    assert_shows(&t, &DB01_TOP);
    assert_shows(&t, &DB01_REST);
    insta::assert_snapshot!("detail_80x40", t);
    s.term.backend_mut().resize(80, 24);
    s.key(KeyCode::Char('i'));
    assert!(!s.text().contains(" Detail "));

    // Enter on a VM opens it too; moving the selection follows in the pane.
    s.key(KeyCode::Char('j'));
    s.key(KeyCode::Enter);
    let t = s.text();
    assert!(t.contains(" Detail "), "{t}");
    assert!(t.contains("vm-000-000  running"), "{t}");
    assert!(t.contains("uuid    0000-0000-uuid"), "{t}");
    // web-02 runs on hv-000 and is left defined on hv-001.
    s.key(KeyCode::Char('j'));
    s.key(KeyCode::Char('j'));
    assert_eq!(s.selected_name(), "web-02");
    let t = s.text();
    assert!(t.contains("web-02  running"), "{t}");
    assert!(t.contains("also on hv-001"), "{t}");
    // Esc closes it.
    s.key(KeyCode::Esc);
    assert!(!s.text().contains(" Detail "));
}

#[test]
fn detail_beside_table_at_200x50() {
    let mut s = Screen::lab(200, 50);
    let t = s.text();
    assert_shows(&t, &DB01_TOP);
    assert_shows(&t, &DB01_REST);
    // Beside: the Detail title is on the same line as the VMs title.
    let title = s.vms_title();
    assert!(title.contains(" Detail "), "{title}");
    // `i` does not take it away on a wide terminal.
    s.key(KeyCode::Char('i'));
    assert!(s.text().contains(" Detail "));
    s.key(KeyCode::Char('i'));
    s.key(KeyCode::Char('G'));
    assert_eq!(s.selected_name(), "vm-003-000");
    let t = s.text();
    assert!(t.contains("vm-003-000  running"), "{t}");
    assert!(t.contains("host    hv-003 (down)"), "{t}");
    insta::assert_snapshot!("detail_200x50_down_host_vm", t);
}

// ---------------------------------------------------------------------------------------------
// 7. Sizes
// ---------------------------------------------------------------------------------------------

#[test]
fn too_small_terminal_says_so() {
    let mut s = Screen::lab(40, 10);
    let t = s.draw();
    let flat = t.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("fleetwatch needs at least 60x12"), "{t}");
    assert!(flat.contains("this terminal is 40x10"), "{t}");
    assert!(!t.contains("VMs"), "{t}");
    // Keys still work, and growing the terminal brings the UI back.
    s.key(KeyCode::Char('?'));
    s.term.backend_mut().resize(80, 24);
    let t = s.draw();
    assert!(t.contains("Help · Esc closes"), "{t}");
}

#[test]
fn every_size_renders_without_panic() {
    let (fleet, now) = lab();
    let widths = (1..=100).step_by(3).chain([59, 60, 61, 149, 150, 151, 250]);
    for w in widths {
        for h in (1..=40).step_by(3).chain([11, 12, 13, 60]) {
            // Plain, with the detail pane, with help, while typing a filter, narrowed to a host.
            let setups: [&[KeyCode]; 5] = [
                &[],
                &[KeyCode::Char('i'), KeyCode::Char('G')],
                &[KeyCode::Char('?')],
                &[KeyCode::Char('/'), KeyCode::Char('~'), KeyCode::Char('(')],
                &[KeyCode::Tab, KeyCode::Char('G'), KeyCode::Enter],
            ];
            for keys in setups {
                let mut s = Screen::new(fleet.clone(), now, w, h);
                for &k in keys {
                    s.key(k);
                }
                let t = s.draw();
                assert_eq!(t.lines().count(), h as usize, "{w}x{h}");
                if w >= ui::MIN_WIDTH && h >= ui::MIN_HEIGHT {
                    let help_on_top = keys == [KeyCode::Char('?')] && t.contains(" Help · ");
                    assert!(
                        t.starts_with("fleetwatch") || t.starts_with(" fleetwatch") || help_on_top,
                        "{w}x{h}:\n{t}"
                    );
                } else if w >= 30 && h >= 5 {
                    let flat = t.split_whitespace().collect::<Vec<_>>().join(" ");
                    assert!(flat.contains("needs at least"), "{w}x{h}:\n{t}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 8. Hostile strings
// ---------------------------------------------------------------------------------------------

const EVIL_NAME: &str =
    "evil\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\u{7f}name\u{202e}fdp.exe\u{2066}!";
const FIXTURE: &str = include_str!("fixtures/hostile.xml");

fn params(state: u32, secs: u64) -> Vec<(String, ParamValue)> {
    let u = |k: &str, v: u64| (k.to_owned(), ParamValue::UInt(v));
    vec![
        u("state.state", u64::from(state)),
        u("cpu.time", 500_000_000 * secs),
        u("vcpu.current", 2),
        u("balloon.current", 2 << 20),
        u("balloon.maximum", 4 << 20),
        u("balloon.rss", 1 << 20),
        u("block.count", 1),
        u("block.0.rd.bytes", 1_000_000 * secs),
        u("block.0.wr.bytes", 2_000_000 * secs),
        u("net.count", 1),
        u("net.0.rx.bytes", 3_000_000 * secs),
        u("net.0.tx.bytes", 4_000_000 * secs),
    ]
}

/// The raw (uuid, name, domain XML, libvirt state) of each domain in the hostile fixture, as
/// libvirt would hand them over, plus one with terminal escape sequences that XML cannot carry.
fn hostile_domains() -> Vec<(String, String, String, u32)> {
    let doc = roxmltree::Document::parse(FIXTURE).expect("fixture parses");
    let mut out: Vec<(String, String, String, u32)> = doc
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("domain"))
        .zip([1, 3, 5])
        .map(|(d, state)| {
            let text = |tag: &str| {
                d.children()
                    .find(|n| n.has_tag_name(tag))
                    .and_then(|n| n.text())
                    .unwrap_or_default()
                    .to_owned()
            };
            (
                text("uuid"),
                text("name"),
                FIXTURE[d.range()].to_owned(),
                state,
            )
        })
        .collect();
    assert_eq!(out.len(), 3, "fixture domains");
    // The first fixture domain's hostile config, under a name full of escape sequences.
    let xml = out[0].2.clone();
    out.insert(
        0,
        (
            "e5e5e5e5-0000-4000-8000-00000000e511\u{1b}[2J".into(),
            EVIL_NAME.into(),
            xml,
            1,
        ),
    );
    out
}

fn hostile_fleet() -> (Fleet, Instant) {
    let t0 = Instant::now();
    let mut fleet = Fleet::new(&[host_config("hv-evil")]);
    for secs in [10, 12] {
        let doms = hostile_domains()
            .into_iter()
            .map(|(uuid, name, xml, state)| {
                let (mut d, _) = stats::domain_from_params(&uuid, &name, &params(state, secs));
                d.config = Some(Arc::new(domxml::parse(&xml).expect("domain XML")));
                d
            })
            .collect();
        let s: HostSample = sample(info(8, 32), t0 + Duration::from_secs(secs), doms);
        fleet.apply(0, &s);
    }
    (fleet, t0 + Duration::from_secs(13))
}

fn assert_no_hostile_cell(buf: &Buffer, what: &str) {
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let sym = buf[(x, y)].symbol();
            assert!(
                !sym.chars().any(is_hostile),
                "{what}: cell ({x},{y}) holds {sym:?}\n{}",
                text(buf)
            );
        }
    }
}

/// The runs of plain printable ASCII in `raw`, two characters or longer.
fn printable_parts(raw: &str) -> Vec<String> {
    raw.split(|c: char| !c.is_ascii_graphic())
        .filter(|p| p.len() >= 2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn hostile_strings_never_reach_the_screen() {
    let (fleet, now) = hostile_fleet();
    assert_eq!(fleet.vm_count(), 4);
    for (w, h) in [(80, 24), (200, 50)] {
        let mut s = Screen::new(fleet.clone(), now, w, h);
        if w < 150 {
            s.key(KeyCode::Char('i'));
        }
        s.key(KeyCode::Char('g'));
        for n in 0..fleet.vm_count() {
            let t = s.draw();
            let what = format!("{w}x{h}, row {n} ({:?})", s.selected_name());
            assert!(t.contains(" Detail "), "{what}:\n{t}");
            assert_no_hostile_cell(s.buffer(), &what);
            // The selected VM's name, cleaned, heads the detail pane in full: the printable
            // parts of what libvirt sent are all still there.
            let name = s.selected_name();
            assert!(
                !name.chars().any(is_hostile),
                "{what}: model holds {name:?}"
            );
            let raw = hostile_domains()
                .into_iter()
                .find(|(_, raw, _, _)| clean(raw) == name)
                .map(|(_, raw, _, _)| raw)
                .expect("a raw name");
            for part in printable_parts(&raw) {
                assert!(
                    t.contains(&part),
                    "{what}: {part:?} of {raw:?} not shown:\n{t}"
                );
            }
            // ...with a visible mark (U+FFFD) where each hostile character was: ratatui alone
            // would drop most of them silently, so the marks show the sanitizer ran.
            let shown: String = name
                .chars()
                .filter(|&c| unicode_width::UnicodeWidthChar::width(c) != Some(0))
                .collect();
            assert!(t.contains(&shown), "{what}: {shown:?} not shown:\n{t}");
            s.key(KeyCode::Char('j'));
        }
    }
    // The evil one, by name, at both sizes.
    let clean_name = clean(EVIL_NAME);
    assert_eq!(
        clean_name,
        "evil\u{fffd}]0;pwned\u{fffd}\u{fffd}[2J\u{fffd}31m\u{fffd}name\u{fffd}fdp.exe\u{fffd}!"
    );
    let mut s = Screen::new(fleet, now, 200, 50);
    s.key(KeyCode::Char('/'));
    s.keys("pwned");
    s.key(KeyCode::Enter);
    let t = s.text();
    assert!(t.contains(&clean_name), "{t}");
    assert_no_hostile_cell(s.buffer(), "filtered to the evil VM");
    insta::assert_snapshot!("hostile_200x50", t);
}

// ---------------------------------------------------------------------------------------------
// 9. Mouse
// ---------------------------------------------------------------------------------------------

#[test]
fn click_selects_a_row_and_a_title_sorts() {
    let mut s = Screen::lab(80, 24);
    assert_eq!(s.selected_name(), "db-01");
    let (_, y) = s.find("web-02").expect("web-02 on screen");
    s.click(5, y);
    assert_eq!(s.selected_name(), "web-02");
    assert!(!s.ui.show_detail, "one click selects");
    // A second click on the selected row opens its details.
    s.click(5, y);
    assert!(s.ui.show_detail);
    assert!(s.text().contains("web-02  running"));
    s.key(KeyCode::Char('i'));

    let (x, y) = s.find("CPU%").expect("CPU% title");
    s.click(x + 1, y);
    assert_eq!(s.ui.sort, SortKey::Cpu);
    assert!(s.ui.descending);
    assert!(s.vms_title().contains("sort cpu ▼"), "{}", s.vms_title());
    assert_eq!(s.row_names()[0], "web-01");
    // Again: ascending.
    s.click(x + 1, y);
    assert!(s.vms_title().contains("sort cpu ▲"), "{}", s.vms_title());
    // The NAME title sorts by name.
    let (x, y) = s.find("NAME").expect("NAME title");
    s.click(x, y);
    assert_eq!(s.ui.sort, SortKey::Name);
    assert_eq!(s.row_names()[0], "cache-01");
    // A click on a host line selects it, a second one narrows to it.
    let (x, y) = s.find("hv-001").expect("hv-001 line");
    s.click(x, y);
    assert_eq!((s.ui.focus, s.ui.host_selected), (Focus::Hosts, 1));
    s.click(x, y);
    assert_eq!(s.ui.host_filter, Some(1));
}

// ---------------------------------------------------------------------------------------------
// Findings
// ---------------------------------------------------------------------------------------------

#[test]
fn findings_view_groups_by_kind_at_80x24_and_200x50() {
    let (fleet, now) = with_findings(Vec::new());
    let mut s = Screen::new(fleet.clone(), now, 80, 24);
    assert!(
        s.lines()[0].contains("C ") && s.lines()[0].contains("W"),
        "{}",
        s.lines()[0]
    );
    s.key(KeyCode::Char('f'));
    let t = s.text();
    assert!(t.contains("┌ Findings · "), "{t}");
    assert!(
        t.contains("U unapproved") && t.contains("B unbacked") && t.contains("D drift"),
        "{t}"
    );
    insta::assert_snapshot!("findings_80x24", t);
    let mut s = Screen::new(fleet, now, 200, 50);
    s.key(KeyCode::Char('f'));
    insta::assert_snapshot!("findings_200x50", s.text());
    s.key(KeyCode::Esc);
    assert!(s.text().contains("┌ VMs "), "Esc goes back to the table");
}

#[test]
fn enter_on_a_kind_filters_the_table_and_on_a_finding_selects_its_vm() {
    let (fleet, now) = with_findings(Vec::new());
    let mut s = Screen::new(fleet, now, 200, 50);
    // The first group is a critical kind; show its VMs.
    s.key(KeyCode::Char('f'));
    s.key(KeyCode::Enter);
    let title = s.vms_title();
    assert!(title.contains("· only unapproved"), "{title}");
    let names = s.row_names();
    assert!(
        !names.contains(&"db-01".to_owned()),
        "db-01 is approved: {names:?}"
    );
    assert!(names.len() >= 5);
    s.key(KeyCode::Esc);
    assert!(!s.vms_title().contains("only"), "Esc clears the kind");
    // Down to the first finding of the first group: its VM is selected, its detail open.
    s.key(KeyCode::Char('f'));
    s.key(KeyCode::Char('j'));
    s.key(KeyCode::Enter);
    let name = s.selected_name();
    let t = s.text();
    assert!(t.contains(&format!("│{name} ")), "{t}");
    assert!(
        t.contains("U unapproved no approval"),
        "the detail explains it:\n{t}"
    );
    // :flag narrows by a kind by name.
    s.key(KeyCode::Char(':'));
    s.keys("flag drift");
    s.key(KeyCode::Enter);
    assert_eq!(s.row_names(), vec!["db-01".to_owned()]);
    assert!(
        s.text()
            .contains("vCPUs 2 running, 4 approved (inventory line 1)"),
        "{}",
        s.text()
    );
}

#[test]
fn a_bad_policy_file_shows_a_banner_and_monitoring_goes_on() {
    let (fleet, now) = with_findings(vec!["/etc/fw/inventory.toml, line 3: expected `=`".into()]);
    let mut s = Screen::new(fleet, now, 80, 24);
    let lines = s.lines();
    assert!(
        lines[1].starts_with("! /etc/fw/inventory.toml, line 3: expected `=`"),
        "{}",
        lines[1]
    );
    assert!(s.text().contains("┌ VMs "), "the table is still there");
    insta::assert_snapshot!("banner_80x24", s.draw());
}

// ---------------------------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------------------------

#[test]
fn time_travel_keys_ask_for_the_right_moments() {
    use fleetwatch::ui::state::Effect;
    let mut s = Screen::lab(80, 24);
    let now = chrono::Utc::now().timestamp_millis();
    // [ from live: five minutes ago.
    let Handled::Do(Effect::TimeTravel(t)) = handled(&mut s, KeyCode::Char('[')) else {
        panic!("no time travel")
    };
    assert!((now - 300_000 - t).abs() < 5_000, "{}", now - t);
    // Shown historical: ] steps forward, and from near now back to live.
    s.ui.historical = Some(now - 600_000);
    let Handled::Do(Effect::TimeTravel(t)) = handled(&mut s, KeyCode::Char(']')) else {
        panic!()
    };
    assert_eq!(t, now - 300_000);
    s.ui.historical = Some(now - 60_000);
    assert!(matches!(
        handled(&mut s, KeyCode::Char(']')),
        Handled::Do(Effect::Live)
    ));
    assert!(matches!(
        handled(&mut s, KeyCode::Char('L')),
        Handled::Do(Effect::Live)
    ));
    // :at with a time people type.
    s.key(KeyCode::Char(':'));
    s.keys("at -6h");
    let Handled::Do(Effect::TimeTravel(t)) = handled(&mut s, KeyCode::Enter) else {
        panic!()
    };
    assert!((now - 6 * 3_600_000 - t).abs() < 5_000);
    s.key(KeyCode::Char(':'));
    s.keys("at yesterday-ish");
    s.key(KeyCode::Enter);
    assert!(s.footer().contains("not a moment"), "{}", s.footer());
    assert!(matches!(
        handled(&mut s, KeyCode::Char('H')),
        Handled::Do(Effect::LoadEvents)
    ));
    // A narrower span for the event list.
    s.key(KeyCode::Esc);
    s.key(KeyCode::Char(':'));
    s.keys("history 6h");
    assert!(matches!(
        handled(&mut s, KeyCode::Enter),
        Handled::Do(Effect::LoadEvents)
    ));
    assert_eq!(s.ui.history_since, Duration::from_secs(6 * 3600));
    assert!(s.text().contains("History · last 6 hours"), "{}", s.text());
}

#[test]
fn a_historical_fleet_says_so_everywhere() {
    let (fleet, now) = lab();
    let mut s = Screen::new(fleet, now, 200, 50);
    s.ui.historical = Some(1_795_233_600_000);
    s.ui.show_detail = true;
    let t = s.draw();
    let stamp = fleetwatch_core::history::time::show(
        chrono::DateTime::from_timestamp_millis(1_795_233_600_000).unwrap(),
    );
    assert!(
        s.lines()[0].contains(&format!("HISTORICAL {stamp}")),
        "{}",
        s.lines()[0]
    );
    assert!(s.lines()[0].contains("findings: live only"));
    assert!(t.contains(&format!("Hosts · as of {stamp}")), "{t}");
    assert!(s.vms_title().contains(&format!("as of {stamp}")));
    assert!(t.contains(&format!("Detail · as of {stamp}")));
    let mut small = Screen::new(s.fleet.clone(), now, 80, 24);
    small.ui.historical = s.ui.historical;
    assert!(small.draw().lines().next().unwrap().contains("HISTORICAL"));
}

#[test]
fn history_view_lists_migrations_at_80x24_and_200x50() {
    let base = 1_795_233_600_000;
    let data = fleetwatch::ui::history::HistoryData {
        events: vec![
            history_event(
                base + 60_000,
                "migrated",
                "db-01",
                Some("hv-000"),
                "hv-001",
                Some(3.4),
            ),
            history_event(base + 30_000, "host-down", "-", None, "hv-003", None),
            history_event(base, "stopped", "web-02", None, "hv-000", None),
        ],
        ..Default::default()
    };
    for (w, h, name) in [(80, 24, "history_80x24"), (200, 50, "history_200x50")] {
        let (fleet, now) = lab();
        let mut s = Screen::new(fleet, now, w, h);
        s.history = data.clone();
        s.key(KeyCode::Char('H'));
        let t = s.text();
        assert!(
            t.contains("hv-000→hv-001") && t.contains("3.4s") && t.contains("external"),
            "{t}"
        );
        // Tab to migrations only.
        s.key(KeyCode::Tab);
        let m = s.text();
        assert!(
            m.contains("[migrations]") && !m.contains("host-down") && !m.contains("web-02"),
            "{m}"
        );
        s.key(KeyCode::Tab);
        assert!(s.text().contains("host-down") && !s.text().contains("db-01 "));
        s.key(KeyCode::Tab);
        // Times are shown in local time; the harness runs every screen test in UTC.
        insta::assert_snapshot!(name, s.text());
        s.key(KeyCode::Esc);
        assert!(s.text().contains("┌ VMs "));
    }
}

#[test]
fn a_history_that_cannot_be_written_shows_a_banner_and_monitoring_goes_on() {
    use fleetwatch_core::history::writer::Status;
    let mut s = Screen::lab(80, 24);
    s.history.status = Some(Status::Error(
        "cannot write /var/lib/fw/history.db: database or disk is full".into(),
    ));
    let lines: Vec<String> = s.draw().lines().map(str::to_owned).collect();
    assert!(
        lines[1].starts_with("! history: cannot write /var/lib/fw/history.db: database or di"),
        "{}",
        lines[1]
    );
    assert!(lines[0].contains("REC FAILING"), "{}", lines[0]);
    assert!(s.text().contains("┌ VMs "));
    s.history.status = Some(Status::Standby {
        pid: 4242,
        hostname: "mgmt-01".into(),
    });
    let wide = Screen::new(s.fleet.clone(), s.now, 200, 50);
    let mut wide = wide;
    wide.history = s.history.clone();
    assert!(
        wide.draw()
            .lines()
            .next()
            .unwrap()
            .contains("rec by 4242@mgmt-01")
    );
}

// ---------------------------------------------------------------------------------------------
// Action panes
// ---------------------------------------------------------------------------------------------

#[test]
fn action_panes_at_80x24() {
    use fleetwatch_core::actions::{ActionFailure, ActionKind};
    let mut s = Screen::lab(80, 24);
    // The menu.
    s.key(KeyCode::Char('a'));
    assert!(matches!(s.ui.overlay, Overlay::Menu));
    insta::assert_snapshot!("action_menu_80x24", s.text());
    s.key(KeyCode::Esc);
    // Force off: disruptive, so the name must be typed; focus on Cancel.
    s.ui.overlay = Overlay::Confirm(Box::new(pane_for(ActionKind::ForceOff, &s, None)));
    insta::assert_snapshot!("confirm_force_off_80x24", s.draw());
    s.keys("db-0");
    s.key(KeyCode::Enter);
    assert!(
        s.text()
            .contains("typed \"db-0\", not \"db-01\": nothing was done"),
        "{}",
        s.text()
    );
    // A read-only session says so in the pane.
    s.ui.overlay = Overlay::Confirm(Box::new(pane_for(ActionKind::Pause, &s, Some("ro"))));
    assert!(s.draw().contains("this session is read-only"));
    // Migration: the target form, then its plan with the target's load and the local disk.
    s.ui.overlay = Overlay::None;
    // The key asks the app; the app opens the form as here.
    assert!(matches!(
        handle_event(
            Event::Key(KeyEvent::new(KeyCode::Char('m'), KeyModifiers::NONE)),
            &s.fleet,
            &mut s.ui,
            None
        )[..],
        [Handled::Do(fleetwatch::ui::state::Effect::ActionKey(
            Verb::Migrate
        ))]
    ));
    assert_eq!(s.ui.open_form(Verb::Migrate, &s.fleet), None);
    s.draw();
    assert!(matches!(s.ui.overlay, Overlay::Target(_)));
    insta::assert_snapshot!("migrate_target_80x24", s.text());
    let to = 1;
    let kind = ActionKind::Migrate {
        to,
        to_name: s.fleet.hosts[to].name.clone(),
        to_uri: s.fleet.hosts[to].uri.clone(),
        copy_storage: false,
    };
    s.ui.overlay = Overlay::Confirm(Box::new(pane_for(kind, &s, None)));
    let t = s.draw();
    assert!(t.contains("Cannot run:") && t.contains("local disk"), "{t}");
    insta::assert_snapshot!("confirm_migrate_80x24", t);
    // Snapshot form.
    s.ui.overlay = Overlay::None;
    assert_eq!(s.ui.open_form(Verb::Snapshot, &s.fleet), None);
    assert!(matches!(s.ui.overlay, Overlay::Snapshot(_)));
    assert!(s.draw().contains("name") && s.text().contains("fleetwatch-"));
    // Progress of a running migration, and the outcome.
    s.ui.overlay = Overlay::None;
    s.ui.actions_running
        .push(fleetwatch::ui::state::actions::Running {
            id: 1,
            title: "migrate db-01".into(),
            host: 0,
            progress: Some(fleetwatch_core::actions::Progress {
                percent: Some(42.0),
                remaining_bytes: Some(300 << 20),
                downtime_ms: Some(12),
                elapsed_ms: Some(3_000),
            }),
            result: None,
        });
    let t = s.draw();
    assert!(
        t.contains("migrate db-01 42% · 300M left · downtime 12 ms · 3s") && t.contains("A: abort"),
        "{t}"
    );
    s.ui.actions_running[0].result = Some(Err(ActionFailure::Aborted(
        "aborted by the operator; the VM stays where it was".into(),
    )));
    insta::assert_snapshot!("action_outcome_80x24", s.draw());
}

#[test]
fn action_keys_can_be_moved_in_config_and_help_shows_them() {
    let mut keys = std::collections::BTreeMap::new();
    keys.insert("force_off".to_owned(), "Z".to_owned());
    let mut s = Screen::lab(80, 24);
    s.ui.action_keys = fleetwatch::ui::keys::ActionKeys::from_config(
        &keys,
        &fleetwatch::ui::bindings::key_rules(),
    )
    .unwrap();
    let press = |s: &mut Screen, c: char| {
        handle_event(
            Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
            &s.fleet,
            &mut s.ui,
            None,
        )
    };
    assert!(
        matches!(press(&mut s, 'X')[..], [Handled::Continue]),
        "X no longer acts"
    );
    assert!(matches!(
        press(&mut s, 'Z')[..],
        [Handled::Do(fleetwatch::ui::state::Effect::ActionKey(
            Verb::ForceOff
        ))]
    ));
    s.key(KeyCode::Char('?'));
    assert!(s.text().contains("u d r p n m Z"), "{}", s.text());
}

#[test]
fn the_detail_pane_graphs_a_longer_range_from_history() {
    use fleetwatch::ui::state::history::GraphRange;
    use fleetwatch_core::history::query::Point;
    let mut s = Screen::lab(200, 50);
    let uuid = s.ui.selected_uuid().unwrap().to_owned();
    let points: Vec<Point> = (0..60)
        .map(|i| Point {
            at_ms: i * 300_000,
            cpu: Some(f64::from(i as u32 % 10) * 10.0),
            cpu_max: None,
            mem: Some(1e9),
            disk: Some(1e5),
            net: Some(2e5),
        })
        .collect();
    // Asked for, but not answered yet: said so.
    s.ui.graph_range = GraphRange::Day;
    let t = s.draw();
    assert!(
        t.contains("graphs 1 day (t)") && t.contains("no 1 day of history for this VM yet"),
        "{t}"
    );
    s.history.graph = Some((uuid, 1, points));
    let t = s.draw();
    assert!(!t.contains("no 1 day of history"), "{t}");
    let cpu_line = t.lines().find(|l| l.contains("cpu%  ")).unwrap();
    assert!(
        cpu_line.contains('▇') && cpu_line.contains('▂'),
        "{cpu_line}"
    );
}

#[test]
fn snapshot_form_80x24() {
    let mut s = Screen::lab(80, 24);
    assert_eq!(s.ui.open_form(Verb::Snapshot, &s.fleet), None);
    if let Overlay::Snapshot(f) = &mut s.ui.overlay {
        f.name = "before-upgrade".into();
        f.description = "kernel 6.1 to 6.6".into();
    }
    insta::assert_snapshot!("snapshot_form_80x24", s.draw());
}

#[test]
fn screen_tests_run_in_utc_whatever_the_machine_s_time_zone() {
    // Run with e.g. TZ=Asia/Tokyo: the harness pins UTC before the first frame.
    let _s = Screen::lab(80, 24);
    assert_eq!(chrono::Local::now().offset().local_minus_utc(), 0);
}
