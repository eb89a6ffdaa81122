//! Where in the file's text a problem is: serde's errors give a byte span, fleetwatch's own
//! checks know only the key, so both are turned into line numbers here.

use super::ConfigError;

pub(super) fn describe(shown: &str, text: &str, e: &toml::de::Error) -> ConfigError {
    let message = e.message().trim_end().to_owned();
    let Some(span) = e.span() else {
        return ConfigError::Unplaced {
            file: shown.to_owned(),
            message,
        };
    };
    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
    let line_text = text.lines().nth(line - 1).unwrap_or("").trim();
    let table = text[..span.start.min(text.len())]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .unwrap_or("top level");
    ConfigError::Syntax {
        file: shown.to_owned(),
        line,
        table: table.to_owned(),
        message,
        text: line_text.to_owned(),
    }
}

pub(super) fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim_start().starts_with(key) && l.contains('='))
        .map(|i| i + 1)
}

/// The line of `key = ...` inside the table `header` (bare or quoted key), else the header's.
pub(super) fn line_in_table(text: &str, header: &str, key: &str) -> Option<usize> {
    let start = nth_line_of(text, header, 0)?;
    let entry = text
        .lines()
        .enumerate()
        .skip(start)
        .take_while(|(_, l)| !l.trim_start().starts_with('['))
        .find(|(_, l)| {
            l.split_once('=').is_some_and(|(k, _)| {
                let k = k.trim();
                let k = k
                    .strip_prefix('"')
                    .and_then(|k| k.strip_suffix('"'))
                    .or_else(|| k.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
                    .unwrap_or(k);
                !key.is_empty() && k == key
            })
        })
        .map(|(i, _)| i + 1);
    Some(entry.unwrap_or(start))
}

pub(super) fn nth_line_of(text: &str, header: &str, n: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == header)
        .nth(n)
        .map(|(i, _)| i + 1)
}
