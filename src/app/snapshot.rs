//! One-shot collection for `snapshot`: every host polled twice, one interval apart, so rates
//! are real; hosts that fail are reported down with libvirt's error. Domain XML is read in the
//! first poll, all of it: a one-shot command connects once and reports the whole picture, and
//! the supervisor keeps a slow host's poll going as long as its calls are answered.

use super::{apply, start_collectors_paced};
use fleetwatch_core::config::Config;
use fleetwatch_core::link::{LinkState, Mailbox, Update};
use fleetwatch_core::model::Fleet;
use fleetwatch_libvirt::known::Pace;
use std::time::{Duration, Instant};

const SLOW_HOST_GRACE: Duration = Duration::from_secs(60);

/// Polls every host `polls` times (one interval apart) or until it is down, then evaluates the
/// findings once.
pub async fn collect(config: &Config, polls: u32) -> std::io::Result<Fleet> {
    let (tx, mut rx) = Mailbox::new(config.hosts.len());
    // A few polls only: each fetches every statistic, so every rate has two readings.
    let mut config = config.clone();
    config.poll.slow_stats_every = 1;
    let config = &config;
    let collectors = start_collectors_paced(config, tx, Pace::Eager)?;
    let mut fleet = Fleet::new(&config.hosts);
    let mut samples = vec![0u32; config.hosts.len()];
    // A host that stops answering is down within the timeout (the supervisor sees to that);
    // one that answers slowly, reading every domain's XML over a long round trip, is waited for
    // up to a minute longer.
    let deadline =
        Instant::now() + config.poll.interval * polls + config.poll.timeout + SLOW_HOST_GRACE;
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
        // A batch at a time: looking whether every host is done costs the fleet, not a message.
        let Ok(Some(batch)) = tokio::time::timeout(left, rx.recv_batch()).await else {
            break;
        };
        for m in batch {
            if let Update::Sample(_) = m.update
                && let Some(n) = samples.get_mut(m.host)
            {
                *n += 1;
            }
            apply(&mut fleet, m);
        }
    }
    for (i, h) in fleet.hosts.iter_mut().enumerate() {
        if samples[i] == 0 && h.link != LinkState::Down {
            h.link = LinkState::Down;
            h.error
                .get_or_insert_with(|| "no answer before the snapshot deadline".into());
        }
    }
    drop(collectors);
    let inputs = fleetwatch_core::policy::loader::Inputs::load(&config.policy);
    super::evaluate(&mut fleet, &config.policy, &inputs);
    Ok(fleet)
}

/// `fleetwatch snapshot`: the fleet as a table or one JSON document; exit 1 if no host is up.
pub async fn print(config: &Config, json: bool) -> std::process::ExitCode {
    let fleet = match collect(config, 2).await {
        Ok(f) => f,
        Err(e) => return super::cli::fail(&e.to_string(), 1),
    };
    if json {
        let doc = crate::report::json(
            &fleet,
            &config.policy.shared_storage,
            chrono::Utc::now(),
            Instant::now(),
        );
        crate::outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        crate::out!("{}", crate::report::table(&fleet));
    }
    std::process::ExitCode::from(u8::from(fleet.hosts_up() == 0))
}
