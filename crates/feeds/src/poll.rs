//! A polite poller for one external feed URL.
//!
//! [`FeedPoller`] fetches a URL with conditional GETs (`If-None-Match`,
//! `If-Modified-Since`), an honest `User-Agent`, a request timeout, a body-size
//! cap enforced while streaming, and a bounded number of redirects (to `http`
//! and `https` only). After every [`FeedPoller::poll`] it decides when the next
//! one should happen ([`FeedPoller::next_poll_in`]):
//!
//! * success (`200` or `304`): the normal [`PollConfig::interval`];
//! * `429`/`503` with `Retry-After` (seconds or HTTP-date): that delay, clamped
//!   to [`PollConfig::min_interval`] ..= [`PollConfig::max_retry_after`];
//! * any other failure (network error, timeout, other non-success status,
//!   oversized or unparsable body): exponential backoff, `interval × 2^n` after
//!   `n` consecutive failures, capped at [`PollConfig::max_backoff`] and shortened
//!   by a random jitter of up to [`PollConfig::jitter`] of itself.
//!
//! No delay is ever shorter than [`PollConfig::min_interval`], and `poll` itself
//! refuses ([`PollError::TooSoon`]) to hit the server again within it. The
//! poller does not sleep: the caller waits `next_poll_in()` between polls.
//!
//! HTTPS uses rustls with the `ring` provider and the platform's root
//! certificates; on a system without any, `https` URLs fail certificate
//! verification (plain `http` still works).

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};

use crate::date::parse_rfc2822;
use crate::parse::{MAX_DOCUMENT_BYTES, ParseError, ParsedFeed, parse_feed};

/// The `User-Agent` the poller sends.
pub const USER_AGENT: &str = concat!(
    "kith-bridge/",
    env!("CARGO_PKG_VERSION"),
    " (+https://example.invalid/kith)"
);

/// The `Accept` header the poller sends.
pub const ACCEPT: &str = "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, \
                          application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1";

/// How a [`FeedPoller`] behaves. [`PollConfig::default`] is meant for real use.
#[derive(Clone, Debug, PartialEq)]
pub struct PollConfig {
    /// The normal time between polls after a success. Default 30 minutes.
    pub interval: Duration,
    /// No two polls are closer than this, whatever else says. Default 60 s
    /// (tests may set it to zero).
    pub min_interval: Duration,
    /// Backoff after failures grows up to this. Default 6 hours.
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this is cut to it. Default 24 hours.
    pub max_retry_after: Duration,
    /// Backoff delays are shortened by a random fraction of up to this much of
    /// themselves (0.0 ..= 1.0), so that many pollers do not retry in lock step.
    /// Default 0.25.
    pub jitter: f64,
    /// Seed for the jitter; `None` seeds from the process's random state.
    pub jitter_seed: Option<u64>,
    /// Bodies longer than this are cut off while streaming, with an error.
    /// Default [`MAX_DOCUMENT_BYTES`] (the parser's own limit).
    pub max_body_bytes: usize,
    /// Whole-request timeout (connect, headers and body). Default 30 s.
    pub timeout: Duration,
    /// Connection timeout. Default 10 s.
    pub connect_timeout: Duration,
    /// At most this many redirects are followed. Default 5.
    pub max_redirects: usize,
    /// Whether to honour `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` from the
    /// environment. Default `true`.
    pub proxy_from_env: bool,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(30 * 60),
            min_interval: Duration::from_secs(60),
            max_backoff: Duration::from_secs(6 * 3600),
            max_retry_after: Duration::from_secs(24 * 3600),
            jitter: 0.25,
            jitter_seed: None,
            max_body_bytes: MAX_DOCUMENT_BYTES,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_redirects: 5,
            proxy_from_env: true,
        }
    }
}

/// The result of a successful poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PollOutcome {
    /// The server answered `304 Not Modified`: nothing new.
    NotModified,
    /// The server sent the feed; here it is, parsed.
    Fetched(ParsedFeed),
}

/// Why a poll failed. Every variant but [`PollError::TooSoon`] counts as a
/// failure for the backoff (or, for a `Retry-After`, schedules by it).
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The URL does not parse.
    #[error("invalid feed URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The URL's scheme is not `http` or `https`.
    #[error("unsupported URL scheme {0:?}: only http and https feeds can be polled")]
    UnsupportedScheme(String),
    /// The HTTP client could not be built.
    #[error("could not set up the HTTP client: {0}")]
    Client(String),
    /// `poll` was called again within [`PollConfig::min_interval`]; nothing was
    /// sent.
    #[error("polled too soon; wait {wait:?}")]
    TooSoon {
        /// How much longer to wait.
        wait: Duration,
    },
    /// The request failed: connection, TLS, timeout, too many redirects, or the
    /// body broke off.
    #[error("request failed: {0}")]
    Http(#[source] reqwest::Error),
    /// The server answered with a status other than success or `304`.
    #[error("server answered {status}")]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// The `Retry-After` delay of a `429` or `503`, if it sent a valid one.
        retry_after: Option<Duration>,
    },
    /// The body was longer than [`PollConfig::max_body_bytes`] (by its
    /// `Content-Length`, or while streaming); the download was abandoned.
    #[error("response body over the limit of {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// The body is not a feed the parser accepts.
    #[error("feed did not parse: {0}")]
    Parse(#[from] ParseError),
}

