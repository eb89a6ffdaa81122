#![allow(clippy::unwrap_used)]
#![allow(dead_code)]
//! The screen-test harness: a lab fleet built from recorded-style samples with a fixed clock,
//! and a `Screen` that draws the real frame (`app::draw_frame`) on a `TestBackend` after every
//! event it feeds through the real `app::handle_event`. Shared by the screen test files.

use crate::support::{busy_domain, domain, synthetic};
use fleetwatch::app::{Handled, draw_frame, handle_event};
use fleetwatch::ui::Context;
use fleetwatch::ui::state::UiState;
use fleetwatch::ui::theme::Theme;
use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::guest::{AddressSource, GuestInfo, RawAddress};
use fleetwatch_core::model::sample::{DomainSample, VmState};
use fleetwatch_libvirt::domxml;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use unicode_width::UnicodeWidthStr;

// ---------------------------------------------------------------------------------------------
// Fleets
// ---------------------------------------------------------------------------------------------

/// Poll times, in seconds after `t0`: six polls two seconds apart, so rates and sparklines exist.
pub const POLLS: [u64; 6] = [92, 94, 96, 98, 100, 102];
/// The screen's clock: three seconds after the newest sample.
pub const NOW: u64 = 105;
pub const STALE: usize = 2;
pub const DOWN: usize = 3;
/// How much older the stale and the down host's data are than the others'.
pub const STALE_BEHIND: u64 = 40;
pub const DOWN_BEHIND: u64 = 90;
pub const DOWN_ERROR: &str =
    "connect to qemu+tcp://hv-003/system timed out after 5s (no route to host)";

/// db-01's config, through the real XML reader: one shared file, one local file, one RBD disk.
pub const DB01_XML: &str = r#"<domain type='kvm'>
  <name>db-01</name>
  <uuid>5a0c1f3e-7d1b-4f4e-9b0a-0000000000d1</uuid>
  <title>Primary database</title>
  <description>postgres 16, owned by team-data</description>
  <memory unit='GiB'>8</memory>
  <vcpu placement='static'>2</vcpu>
  <devices>
    <disk type='file' device='disk'><source file='/srv/shared/images/db-01.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='disk'><source file='/var/lib/libvirt/images/db-01-scratch.qcow2'/><target dev='vdb' bus='virtio'/></disk>
    <disk type='network' device='disk'><source protocol='rbd' name='rbd/db-01-data'/><target dev='vdc' bus='virtio'/></disk>
    <interface type='bridge'><mac address='52:54:00:aa:00:01'/><source bridge='br-prod'/><target dev='vnet3'/><model type='virtio'/></interface>
  </devices>
</domain>"#;

/// What a guest agent said: these addresses on eth0, this hostname.
pub fn guest(addrs: &[&str], hostname: Option<&str>) -> Arc<GuestInfo> {
    let raw = addrs.iter().map(|a| RawAddress {
        interface: "eth0",
        addr: a,
        prefix: 24,
    });
    let mut g = GuestInfo::from_raw(raw, AddressSource::Agent);
    g.hostname = hostname.map(str::to_owned);
    g.os = hostname.map(|_| "Debian GNU/Linux 12".to_owned());
    Arc::new(g)
}

pub fn uuid(n: u32) -> String {
    format!("5a0c1f3e-7d1b-4f4e-9b0a-0000000000{n:02x}")
}

/// The named VMs of host `h` at poll time `secs`. CPU% of each (2 vCPUs): web-01 90, db-01 a
/// ramp ending at 66, web-03 50, db-02 35, web-02 15, cache-01 5 (paused), db-backup 0 (shut
/// off), db-04 unknown (its host is down); the synthetic vm-* VMs 25.
pub fn named(h: usize, secs: u64) -> Vec<DomainSample> {
    use VmState::{Paused, Running, Shutoff};
    match h {
        0 => {
            let mut db01 = domain(&uuid(0xd1), "db-01", Running, secs);
            // Load rising by 12% of the VM per poll: cumulative time is quadratic.
            let u = secs - 90;
            db01.cpu_time_ns = Some(60_000_000 * u * u);
            let cfg = domxml::parse(DB01_XML).expect("db-01 XML");
            db01.config = Some(Arc::new(cfg));
            db01.guest = Some(guest(&["10.1.2.3", "2001:db8::13"], Some("db-01.prod")));
            let mut web01 = busy_domain(&uuid(0x01), "web-01", Running, secs, 1800);
            web01.guest = Some(guest(&["10.1.2.30"], None));
            vec![
                web01,
                busy_domain(&uuid(0x02), "web-02", Running, secs, 300),
                db01,
            ]
        }
        1 => vec![
            busy_domain(&uuid(0xd2), "db-02", Running, secs, 700),
            busy_domain(&uuid(0xdb), "db-backup", Shutoff, secs, 0),
            busy_domain(&uuid(0xca), "cache-01", Paused, secs, 100),
            // web-02 is also defined here, shut off: left behind by a migration.
            busy_domain(&uuid(0x02), "web-02", Shutoff, secs, 0),
        ],
        2 => vec![busy_domain(&uuid(0x03), "web-03", Running, secs, 1000)],
        _ => vec![busy_domain(&uuid(0xd4), "db-04", Running, secs, 900)],
    }
}

