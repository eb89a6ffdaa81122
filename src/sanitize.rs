//! Every string that comes from a hypervisor is untrusted: a VM name can carry escape sequences
//! that retitle the terminal, move the cursor or hide text behind bidi overrides. Strings are
//! cleaned once, where they enter the program, so nothing downstream has to remember to.

/// True for characters that must never reach the terminal: C0 and C1 controls, DEL, and the
/// Unicode bidi embedding/override/isolate controls that can reorder what an operator reads.
pub fn is_hostile(c: char) -> bool {
    matches!(c,
        '\u{0000}'..='\u{001F}'
        | '\u{007F}'..='\u{009F}'
        | '\u{061C}'
        | '\u{200E}' | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}')
}

/// Replaces hostile characters with U+FFFD so the operator sees that something was there.
/// Tabs and newlines become spaces: a description is shown on one line.
pub fn clean(s: &str) -> String {
    if !s.chars().any(is_hostile) {
        return s.to_owned();
    }
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => ' ',
            c if is_hostile(c) => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// Like [`clean`] but keeps line breaks, for multi-line text such as descriptions and errors
/// shown in a pane that wraps.
pub fn clean_multiline(s: &str) -> String {
    s.split('\n').map(clean).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_untouched() {
        assert_eq!(clean("web-01 (prod) ä"), "web-01 (prod) ä");
    }

    #[test]
    fn escape_sequences_lose_their_escape() {
        let name = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J";
        let out = clean(name);
        assert!(!out.chars().any(is_hostile), "{out:?}");
        assert_eq!(out, "evil\u{FFFD}]0;pwned\u{FFFD}\u{FFFD}[2J");
    }

    #[test]
    fn c1_del_and_bidi_are_removed() {
        for c in [
            '\u{9b}', '\u{85}', '\u{7f}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{200f}',
        ] {
            let out = clean(&format!("a{c}b"));
            assert_eq!(out, "a\u{FFFD}b", "char {:?}", c as u32);
        }
    }

    #[test]
    fn multiline_keeps_breaks_only() {
        assert_eq!(clean_multiline("a\nb\u{1b}c\td"), "a\nb\u{FFFD}c d");
    }
}
