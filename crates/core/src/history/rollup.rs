//! Rollups and retention: raw statistics become 5-minute averages and maxima, those 30-minute
//! ones and so on, each level kept for its own span, so the store's size is bounded. The
//! store runs them (`RecordStore::maintain`); the buckets are the same in every backend.

/// Start of the bucket of width `w` holding `t` (all in ms).
pub fn bucket(t: i64, w: i64) -> i64 {
    t - t.rem_euclid(w)
}