/// Four hosts, hv-000 to hv-003: two up, hv-002 stale, hv-003 down with an error. Thirteen
/// placements of twelve VMs (web-02 is on two hosts). Returns the fleet and the screen's clock.
pub fn lab() -> (Fleet, Instant) {
    let t0 = Instant::now();
    let (configs, _) = synthetic(4, 1, t0, 0);
    let mut fleet = Fleet::new(&configs);
    for secs in POLLS {
        let (_, samples) = synthetic(4, 1, t0, secs);
        for (h, mut s) in samples.into_iter().enumerate() {
            s.domains.extend(named(h, secs));
            match h {
                STALE => s.taken -= Duration::from_secs(STALE_BEHIND),
                DOWN => s.taken -= Duration::from_secs(DOWN_BEHIND),
                _ => {}
            }
            fleet.apply(h, &s);
        }
    }
    fleet.set_link(STALE, LinkState::Stale, None);
    fleet.set_link(DOWN, LinkState::Down, Some(DOWN_ERROR.into()));
    (fleet, t0 + Duration::from_secs(NOW))
}

// ---------------------------------------------------------------------------------------------
// Findings
// ---------------------------------------------------------------------------------------------

/// The lab fleet with findings evaluated at a fixed time: nothing is approved but db-01 (by the
/// inventory), nothing is backed up, and the inventory names a ghost.
pub fn with_findings(problems: Vec<String>) -> (Fleet, Instant) {
    use fleetwatch_core::model::rules::evaluate;
    use fleetwatch_core::policy::inventory::Inventory;
    use fleetwatch_core::policy::loader::Inputs;
    let (mut fleet, now) = lab();
    let inv =
        "[[vm]]\nname = \"db-01\"\nowner = \"team-db\"\nvcpus = 4\n\n[[vm]]\nname = \"web-09\"\n";
    let inputs = Inputs {
        inventory: Some(
            Inventory::parse(inv, std::path::Path::new("inventory.toml")).map(Arc::new),
        ),
        catalog: None,
    };
    let policy = fleetwatch_core::policy::PolicyConfig {
        shared_storage: shared(),
        inventory: Some("inventory.toml".into()),
        ..Default::default()
    };
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let found = evaluate(&fleet, &policy, &inputs, at);
    fleet.set_findings(found, problems);
    (fleet, now)
}

// ---------------------------------------------------------------------------------------------
// The screen
// ---------------------------------------------------------------------------------------------

pub fn shared() -> Vec<String> {
    vec!["/srv/shared/".to_owned()]
}

pub struct Screen {
    pub fleet: Fleet,
    pub ui: UiState,
    pub now: Instant,
    pub shared: Vec<String>,
    pub history: fleetwatch::ui::history::HistoryData,
    pub term: Terminal<TestBackend>,
    /// What the header says of the session, as main.rs words it.
    pub mode: &'static str,
    /// `[group.NAME]` of the config (the hosts' `group` is in the fleet).
    pub groups: std::collections::BTreeMap<String, fleetwatch_core::config::HostGroup>,
}

impl Screen {
    pub fn new(fleet: Fleet, now: Instant, w: u16, h: u16) -> Screen {
        crate::support::in_utc();
        let mut s = Screen {
            fleet,
            ui: UiState::default(),
            now,
            shared: shared(),
            history: Default::default(),
            term: Terminal::new(TestBackend::new(w, h)).expect("test terminal"),
            mode: "read-only",
            groups: Default::default(),
        };
        s.draw();
        s
    }

    pub fn lab(w: u16, h: u16) -> Screen {
        let (fleet, now) = lab();
        Screen::new(fleet, now, w, h)
    }

    /// Draws a frame, as the app does after every event, and returns it as text.
    pub fn draw(&mut self) -> String {
        let cx = Context {
            theme: Theme { color: false },
            shared_storage: &self.shared,
            mode: self.mode,
            now: self.now,
            history: &self.history,
            groups: &self.groups,
        };
        let (fleet, ui) = (&self.fleet, &mut self.ui);
        self.term
            .draw(|f| draw_frame(f, fleet, ui, &cx))
            .expect("draw");
        self.text()
    }

    pub fn buffer(&self) -> &Buffer {
        self.term.backend().buffer()
    }

