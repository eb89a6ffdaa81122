//! How a poll gets the guests' CPU time, chosen per host from what each way measurably costs
//! there. Per VM (bulk STATE|INTERFACE, then one virDomainGetInfo per running VM) is cheapest
//! next to the daemon: a GetInfo is ~0.2 ms, read from /proc. Bulk (CPU_TOTAL added to the one
//! bulk call) is a single round trip whatever the VM count, but the daemon pays ~1.4 ms a VM
//! (README "Poll cost"). Behind 200 ms of RTT, per VM costs 20 VMs x 200 ms; bulk, 230 ms.

use std::collections::VecDeque;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuSource {
    /// virDomainGetInfo per running VM.
    PerVm,
    /// The CPU_TOTAL group in the bulk call.
    Bulk,
}

/// What has been measured on this connection; `None` is "not measured yet".
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Measured {
    /// One cheap round trip (the smallest of recent single-call times).
    pub rtt: Option<Duration>,
    /// What a STATE|INTERFACE bulk call takes beyond one round trip.
    pub plain_extra: Option<Duration>,
    /// What one virDomainGetInfo takes beyond one round trip.
    pub info_extra: Option<Duration>,
    /// What a bulk call with CPU_TOTAL takes beyond one round trip, per running VM.
    pub cpu_per_vm: Option<Duration>,
    /// Whether the driver's bulk records carry `cpu.time` (the test driver's do not).
    pub bulk_cpu: Option<bool>,
}

/// The other way must be predicted this much cheaper before a host switches, so two close
/// costs do not make it flap.
const SWITCH_BELOW: f64 = 0.8;
/// A host polled per VM tries bulk once in this many fast polls (about a minute at 2 s), so a
/// host that grew far away or busy finds out. Per VM is never probed this way: its cost follows
/// from the RTT measured every poll, and it is chosen (so measured) only when predicted cheaper.
pub const PROBE_EVERY: u32 = 30;
/// Single-call times kept for the RTT; their minimum is the RTT without the daemon's own delays.
const RTT_WINDOW: usize = 8;

/// Predicted time one poll spends getting CPU times of `running` VMs this way; `None` when
/// nothing says yet. Unmeasured extras count as zero, so a way that has not been tried looks
/// as cheap as it could be and gets tried when that could win.
pub fn cost(m: &Measured, way: CpuSource, running: usize) -> Option<Duration> {
    let rtt = m.rtt?;
    let n = u32::try_from(running).unwrap_or(u32::MAX);
    Some(match way {
        CpuSource::PerVm => {
            let info = rtt.saturating_add(m.info_extra.unwrap_or_default());
            rtt.saturating_add(m.plain_extra.unwrap_or_default())
                .saturating_add(info.saturating_mul(n))
        }
        CpuSource::Bulk => rtt.saturating_add(m.cpu_per_vm?.saturating_mul(n)),
    })
}

/// The way for the next fast poll: per VM where the driver has no CPU group; bulk until it has
/// been measured (its worst case is one call the daemon works on, never a round trip per VM);
/// else the cheaper, switching only for a clear gain.
pub fn choose(m: &Measured, running: usize, current: CpuSource) -> CpuSource {
    if m.bulk_cpu == Some(false) {
        return CpuSource::PerVm;
    }
    let (Some(per_vm), Some(bulk)) = (
        cost(m, CpuSource::PerVm, running),
        cost(m, CpuSource::Bulk, running),
    ) else {
        return CpuSource::Bulk;
    };
    let (mine, other, alt) = match current {
        CpuSource::PerVm => (per_vm, bulk, CpuSource::Bulk),
        CpuSource::Bulk => (bulk, per_vm, CpuSource::PerVm),
    };
    if other.as_secs_f64() < mine.as_secs_f64() * SWITCH_BELOW {
        alt
    } else {
        current
    }
}

/// What one poll saw, for the cost model.
#[derive(Debug, Clone, Copy, Default)]
pub struct Observed {
    /// The poll's quickest single round trip.
    pub fastest: Option<Duration>,
    /// The bulk call's time.
    pub bulk: Duration,
    /// GetInfo calls made for CPU time, and their total time.
    pub infos: (u32, Duration),
    pub running: usize,
    /// Whether any running VM's bulk record had `cpu.time` (when CPU_TOTAL was asked).
    pub cpu_seen: bool,
}

/// Per-connection state: the measurements, the way in use, and when to probe.
#[derive(Debug, Clone)]
pub struct CostModel {
    pub measured: Measured,
    current: CpuSource,
    fast_polls: u32,
    rtts: VecDeque<Duration>,
}

