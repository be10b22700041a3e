//! The one place keysweep touches the network: a small blocking HTTP client on `ureq` with
//! rustls (no OpenSSL), plus the retry policy shared by live checks, the revocation endpoint
//! and `keysweep revoke`.
//!
//! Errors never echo a URL, a header or a body: a check URL may carry the secret (`?key=…`),
//! so every failure is turned into a short fixed text such as `timed out (connect)` or
//! `connection refused`. Redirects are not followed (a redirect could carry a key to another
//! host). Proxies come from `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` and `NO_PROXY`, except that
//! loopback addresses are always reached directly.

use std::fmt;
use std::io::Read;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How much of an answer is read; a check only needs a status and maybe a small JSON body.
const BODY_LIMIT: u64 = 256 * 1024;

/// One HTTP request. `Debug` shows the method and host only: the URL, headers and body may
/// contain a secret.
#[derive(Clone)]
pub struct HttpRequest {
    /// `GET`, `POST` or `HEAD`.
    pub method: String,
    /// The full URL.
    pub url: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// Body, for `POST`.
    pub body: Option<Vec<u8>>,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HttpRequest({} {})",
            self.method,
            host_of(&self.url).unwrap_or("?")
        )
    }
}

/// An answer: the status, a parsed `Retry-After`, and up to 256 KiB of body.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// `Retry-After`, as seconds or an HTTP date, converted to a wait.
    pub retry_after: Option<Duration>,
    /// The body (truncated at 256 KiB).
    pub body: Vec<u8>,
}

/// Why a request got no answer. The text is safe to print: no URL, header or body in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(pub String);

/// Connect and read timeouts.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Time to resolve and connect (TLS handshake included).
    pub connect: Duration,
    /// Time to wait for the answer after sending the request (headers and body).
    pub read: Duration,
}

/// A blocking client with fixed timeouts. Cheap to share between threads.
pub struct Client {
    agent: ureq::Agent,
    timeouts: Timeouts,
}

impl Client {
    /// A client with these timeouts; a `User-Agent` of `keysweep/VERSION`.
    pub fn new(timeouts: Timeouts) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_resolve(Some(timeouts.connect))
            .timeout_connect(Some(timeouts.connect))
            .timeout_send_request(Some(timeouts.read))
            .timeout_send_body(Some(timeouts.read))
            .timeout_recv_response(Some(timeouts.read))
            .timeout_recv_body(Some(timeouts.read))
            .user_agent(concat!("keysweep/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Client { agent, timeouts }
    }

    /// The configured timeouts.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// Sends one request; never longer than `limit` in all.
    pub fn send(&self, req: &HttpRequest, limit: Duration) -> Result<HttpResponse, HttpError> {
        if limit.is_zero() {
            return Err(HttpError("time budget exhausted".into()));
        }
        let mut builder = ureq::http::Request::builder()
            .method(req.method.as_str())
            .uri(req.url.as_str());
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let body = req.body.clone().unwrap_or_default();
        let request = builder
            .body(body)
            .map_err(|_| HttpError("invalid request (bad URL or header)".into()))?;
        let loopback = host_of(&req.url).is_some_and(is_loopback_host);
        let mut config = self
            .agent
            .configure_request(request)
            .timeout_global(Some(limit));
        if loopback {
            config = config.proxy(None);
        }
        let request = config.build();
        let mut response = self.agent.run(request).map_err(describe)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let mut body = Vec::new();
        response
            .body_mut()
            .as_reader()
            .take(BODY_LIMIT)
            .read_to_end(&mut body)
            .map_err(|e| HttpError(format!("reading the answer failed: {}", io_kind(&e))))?;
        Ok(HttpResponse {
            status,
            retry_after,
            body,
        })
    }
}

/// A fixed, URL-free description of a transport error.
fn describe(err: ureq::Error) -> HttpError {
    use ureq::Error as E;
    let text = match err {
        E::Timeout(t) => format!("timed out ({t})"),
        E::HostNotFound => "host not found".into(),
        E::ConnectionFailed => "connection failed".into(),
        E::Io(e) => io_kind(&e),
        E::BadUri(_) | E::Http(_) => "invalid URL".into(),
        E::Tls(_) | E::Rustls(_) | E::Pem(_) => "TLS error".into(),
        E::TooManyRedirects | E::RedirectFailed => "redirect not followed".into(),
        E::InvalidProxyUrl | E::ConnectProxyFailed(_) => "proxy connection failed".into(),
        E::LargeResponseHeader(_, _) => "response headers too large".into(),
        E::Protocol(_) => "malformed HTTP response".into(),
        _ => "HTTP transport error".into(),
    };
    HttpError(text)
}

fn io_kind(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "connection refused".into(),
        K::ConnectionReset => "connection reset".into(),
        K::ConnectionAborted => "connection aborted".into(),
        K::TimedOut | K::WouldBlock => "timed out".into(),
        K::UnexpectedEof => "connection closed early".into(),
        K::BrokenPipe => "connection closed".into(),
        _ => "I/O error".into(),
    }
}

