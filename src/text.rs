//! Text that came from a file is never printed raw: one escaping for the terminal, the ceremony
//! screen, the printed record and JSON.
//!
//! Invariant: after [`visible`], a string holds no C0 or C1 control character (but newline and
//! tab), no DEL, no bidirectional control (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C)
//! and no other invisible formatting character that could hide or reorder what is shown; after
//! [`json`], a JSON text holds none of them raw either (they are `\uXXXX`).

use std::borrow::Cow;

/// Whether `c` could change what a terminal or a reader sees beyond its own glyph.
pub fn is_dangerous(c: char) -> bool {
    let u = c as u32;
    (u < 0x20 && c != '\n' && c != '\t')
        || (0x7f..=0x9f).contains(&u)
        || (0x202a..=0x202e).contains(&u)
        || (0x2066..=0x2069).contains(&u)
        || matches!(
            u,
            0x200b..=0x200f | 0x061c | 0x2028 | 0x2029 | 0x2060 | 0xfeff
        )
}

/// Whether a name from the operator (a role, a repository) holds a character [`visible`] would
/// have to escape, or a line break or tab.
pub fn is_unsafe_name(s: &str) -> bool {
    s.chars().any(|c| is_dangerous(c) || c == '\n' || c == '\t')
}

/// `s` with every dangerous character in a visible form: C0 and C1 controls and DEL as `\xNN`,
/// ESC included; bidirectional and invisible format characters as `<U+202E>`.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_dangerous) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        let u = c as u32;
        if !is_dangerous(c) {
            out.push(c);
        } else if u <= 0x9f {
            out.push_str(&format!("\\x{u:02x}"));
        } else {
            out.push_str(&format!("<U+{u:04X}>"));
        }
    }
    Cow::Owned(out)
}

/// One field of a line (a key ID, a name, a path, a note from a file): as [`visible`], and line
/// breaks and tabs escaped too, so that a field can never start a line of its own.
pub fn field(s: &str) -> Cow<'_, str> {
    if !s
        .chars()
        .any(|c| is_dangerous(c) || matches!(c, '\n' | '\t' | '\r'))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            _ => out.push_str(&visible(c.encode_utf8(&mut [0; 4]))),
        }
    }
    Cow::Owned(out)
}

/// Several fields, joined with `sep`, each escaped as [`field`].
pub fn fields(items: &[String], sep: &str) -> String {
    items.iter().map(|i| field(i)).collect::<Vec<_>>().join(sep)
}

/// A JSON text with every dangerous character written as `\uXXXX`. serde_json escapes C0
/// controls but writes C1 controls and bidirectional characters raw; in JSON they can only
/// stand inside strings, where `\uXXXX` means the same character.
pub fn json(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_dangerous) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_dangerous(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_terminal_controls_and_bidi_but_keeps_lines() {
        assert_eq!(visible("a\u{1b}[2Kb"), "a\\x1b[2Kb");
        assert_eq!(visible("x\u{202e}y"), "x<U+202E>y");
        assert_eq!(visible("\u{9b}31m"), "\\x9b31m");
        assert_eq!(visible("line one\n\tline two"), "line one\n\tline two");
        assert_eq!(visible("plain ümlaut ✓"), "plain ümlaut ✓");
        assert_eq!(json("\"a\u{202e}\u{85}\""), "\"a\\u202e\\u0085\"");
    }

    proptest! {
        /// Nothing dangerous survives either form, and the JSON form reads back as the same text.
        #[test]
        fn nothing_dangerous_survives(s in "\\PC*|[\\x00-\\x1f\\x7f-\\x9f\u{202a}-\u{202e}\u{2066}-\u{2069}a]{0,40}") {
            prop_assert!(!visible(&s).chars().any(is_dangerous));
            let j = serde_json::to_string(&s).unwrap();
            let safe = json(&j);
            prop_assert!(!safe.chars().any(is_dangerous));
            let back: String = serde_json::from_str(&safe).unwrap();
            prop_assert_eq!(back, s);
        }
    }
}
