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

/// True for characters a terminal draws as nothing (or as a blank) although they are there:
/// zero-width spaces and joiners, the byte order mark, line and paragraph separators, the soft
/// hyphen, Hangul fillers. Left alone, `web-01` and `web\u{200B}-01` look identical.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{034F}'
        | '\u{115F}' | '\u{1160}'
        | '\u{180E}'
        | '\u{200B}'..='\u{200D}'
        | '\u{2028}' | '\u{2029}'
        | '\u{2060}'..='\u{2064}'
        | '\u{3164}'
        | '\u{FEFF}'
        | '\u{FFA0}')
}

/// Whether a cleaned string shows a character that was replaced or made visible.
pub fn was_altered(s: &str) -> bool {
    s.contains('\u{FFFD}') || s.contains("<U+")
}

/// Replaces hostile characters with U+FFFD so the operator sees that something was there, and
/// shows invisible ones by their code (`<U+200B>`), so two names that differ never look alike.
/// Tabs and newlines become spaces: a description is shown on one line.
pub fn clean(s: &str) -> String {
    if !s.chars().any(|c| is_hostile(c) || is_invisible(c)) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\t' | '\n' | '\r' => out.push(' '),
            c if is_hostile(c) => out.push('\u{FFFD}'),
            c if is_invisible(c) => out.push_str(&format!("<U+{:04X}>", c as u32)),
            c => out.push(c),
        }
    }
    out
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
    fn invisible_characters_are_shown_so_names_differ_visibly() {
        for c in [
            '\u{200B}', '\u{FEFF}', '\u{2028}', '\u{2029}', '\u{00AD}', '\u{3164}', '\u{115F}',
        ] {
            let out = clean(&format!("web{c}-01"));
            assert_eq!(out, format!("web<U+{:04X}>-01", c as u32));
            assert_ne!(out, "web-01");
            assert!(was_altered(&out));
        }
        assert!(!was_altered("web-01"));
        assert_ne!(clean("a\u{200B}b"), clean("a\u{200C}b"));
    }

    #[test]
    fn multiline_keeps_breaks_only() {
        assert_eq!(clean_multiline("a\nb\u{1b}c\td"), "a\nb\u{FFFD}c d");
    }
}
