//! `/metrics` for Prometheus. The fleet's text is rendered by whoever owns the fleet (the
//! recorder's writing thread, or the TUI's loop) when a scrape asks for it, and left here; the
//! scrape waits a moment for it, copies it and adds the health figures as they are at that
//! moment. So rendering costs one pass per scrape (none while nobody scrapes), a scrape never
//! waits long on a store write, and a recorder whose store hangs still says so: it is answered
//! with the last text, and its poll lag grows.

use fleetwatch_core::metrics::{self, Health};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Slot {
    text: Arc<String>,
    rendered: Option<Instant>,
    /// A scrape waits for a text newer than the one here.
    pending: bool,
    /// Health figures but the lag, set by the recorder.
    health: Option<Health>,
}

/// A text this young is given as it is: several scrapers (two Prometheus servers, say)
/// share one rendering.
pub const FRESH: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Exporter {
    slot: Mutex<Slot>,
    /// The newest sample written (Unix ms), 0 before the first.
    newest_ms: AtomicI64,
    write_errors: AtomicU64,
    /// Wakes the owner of the fleet when a scrape waits (the TUI's loop sleeps until its
    /// next event otherwise).
    pub wake: tokio::sync::Notify,
}

impl Exporter {
    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        // A panic elsewhere while holding it leaves plain data: still good to serve.
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the owner of the fleet should render it now.
    pub fn wants(&self) -> bool {
        self.slot().pending
    }

    pub fn publish(&self, text: String) {
        let mut s = self.slot();
        s.text = Arc::new(text);
        s.rendered = Some(Instant::now());
        s.pending = false;
    }

    /// The recorder's health; `None` for a process that records nothing.
    pub fn set_health(&self, h: Health) {
        self.slot().health = Some(h);
    }

    pub fn wrote(&self, newest_sample_ms: Option<i64>) {
        if let Some(ms) = newest_sample_ms {
            self.newest_ms.fetch_max(ms, Ordering::Relaxed);
        }
    }

    /// A recorder's new session (its share changed): its lag starts again from its own writes.
    pub fn start_session(&self) {
        self.newest_ms.store(0, Ordering::Relaxed);
    }

    pub fn write_failed(&self) {
        self.write_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the fleet's text is fresh enough to give a scrape; when not, asks for one.
    pub fn fresh(&self) -> bool {
        let mut s = self.slot();
        if s.rendered.is_some_and(|t| t.elapsed() < FRESH) {
            return true;
        }
        if !s.pending {
            s.pending = true;
            self.wake.notify_one();
        }
        false
    }

    /// What a scrape gets: the fleet's text as rendered (shared, not copied: it is megabytes
    /// at fleet scale), then the health figures as they are now.
    pub fn body(&self, now_ms: i64) -> (Arc<String>, String) {
        let (text, health) = {
            let s = self.slot();
            (s.text.clone(), s.health.clone())
        };
        let Some(mut h) = health else {
            return (text, String::new());
        };
        let newest = self.newest_ms.load(Ordering::Relaxed);
        // A recorder holding no host (a standby) writes nothing: it has no lag to report.
        h.poll_lag_s =
            (newest > 0 && h.hosts_recorded > 0).then(|| (now_ms - newest).max(0) as f64 / 1e3);
        h.write_errors = self.write_errors.load(Ordering::Relaxed);
        (text, metrics::render_health(&h))
    }
}

pub mod http;
