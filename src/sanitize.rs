//! Escaping text before it reaches a terminal or a text report. File names, matched lines and
//! git metadata are attacker-controlled: control characters, ANSI escape sequences and Unicode
//! bidi overrides are shown as visible escapes instead of being interpreted.

/// Returns `s` with control, escape and bidi characters replaced by `\x1b`-style escapes.
pub fn escape(s: &str) -> String {
    if !s.chars().any(needs_escape) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            match c {
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200e}' | '\u{200f}' | '\u{061c}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_terminal_sequences_and_bidi() {
        assert_eq!(escape("plain/path.rs"), "plain/path.rs");
        assert_eq!(escape("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(escape("tab\there"), "tab\\there");
        assert_eq!(escape("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(escape("bell\x07\u{9b}"), "bell\\x07\\x9b");
        assert_eq!(escape("ünïcödé ok"), "ünïcödé ok");
    }
}
