//! Cheap checks that turn a regex match into a finding or throw it away: Shannon entropy and
//! the placeholder filter (`xxxx`, `...`, `your-api-key`, `<token>`, `${VAR}`, `EXAMPLE`, runs
//! of one character, `123456`/`abcdef` sequences).

/// Shannon entropy of `bytes`, in bits per byte. 0.0 for an empty slice.
pub fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let len = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / len;
            -p * p.log2()
        })
        .sum()
}

/// Substrings (compared ASCII case-insensitively) that mark a value as a placeholder,
/// documentation value or already-masked secret rather than a key.
const PLACEHOLDER_WORDS: &[&[u8]] = &[
    b"xxxx",
    b"****",
    b"...", // elided values in docs (`sk-...`, `sk-or-v1-...`); base62/64/hex keys never hold it
    b"\xe2\x80\xa6", // "…"
    b"example",
    b"your_",
    b"your-",
    b"yourapi",
    b"yourkey",
    b"yoursecret",
    b"yourtoken",
    b"placeholder",
    b"changeme",
    b"change_me",
    b"redacted",
    b"filtered",
    b"dummy",
    b"insert",
    b"replace_me",
    b"replaceme",
    b"fake",
    b"sample",
    b"notreal",
    b"not_real",
    b"secret_here",
    b"key_here",
    b"token_here",
    b"<",
    b">",
    b"${",
    b"{{",
    b"}}",
    b"$(",
    b"%s",
    b"%(",
];

/// True when `value` looks like a placeholder instead of a real secret.
pub fn is_placeholder(value: &[u8]) -> bool {
    if PLACEHOLDER_WORDS
        .iter()
        .any(|w| contains_ignore_ascii_case(value, w))
    {
        return true;
    }
    has_run(value, 6) || has_sequence(value, 7)
}

fn contains_ignore_ascii_case(hay: &[u8], needle: &[u8]) -> bool {
    if needle.len() > hay.len() {
        return false;
    }
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// A run of `n` identical alphanumeric bytes (`aaaaaa`, `000000`).
fn has_run(value: &[u8], n: usize) -> bool {
    let mut run = 1;
    for pair in value.windows(2) {
        if pair[0] == pair[1] && pair[0].is_ascii_alphanumeric() {
            run += 1;
            if run >= n {
                return true;
            }
        } else {
            run = 1;
        }
    }
    false
}

/// A run of `n` consecutive ascending or descending alphanumerics (`1234567`, `abcdefg`).
fn has_sequence(value: &[u8], n: usize) -> bool {
    let (mut up, mut down) = (1, 1);
    for pair in value.windows(2) {
        let both = pair[0].is_ascii_alphanumeric() && pair[1].is_ascii_alphanumeric();
        up = if both && pair[1] == pair[0].wrapping_add(1) {
            up + 1
        } else {
            1
        };
        down = if both && pair[1].wrapping_add(1) == pair[0] {
            down + 1
        } else {
            1
        };
        if up >= n || down >= n {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_uniform_and_constant() {
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert!(shannon_entropy(b"q8Zr2LxT0vKp9WmY3nB7") > 4.0);
    }

    #[test]
    fn placeholders_are_recognised() {
        for p in [
            "sk-xxxxxxxxxxxxxxxxxxxx",
            "your-api-key",
            "<token>",
            "${OPENAI_API_KEY}",
            "AKIAIOSFODNN7EXAMPLE",
            "{{ secrets.TOKEN }}",
            "aaaaaaaaaaaaaaaa",
            "sk-1234567890abcdef",
            "Bearer [REDACTED]",
            "[FILTERED]",
            "sk-…",
            "sk-...",
            "sk-or-v1-...",
            "DATABASE_PASSWORD=sk-...abcd",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p} should be a placeholder");
        }
    }

    #[test]
    fn random_keys_are_not_placeholders() {
        for k in [
            "q8Zr2LxT0vKp9WmY3nB7cD4eF6gH1jK5",
            "4f9a0c3e7b2d1f8a6c5e9b0d3a7f2c1e",
            "ghp_R8mZt2QxV9LkP4wN7sJ1cF6hB3dY0aE5uG2i",
        ] {
            assert!(!is_placeholder(k.as_bytes()), "{k} is not a placeholder");
        }
    }
}
