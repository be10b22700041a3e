//! Escaping text before it reaches a terminal or a text report. File names, matched lines and
//! git metadata are attacker-controlled: control characters, ANSI escape sequences and Unicode
//! bidi overrides are shown as visible escapes instead of being interpreted.
//!
//! Also here: [`toml_error`], which turns a TOML parse error into one line without echoing the
//! file's values — a config, rule file or baseline may hold a pasted secret.

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

/// One line for a TOML error in `text`: `line L, column C: message`, without the source
/// snippet the parser adds, and with long quoted values in the message (`invalid type: string
/// "…"`, `` unknown variant `…` ``) shortened to a redacted preview, so a key pasted into a
/// config or baseline is not printed back.
pub fn toml_error(e: &toml::de::Error, text: &str) -> String {
    let message = redact_quoted(&e.message().lines().collect::<Vec<_>>().join(" "));
    match e.span() {
        Some(span) => {
            let at = span.start.min(text.len());
            let before = &text.as_bytes()[..at];
            let line = memchr::memchr_iter(b'\n', before).count() + 1;
            let col = at - memchr::memrchr(b'\n', before).map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {col}: {message}")
        }
        None => message,
    }
}

/// Shortens quoted (`"…"` or `` `…` ``) runs of 16 or more characters that do not look like a
/// key name (anything beyond lowercase letters, digits in names, `_`, `-` and `.`).
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find(['"', '`']) {
        let q = rest.as_bytes()[open] as char;
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let Some(close) = rest.find(q) else {
            break;
        };
        let inner = &rest[..close];
        let name_like = inner
            .bytes()
            .all(|b| b.is_ascii_lowercase() || matches!(b, b'_' | b'-' | b'.'));
        if inner.chars().count() >= 16 && !name_like {
            out.push_str(&crate::finding::Secret::new(inner.as_bytes()).redacted());
        } else {
            out.push_str(inner);
        }
        out.push(q);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::{escape, toml_error};

    #[test]
    fn toml_errors_are_one_line_and_do_not_echo_long_values() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct T {
            paths: Vec<String>,
            mode: Option<Mode>,
        }
        #[derive(Debug, serde::Deserialize)]
        enum Mode {
            Fast,
        }
        let value = "Zq8RkT2mWv9LpX4nBc7Hs1Jd";
        for text in [
            format!("# comment\npaths = \"{value}\"\n"),
            format!("paths = []\nmode = \"{value}\"\n"),
        ] {
            let e = toml::from_str::<T>(&text).unwrap_err();
            let msg = toml_error(&e, &text);
            assert!(!msg.contains('\n'), "{msg}");
            assert!(!msg.contains(&value[..8]), "{msg}");
            assert!(msg.starts_with("line "), "{msg}");
        }
        let text = "paths = []\nextra_key_name_here = 1\n";
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct U {
            paths: Vec<String>,
        }
        let msg = toml_error(&toml::from_str::<U>(text).unwrap_err(), text);
        assert_eq!(
            msg,
            "line 2, column 1: unknown field `extra_key_name_here`, expected `paths`"
        );
    }

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
