//! The approved inventory: a TOML file of `[[vm]]` entries, each naming a VM by name or UUID
//! (when both are given the UUID decides: a clone keeps the name but not the UUID).

use super::InputError;
use crate::model::sample::Approval;
use crate::time::{DayEdge, TimeError, parse_stamp};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInventory {
    #[serde(default)]
    vm: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: Option<String>,
    uuid: Option<String>,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    ticket: String,
    expires: Option<toml::Value>,
    vcpus: Option<u32>,
    memory_mib: Option<u64>,
    group: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: Option<String>,
    pub uuid: Option<String>,
    pub approval: Approval,
    /// Where the entry starts in the file.
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inventory {
    pub entries: Vec<Entry>,
    by_uuid: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
}

impl Inventory {
    pub fn load(path: &Path) -> Result<Inventory, InputError> {
        let text = std::fs::read_to_string(path).map_err(|e| InputError {
            file: path.to_path_buf(),
            line: None,
            reason: format!("cannot read: {e}"),
        })?;
        Inventory::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Inventory, InputError> {
        let err = |line: Option<usize>, reason: String| InputError {
            file: path.to_path_buf(),
            line,
            reason,
        };
        let raw: RawInventory = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            err(line, e.message().trim().to_owned())
        })?;
        let starts: Vec<usize> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim() == "[[vm]]")
            .map(|(i, _)| i + 1)
            .collect();
        let mut inv = Inventory::default();
        for (i, r) in raw.vm.into_iter().enumerate() {
            let line = starts.get(i).copied().unwrap_or(0);
            if r.name.is_none() && r.uuid.is_none() {
                return Err(err(Some(line), "[[vm]] needs a name or a uuid".into()));
            }
            let expires = match r.expires {
                None => None,
                Some(v) => Some(expiry(&v).map_err(|e| err(Some(line), format!("expires: {e}")))?),
            };
            let uuid = r.uuid.map(|u| u.to_ascii_lowercase());
            let entry = Entry {
                name: r.name,
                uuid,
                approval: Approval {
                    owner: r.owner,
                    ticket: r.ticket,
                    expires,
                    group: r.group,
                    vcpus: r.vcpus,
                    memory_mib: r.memory_mib,
                },
                line,
            };
            let n = inv.entries.len();
            match (&entry.uuid, &entry.name) {
                (Some(u), _) => {
                    if let Some(&other) = inv.by_uuid.get(u) {
                        let first = inv.entries[other].line;
                        return Err(err(
                            Some(line),
                            format!("uuid {u} is approved twice (first at line {first})"),
                        ));
                    }
                    inv.by_uuid.insert(u.clone(), n);
                }
                (None, Some(name)) => {
                    if let Some(&other) = inv.by_name.get(name) {
                        let first = inv.entries[other].line;
                        return Err(err(
                            Some(line),
                            format!("name {name:?} is approved twice (first at line {first})"),
                        ));
                    }
                    inv.by_name.insert(name.clone(), n);
                }
                (None, None) => {}
            }
            inv.entries.push(entry);
        }
        Ok(inv)
    }

    /// The entry approving this VM: by UUID, else by name among entries that give no UUID.
    pub fn lookup(&self, uuid: &str, name: &str) -> Option<&Entry> {
        self.by_uuid
            .get(&uuid.to_ascii_lowercase())
            .or_else(|| self.by_name.get(name))
            .map(|&i| &self.entries[i])
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum ExpiryError {
    #[error(transparent)]
    Time(#[from] TimeError),
    #[error("expected a date or a date-time, found {0}")]
    NotATime(&'static str),
}

/// Approved through the whole of a bare date's day.
fn expiry(v: &toml::Value) -> Result<chrono::DateTime<chrono::Utc>, ExpiryError> {
    Ok(match v {
        toml::Value::String(s) => parse_stamp(s, DayEdge::End)?,
        toml::Value::Datetime(d) => parse_stamp(&d.to_string(), DayEdge::End)?,
        other => return Err(ExpiryError::NotATime(other.type_str())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<Inventory, InputError> {
        Inventory::parse(t, Path::new("/etc/fw/inventory.toml"))
    }

    #[test]
    fn uuid_decides_over_name() {
        let inv = parse(
            "[[vm]]\nname = \"web-01\"\nuuid = \"AAAA-1\"\nowner = \"web\"\n\n[[vm]]\nname = \"db-01\"\nexpires = 2027-01-31\n",
        )
        .unwrap();
        assert_eq!(
            inv.lookup("aaaa-1", "anything").unwrap().approval.owner,
            "web"
        );
        // A clone with the same name but another UUID is not approved by the web-01 entry.
        assert!(inv.lookup("bbbb-2", "web-01").is_none());
        let db = inv.lookup("cccc-3", "db-01").unwrap();
        assert_eq!(db.line, 6);
        // Approved through the last second of that day, in the operator's zone.
        let end = chrono::TimeZone::with_ymd_and_hms(&chrono::Local, 2027, 2, 1, 0, 0, 0).unwrap();
        assert_eq!(db.approval.expires, Some(end.to_utc()));
    }

    #[test]
    fn datetime_expiry_and_spec() {
        let inv = parse("[[vm]]\nname = \"a\"\nexpires = 2027-01-31T12:00:00Z\nvcpus = 2\nmemory_mib = 2048\ngroup = \"web\"\n").unwrap();
        let a = &inv.entries[0].approval;
        assert_eq!(a.expires.unwrap().to_rfc3339(), "2027-01-31T12:00:00+00:00");
        assert_eq!(
            (a.vcpus, a.memory_mib, a.group.as_deref()),
            (Some(2), Some(2048), Some("web"))
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse("[[vm]]\nname = \"a\"\n\n[[vm]]\nowner = \"x\"\n").unwrap_err();
        assert_eq!(e.line, Some(4));
        assert!(
            e.to_string()
                .starts_with("/etc/fw/inventory.toml, line 4: "),
            "{e}"
        );
        let e = parse("[[vm]]\nname = \"a\"\ncolour = 1\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.reason.contains("colour"), "{e}");
        let e = parse("[[vm]]\nname = \"a\"\nexpires = \"soon\"\n").unwrap_err();
        assert!(
            e.reason.contains("expires") && e.reason.contains("soon"),
            "{e}"
        );
        let e = parse("[[vm]]\nname = \"a\"\n[[vm]]\nname = \"a\"\n").unwrap_err();
        assert!(
            e.reason.contains("twice") && e.reason.contains("line 1"),
            "{e}"
        );
        let e = Inventory::load(Path::new("/nonexistent/inv.toml")).unwrap_err();
        assert!(
            e.to_string().contains("/nonexistent/inv.toml: cannot read"),
            "{e}"
        );
    }
}