impl Default for CostModel {
    fn default() -> Self {
        CostModel {
            measured: Measured::default(),
            current: CpuSource::Bulk,
            fast_polls: 0,
            rtts: VecDeque::with_capacity(RTT_WINDOW),
        }
    }
}

/// Exponentially smoothed, so one slow call moves an estimate but does not make it.
fn smooth(old: Option<Duration>, new: Duration) -> Duration {
    match old {
        None => new,
        Some(o) => (o * 3 + new) / 4,
    }
}

impl CostModel {
    /// The way for the next poll. Slow polls (with the costly groups) keep the current way and
    /// measure nothing about it, as their bulk call does more. The probe of bulk also runs where
    /// the records lacked `cpu.time`: it costs nothing extra there (the gaps are filled per VM
    /// anyway), and a poll that caught every VM without it by chance is not final.
    pub fn plan(&mut self, fast: bool, running: usize) -> CpuSource {
        if !fast {
            return match self.measured.bulk_cpu {
                Some(false) => CpuSource::PerVm,
                _ => self.current,
            };
        }
        self.current = choose(&self.measured, running, self.current);
        self.fast_polls = self.fast_polls.wrapping_add(1);
        if self.current == CpuSource::PerVm && self.fast_polls.is_multiple_of(PROBE_EVERY) {
            return CpuSource::Bulk;
        }
        self.current
    }

    pub fn record(&mut self, way: CpuSource, fast: bool, o: &Observed) {
        if let Some(f) = o.fastest {
            if self.rtts.len() == RTT_WINDOW {
                self.rtts.pop_front();
            }
            self.rtts.push_back(f);
        }
        self.measured.rtt = self.rtts.iter().min().copied();
        let rtt = self.measured.rtt.unwrap_or_default();
        if way == CpuSource::Bulk && o.running > 0 {
            self.measured.bulk_cpu = Some(o.cpu_seen);
        }
        if o.infos.0 > 0 {
            let each = o.infos.1 / o.infos.0;
            let m = &mut self.measured;
            m.info_extra = Some(smooth(m.info_extra, each.saturating_sub(rtt)));
        }
        if !fast {
            return;
        }
        let extra = o.bulk.saturating_sub(rtt);
        let m = &mut self.measured;
        match way {
            CpuSource::PerVm => m.plain_extra = Some(smooth(m.plain_extra, extra)),
            CpuSource::Bulk if o.running > 0 && o.cpu_seen => {
                let n = u32::try_from(o.running).unwrap_or(u32::MAX);
                m.cpu_per_vm = Some(smooth(m.cpu_per_vm, extra / n));
            }
            CpuSource::Bulk => {}
        }
    }

