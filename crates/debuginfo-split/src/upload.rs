//! `--upload`: the debug file sent to coredump-service, `PUT {base}/debuginfo/<build_id>`. The
//! binary's only network I/O; the library does none.

use std::fs::File;
use std::path::Path;

use coredump_service_client::{Client, debuginfo_url, status_line};
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

/// Sends the file at `path` as the debug file of `build_id`, with `token` as the bearer token.
pub(crate) fn upload(
    base: &str,
    build_id: &BuildId,
    path: &Path,
    token: Option<&str>,
) -> Result<Uploaded, Failed> {
    let url = debuginfo_url(base, build_id);
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) => {
            return Err(Failed {
                url,
                status: None,
                reason: format!("cannot read it: {e}"),
            });
        }
    };
    let client = Client::new(
        concat!("debuginfo-split/", env!("CARGO_PKG_VERSION")),
        token,
    );
    match client.put_wasm(&url, file) {
        Ok(status) => Ok(Uploaded { url, status }),
        Err(err) => Err(Failed {
            url,
            status: err.status(),
            reason: err.to_string(),
        }),
    }
}
