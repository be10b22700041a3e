//! Named offline checks a rule can require of its secret (`validator = "..."`). Each one raises
//! precision without any network: checksums (GitHub, npm), structure (JWT header and payload,
//! PEM/OpenSSH/PGP body, Basic auth, PyPI macaroon, Slack token parts, Discord bot token id),
//! and shape checks for catch-all rules (a password that is not a documentation dummy or a
//! variable reference; a generic value that looks like a literal secret rather than code).
//!
//! Validators see only the secret's bytes, never its surroundings; context is the engine's job.
//! `docs/rules.md` describes each one for rule authors.

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
    /// A Slack token whose dash-separated parts have the shape its prefix promises (numeric
    /// team/user ids, a random tail of the right length and alphabet).
    Slack,
    /// A Discord bot token whose first part is the base64 of a numeric user id (a snowflake).
    DiscordBot,
    /// A password that is not a documentation dummy (`password`, `changeit`, `postgres`…) nor a
    /// variable reference (`$DB_PASS`, `%PASS%`, `DB_PASSWORD`).
    Password,
    /// The password of a `scheme://user:password@host` URL: passes `password` before and after
    /// percent-decoding, and decodes to at least 6 printable ASCII characters without brackets,
    /// that are not one lowercase word shorter than 12 letters (`smith`, `bowser`). URL-parser
    /// tests and doc comments are full of such values; generated passwords are not.
    UrlPassword,
    /// A value from a catch-all rule that looks like a literal secret, not code: passes
    /// `password`, has a letter and a digit or symbol, and is not an identifier, dotted path,
    /// file path, URL or lock-file integrity hash.
    GenericLiteral,
}

/// All validators with their names, for docs and error messages.
pub const ALL: &[(&str, Validator)] = &[
    ("github-crc32", Validator::GithubCrc32),
    ("npm-crc32", Validator::NpmCrc32),
    ("jwt", Validator::Jwt),
    ("pem-body", Validator::PemBody),
    ("basic-auth", Validator::BasicAuth),
    ("pypi-macaroon", Validator::PypiMacaroon),
    ("slack", Validator::Slack),
    ("discord-bot", Validator::DiscordBot),
    ("password", Validator::Password),
    ("url-password", Validator::UrlPassword),
    ("generic-literal", Validator::GenericLiteral),
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
            Validator::Slack => slack_ok(secret),
            Validator::DiscordBot => discord_bot_ok(secret),
            Validator::Password => password_ok(secret),
            Validator::UrlPassword => url_password_ok(secret),
            Validator::GenericLiteral => generic_literal_ok(secret),
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
    if !map.get("alg").is_some_and(serde_json::Value::is_string) {
        return false;
    }
    let Some(payload) = decode_b64_any(payload) else {
        return false;
    };
    matches!(
        serde_json::from_slice(&payload),
        Ok(serde_json::Value::Object(_))
    )
}

/// Checks a private key block from its `-----BEGIN` line to its `-----END` line. Newlines may
/// be real or written as `\n` (keys inside JSON/YAML strings). Armor headers (`Proc-Type:`,
/// `Version:`…) and a PGP CRC line (`=abcd`) are skipped; every other body line must be pure
/// base64, the body must decode, and what it decodes to must fit the block type: DER (starts
/// with a SEQUENCE byte) for PKCS#1/PKCS#8/SEC1 keys, `openssh-key-v1` for OpenSSH keys, an
/// OpenPGP packet for PGP blocks. Legacy encrypted PEM (`Proc-Type: 4,ENCRYPTED`) is ciphertext,
/// so only its base64 is checked.
fn pem_ok(block: &[u8]) -> bool {
    let text = String::from_utf8_lossy(block)
        .replace("\\r", "")
        .replace("\\n", "\n");
    let mut kind = "";
    let mut encrypted_pem = false;
    let mut body = String::new();
    for line in text.lines() {
        let mut line = line.trim();
        // Source-code string concatenation: `"MIIE...",` or `'MIIE...' +`.
        if line.contains('"') || line.contains('\'') {
            line = line
                .trim_end_matches(|c: char| c == ',' || c == '+' || c == ';' || c.is_whitespace())
                .trim_matches(|c| c == '"' || c == '\'')
                .trim();
        }
        if let Some(rest) = line.strip_prefix("-----BEGIN ") {
            kind = if rest.contains("OPENSSH") {
                "openssh"
            } else if rest.contains("PGP") {
                "pgp"
            } else {
                "der"
            };
            continue;
        }
        if line.starts_with("-----END ") {
            break;
        }
        if line.is_empty() {
            continue;
        }
        if line.contains(':') {
            encrypted_pem |= line.starts_with("Proc-Type:") && line.contains("ENCRYPTED");
            continue;
        }
        if kind == "pgp" && line.starts_with('=') && line.len() == 5 {
            continue;
        }
        if !line
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
        {
            return false;
        }
        body.push_str(line);
    }
    if body.len() < 64 {
        return false;
    }
    let Ok(decoded) = STANDARD
        .decode(body.as_bytes())
        .or_else(|_| STANDARD_NO_PAD.decode(body.trim_end_matches('=').as_bytes()))
    else {
        return false;
    };
    match kind {
        "openssh" => decoded.starts_with(b"openssh-key-v1\0"),
        "pgp" => decoded[0] & 0x80 != 0,
        "der" => encrypted_pem || decoded[0] == 0x30,
        _ => false,
    }
}

