//! The binary's network I/O, with coredump-service: a core dump given as a URL (`GET
//! {base}/coredumps/<key>`), and with `--debug-url` the debug file of a stripped module found
//! nowhere on this machine (`GET {base}/debuginfo/<build_id>`), kept in a cache directory. The
//! library does none: it finds the cached file as it finds any other, in a debug directory.

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use debuginfo::{BuildId, Module};

/// The core dump argument as a URL, if it is one (`http://` or `https://`).
pub(crate) fn as_url(arg: &OsStr) -> Option<&str> {
    arg.to_str()
        .filter(|s| s.starts_with("http://") || s.starts_with("https://"))
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

/// Where fetched debug files are kept: `dir` if given, else `$XDG_CACHE_HOME/wasmgdb/debuginfo`,
/// else `~/.cache/wasmgdb/debuginfo`.
pub(crate) fn cache_dir(dir: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = dir {
        return Ok(dir.to_path_buf());
    }
    let absolute = |var| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = absolute("XDG_CACHE_HOME")
        .or_else(|| absolute("HOME").map(|home| home.join(".cache")))
        .ok_or_else(|| {
            anyhow!("no cache directory for --debug-url: give --cache-dir (neither XDG_CACHE_HOME nor HOME is set)")
        })?;
    Ok(base.join("wasmgdb").join("debuginfo"))
}

/// Whether the module at `path` needs its debug file fetched.
#[derive(Debug)]
enum Need {
    /// No: it has DWARF, or its debug file is here, or it cannot be read (loading it then says
    /// why).
    Nothing,
    /// It has no DWARF and no build id to name a debug file with.
    NoBuildId,
    /// It has no DWARF, and `debug-<id>.wasm` is neither next to it nor in a debug directory.
    Fetch(BuildId),
}

/// Whether the module at `path` needs its debug file fetched, `debug_dirs` (the cache
/// directory among them) being where it is looked for besides the module's directory.
fn need(path: &Path, debug_dirs: &[PathBuf]) -> Need {
    let Ok(module) = Module::read(path) else {
        return Need::Nothing;
    };
    if module.has_dwarf() {
        return Need::Nothing;
    }
    let Some(id) = module.build_id() else {
        return Need::NoBuildId;
    };
    match debuginfo::find_debug_file(Some(path), &id, debug_dirs) {
        Some(_) => Need::Nothing,
        None => Need::Fetch(id),
    }
}

/// What fetching a debug file gave.
#[derive(Debug)]
enum DebugFile {
    /// Fetched from the URL, stored at the path (in the cache directory).
    Fetched {
        /// The URL.
        url: String,
        /// Where it is now.
        path: PathBuf,
        /// Its size.
        bytes: usize,
    },
    /// The service has none (404): the URL tried.
    NotFound(String),
}

/// An HTTP client of coredump-service, with the bearer token to send.
#[derive(Debug)]
pub(crate) struct Client {
    agent: ureq::Agent,
    token: Option<String>,
}

impl Client {
    /// A client sending `token` (if any and not empty) as `Authorization: Bearer`.
    pub(crate) fn new(token: Option<&str>) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("wasmgdb/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(300)))
            .build();
        Client {
            agent: ureq::Agent::new_with_config(config),
            token: token.filter(|t| !t.is_empty()).map(str::to_owned),
        }
    }

    /// `GET url`: the response, whatever its status, or the network error naming the URL.
    fn get(&self, url: &str) -> Result<ureq::http::Response<ureq::Body>> {
        let mut request = self.agent.get(url);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        request
            .call()
            .map_err(|e| anyhow!("cannot fetch {url}: {}", describe(&e)))
    }

    /// The core dump at `url`, as the service received it.
    pub(crate) fn fetch_coredump(&self, url: &str) -> Result<Vec<u8>> {
        let mut response = self.get(url)?;
        if response.status() != 200 {
            bail!("cannot fetch {url}: {}", refusal(&mut response));
        }
        read_body(&mut response, url)
    }

    /// `--debug-url base`: fetches the debug file of the module at `module` from the service
    /// at `base` into `cache` if the module needs one that is in none of `debug_dirs` (the cache
    /// among them) nor next to it. Returns the note to print: what was fetched, or the URL that
    /// had nothing (404), or that the module has no build id to ask with.
    pub(crate) fn fetch_missing_debug_file(
        &self,
        base: &str,
        module: &Path,
        debug_dirs: &[PathBuf],
        cache: &Path,
    ) -> Result<Option<String>> {
        let id = match need(module, debug_dirs) {
            Need::Nothing => return Ok(None),
            Need::NoBuildId => {
                return Ok(Some(format!(
                    "note: {} has no build_id: no debug file to fetch from --debug-url",
                    module.display()
                )));
            }
            Need::Fetch(id) => id,
        };
        Ok(Some(match self.fetch_debug_file(base, &id, cache)? {
            DebugFile::Fetched { url, path, bytes } => format!(
                "note: fetched {} ({bytes} bytes) from {url} into {}",
                id.debug_file_name(),
                path.display()
            ),
            DebugFile::NotFound(url) => format!("note: no debug file at {url} (404 Not Found)"),
        }))
    }

    /// Fetches the debug file of `build_id` from the service at `base` into `cache`, checking
    /// first that it is the debug file of that id (a Wasm module with DWARF and that build id),
    /// written atomically.
    fn fetch_debug_file(&self, base: &str, build_id: &BuildId, cache: &Path) -> Result<DebugFile> {
        let url = format!("{}/debuginfo/{build_id}", base.trim_end_matches('/'));
        let mut response = self.get(&url)?;
        match response.status().as_u16() {
            200 => {}
            404 => return Ok(DebugFile::NotFound(url)),
            _ => bail!("cannot fetch {url}: {}", refusal(&mut response)),
        }
        let bytes = read_body(&mut response, &url)?;
        let len = bytes.len();
        let module = Module::parse(bytes)
            .with_context(|| format!("{url} sent something that is not a Wasm module"))?;
        if module.build_id().as_ref() != Some(build_id) {
            let found = module.build_id().map_or("none".into(), |id| id.to_string());
            bail!("{url} sent the debug file of another build (build_id {found}, not {build_id})");
        }
        if !module.has_dwarf() {
            bail!("{url} sent a module without DWARF");
        }
        let path = cache.join(build_id.debug_file_name());
        write_atomic(&path, module.bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(DebugFile::Fetched {
            url,
            path,
            bytes: len,
        })
    }
}

/// The body, however long.
fn read_body(response: &mut ureq::http::Response<ureq::Body>, url: &str) -> Result<Vec<u8>> {
    response
        .body_mut()
        .with_config()
        .limit(u64::MAX)
        .read_to_vec()
        .map_err(|e| anyhow!("cannot fetch {url}: {}", describe(&e)))
}

/// Writes `bytes` to a temporary file in `path`'s directory (created if needed), then renames it
/// to `path`: another wasmgdb never sees a part of the file.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".wasmgdb-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A status other than success in one line: `401 Unauthorized: bad token` (the service's
/// `{"error": "..."}`, else a short text body).
fn refusal(response: &mut ureq::http::Response<ureq::Body>) -> String {
    let status = response.status();
    let mut line = match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    };
    let body = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_vec()
        .unwrap_or_default();
    if let Some(text) = error_text(&body) {
        line = format!("{line}: {text}");
    }
    line
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
    fn urls_cache_dir_and_error_texts() {
        assert_eq!(
            as_url(OsStr::new("http://h/coredumps/k")),
            Some("http://h/coredumps/k")
        );
        assert_eq!(as_url(OsStr::new("core.http")), None);
        assert!(parse_base_url("http://h:1/").is_ok());
        assert!(parse_base_url("file:///x").is_err());
        assert!(parse_base_url("https://").is_err());
        assert_eq!(
            cache_dir(Some(Path::new("/c"))).unwrap(),
            PathBuf::from("/c")
        );
        assert_eq!(
            error_text(br#"{"error": "unknown key"}"#).unwrap(),
            "unknown key"
        );
        assert_eq!(error_text(br#"{"other": 1}"#), None);
        assert_eq!(error_text(b"nope"), Some("nope".into()));
    }
}
