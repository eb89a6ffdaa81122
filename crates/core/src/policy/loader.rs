//! Reads the inventory and the catalog on a thread of its own and again whenever one changes
//! (a backup hook appends to the catalog all day), so the UI task never waits on a file that
//! sits on a slow or hung mount.

use super::catalog::Catalog;
use super::inventory::Inventory;
use super::{InputError, PolicyConfig};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc::UnboundedSender;

/// How often the app looks at the files for changes.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);

/// What the policy files said; `None` where the config names no such file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    pub inventory: Option<Result<Arc<Inventory>, InputError>>,
    pub catalog: Option<Result<Arc<Catalog>, InputError>>,
}

impl Inputs {
    pub fn load(p: &PolicyConfig) -> Inputs {
        Inputs {
            inventory: p
                .inventory
                .as_deref()
                .map(|f| Inventory::load(f).map(Arc::new)),
            catalog: p
                .backup_catalog
                .as_deref()
                .map(|f| Catalog::load(f).map(Arc::new)),
        }
    }

    pub fn inventory(&self) -> Option<&Inventory> {
        self.inventory.as_ref().and_then(|r| r.as_deref().ok())
    }

    pub fn catalog(&self) -> Option<&Catalog> {
        self.catalog.as_ref().and_then(|r| r.as_deref().ok())
    }

    /// Files that could not be used at all: the findings they feed cannot be trusted.
    pub fn errors(&self) -> Vec<&InputError> {
        let inv = self.inventory.as_ref().and_then(|r| r.as_ref().err());
        let cat = self.catalog.as_ref().and_then(|r| r.as_ref().err());
        inv.into_iter().chain(cat).collect()
    }

    /// Everything to put in front of the operator: unusable files, and catalog lines skipped.
    pub fn problems(&self, p: &PolicyConfig) -> Vec<String> {
        let mut out: Vec<String> = self.errors().iter().map(|e| e.to_string()).collect();
        if let (Some(c), Some(path)) = (self.catalog(), p.backup_catalog.as_deref())
            && c.bad_count > 0
        {
            let lines: Vec<String> = c
                .bad_lines
                .iter()
                .map(|(l, r)| format!("line {l}: {r}"))
                .collect();
            out.push(format!(
                "{}: {} unreadable line(s) skipped ({}{})",
                path.display(),
                c.bad_count,
                lines.join("; "),
                if c.bad_count > c.bad_lines.len() {
                    "; ..."
                } else {
                    ""
                }
            ));
        }
        out
    }
}

fn stamp(path: Option<&Path>) -> Option<(Option<SystemTime>, u64)> {
    let m = std::fs::metadata(path?).ok();
    Some((
        m.as_ref().and_then(|m| m.modified().ok()),
        m.map_or(u64::MAX, |m| m.len()),
    ))
}

/// Sends what the files say now, and again each time one of them changes (checked `every`).
pub fn spawn(
    policy: PolicyConfig,
    every: Duration,
    tx: UnboundedSender<Inputs>,
) -> std::io::Result<()> {
    if policy.inventory.is_none() && policy.backup_catalog.is_none() {
        return Ok(());
    }
    std::thread::Builder::new()
        .name("policy-files".into())
        .spawn(move || {
            let mut last = None;
            loop {
                let now = (
                    stamp(policy.inventory.as_deref()),
                    stamp(policy.backup_catalog.as_deref()),
                );
                if last.as_ref() != Some(&now) {
                    last = Some(now);
                    if tx.send(Inputs::load(&policy)).is_err() {
                        return;
                    }
                }
                std::thread::sleep(every);
                if tx.is_closed() {
                    return;
                }
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_read_again_when_they_change_and_errors_come_through() {
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("inv.toml");
        let cat = dir.path().join("backups.jsonl");
        std::fs::write(&inv, "[[vm]]\nname = \"a\"\n").unwrap();
        std::fs::write(&cat, "").unwrap();
        let policy = PolicyConfig {
            inventory: Some(inv.clone()),
            backup_catalog: Some(cat.clone()),
            ..PolicyConfig::default()
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        spawn(policy.clone(), Duration::from_millis(20), tx).unwrap();
        let next = |rx: &mut tokio::sync::mpsc::UnboundedReceiver<Inputs>| {
            let end = std::time::Instant::now() + Duration::from_secs(5);
            loop {
                if let Ok(i) = rx.try_recv() {
                    return i;
                }
                assert!(std::time::Instant::now() < end, "no update");
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        let first = next(&mut rx);
        assert_eq!(first.inventory().unwrap().entries.len(), 1);
        assert!(first.problems(&policy).is_empty());
        // A backup hook appends a line; someone breaks the inventory.
        std::fs::write(
            &cat,
            "{\"vm\": \"a\", \"completed_at\": \"2026-11-21T00:00:00Z\", \"status\": \"ok\"}\n",
        )
        .unwrap();
        std::fs::write(&inv, "[[vm]]\nname = \"a\"\nowner =\n").unwrap();
        let mut now = next(&mut rx);
        while now.catalog().is_some_and(|c| c.ok_lines == 0) || now.inventory().is_some() {
            now = next(&mut rx);
        }
        assert_eq!(now.catalog().unwrap().ok_lines, 1);
        let problems = now.problems(&policy);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("inv.toml, line 3"), "{problems:?}");
    }
}
