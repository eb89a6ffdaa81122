//! `/metrics` for Prometheus. The fleet's text is rendered by whoever owns the fleet (the
//! recorder's writing thread, or the TUI's loop) when a scraper is around, at most once a
//! second, and left here; a scrape copies it and adds the health figures as they are at
//! that moment. So a scrape never waits on a store write, and a recorder whose store hangs
//! still says so: its poll lag grows.

use fleetwatch_core::metrics::{self, Health};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A scraper that has not come for this long is gone: rendering stops until it is back.
const SCRAPED_WITHIN: Duration = Duration::from_secs(300);
/// However often samples come, the fleet is rendered at most this often.
const RENDER_EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Slot {
    text: Arc<String>,
    rendered: Option<Instant>,
    scraped: Option<Instant>,
    /// Health figures but the lag, set by the recorder.
    health: Option<Health>,
}

/// A text older than this (no scraper came for a while) is rendered anew before it is given.
pub const FRESH: Duration = Duration::from_secs(3);

pub struct Exporter {
    slot: Mutex<Slot>,
    /// The newest sample written (Unix ms), 0 before the first.
    newest_ms: AtomicI64,
    write_errors: AtomicU64,
}

impl Default for Exporter {
    /// As if scraped at the start: the first scrape finds a text that follows the fleet.
    fn default() -> Exporter {
        Exporter {
            slot: Mutex::new(Slot {
                scraped: Some(Instant::now()),
                ..Slot::default()
            }),
            newest_ms: AtomicI64::new(0),
            write_errors: AtomicU64::new(0),
        }
    }
}

impl Exporter {
    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        // A panic elsewhere while holding it leaves plain data: still good to serve.
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the owner of the fleet should render it now.
    pub fn wants(&self) -> bool {
        let s = self.slot();
        let fresh = s.rendered.is_some_and(|t| t.elapsed() < RENDER_EVERY);
        let scraped = s.scraped.is_some_and(|t| t.elapsed() < SCRAPED_WITHIN);
        !fresh && (scraped || s.rendered.is_none())
    }

    pub fn publish(&self, text: String) {
        let mut s = self.slot();
        s.text = Arc::new(text);
        s.rendered = Some(Instant::now());
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

    pub fn write_failed(&self) {
        self.write_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Says a scraper came; whether the fleet's text is fresh enough to give it.
    pub fn scraped(&self) -> bool {
        let mut s = self.slot();
        s.scraped = Some(Instant::now());
        s.rendered.is_some_and(|t| t.elapsed() < FRESH)
    }

    /// What a scrape gets.
    pub fn body(&self, now_ms: i64) -> String {
        let (text, health) = {
            let s = self.slot();
            (s.text.clone(), s.health.clone())
        };
        let Some(mut h) = health else {
            return text.to_string();
        };
        let newest = self.newest_ms.load(Ordering::Relaxed);
        h.poll_lag_s = (newest > 0).then(|| (now_ms - newest).max(0) as f64 / 1e3);
        h.write_errors = self.write_errors.load(Ordering::Relaxed);
        let mut out = String::with_capacity(text.len() + 2048);
        out.push_str(&text);
        out.push_str(&metrics::render_health(&h));
        out
    }
}

pub mod http;
