//! Durations in the config as people write them ("2s", "500ms", "1m"), refused past a century.
//! Hand-written rather than humantime-serde: its error says only "expected a duration", without
//! humantime's reason, the hint, or the cap.

use serde::de::{self, Deserializer};
use std::fmt;
use std::time::Duration;

pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    struct V;
    impl de::Visitor<'_> for V {
        type Value = Duration;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a duration string such as \"2s\", \"500ms\" or \"1m\"")
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Duration, E> {
            let d = humantime::parse_duration(s).map_err(|e| {
                E::custom(format!("invalid duration {s:?}: {e} (write e.g. \"2s\")"))
            })?;
            if d > crate::time::MAX_SPAN {
                return Err(E::custom(format!(
                    "duration {s:?} is longer than 100 years"
                )));
            }
            Ok(d)
        }
    }
    d.deserialize_str(V)
}

pub(crate) fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}
