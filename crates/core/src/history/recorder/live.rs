//! The live rows a recorder writes for TUIs watching through the store: per host in a batch,
//! its link and newest sample, and the configs read anew since the last write.

use super::Recorder;
use crate::history::live::{self, LiveHost};
use crate::history::store::StoreError;
use crate::link::{Message, Update};
use std::collections::HashMap;
use std::sync::Arc;

impl Recorder {
    /// Inside the batch's transaction: what a reader of the live fleet needs of these
    /// messages' hosts, as the recorder's model has them after the batch.
    pub(super) fn publish<'a>(
        &mut self,
        batch: impl Iterator<Item = &'a Message>,
    ) -> Result<(), StoreError> {
        // The newest sample of each host; hosts with only link news are written too.
        let mut newest: HashMap<usize, Option<&'a crate::model::sample::HostSample>> =
            HashMap::new();
        for m in batch {
            let slot = newest.entry(m.host).or_default();
            if let Update::Sample(s) = &m.update {
                *slot = Some(s.as_ref());
            }
        }
        let mut rows = Vec::with_capacity(newest.len());
        for (h, sample) in newest {
            let Some(host) = self.fleet.hosts.get(h) else {
                continue;
            };
            let mut configs = Vec::new();
            if let Some(s) = sample {
                for d in &s.domains {
                    let Some(c) = &d.config else { continue };
                    let at = Arc::as_ptr(c) as usize;
                    let key = (h, d.uuid.clone());
                    if self.published.get(&key) != Some(&at) {
                        configs.push((d.uuid.clone(), live::encode_config(c)));
                        self.published.insert(key, at);
                    }
                }
            }
            rows.push(LiveHost {
                host: host.name.clone(),
                link: host.link,
                error: host.error.clone(),
                sample: sample.map(live::encode),
                configs,
            });
        }
        let written = self.store.publish_live(&rows);
        if written.is_err() {
            // Rolled back with the batch: what was not written must be written next time.
            self.published.clear();
        }
        written
    }
}