fn basic_ok(value: &[u8]) -> bool {
    let Ok(decoded) = STANDARD.decode(value) else {
        return false;
    };
    let Some(colon) = decoded.iter().position(|&b| b == b':') else {
        return false;
    };
    let password = &decoded[colon + 1..];
    decoded.iter().all(|b| (0x20..0x7f).contains(b)) && password_ok(password)
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

fn all(bytes: &[u8], pred: impl Fn(u8) -> bool) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| pred(b))
}

fn digits(part: &[u8], min: usize, max: usize) -> bool {
    (min..=max).contains(&part.len()) && all(part, |b| b.is_ascii_digit())
}

fn hex_lower(part: &[u8], len: usize) -> bool {
    part.len() == len && all(part, |b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Slack token shapes by prefix (from Slack's token-type documentation):
/// - `xoxb-<team id>-<bot user id>-<24 alnum>` (bot)
/// - `xoxp-<team id>-<user id>-<app id>-<32 hex>` (user)
/// - `xoxa-2-<id>-<id>-<id>-<64 hex>` (legacy workspace app)
/// - `xapp-1-A<app id>-<number>-<64 hex>` (app-level)
/// - `xoxe.xoxp-1-…` / `xoxe.xoxb-1-…` (rotating access) and `xoxe-1-…` (refresh, config
///   refresh): a version `1` then one long base62 run.
fn slack_ok(token: &[u8]) -> bool {
    let parts: Vec<&[u8]> = token.split(|&b| b == b'-').collect();
    let alnum = |p: &[u8]| all(p, |b| b.is_ascii_alphanumeric());
    match parts.as_slice() {
        [b"xoxb", team, user, tail] => {
            digits(team, 8, 13) && digits(user, 8, 13) && tail.len() == 24 && alnum(tail)
        }
        [b"xoxp", team, user, app, tail] => {
            digits(team, 8, 13) && digits(user, 8, 13) && digits(app, 8, 13) && hex_lower(tail, 32)
        }
        [b"xoxa", b"2", a, b, c, tail] => {
            digits(a, 8, 13) && digits(b, 8, 13) && digits(c, 8, 13) && hex_lower(tail, 64)
        }
        [b"xapp", b"1", app, number, tail] => {
            app.len() >= 9
                && app[0] == b'A'
                && all(app, |b| b.is_ascii_uppercase() || b.is_ascii_digit())
                && digits(number, 8, 16)
                && hex_lower(tail, 64)
        }
        [b"xoxe.xoxp" | b"xoxe.xoxb" | b"xoxe", b"1", tail] => tail.len() >= 100 && alnum(tail),
        _ => false,
    }
}

/// `base64(user id) . timestamp . hmac`: the first part must decode to a 17-20 digit snowflake.
fn discord_bot_ok(token: &[u8]) -> bool {
    let Some(first) = token.split(|&b| b == b'.').next() else {
        return false;
    };
    match decode_b64_any(first) {
        Some(id) => (17..=20).contains(&id.len()) && all(&id, |b| b.is_ascii_digit()),
        None => false,
    }
}

/// Values that documentation, tutorials and default configs use in place of a real password or
/// token, compared case-insensitively after trailing digits and `!` are removed.
const DUMMY_VALUES: &[&str] = &[
    "",
    "abc",
    "admin",
    "administrator",
    "apikey",
    "api_key",
    "bar",
    "baz",
    "changeit",
    "default",
    "demo",
    "dev",
    "empty",
    "false",
    "foo",
    "foobar",
    "guest",
    "hunter",
    "key",
    "letmein",
    "local",
    "localhost",
    "mariadb",
    "mongo",
    "mongodb",
    "mypassword",
    "mypass",
    "mysecret",
    "mysql",
    "mytoken",
    "nil",
    "none",
    "null",
    "optional",
    "oracle",
    "p@ssw0rd",
    "p@ssword",
    "p4ssw0rd",
    "pa55word",
    "pass",
    "passw0rd",
    "passwd",
    "password",
    "postgres",
    "postgresql",
    "pw",
    "pwd",
    "qwerty",
    "rabbitmq",
    "redis",
    "required",
    "root",
    "s3cr3t",
    "secret",
    "sekret",
    "sekrit",
    "secretkey",
    "secret_key",
    "str",
    "string",
    "supersecret",
    "tbd",
    "test",
    "tester",
    "testing",
    "todo",
    "token",
    "toor",
    "topsecret",
    "true",
    "undefined",
    "unset",
    "user",
    "username",
    "value",
    "welcome",
];

/// Markers of a value that refers to a secret instead of being one.
const REFERENCE_MARKERS: &[&str] = &[
    "process.env",
    "os.environ",
    "getenv",
    "env[",
    "env.",
    "env(",
    "#{",
    "secrets.",
    "vault:",
    "ssm:",
];

fn password_ok(value: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(value) else {
        return false;
    };
    let lower = s.to_ascii_lowercase();
    let core = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c == '!');
    if DUMMY_VALUES.contains(&core) || DUMMY_VALUES.contains(&lower.as_str()) {
        return false;
    }
    if s.starts_with('$') || s.starts_with('{') || (s.starts_with('%') && s.ends_with('%')) {
        return false;
    }
    if s.starts_with(':') && !s.starts_with("::") && all(&value[1..], is_ident_byte) {
        return false; // a Ruby symbol
    }
    if REFERENCE_MARKERS.iter().any(|m| lower.contains(m)) {
        return false;
    }
    // An environment variable's name (`DB_PASSWORD`) or a snake_case identifier without digits.
    let upper_snake = all(value, |b| {
        b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'
    });
    let lower_snake = all(value, |b| b.is_ascii_lowercase() || b == b'_');
    if value.contains(&b'_') && (upper_snake || lower_snake) {
        return false;
    }
    true
}

/// `value` with every `%XX` escape decoded; a `%` not followed by two hex digits stays as is.
fn percent_decode(value: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        if value[i] == b'%' && i + 2 < value.len() {
            if let (Some(h), Some(l)) = (hex(value[i + 1]), hex(value[i + 2])) {
                out.push((h << 4) | l);
                i += 3;
                continue;
            }
        }
        out.push(value[i]);
        i += 1;
    }
    out
}

fn url_password_ok(value: &[u8]) -> bool {
    let decoded = percent_decode(value);
    let printable = all(&decoded, |b| {
        (0x21..=0x7e).contains(&b) && b != b'[' && b != b']'
    });
    let short_word = decoded.len() < 12 && all(&decoded, |b| b.is_ascii_lowercase());
    printable && decoded.len() >= 6 && !short_word && password_ok(value) && password_ok(&decoded)
}

/// A percent-encoded value that decodes to text with whitespace or control characters, or to
/// fewer than 6 characters, is URL-encoding test data (`value%20with%20quotes`, `pass%5B%7F`,
/// `%c3%89t%C3%A9`), not a key.
fn percent_decoded_ok(value: &[u8]) -> bool {
    let decoded = percent_decode(value);
    if decoded == value {
        return true;
    }
    match std::str::from_utf8(&decoded) {
        Ok(s) => s.chars().count() >= 6 && !s.chars().any(|c| c.is_whitespace() || c.is_control()),
        Err(_) => false,
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Symbols that identifiers, paths and version strings do not use but secrets often do.
fn strong_symbol(b: u8) -> bool {
    b"+/=!@#%^&*~?|,;:".contains(&b)
}

fn generic_literal_ok(value: &[u8]) -> bool {
    if !password_ok(value) || !percent_decoded_ok(value) {
        return false;
    }
    let Ok(s) = std::str::from_utf8(value) else {
        return false;
    };
    let lower = s.to_ascii_lowercase();
    if !value.iter().any(u8::is_ascii_alphabetic)
        || !value
            .iter()
            .any(|&b| b.is_ascii_digit() || strong_symbol(b))
    {
        return false;
    }
    // Paths, URLs, integrity hashes.
    if s.starts_with('/')
        || s.starts_with("./")
        || s.starts_with("../")
        || s.starts_with("~/")
        || lower.contains("://")
        || ["sha1-", "sha256-", "sha384-", "sha512-", "md5-"]
            .iter()
            .any(|p| lower.starts_with(p))
    {
        return false;
    }
    // A dotted identifier path (`settings.api_key`, `config.auth.token2`): at least two
    // segments, each a word of letters and `_` with optional trailing digits. Random dotted
    // tokens (JWTs, `ya29.` OAuth tokens) have digits inside their segments.
    let word = |seg: &[u8]| {
        let letters = seg
            .iter()
            .rposition(|b| !b.is_ascii_digit())
            .map_or(0, |i| i + 1);
        letters > 0 && all(&seg[..letters], |b| b.is_ascii_alphabetic() || b == b'_')
    };
    let segments: Vec<&[u8]> = value.split(|&b| b == b'.').collect();
    if segments.len() >= 2 && segments.iter().all(|seg| word(seg)) {
        return false;
    }
    // A call or an index expression.
    !(s.contains("()") || s.contains("->") || s.contains("::"))
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
        // "user:password": a documentation dummy.
        assert!(!Validator::BasicAuth.check(b"dXNlcjpwYXNzd29yZA=="));
        assert!(!Validator::BasicAuth.check(b"bm9jb2xvbg=="));
        assert!(!Validator::BasicAuth.check(b"not base64!"));
    }

    fn b64(bytes: &[u8]) -> String {
        STANDARD.encode(bytes)
    }

    fn pem(kind: &str, der: &[u8]) -> String {
        let body = b64(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {kind}-----\n{}\n-----END {kind}-----",
            lines.join("\n")
        )
    }

    fn pseudo_random(n: usize, seed: u32) -> Vec<u8> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (x >> 16) as u8
            })
            .collect()
    }

    #[test]
    fn pem_body_must_fit_the_block_type() {
        let mut der = vec![0x30, 0x82, 0x02, 0x5c, 0x02, 0x01, 0x00];
        der.extend(pseudo_random(200, 7));
        let rsa = pem("RSA PRIVATE KEY", &der);
        assert!(Validator::PemBody.check(rsa.as_bytes()));
        // The same block inside a JSON string, newlines written as `\n`.
        let escaped = rsa.replace('\n', "\\n");
        assert!(Validator::PemBody.check(escaped.as_bytes()));
        // Not DER: random bytes that do not start with a SEQUENCE.
        let mut junk = vec![0x41];
        junk.extend(pseudo_random(200, 9));
        assert!(!Validator::PemBody.check(pem("PRIVATE KEY", &junk).as_bytes()));
        // Truncated documentation block.
        assert!(!Validator::PemBody
            .check(b"-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----"));
        // A body line that is not base64.
        let broken = rsa.replacen("\n", "\n<your key here>\n", 1);
        assert!(!Validator::PemBody.check(broken.as_bytes()));
    }

    #[test]
    fn pem_body_openssh_and_pgp() {
        let mut ssh = b"openssh-key-v1\0".to_vec();
        ssh.extend(pseudo_random(180, 3));
        assert!(Validator::PemBody.check(pem("OPENSSH PRIVATE KEY", &ssh).as_bytes()));
        assert!(!Validator::PemBody
            .check(pem("OPENSSH PRIVATE KEY", &pseudo_random(180, 4)).as_bytes()));
        let mut pgp = vec![0x95, 0x03, 0xc6];
        pgp.extend(pseudo_random(300, 5));
        let armored = pem("PGP PRIVATE KEY BLOCK", &pgp)
            .replacen("\n", "\nVersion: keysweep test\n\n", 1)
            .replace("\n-----END", "\n=q8Zr\n-----END");
        assert!(Validator::PemBody.check(armored.as_bytes()));
        let encrypted = pem("RSA PRIVATE KEY", &pseudo_random(200, 6)).replacen(
            "\n",
            "\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F1A9C0B7E2D4A6F8B1C3E5D7F9A0B2C\n\n",
            1,
        );
        assert!(Validator::PemBody.check(encrypted.as_bytes()));
    }

    #[test]
    fn jwt_payload_must_be_an_object() {
        // header {"alg":"HS256"}, payload "x" (a JSON string, not an object)
        assert!(!Validator::Jwt.check(b"eyJhbGciOiJIUzI1NiJ9.Ingi.c2lnbmF0dXJl"));
        // header whose alg is not a string
        assert!(!Validator::Jwt.check(b"eyJhbGciOjF9.eyJ4IjoxfQ.c2lnbmF0dXJl"));
    }

    #[test]
    fn slack_structure() {
        for good in [
            "xoxb-7302945618-5129837460-Qm8ZrT2xLk9PvW4nB7cD1eF3",
            "xoxp-7302945618-5129837460-4817263950-3f9a0c7e2b1d8f4a6c5e9b0d3a7f2c1e",
            "xapp-1-A05R7Q2KX9M-6391827405172-9f3a0c7e2b1d8f4a6c5e9b0d3a7f2c1e4b8d6f0a2c4e6a8b0d2f4a6c8e0b2d4f",
        ] {
            assert!(Validator::Slack.check(good.as_bytes()), "{good}");
        }
        let rotated = format!("xoxe.xoxp-1-{}", "Mi0yLTczMDI5NDU2MTgtNTEy".repeat(5));
        assert!(Validator::Slack.check(rotated.as_bytes()));
        for bad in [
            "xoxb-7302945618-5129837460-short",
            "xoxb-73029x5618-5129837460-Qm8ZrT2xLk9PvW4nB7cD1eF3",
            "xoxp-7302945618-5129837460-4817263950-3F9A0C7E2B1D8F4A6C5E9B0D3A7F2C1E",
            "xoxe-1-tooShort",
            "xoxz-1-2-3",
        ] {
            assert!(!Validator::Slack.check(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn discord_bot_first_part_is_a_user_id() {
        let id = URL_SAFE_NO_PAD.encode("803412957236418561");
        let token = format!("{id}.G7kQ2x.Rq9mZt2xVLkP4wN7sJ1cF6hB3dY0aE5uG2iTw");
        assert!(Validator::DiscordBot.check(token.as_bytes()));
        let not_id = URL_SAFE_NO_PAD.encode("hello-world-abcdefg");
        let token = format!("{not_id}.G7kQ2x.Rq9mZt2xVLkP4wN7sJ1cF6hB3dY0aE5uG2iTw");
        assert!(!Validator::DiscordBot.check(token.as_bytes()));
    }

    #[test]
    fn password_rejects_dummies_and_references() {
        for bad in [
            "password",
            "Password123",
            "changeit",
            "postgres",
            "secret!",
            "$DB_PASS",
            "%DB_PASS%",
            "{db_pass}",
            "DB_PASSWORD",
            ":password",
            "process.env.DB_PASS",
            "hunter2",
            "sekrit",
        ] {
            assert!(!Validator::Password.check(bad.as_bytes()), "{bad}");
        }
        for good in ["Tr0ub4dor&3", "q8Zr2LxT0vKp", "s9-Kd_83hQ"] {
            assert!(Validator::Password.check(good.as_bytes()), "{good}");
        }
    }

    #[test]
    fn url_password_rejects_parser_tests_and_doc_words() {
        for bad in [
            "smith",
            "bowser",
            "kulgrej",
            "password",
            "foo(b]c",
            "foo(b%5Dc",
            "%3A%40c",
            "%60%7B%7D",
            "pass%5B%7F",
            "%c3%89t%C3%A9",
            "%F0%9F%92%A9",
            "p%40ssword",
            "${DB_PASS}",
        ] {
            assert!(!Validator::UrlPassword.check(bad.as_bytes()), "{bad}");
        }
        for good in [
            "tUVQcDMpg0TMkxpdzP",
            "s9-Kd_83hQ",
            "Xk2%40pq%2Fz9Lm",
            "correcthorsebattery",
            "Tr0ub4dor&3",
        ] {
            assert!(Validator::UrlPassword.check(good.as_bytes()), "{good}");
        }
        assert_eq!(percent_decode(b"a%2Fb%zz%4"), b"a/b%zz%4");
    }

    #[test]
    fn generic_literal_rejects_code() {
        for bad in [
            "settings.API_KEY",
            "config.auth.token2",
            "get_secret_value",
            "/home/user/.ssh/id_rsa",
            "https://example.org/token",
            "sha512-Q8Zr2LxT0vKp9WmY3nB7cD4eF6gH1jK5",
            "onlyLettersHereNoDigits",
            "1234-5678-9012",
            "Foo::Bar2",
            "client->token1",
            "value%20with%20%27quotes%27",
            "pass%5B%7F",
            "%c3%89t%C3%A9",
        ] {
            assert!(!Validator::GenericLiteral.check(bad.as_bytes()), "{bad}");
        }
        for good in [
            "q8Zr2LxT0vKp9WmY3nB7",
            "Tr0ub4dor&3",
            "4f9a0c3e-7b2d-1f8a-6c5e-9b0d3a7f2c1e",
            "abc+def/ghIJ==",
            "ya29.a0AfH6SMBx3kQ9vZ2pL7rT",
            "q8Zr2L%2BxT0vKp9WmY3nB7%3D",
        ] {
            assert!(Validator::GenericLiteral.check(good.as_bytes()), "{good}");
        }
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