/// The host (with port) of an `http(s)://host[:port]/...` URL.
pub fn host_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..end];
    (!host.is_empty()).then_some(host)
}

/// The host without its port.
pub fn host_name(host_port: &str) -> &str {
    if let Some(rest) = host_port.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host_port.split(':').next().unwrap_or(host_port)
}

/// `localhost`, `127.0.0.0/8` or `::1`.
pub fn is_loopback_host(host_port: &str) -> bool {
    let h = host_name(host_port);
    h.eq_ignore_ascii_case("localhost")
        || h == "::1"
        || h.parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Parses `Retry-After`: delay seconds, or an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(v)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// Seconds since the epoch of an IMF-fixdate.
fn parse_http_date(v: &str) -> Option<u64> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    let day: u64 = parts[1].parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[2])? as u64
        + 1;
    let year: i64 = parts[3].parse().ok()?;
    let hms: Vec<u64> = parts[4]
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if hms.len() != 3 || !(1..=31).contains(&day) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    let secs = days * 86400 + (hms[0] * 3600 + hms[1] * 60 + hms[2]) as i64;
    u64::try_from(secs).ok()
}

/// How hard to try one request.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt, on 5xx and 429 only.
    pub max_retries: u32,
    /// First backoff; doubled each retry.
    pub backoff: Duration,
    /// The longest `Retry-After` honoured; a longer one ends the retries.
    pub max_retry_after: Duration,
}

/// Per-host concurrency and rate limits, shared by every thread of a run.
pub struct HostLimiter {
    per_host: usize,
    interval: Duration,
    state: Mutex<std::collections::HashMap<String, HostState>>,
    wake: Condvar,
}

#[derive(Default)]
struct HostState {
    in_flight: usize,
    next_start: Option<Instant>,
}

/// A slot for one request to a host; released on drop.
pub struct Permit<'a> {
    limiter: &'a HostLimiter,
    host: String,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut state = self.limiter.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = state.get_mut(&self.host) {
            s.in_flight = s.in_flight.saturating_sub(1);
        }
        self.limiter.wake.notify_all();
    }
}

impl HostLimiter {
    /// At most `per_host` requests in flight and `rate` request starts per second per host.
    pub fn new(per_host: usize, rate: f64) -> Self {
        let interval = if rate > 0.0 {
            Duration::from_secs_f64(1.0 / rate)
        } else {
            Duration::ZERO
        };
        HostLimiter {
            per_host: per_host.max(1),
            interval,
            state: Mutex::new(Default::default()),
            wake: Condvar::new(),
        }
    }

    /// Waits for a slot on `host`; `None` when `deadline` passes first.
    pub fn acquire(&self, host: &str, deadline: Instant) -> Option<Permit<'_>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            let s = state.entry(host.to_string()).or_default();
            let wait_until = s.next_start.filter(|t| *t > now);
            if s.in_flight < self.per_host && wait_until.is_none() {
                s.in_flight += 1;
                s.next_start = Some(now + self.interval);
                return Some(Permit {
                    limiter: self,
                    host: host.to_string(),
                });
            }
            let until = wait_until.unwrap_or(deadline).min(deadline);
            let (guard, _) = self
                .wake
                .wait_timeout(state, until.saturating_duration_since(now))
                .unwrap_or_else(|e| e.into_inner());
            state = guard;
        }
    }
}