    pub fn rtt(&self) -> Option<Duration> {
        self.measured.rtt
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CpuSource::{Bulk, PerVm};

    const MS: Duration = Duration::from_millis(1);
    const US: Duration = Duration::from_micros(1);

    /// A QEMU host as measured on the lab (README "Poll cost"), `rtt` away.
    fn qemu(rtt: Duration) -> Measured {
        Measured {
            rtt: Some(rtt),
            plain_extra: Some(200 * US),
            info_extra: Some(100 * US),
            cpu_per_vm: Some(1400 * US),
            bulk_cpu: Some(true),
        }
    }

    #[test]
    fn near_host_is_polled_per_vm_far_host_in_bulk() {
        // Loopback, 10 guests: 0.1 + 0.2 + 10 x 0.2 = 2.3 ms per VM against 0.1 + 14 ms bulk.
        assert_eq!(choose(&qemu(100 * US), 10, Bulk), PerVm);
        assert_eq!(choose(&qemu(100 * US), 10, PerVm), PerVm);
        // 200 ms away, 4 or 20 guests: a round trip per VM loses to one bulk call.
        assert_eq!(choose(&qemu(200 * MS), 4, PerVm), Bulk);
        assert_eq!(choose(&qemu(200 * MS), 20, Bulk), Bulk);
        assert_eq!(
            cost(&qemu(200 * MS), PerVm, 20),
            Some(200 * MS + 200 * US + (200 * MS + 100 * US) * 20)
        );
        assert_eq!(cost(&qemu(200 * MS), Bulk, 20), Some(228 * MS));
    }

    #[test]
    fn the_choice_turns_on_the_rtt_against_the_daemons_cost_per_vm() {
        // Per VM wins while a round trip and a GetInfo cost less than the CPU group per VM
        // (1.4 ms), whatever the VM count.
        for n in [1, 10, 100] {
            assert_eq!(choose(&qemu(500 * US), n, Bulk), PerVm, "{n} VMs");
            assert_eq!(choose(&qemu(2 * MS), n, PerVm), Bulk, "{n} VMs");
        }
        // No VM running: both are about one round trip; the current way stays.
        let m = qemu(2 * MS);
        assert_eq!(choose(&m, 0, Bulk), Bulk);
        assert_eq!(choose(&m, 0, PerVm), PerVm);
    }

    #[test]
    fn close_costs_do_not_flap() {
        let mut m = qemu(MS);
        // 10 VMs: per VM 1.2 + 10 x 1.1 = 12.2 ms, bulk 1 + 10 x 1.05 = 11.5 ms: too close.
        m.cpu_per_vm = Some(1050 * US);
        assert_eq!(choose(&m, 10, PerVm), PerVm);
        assert_eq!(choose(&m, 10, Bulk), Bulk);
    }

    #[test]
    fn unknowns_try_bulk_first_and_a_driver_without_cpu_stays_per_vm() {
        assert_eq!(choose(&Measured::default(), 20, PerVm), Bulk);
        let mut m = qemu(MS);
        m.cpu_per_vm = None;
        assert_eq!(choose(&m, 20, PerVm), Bulk);
        m.bulk_cpu = Some(false);
        assert_eq!(choose(&m, 20, Bulk), PerVm);
        // Per VM not measured yet: predicted as cheap as it could be, so it gets tried.
        let mut m = qemu(100 * US);
        m.plain_extra = None;
        m.info_extra = None;
        assert_eq!(choose(&m, 10, Bulk), PerVm);
    }

    fn fast_poll(model: &mut CostModel, running: usize, rtt: Duration, cpu: Duration) -> CpuSource {
        let way = model.plan(true, running);
        let o = match way {
            Bulk => Observed {
                fastest: Some(rtt),
                bulk: rtt + cpu * running as u32,
                running,
                cpu_seen: true,
                ..Observed::default()
            },
            PerVm => Observed {
                fastest: Some(rtt),
                bulk: rtt + 200 * US,
                infos: (running as u32, (rtt + 100 * US) * running as u32),
                running,
                cpu_seen: false,
            },
        };
        model.record(way, true, &o);
        way
    }

    #[test]
    fn the_model_measures_both_near_and_reprobes_bulk_now_and_then() {
        let mut model = CostModel::default();
        let ways: Vec<CpuSource> = (0..2 * PROBE_EVERY)
            .map(|_| fast_poll(&mut model, 10, 100 * US, 1400 * US))
            .collect();
        assert_eq!(&ways[..3], &[Bulk, PerVm, PerVm]);
        let probes = ways[2..].iter().filter(|&&w| w == Bulk).count();
        assert_eq!(probes, 2, "{ways:?}");
        assert_eq!(model.rtt(), Some(100 * US));
    }

    #[test]
    fn the_model_stays_bulk_far_away_without_a_costly_probe() {
        let mut model = CostModel::default();
        for _ in 0..3 * PROBE_EVERY {
            assert_eq!(fast_poll(&mut model, 20, 200 * MS, 1400 * US), Bulk);
        }
        // The relay goes away: the host is near now, and per VM is tried and kept.
        let ways: Vec<CpuSource> = (0..10)
            .map(|_| fast_poll(&mut model, 20, 100 * US, 1400 * US))
            .collect();
        // The window's minimum follows a lower RTT at once (a higher one after RTT_WINDOW polls).
        assert!(ways[1..].iter().all(|&w| w == PerVm), "{ways:?}");
    }

    #[test]
    fn slow_polls_keep_the_way_and_a_driver_without_cpu_is_found_from_records() {
        let mut model = CostModel::default();
        assert_eq!(model.plan(false, 3), Bulk);
        let o = Observed {
            fastest: Some(10 * US),
            bulk: 20 * US,
            running: 3,
            cpu_seen: false,
            ..Observed::default()
        };
        model.record(Bulk, false, &o);
        assert_eq!(model.measured.bulk_cpu, Some(false));
        assert_eq!(
            model.measured.cpu_per_vm, None,
            "slow polls measure no bulk cost"
        );
        for fast in [false, true, true] {
            assert_eq!(model.plan(fast, 3), PerVm);
        }
        let probes: Vec<CpuSource> = (2..PROBE_EVERY).map(|_| model.plan(true, 3)).collect();
        assert_eq!(probes.last(), Some(&Bulk), "{probes:?}");
        // The probe found cpu.time after all: measured, and kept if cheaper.
        let o = Observed {
            fastest: Some(10 * US),
            bulk: 20 * US,
            running: 3,
            cpu_seen: true,
            ..Observed::default()
        };
        model.record(Bulk, true, &o);
        assert_eq!(model.measured.bulk_cpu, Some(true));
        assert!(model.measured.cpu_per_vm.is_some());
    }
}
