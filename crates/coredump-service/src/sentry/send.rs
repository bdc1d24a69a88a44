//! Posting envelopes to Sentry, honouring its rate limits.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use ::sentry::Envelope;
use ::sentry::protocol::EnvelopeItem;
use ::sentry::transports::{RateLimiter, RateLimitingCategory};
use ::sentry::types::{Dsn, ParseDsnError};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};

/// How long one send may take, from connecting to the end of Sentry's answer, before it counts
/// as failed (plus time for the body: see [`SentrySender::with_timeout`]).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The slowest upload rate allowed for before a send times out: a big attachment gets
/// `size / rate` more time.
const MIN_UPLOAD_RATE: f64 = (1 << 20) as f64;

/// How the service names itself to Sentry (`User-Agent`, `sentry_client`).
const CLIENT: &str = concat!("coredump-service/", env!("CARGO_PKG_VERSION"));

/// How much of a rejection's body goes into [`SendOutcome::Rejected`].
const MAX_REASON: usize = 300;

/// The largest request body Sentry takes: 20 MB, compressed; less a margin.
pub const MAX_REQUEST: usize = 19_500_000;

/// Posts envelopes to one Sentry project, and remembers the rate limits Sentry set.
///
/// Cheap to share: one per service, behind an `Arc` or owned by the forwarding task. Sends may
/// run concurrently.
pub struct SentrySender {
    client: reqwest::Client,
    dsn: Dsn,
    url: String,
    auth: String,
    timeout: Duration,
    limits: Mutex<RateLimiter>,
}

/// What became of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum SendOutcome {
    /// Sentry took it.
    Sent,
    /// Not sent, worth trying again: Sentry was rate limiting (the envelope was then not even
    /// posted), answered 429, 408 or 5xx, or could not be reached or did not answer in time.
    /// The duration is how long Sentry asked to wait (`Retry-After`, `X-Sentry-Rate-Limits`;
    /// 60 s for a bare 429), zero when it asked nothing: the caller's own backoff applies.
    RetryAfter(Duration),
    /// Sentry refused it for good (a 4xx other than 408 and 429: malformed, too large, unknown
    /// project or key): the status and the start of Sentry's explanation.
    Rejected(String),
    /// The request would be over Sentry's 20 MB (compressed) limit: not sent; send the dump
    /// as a link instead.
    TooLarge(usize),
}

/// A sender that cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SenderError {
    /// The DSN is not one (`https://<key>@<host>/<project id>`).
    #[error("invalid Sentry DSN: {0}")]
    Dsn(ParseDsnError),
    /// The HTTP client could not be set up (no TLS backend).
    #[error("cannot set up the HTTP client: {0}")]
    Client(reqwest::Error),
}

impl SentrySender {
    /// A sender to the project of `dsn`, with [`DEFAULT_TIMEOUT`].
    pub fn new(dsn: &str) -> Result<SentrySender, SenderError> {
        let dsn: Dsn = dsn.parse().map_err(SenderError::Dsn)?;
        let client = reqwest::Client::builder()
            .build()
            .map_err(SenderError::Client)?;
        Ok(SentrySender {
            client,
            url: dsn.envelope_api_url().to_string(),
            auth: dsn.to_auth(Some(CLIENT)).to_string(),
            dsn,
            timeout: DEFAULT_TIMEOUT,
            limits: Mutex::new(RateLimiter::new()),
        })
    }