/// Polls one feed URL politely; see the [module docs](self).
#[derive(Debug)]
pub struct FeedPoller {
    url: reqwest::Url,
    config: PollConfig,
    client: reqwest::Client,
    etag: Option<String>,
    last_modified: Option<String>,
    failures: u32,
    delay: Duration,
    last_done: Option<Instant>,
    rng: u64,
}

/// rustls with the `ring` provider and the platform's roots (or none, if the
/// system has no root store: then every https URL fails verification).
fn tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let mut config = match rustls_platform_verifier::Verifier::new(provider) {
        Ok(verifier) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth(),
        Err(_) => builder
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    };
    // The client speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn check_scheme(url: &reqwest::Url) -> Result<(), PollError> {
    match url.scheme() {
        "http" | "https" => Ok(()),
        other => Err(PollError::UnsupportedScheme(other.to_owned())),
    }
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP-date (relative to
/// `now_ms`, never negative).
fn parse_retry_after(value: &str, now_ms: u64) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly long numbers saturate; the caller clamps.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at_ms = parse_rfc2822(value)?;
    Some(Duration::from_millis(at_ms.saturating_sub(now_ms)))
}

fn header_string(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn unix_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl FeedPoller {
    /// A poller for `url` (which must be `http` or `https`). The first
    /// [`poll`](Self::poll) may happen at once.
    ///
    /// # Errors
    ///
    /// [`PollError::InvalidUrl`], [`PollError::UnsupportedScheme`], or
    /// [`PollError::Client`] if the HTTP client cannot be built.
    pub fn new(url: &str, config: PollConfig) -> Result<Self, PollError> {
        let parsed = reqwest::Url::parse(url.trim()).map_err(|e| PollError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        check_scheme(&parsed)?;
        let max_redirects = config.max_redirects;
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max_redirects {
                attempt.error("too many redirects")
            } else if !matches!(attempt.url().scheme(), "http" | "https") {
                attempt.error("redirect to a scheme other than http or https")
            } else {
                attempt.follow()
            }
        });
        let tls = tls_config().map_err(|e| PollError::Client(e.to_string()))?;
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .redirect(policy)
            .tls_backend_preconfigured(tls);
        if !config.proxy_from_env {
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|e| PollError::Client(e.to_string()))?;
        let rng = config
            .jitter_seed
            .unwrap_or_else(|| RandomState::new().hash_one(parsed.as_str()));
        Ok(Self {
            url: parsed,
            config,
            client,
            etag: None,
            last_modified: None,
            failures: 0,
            delay: Duration::ZERO,
            last_done: None,
            rng,
        })
    }

    /// The URL being polled.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// The `ETag` of the last feed fetched, sent back as `If-None-Match`.
    pub fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }

    /// The `Last-Modified` of the last feed fetched, sent back as
    /// `If-Modified-Since`.
    pub fn last_modified(&self) -> Option<&str> {
        self.last_modified.as_deref()
    }

    /// Restores validators saved from an earlier run, so that the first poll is
    /// already conditional.
    pub fn set_validators(&mut self, etag: Option<String>, last_modified: Option<String>) {
        self.etag = etag;
        self.last_modified = last_modified;
    }

    /// How many polls in a row have failed.
    pub fn consecutive_failures(&self) -> u32 {
        self.failures
    }

    /// The whole delay chosen after the last poll (zero before the first); see
    /// [`next_poll_in`](Self::next_poll_in) for what is left of it.
    pub fn current_delay(&self) -> Duration {
        self.delay
    }

    /// How long to wait from now before the next poll: zero before the first
    /// poll, else what is left of [`current_delay`](Self::current_delay) since the
    /// last poll finished.
    pub fn next_poll_in(&self) -> Duration {
        match self.last_done {
            None => Duration::ZERO,
            Some(done) => self.delay.saturating_sub(done.elapsed()),
        }
    }

    /// Fetches the feed once and schedules the next poll.
    ///
    /// # Errors
    ///
    /// [`PollError::TooSoon`] within [`PollConfig::min_interval`] of the last
    /// poll (nothing is sent and nothing changes); otherwise any failure of the
    /// request, status, size or parse, each of which backs off.
    pub async fn poll(&mut self) -> Result<PollOutcome, PollError> {
        if let Some(done) = self.last_done {
            let since = done.elapsed();
            if since < self.config.min_interval {
                return Err(PollError::TooSoon {
                    wait: self.config.min_interval - since,
                });
            }
        }
        let result = self.fetch().await;
        self.last_done = Some(Instant::now());
        match &result {
            Ok(_) => {
                self.failures = 0;
                self.delay = self.config.interval.max(self.config.min_interval);
            }
            Err(PollError::Status {
                retry_after: Some(wait),
                ..
            }) => {
                self.failures = self.failures.saturating_add(1);
                self.delay = (*wait)
                    .min(self.config.max_retry_after)
                    .max(self.config.min_interval);
            }
            Err(_) => {
                self.failures = self.failures.saturating_add(1);
                self.delay = self.backoff_delay();
            }
        }
        result
    }

    /// `interval × 2^failures`, capped, minus jitter, at least `min_interval`.
    fn backoff_delay(&mut self) -> Duration {
        let cap = self.config.max_backoff.max(self.config.interval);
        let base = 1u32
            .checked_shl(self.failures)
            .and_then(|factor| self.config.interval.checked_mul(factor))
            .map_or(cap, |d| d.min(cap));
        let jitter = if self.config.jitter.is_finite() {
            self.config.jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let delay = base.mul_f64(1.0 - jitter * self.next_unit());
        delay.max(self.config.min_interval)
    }

    /// A pseudo-random number in `[0, 1)` (splitmix64).
    fn next_unit(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    async fn fetch(&mut self) -> Result<PollOutcome, PollError> {
        let mut request = self
            .client
            .get(self.url.clone())
            .header(header::ACCEPT, ACCEPT);
        if let Some(etag) = &self.etag {
            request = request.header(header::IF_NONE_MATCH, etag.as_str());
        }
        if let Some(last_modified) = &self.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, last_modified.as_str());
        }
        let mut response = request.send().await.map_err(PollError::Http)?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            // A 304 may refresh the validators.
            if let Some(etag) = header_string(response.headers(), header::ETAG) {
                self.etag = Some(etag);
            }
            if let Some(lm) = header_string(response.headers(), header::LAST_MODIFIED) {
                self.last_modified = Some(lm);
            }
            return Ok(PollOutcome::NotModified);
        }
        if !status.is_success() {
            let retry_after = if matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            ) {
                header_string(response.headers(), header::RETRY_AFTER)
                    .and_then(|v| parse_retry_after(&v, unix_now_ms()))
            } else {
                None
            };
            return Err(PollError::Status {
                status,
                retry_after,
            });
        }
        let etag = header_string(response.headers(), header::ETAG);
        let last_modified = header_string(response.headers(), header::LAST_MODIFIED);
        let max = self.config.max_body_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > max as u64)
        {
            return Err(PollError::TooLarge { max });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(PollError::Http)? {
            if body.len() + chunk.len() > max {
                // Dropping the response abandons the connection mid-body.
                return Err(PollError::TooLarge { max });
            }
            body.extend_from_slice(&chunk);
        }
        let feed = parse_feed(&body)?;
        // Remember validators only for a feed that parsed, so that a broken
        // document is fetched again rather than answered with 304 forever.
        self.etag = etag;
        self.last_modified = last_modified;
        Ok(PollOutcome::Fetched(feed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let now = 784_111_777_000; // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:51:37 GMT", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn only_http_and_https_urls_are_accepted() {
        for bad in [
            "ftp://example.invalid/feed",
            "file:///etc/passwd",
            "gopher://x/",
        ] {
            assert!(
                matches!(
                    FeedPoller::new(bad, PollConfig::default()),
                    Err(PollError::UnsupportedScheme(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            FeedPoller::new("not a url", PollConfig::default()),
            Err(PollError::InvalidUrl { .. })
        ));
        assert!(FeedPoller::new("http://example.invalid/feed.xml", PollConfig::default()).is_ok());
        assert!(FeedPoller::new("https://example.invalid/feed.xml", PollConfig::default()).is_ok());
    }

    #[test]
    fn backoff_doubles_from_the_interval_up_to_the_cap_with_bounded_jitter() {
        let config = PollConfig {
            interval: Duration::from_secs(600),
            min_interval: Duration::from_secs(60),
            max_backoff: Duration::from_secs(6 * 3600),
            jitter: 0.25,
            jitter_seed: Some(7),
            ..PollConfig::default()
        };
        let mut poller = FeedPoller::new("http://example.invalid/", config).expect("poller");
        for failures in 1..=10u32 {
            poller.failures = failures;
            let base =
                Duration::from_secs(600 * 2u64.pow(failures)).min(Duration::from_secs(6 * 3600));
            let delay = poller.backoff_delay();
            assert!(
                delay <= base && delay >= base.mul_f64(0.75),
                "failures {failures}: {delay:?} vs {base:?}"
            );
        }
        // Shifts past the width of u32 saturate at the cap.
        poller.failures = 200;
        assert!(poller.backoff_delay() <= Duration::from_secs(6 * 3600));
    }
}
