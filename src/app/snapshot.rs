//! One-shot collection for `snapshot`: every host polled twice, one interval apart, so rates
//! are real; hosts that fail are reported down with libvirt's error.

use super::{apply, start_collectors};
use crate::collection::{LinkState, Message, Update};
use crate::config::Config;
use crate::model::Fleet;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::unbounded_channel;

/// Polls every host `polls` times (one interval apart) or until it is down, then evaluates the
/// findings once.
pub async fn collect(config: &Config, polls: u32) -> std::io::Result<Fleet> {
    let (tx, mut rx) = unbounded_channel::<Message>();
    // A few polls only: each fetches every statistic, so every rate has two readings.
    let mut config = config.clone();
    config.poll.slow_stats_every = 1;
    let config = &config;
    let collectors = start_collectors(config, tx)?;
    let mut fleet = Fleet::new(&config.hosts);
    let mut samples = vec![0u32; config.hosts.len()];
    let deadline = Instant::now()
        + config.poll.interval * polls
        + config.poll.timeout
        + Duration::from_secs(2);
    let done = |fleet: &Fleet, samples: &[u32]| {
        fleet
            .hosts
            .iter()
            .zip(samples)
            .all(|(h, &n)| n >= polls || h.link == LinkState::Down)
    };
    while !done(&fleet, &samples) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let Ok(Some(m)) = tokio::time::timeout(left, rx.recv()).await else {
            break;
        };
        if let Update::Sample(_) = m.update {
            samples[m.host] += 1;
        }
        apply(&mut fleet, m);
    }
    for (i, h) in fleet.hosts.iter_mut().enumerate() {
        if samples[i] == 0 && h.link != LinkState::Down {
            h.link = LinkState::Down;
            h.error
                .get_or_insert_with(|| "no answer before the snapshot deadline".into());
        }
    }
    drop(collectors);
    let inputs = crate::policy::loader::Inputs::load(&config.policy);
    super::evaluate(&mut fleet, &config.policy, &inputs);
    Ok(fleet)
}