    /// The same sender with another timeout: how long one send may take, from connecting to
    /// the end of Sentry's answer, plus a second per MiB of envelope so that an upload at
    /// 1 MiB/s or faster never times out.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> SentrySender {
        self.timeout = timeout;
        self
    }

    /// The DSN events go to.
    pub fn dsn(&self) -> &Dsn {
        &self.dsn
    }

    /// How long Sentry holds back attachments, when it does while still taking events (an
    /// attachment quota, say). [`send`](Self::send) holds back an envelope with an attachment
    /// until then; a caller facing a long wait can build the envelope with
    /// [`DumpAttachment::Link`](super::DumpAttachment::Link) instead.
    pub fn attachments_limited(&self) -> Option<Duration> {
        self.limits().is_disabled(RateLimitingCategory::Attachment)
    }

    /// Posts `envelope`, unless Sentry's rate limits hold it back, and says what became of it.
    /// Never panics and never waits past the timeout.
    pub async fn send(&self, envelope: &Envelope) -> SendOutcome {
        if let Some(wait) = self.held_back(envelope) {
            tracing::debug!(
                wait_s = wait.as_secs_f64(),
                "Sentry rate limit: not sending"
            );
            return SendOutcome::RetryAfter(wait);
        }
        // Sentry takes gzip envelopes, and its 20 MB request limit is on what goes over the
        // wire: a dump, mostly zeros, compresses a hundredfold.
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let body = match envelope.to_writer(&mut gzip).and_then(|()| gzip.finish()) {
            Ok(body) => body,
            Err(e) => {
                return SendOutcome::Rejected(format!("cannot serialize the envelope: {e}"));
            }
        };
        if body.len() > MAX_REQUEST {
            return SendOutcome::TooLarge(body.len());
        }
        let timeout = self.timeout + Duration::from_secs_f64(body.len() as f64 / MIN_UPLOAD_RATE);
        let sent = self
            .client
            .post(&self.url)
            .header("X-Sentry-Auth", &self.auth)
            .header(USER_AGENT, CLIENT)
            .header(CONTENT_TYPE, "application/x-sentry-envelope")
            .header(CONTENT_ENCODING, "gzip")
            .timeout(timeout)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                let error = error_chain(&e);
                tracing::warn!(url = %self.url, error = %error, "cannot reach Sentry");
                return SendOutcome::RetryAfter(Duration::ZERO);
            }
        };
        let status = response.status();
        self.update_limits(status, response.headers());
        // The answer's body: Sentry's explanation, or the event id.
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            return SendOutcome::Sent;
        }
        let reason = format!("HTTP {status}: {}", clip(text.trim(), MAX_REASON));
        if status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
            || status.is_server_error()
        {
            tracing::warn!(status = status.as_u16(), reason = %reason, "Sentry did not take the event");
            let wait = self.held_back(envelope).unwrap_or(Duration::ZERO);
            return SendOutcome::RetryAfter(wait);
        }
        SendOutcome::Rejected(reason)
    }

    /// How long the rate limits hold back `envelope`: the longest wait of its item kinds.
    fn held_back(&self, envelope: &Envelope) -> Option<Duration> {
        let limits = self.limits();
        let mut wait = limits.is_disabled(RateLimitingCategory::Any);
        for item in envelope.items() {
            let limit = match item {
                EnvelopeItem::Event(_) => limits.is_disabled(RateLimitingCategory::Error),
                EnvelopeItem::Attachment(_) => limits.is_disabled(RateLimitingCategory::Attachment),
                _ => None,
            };
            wait = wait.max(limit);
        }
        wait
    }

    /// Records the limits Sentry's answer sets, as the `sentry` crate's own transports do:
    /// `X-Sentry-Rate-Limits` first, else `Retry-After`, else a minute for a bare 429.
    fn update_limits(&self, status: StatusCode, headers: &reqwest::header::HeaderMap) {
        let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let mut limits = self.limits();
        if let Some(limits_header) = header("x-sentry-rate-limits") {
            limits.update_from_sentry_header(limits_header);
        } else if let Some(retry_after) = header(RETRY_AFTER.as_str()) {
            limits.update_from_retry_after(retry_after);
        } else if status == StatusCode::TOO_MANY_REQUESTS {
            limits.update_from_429();
        }
    }

    fn limits(&self) -> std::sync::MutexGuard<'_, RateLimiter> {
        // The limiter holds plain timestamps: a panic elsewhere cannot leave it inconsistent.
        self.limits.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for SentrySender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the auth header: it holds the DSN's keys.
        f.debug_struct("SentrySender")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .field("limits", &*self.limits())
            .finish_non_exhaustive()
    }
}

/// An error and its causes, one line: reqwest's own message says little ("error sending
/// request").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
