//! `--upload`: the debug file sent to coredump-service, `PUT {base}/debuginfo/<build_id>`. The
//! binary's only network I/O; the library does none.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use debuginfo_split::BuildId;

/// A debug file the service took: where, and its answer (201 stored, 200 already there).
#[derive(Debug)]
pub(crate) struct Uploaded {
    /// The URL the file was sent to.
    pub url: String,
    /// The status the service answered.
    pub status: u16,
}

impl Uploaded {
    /// `201 Created`.
    pub fn status_line(&self) -> String {
        status_line(self.status)
    }
}

/// Why an upload failed: the URL and what went wrong, in one line.
#[derive(Debug)]
pub(crate) struct Failed {
    /// The URL the file was sent to.
    pub url: String,
    /// The status the service answered, if it answered.
    pub status: Option<u16>,
    /// The status line and the service's error text, or the network error.
    pub reason: String,
}

/// Checks that `base` is a service URL (http or https), for clap.
pub(crate) fn parse_base_url(base: &str) -> Result<String, String> {
    let rest = base
        .strip_prefix("http://")
        .or_else(|| base.strip_prefix("https://"))
        .ok_or_else(|| format!("`{base}` is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("`{base}` has no host"));
    }
    Ok(base.to_owned())
}

/// The URL of the debug file of `build_id` on the service at `base` (a trailing slash is
/// tolerated).
pub(crate) fn debuginfo_url(base: &str, build_id: &BuildId) -> String {
    format!("{}/debuginfo/{build_id}", base.trim_end_matches('/'))
}

/// Sends the file at `path` as the debug file of `build_id`, with `token` as the bearer token.
pub(crate) fn upload(
    base: &str,
    build_id: &BuildId,
    path: &Path,
    token: Option<&str>,
) -> Result<Uploaded, Failed> {
    let url = debuginfo_url(base, build_id);
    let failed = |status, reason| Failed {
        url: url.clone(),
        status,
        reason,
    };
    let file = File::open(path).map_err(|e| failed(None, format!("cannot read it: {e}")))?;
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .user_agent(concat!("debuginfo-split/", env!("CARGO_PKG_VERSION")))
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(300)))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut request = agent.put(&url).header("Content-Type", "application/wasm");
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    // A File body is sent with its length (Content-Length), read as it goes.
    let mut response = request.send(file).map_err(|e| failed(None, describe(&e)))?;
    let status = response.status().as_u16();
    if matches!(status, 200 | 201) {
        return Ok(Uploaded { url, status });
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_vec()
        .unwrap_or_default();
    let mut reason = status_line(status);
    if let Some(text) = error_text(&body) {
        reason = format!("{reason}: {text}");
    }
    Err(failed(Some(status), reason))
}

/// `404 Not Found`.
fn status_line(status: u16) -> String {
    let reason = ureq::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason());
    match reason {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

/// The service's `{"error": "..."}`, else a short one-line text body.
fn error_text(body: &[u8]) -> Option<String> {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        return value["error"].as_str().map(str::to_owned);
    }
    let text = std::str::from_utf8(body).ok()?.trim();
    (!text.is_empty() && text.len() <= 200 && !text.contains('\n')).then(|| text.to_owned())
}

/// A network error in words: the OS's for I/O ("Connection refused (os error 111)").
fn describe(err: &ureq::Error) -> String {
    match err {
        ureq::Error::Io(e) => e.to_string(),
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_texts() {
        let id = BuildId::from_bytes(&[0xab; 4]).unwrap();
        assert_eq!(
            debuginfo_url("http://h:8080/", &id),
            "http://h:8080/debuginfo/abababab"
        );
        assert_eq!(
            debuginfo_url("https://h/base", &id),
            "https://h/base/debuginfo/abababab"
        );
        assert!(parse_base_url("ftp://h").is_err());
        assert!(parse_base_url("http://").is_err());
        assert_eq!(status_line(409), "409 Conflict");
        assert_eq!(status_line(599), "599");
        assert_eq!(error_text(br#"{"error": "no DWARF"}"#).unwrap(), "no DWARF");
        assert_eq!(error_text(b"bad gateway\n").unwrap(), "bad gateway");
        assert_eq!(error_text(b""), None);
    }
}
