//! Named offline checks a rule can require of its secret (`validator = "..."`). Each one raises
//! precision without any network: checksums (GitHub, npm), structure (JWT header, PEM body,
//! Basic auth, PyPI macaroon).

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use std::fmt;
use std::str::FromStr;

/// An offline check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` tokens: the last 6 base62 chars encode the CRC32 of
    /// the 30 before them.
    GithubCrc32,
    /// `npm_` tokens: same scheme as GitHub.
    NpmCrc32,
    /// A JWT whose header decodes to a JSON object with an `alg` field.
    Jwt,
    /// A PEM block whose body is base64 (also when newlines are written as `\n`).
    PemBody,
    /// A Basic credential whose base64 decodes to printable `user:password`.
    BasicAuth,
    /// A PyPI token whose macaroon names `pypi.org`.
    PypiMacaroon,
}

/// All validators with their names, for docs and error messages.
pub const ALL: &[(&str, Validator)] = &[
    ("github-crc32", Validator::GithubCrc32),
    ("npm-crc32", Validator::NpmCrc32),
    ("jwt", Validator::Jwt),
    ("pem-body", Validator::PemBody),
    ("basic-auth", Validator::BasicAuth),
    ("pypi-macaroon", Validator::PypiMacaroon),
];

impl FromStr for Validator {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ALL.iter()
            .find(|(n, _)| *n == s)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                let names: Vec<&str> = ALL.iter().map(|(n, _)| *n).collect();
                format!("unknown validator `{s}` (known: {})", names.join(", "))
            })
    }
}

impl fmt::Display for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = ALL.iter().find(|(_, v)| v == self).map(|(n, _)| *n);
        f.write_str(name.unwrap_or("?"))
    }
}

impl Validator {
    /// True when `secret` passes the check.
    pub fn check(self, secret: &[u8]) -> bool {
        match self {
            Validator::GithubCrc32 | Validator::NpmCrc32 => crc32_token_ok(secret),
            Validator::Jwt => jwt_ok(secret),
            Validator::PemBody => pem_ok(secret),
            Validator::BasicAuth => basic_ok(secret),
            Validator::PypiMacaroon => pypi_ok(secret),
        }
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Base62 of `n`, left-padded with `0` to 6 characters.
pub fn base62_6(mut n: u32) -> [u8; 6] {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// `prefix_` + 30 chars + 6-char base62 CRC32 of those 30.
fn crc32_token_ok(token: &[u8]) -> bool {
    let Some(underscore) = token.iter().position(|&b| b == b'_') else {
        return false;
    };
    let body = &token[underscore + 1..];
    if body.len() != 36 {
        return false;
    }
    let (random, check) = body.split_at(30);
    base62_6(crc32fast::hash(random)) == check
}

fn decode_b64_any(part: &[u8]) -> Option<Vec<u8>> {
    let trimmed: Vec<u8> = part.iter().copied().filter(|&b| b != b'=').collect();
    URL_SAFE_NO_PAD
        .decode(&trimmed)
        .or_else(|_| STANDARD_NO_PAD.decode(&trimmed))
        .ok()
}

fn jwt_ok(token: &[u8]) -> bool {
    let mut parts = token.split(|&b| b == b'.');
    let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Some(decoded) = decode_b64_any(header) else {
        return false;
    };
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(&decoded) else {
        return false;
    };
    map.contains_key("alg") && decode_b64_any(payload).is_some()
}

fn pem_ok(block: &[u8]) -> bool {
    let text = String::from_utf8_lossy(block)
        .replace("\\r", "")
        .replace("\\n", "\n");
    let mut body = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with("-----") || line.is_empty() || line.contains(':') {
            continue;
        }
        let line = line.trim_matches(|c| c == '"' || c == '\'' || c == ',' || c == '+');
        body.push_str(line.trim());
    }
    if body.len() < 64 {
        return false;
    }
    STANDARD.decode(body.as_bytes()).is_ok() || STANDARD_NO_PAD.decode(body.as_bytes()).is_ok()
}

fn basic_ok(value: &[u8]) -> bool {
    let Ok(decoded) = STANDARD.decode(value) else {
        return false;
    };
    let Some(colon) = decoded.iter().position(|&b| b == b':') else {
        return false;
    };
    let password = &decoded[colon + 1..];
    !password.is_empty() && decoded.iter().all(|b| (0x20..0x7f).contains(b))
}

fn pypi_ok(token: &[u8]) -> bool {
    let Some(body) = token.strip_prefix(b"pypi-") else {
        return false;
    };
    match decode_b64_any(body) {
        Some(bytes) => bytes.windows(8).any(|w| w == b"pypi.org"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github_token(prefix: &str, random: &str) -> String {
        let check = base62_6(crc32fast::hash(random.as_bytes()));
        format!("{prefix}{random}{}", std::str::from_utf8(&check).unwrap())
    }

    #[test]
    fn github_checksum_round_trip() {
        let tok = github_token("ghp_", "R8mZt2QxV9LkP4wN7sJ1cF6hB3dY0a");
        assert!(Validator::GithubCrc32.check(tok.as_bytes()));
        let mut broken = tok.into_bytes();
        let last = broken.len() - 1;
        broken[last] = if broken[last] == b'A' { b'B' } else { b'A' };
        assert!(!Validator::GithubCrc32.check(&broken));
    }

    #[test]
    fn base62_pads_to_six() {
        assert_eq!(&base62_6(0), b"000000");
        assert_eq!(&base62_6(61), b"00000z");
        assert_eq!(&base62_6(62), b"000010");
    }

    #[test]
    fn jwt_header_must_decode() {
        let good = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJrZXlzd2VlcCJ9.c2lnbmF0dXJl";
        assert!(Validator::Jwt.check(good.as_bytes()));
        assert!(!Validator::Jwt.check(b"eyJub3RhIjoiand0In0.eyJ4IjoxfQ.c2ln"));
        assert!(!Validator::Jwt.check(b"eyJ!!!.abc.def"));
    }

    #[test]
    fn basic_auth_needs_user_and_password() {
        assert!(Validator::BasicAuth.check(b"YWRtaW46czNjcjN0UGFzcw=="));
        assert!(!Validator::BasicAuth.check(b"bm9jb2xvbg=="));
        assert!(!Validator::BasicAuth.check(b"not base64!"));
    }

    #[test]
    fn names_round_trip() {
        for (name, v) in ALL {
            assert_eq!(name.parse::<Validator>().unwrap(), *v);
            assert_eq!(v.to_string(), *name);
        }
        assert!("nope".parse::<Validator>().is_err());
    }
}
