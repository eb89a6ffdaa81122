//! The call pool: a fixed number of threads take blocking jobs (connects, polls) from one
//! queue, so threads do not grow with the fleet. A job the scheduler gives up on keeps its
//! thread (it is stuck inside libvirt); the pool starts a replacement so the capacity stays,
//! and the stuck thread ends when its call returns. Past `hung_cap` hung threads it starts no
//! more replacements: the stuck thread comes back to serve when its call returns, so the
//! threads never exceed the pool plus the cap. The price: past the cap the pool shrinks with
//! each call that hangs, and with as many more hung as it has threads it serves nobody until
//! one returns (no new connects start past the cap, and libvirt's keepalive ends a call to a
//! dead remote host within seconds).

use super::jobs::{Event, Job, Watch};
use std::collections::VecDeque;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

pub(super) struct Pool {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
    events: Sender<Event>,
    hung_cap: usize,
}

struct State {
    jobs: VecDeque<Job>,
    stop: bool,
    /// Threads stuck in a call the scheduler gave up on.
    hung: usize,
    /// Hung threads that were not replaced (past the cap, or a spawn failed): as many of them
    /// rejoin the pool when their calls return, instead of ending.
    owed: usize,
    /// Names threads apart in a debugger or `top -H`.
    spawned: usize,
}

impl Shared {
    /// A panic elsewhere while the lock was held leaves plain data behind: still usable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Pool {
    pub(super) fn start(
        threads: usize,
        hung_cap: usize,
        events: Sender<Event>,
    ) -> std::io::Result<Pool> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                stop: false,
                hung: 0,
                owed: 0,
                spawned: 0,
            }),
            work: Condvar::new(),
            events,
            hung_cap,
        });
        for _ in 0..threads {
            let mut st = shared.lock();
            spawn(&shared, &mut st)?;
        }
        Ok(Pool { shared })
    }

    pub(super) fn submit(&self, job: Job) {
        self.shared.lock().jobs.push_back(job);
        self.shared.work.notify_one();
    }

    /// Calls given up on and not returned yet, in all.
    pub(super) fn hung(&self) -> usize {
        self.shared.lock().hung
    }

    /// Gives up the job of `watch` if it is still in its call, counting its thread as hung and
    /// replacing it; false if the call finished first (its outcome is on the way).
    pub(super) fn abandon(&self, watch: &Watch) -> bool {
        let mut st = self.shared.lock();
        // Under the lock, so the thread cannot count its return before this counts it hung.
        if !watch.abandon() {
            return false;
        }
        st.hung += 1;
        if st.hung > self.shared.hung_cap {
            st.owed += 1;
        } else if let Err(e) = spawn(&self.shared, &mut st) {
            tracing::warn!("no thread to replace a hung call: {e}");
            st.owed += 1;
        }
        true
    }

    /// Ends the pool: queued jobs are dropped, running ones end with their calls.
    pub(super) fn stop(&self) {
        let dropped = {
            let mut st = self.shared.lock();
            st.stop = true;
            std::mem::take(&mut st.jobs)
        };
        self.shared.work.notify_all();
        drop(dropped);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn(shared: &Arc<Shared>, st: &mut State) -> std::io::Result<()> {
    let n = st.spawned;
    let s = shared.clone();
    std::thread::Builder::new()
        .name(format!("fw-call-{n}"))
        .spawn(move || serve(&s))?;
    st.spawned += 1;
    Ok(())
}

fn serve(shared: &Shared) {
    loop {
        let job = {
            let mut st = shared.lock();
            loop {
                if st.stop {
                    return;
                }
                if let Some(job) = st.jobs.pop_front() {
                    break job;
                }
                st = shared.work.wait(st).unwrap_or_else(|p| p.into_inner());
            }
        };
        if !job.watch.start() {
            continue;
        }
        let watch = job.watch.clone();
        let (host, ticket, outcome) = job.run();
        if watch.finish() {
            // The scheduler is gone only when the collectors are: nothing to tell then.
            let _ = shared.events.send(Event::Finished {
                host,
                ticket,
                outcome,
            });
            continue;
        }
        // Given up on: the outcome (and the source it carries, with its connection) goes.
        drop(outcome);
        let rejoin = {
            let mut st = shared.lock();
            st.hung = st.hung.saturating_sub(1);
            let rejoin = st.owed > 0 && !st.stop;
            if rejoin {
                st.owed -= 1;
            }
            rejoin
        };
        let _ = shared.events.send(Event::HungReturned { host });
        if !rejoin {
            return;
        }
    }
}