    pub fn text(&self) -> String {
        text(self.buffer())
    }

    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_owned).collect()
    }

    pub fn event(&mut self, ev: Event) {
        let handled = handle_event(ev, &self.fleet, &mut self.ui, None);
        assert!(
            !handled.iter().any(|h| matches!(h, Handled::Quit)),
            "event asked to quit"
        );
        self.draw();
    }

    pub fn key(&mut self, code: KeyCode) {
        self.event(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    /// Types each character as a key press.
    pub fn keys(&mut self, s: &str) {
        for c in s.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    pub fn click(&mut self, column: u16, row: u16) {
        self.event(Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }));
    }

    /// The VMs table's title line.
    pub fn vms_title(&self) -> String {
        self.lines()
            .into_iter()
            .find(|l| l.contains("┌ VMs "))
            .expect("a VMs title")
    }

    pub fn footer(&self) -> String {
        self.lines().last().cloned().unwrap_or_default()
    }

    /// The table's rows as shown, top to bottom, each split into its cells' words.
    pub fn table_rows(&self) -> Vec<Vec<String>> {
        let lines = self.lines();
        let header = lines
            .iter()
            .position(|l| l.starts_with("│NAME"))
            .expect("a table header");
        lines[header + 1..]
            .iter()
            .take_while(|l| l.starts_with('│') && !l.starts_with("│ "))
            .map(|l| {
                let table = l.trim_start_matches('│').split('│').next().unwrap_or("");
                table.split_whitespace().map(str::to_owned).collect()
            })
            .collect()
    }

    /// Names of the rows the table shows, top to bottom.
    pub fn row_names(&self) -> Vec<String> {
        let names: Vec<String> = self
            .table_rows()
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        assert_eq!(names.len(), self.ui.rows.len(), "every row is on screen");
        names
    }

    pub fn selected_name(&self) -> String {
        let u = self.ui.selected_uuid().expect("a selection");
        self.fleet.vm(u).expect("selected VM").name.clone()
    }

    /// Screen position (column, row) of the first occurrence of `needle`, in cells.
    pub fn find(&self, needle: &str) -> Option<(u16, u16)> {
        let buf = self.buffer();
        (0..buf.area.height).find_map(|y| {
            let (line, xs) = row_cells(buf, y);
            line.find(needle).map(|byte| {
                let i = line[..byte].chars().count();
                (xs[i], y)
            })
        })
    }
}

/// One row of the buffer as text, and the cell column each char of that text came from. The
/// cells hidden behind a wide character are skipped, as a terminal would show them.
pub fn row_cells(buf: &Buffer, y: u16) -> (String, Vec<u16>) {
    let mut line = String::new();
    let mut xs = Vec::new();
    let mut x = 0;
    while x < buf.area.width {
        let sym = buf[(x, y)].symbol();
        for _ in sym.chars() {
            xs.push(x);
        }
        line.push_str(sym);
        x += (sym.width() as u16).max(1);
    }
    (line, xs)
}

/// The whole buffer as lines of text, trailing blanks trimmed.
pub fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        out.push_str(row_cells(buf, y).0.trim_end());
        out.push('\n');
    }
    out
}

pub fn history_event(
    at_ms: i64,
    kind: &str,
    vm: &str,
    from: Option<&str>,
    to: &str,
    secs: Option<f64>,
) -> fleetwatch_core::history::query::EventRow {
    let iso = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .to_rfc3339()
    };
    fleetwatch_core::history::query::EventRow {
        at_ms,
        at: iso(at_ms),
        kind: kind.into(),
        vm: Some(vm.into()),
        uuid: Some(format!("uuid-{vm}")),
        host: Some(to.into()),
        from_host: from.map(str::to_owned),
        to_host: from.map(|_| to.to_owned()),
        started_at: secs.map(|s| iso(at_ms - (s * 1000.0) as i64)),
        duration_s: secs,
        actor: "external".into(),
        detail: String::new(),
    }
}

/// What the app is asked to do for one plain key, which is always one key.
pub fn handled(s: &mut Screen, code: KeyCode) -> Handled {
    let mut h = handle_event(
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE)),
        &s.fleet,
        &mut s.ui,
        None,
    );
    s.draw();
    assert_eq!(h.len(), 1, "{code:?} is one key");
    h.remove(0)
}

pub fn pane_for(
    kind: fleetwatch_core::actions::ActionKind,
    s: &Screen,
    refusal: Option<&str>,
) -> fleetwatch_core::actions::confirm::Pane {
    use fleetwatch_core::actions::plan::{PlanContext, plan};
    let groups = std::collections::HashMap::new();
    let allowed = vec![true; s.fleet.hosts.len()];
    let production: Vec<Option<String>> = s
        .fleet
        .hosts
        .iter()
        .map(|h| {
            h.group
                .clone()
                .filter(|g| s.groups.get(g).is_some_and(|x| x.production))
        })
        .collect();
    let cx = PlanContext {
        maintenance: &[],
        group_actions: &[],
        read_only: refusal.is_some(),
        actions_allowed: &allowed,
        shared_storage: &s.shared,
        groups: &groups,
        now: chrono::DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
        max_vcpu_overcommit: 4.0,
        production: &production,
    };
    fleetwatch_core::actions::confirm::Pane::new(plan(&s.fleet, &s.ui.action_targets(), kind, &cx))
}
