//! [`Client`]: requests to the service, and [`Error`]: its refusals and network errors in words.

use std::fmt;
use std::fs::File;
use std::time::Duration;

use ureq::http::{Response, StatusCode};
use ureq::{Body, RequestBuilder};

/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the service may take to answer (a large debug file takes a while to store).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(300);

/// How much of a refusal's body is read for its error text.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;

/// A blocking HTTP client of coredump-service, with the bearer token it sends.
///
/// A status other than success is an answer, given as [`Error::Status`] with the service's
/// error text; only a request that got no answer is an [`Error::Network`]. Cheap to build: make
/// one per command run.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    token: Option<String>,
}

impl Client {
    /// A client that names itself `user_agent` (`wasmgdb/0.1.0`) and sends `token`, unless it is
    /// `None` or empty, as `Authorization: Bearer TOKEN`. It waits 30 seconds for a connection
    /// and 300 for an answer.
    pub fn new(user_agent: &str, token: Option<&str>) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(user_agent)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_recv_response(Some(ANSWER_TIMEOUT))
            .build();
        Client {
            agent: ureq::Agent::new_with_config(config),
            token: token.filter(|t| !t.is_empty()).map(str::to_owned),
        }
    }

    /// `GET url`: the body of a `200 OK`, however long.
    pub fn get(&self, url: &str) -> Result<Vec<u8>, Error> {
        let mut response = self
            .authorize(self.agent.get(url))
            .call()
            .map_err(Error::network)?;
        if response.status() != StatusCode::OK {
            return Err(Error::refusal(&mut response));
        }
        response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .map_err(Error::network)
    }

    /// `PUT url` with `file` as the `application/wasm` body, sent with its length as it is read
    /// (a debug file is never all in memory): the status of a `200 OK` or a `201 Created`.
    pub fn put_wasm(&self, url: &str, file: File) -> Result<u16, Error> {
        let request = self
            .agent
            .put(url)
            .header("Content-Type", "application/wasm");
        let mut response = self.authorize(request).send(file).map_err(Error::network)?;
        match response.status() {
            StatusCode::OK | StatusCode::CREATED => Ok(response.status().as_u16()),
            _ => Err(Error::refusal(&mut response)),
        }
    }

    /// `request` with the token, if there is one.
    fn authorize<B>(&self, request: RequestBuilder<B>) -> RequestBuilder<B> {
        match &self.token {
            Some(token) => request.header("Authorization", format!("Bearer {token}")),
            None => request,
        }
    }
}

/// Why a request failed, in one line (its `Display`): what the service said, or why it said
/// nothing. The URL is the caller's to name.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The service answered with a status other than success. Says `401 Unauthorized: invalid
    /// bearer token`: the status line, then the service's `{"error": "..."}` text (or a short
    /// one-line text body) if it sent one.
    Status {
        /// The status, e.g. 404.
        status: u16,
        /// The service's error text, if any.
        message: Option<String>,
    },
    /// No answer, or not all of it: the request could not be sent (no connection, a timeout) or
    /// the response not read. Says the OS's words for an I/O error (`Connection refused (os error
    /// 111)`), else the HTTP client's.
    Network(String),
}

impl Error {
    /// The status the service answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            Error::Network(_) => None,
        }
    }

    /// A network error in words.
    fn network(err: ureq::Error) -> Error {
        Error::Network(match err {
            ureq::Error::Io(e) => e.to_string(),
            e => e.to_string(),
        })
    }

    /// The refusal `response` says, with the error text of its body.
    fn refusal(response: &mut Response<Body>) -> Error {
        let body = response
            .body_mut()
            .with_config()
            .limit(ERROR_BODY_LIMIT)
            .read_to_vec()
            .unwrap_or_default();
        Error::Status {
            status: response.status().as_u16(),
            message: error_text(&body),
        }
    }
}

/// `404 Not Found`: a status and its reason phrase, or the bare number for a status without one.
pub fn status_line(status: u16) -> String {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason());
    match reason {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Status {
                status,
                message: Some(message),
            } => write!(f, "{}: {message}", status_line(*status)),
            Error::Status {
                status,
                message: None,
            } => f.write_str(&status_line(*status)),
            Error::Network(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for Error {}

/// The service's `{"error": "..."}`, else a short one-line text body.
fn error_text(body: &[u8]) -> Option<String> {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        return value["error"].as_str().map(str::to_owned);
    }
    let text = std::str::from_utf8(body).ok()?.trim();
    (!text.is_empty() && text.len() <= 200 && !text.contains('\n')).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(status_line(409), "409 Conflict");
        assert_eq!(status_line(201), "201 Created");
        assert_eq!(status_line(599), "599");
    }

    #[test]
    fn error_texts() {
        assert_eq!(
            error_text(br#"{"error": "no DWARF"}"#).as_deref(),
            Some("no DWARF")
        );
        assert_eq!(error_text(br#"{"other": 1}"#), None);
        assert_eq!(error_text(b"bad gateway\n").as_deref(), Some("bad gateway"));
        assert_eq!(error_text(b"two\nlines"), None);
        assert_eq!(error_text(&[b'x'; 201]), None);
        assert_eq!(error_text(b""), None);
    }

    #[test]
    fn errors_in_one_line() {
        let refused = Error::Status {
            status: 404,
            message: Some("no such core dump".into()),
        };
        assert_eq!(refused.to_string(), "404 Not Found: no such core dump");
        assert_eq!(refused.status(), Some(404));
        let bare = Error::Status {
            status: 502,
            message: None,
        };
        assert_eq!(bare.to_string(), "502 Bad Gateway");
        let network = Error::Network("Connection refused (os error 111)".into());
        assert_eq!(network.to_string(), "Connection refused (os error 111)");
        assert_eq!(network.status(), None);
    }

    #[test]
    fn the_client_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Client>();
        assert_send_sync::<Error>();
    }
}
