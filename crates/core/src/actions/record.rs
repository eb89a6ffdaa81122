//! One audit record: an action's start or end, with who, what, where and how it ended. Its own
//! module so the history store can keep records without depending on the audit's writer.

use super::Operator;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// One action's two records share this.
    pub action_id: String,
    pub at: String,
    #[serde(skip)]
    pub at_ms: i64,
    /// "start" or "end".
    pub phase: String,
    pub operator: String,
    pub action: String,
    pub vm: Option<String>,
    pub uuid: Option<String>,
    pub host: Option<String>,
    pub params: serde_json::Value,
    /// At the end: "ok", "failed", "refused", "aborted"; for a confirmation pane that ran
    /// nothing: "refused" or "cancelled".
    pub outcome: Option<String>,
    pub error: Option<String>,
}

impl Record {
    pub fn new(action_id: &str, phase: &str, op: &Operator, action: &str) -> Record {
        let now = chrono::Utc::now();
        Record {
            action_id: action_id.to_owned(),
            at: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            at_ms: now.timestamp_millis(),
            phase: phase.to_owned(),
            operator: op.actor(),
            action: action.to_owned(),
            vm: None,
            uuid: None,
            host: None,
            params: serde_json::Value::Null,
            outcome: None,
            error: None,
        }
    }
}