/// A final answer, or why there is none. `last_status` is the last HTTP status seen, if any.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// An answer that is not worth retrying (any status but 5xx and 429, or the last try).
    Answer(HttpResponse),
    /// No usable answer.
    Failed {
        /// Why, safe to print.
        reason: String,
        /// The last HTTP status received, if any.
        last_status: Option<u16>,
    },
}

/// Sends `req`, retrying 5xx and 429 with backoff (honouring `Retry-After` up to the cap),
/// within per-host limits, and never past `deadline`.
pub fn send_with_retries(
    client: &Client,
    limiter: &HostLimiter,
    policy: RetryPolicy,
    req: &HttpRequest,
    deadline: Instant,
) -> Outcome {
    let host = host_of(&req.url).unwrap_or("").to_ascii_lowercase();
    let mut attempt = 0u32;
    loop {
        let Some(permit) = limiter.acquire(&host, deadline) else {
            return Outcome::Failed {
                reason: "time budget exhausted before the check could run".into(),
                last_status: None,
            };
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        let result = client.send(req, remaining);
        drop(permit);
        let resp = match result {
            Ok(r) => r,
            Err(e) => {
                let reason = if Instant::now() >= deadline {
                    "time budget exhausted".to_string()
                } else {
                    e.0
                };
                return Outcome::Failed {
                    reason,
                    last_status: None,
                };
            }
        };
        let retryable = resp.status == 429 || (500..=599).contains(&resp.status);
        if !retryable {
            return Outcome::Answer(resp);
        }
        let what = if resp.status == 429 {
            "rate limited (HTTP 429)".to_string()
        } else {
            format!("server error (HTTP {})", resp.status)
        };
        if attempt >= policy.max_retries {
            let tries = attempt + 1;
            return Outcome::Failed {
                reason: format!(
                    "{what} after {tries} attempt{}",
                    if tries == 1 { "" } else { "s" }
                ),
                last_status: Some(resp.status),
            };
        }
        let wait = match resp.retry_after {
            Some(ra) if ra > policy.max_retry_after => {
                return Outcome::Failed {
                    reason: format!(
                        "{what}; Retry-After {}s exceeds the {}s cap",
                        ra.as_secs(),
                        policy.max_retry_after.as_secs()
                    ),
                    last_status: Some(resp.status),
                };
            }
            Some(ra) => ra,
            None => policy.backoff * 2u32.saturating_pow(attempt),
        };
        if Instant::now() + wait >= deadline {
            return Outcome::Failed {
                reason: format!("{what}; time budget exhausted before a retry"),
                last_status: Some(resp.status),
            };
        }
        std::thread::sleep(wait);
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn hosts() {
        assert_eq!(
            host_of("https://api.openai.com/v1/models"),
            Some("api.openai.com")
        );
        assert_eq!(host_of("http://127.0.0.1:8080?x=1"), Some("127.0.0.1:8080"));
        assert_eq!(host_of("ftp://x"), None);
        assert!(is_loopback_host("127.0.0.1:9"));
        assert!(is_loopback_host("localhost"));
        assert!(is_loopback_host("[::1]:80"));
        assert!(!is_loopback_host("10.0.0.1"));
        assert!(!is_loopback_host("api.openai.com"));
    }

    #[test]
    fn request_debug_hides_url_and_headers() {
        let r = HttpRequest {
            method: "GET".into(),
            url: "https://example.test/check?key=SECRETVALUE".into(),
            headers: vec![("Authorization".into(), "Bearer SECRETVALUE".into())],
            body: None,
        };
        let d = format!("{r:?}");
        assert!(!d.contains("SECRETVALUE"), "{d}");
        assert!(d.contains("example.test"));
    }

    #[test]
    fn limiter_gives_up_at_the_deadline() {
        let l = HostLimiter::new(1, 0.0);
        let deadline = Instant::now() + Duration::from_millis(50);
        let held = l.acquire("h", deadline).unwrap();
        let other = l.acquire("other", deadline);
        assert!(other.is_some(), "limits are per host");
        let t = Instant::now();
        assert!(l.acquire("h", deadline).is_none());
        assert!(
            t.elapsed() >= Duration::from_millis(30),
            "waited for the slot"
        );
        drop(held);
        let later = Instant::now() + Duration::from_millis(50);
        assert!(
            l.acquire("h", later).is_some(),
            "a released slot is reusable"
        );
    }
}
