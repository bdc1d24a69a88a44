//! The binary's network I/O, with coredump-service: a core dump given as a URL (`GET
//! {base}/coredumps/<key>`), and with `--debug-url` the debug file of a stripped module found
//! nowhere on this machine (`GET {base}/debuginfo/<build_id>`), kept in a cache directory. The
//! library does none: it finds the cached file as it finds any other, in a debug directory.

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use coredump_service_client::{Client, Error, debuginfo_url};
use debuginfo::{BuildId, Module};

/// The core dump argument as a URL, if it is one (`http://` or `https://`).
pub(crate) fn as_url(arg: &OsStr) -> Option<&str> {
    arg.to_str()
        .filter(|s| s.starts_with("http://") || s.starts_with("https://"))
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

/// A client of coredump-service sending `token` (if any and not empty) as `Authorization:
/// Bearer`.
pub(crate) fn client(token: Option<&str>) -> Client {
    Client::new(concat!("wasmgdb/", env!("CARGO_PKG_VERSION")), token)
}

/// The core dump at `url`, as the service received it.
pub(crate) fn fetch_coredump(client: &Client, url: &str) -> Result<Vec<u8>> {
    client
        .get(url)
        .map_err(|e| anyhow!("cannot fetch {url}: {e}"))
}

/// `--debug-url base`: fetches the debug file of the module at `module` from the service at
/// `base` into `cache` if the module needs one that is in none of `debug_dirs` (the cache among
/// them) nor next to it. Returns the note to print: what was fetched, or the URL that had
/// nothing (404), or that the module has no build id to ask with.
pub(crate) fn fetch_missing_debug_file(
    client: &Client,
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
    Ok(Some(match fetch_debug_file(client, base, &id, cache)? {
        DebugFile::Fetched { url, path, bytes } => format!(
            "note: fetched {} ({bytes} bytes) from {url} into {}",
            id.debug_file_name(),
            path.display()
        ),
        DebugFile::NotFound(url) => format!("note: no debug file at {url} (404 Not Found)"),
    }))
}

/// Fetches the debug file of `build_id` from the service at `base` into `cache`, checking first
/// that it is the debug file of that id (a Wasm module with DWARF and that build id), written
/// atomically.
fn fetch_debug_file(
    client: &Client,
    base: &str,
    build_id: &BuildId,
    cache: &Path,
) -> Result<DebugFile> {
    let url = debuginfo_url(base, build_id);
    let bytes = match client.get(&url) {
        Ok(bytes) => bytes,
        Err(Error::Status { status: 404, .. }) => return Ok(DebugFile::NotFound(url)),
        Err(e) => bail!("cannot fetch {url}: {e}"),
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_urls_and_cache_dir() {
        assert_eq!(
            as_url(OsStr::new("http://h/coredumps/k")),
            Some("http://h/coredumps/k")
        );
        assert_eq!(as_url(OsStr::new("core.http")), None);
        assert_eq!(
            cache_dir(Some(Path::new("/c"))).unwrap(),
            PathBuf::from("/c")
        );
    }
}
