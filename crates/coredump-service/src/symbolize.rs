//! Debug files by build_id (stored, checked, cached parsed) and the symbolization of a dump
//! with them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use coredump::CoreDump;
use debuginfo::{BuildId, DebugInfo, Module};

use crate::error::ServiceError;
use crate::key::debug_file_path;
use crate::stack::Stack;
use crate::store::{Created, Store};

/// A parsed debug file, shared by the requests that symbolize with it. `DebugInfo` fills its
/// caches as it is used, so it is behind a `Mutex`.
pub type SharedDebugInfo = Arc<Mutex<DebugInfo>>;

/// The sections the older hosts send in place of a build_id (the older client's list).
pub const SECTION_PARTS: [&str; 9] = [
    "name",
    ".debug_info",
    ".debug_pubtypes",
    ".debug_loc",
    ".debug_ranges",
    ".debug_abbrev",
    ".debug_line",
    ".debug_str",
    ".debug_pubnames",
];

/// The debug files in the store, with the last few parsed kept in memory.
#[derive(Debug)]
pub struct DebugFiles {
    store: Store,
    capacity: usize,
    cache: Mutex<VecDeque<(BuildId, SharedDebugInfo)>>,
}

/// What storing a debug file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// It is new.
    Created,
    /// The same bytes were already there.
    Unchanged,
}

impl DebugFiles {
    /// Debug files in `store`, keeping up to `capacity` parsed.
    pub fn new(store: Store, capacity: usize) -> Self {
        DebugFiles {
            store,
            capacity,
            cache: Mutex::default(),
        }
    }

    /// Stores `bytes` as the debug file of `id`, after checking it is Wasm with DWARF and that
    /// its build_id is `id`. The same file twice is fine; a different one is a conflict.
    pub async fn put(&self, id: &BuildId, bytes: Bytes) -> Result<Stored, ServiceError> {
        let checked = bytes.clone();
        let expected = id.clone();
        tokio::task::spawn_blocking(move || check_debug_file(&expected, checked)).await??;
        let path = debug_file_path(id);
        // A known id is most often the same file again (a build that uploads every time): it
        // is compared with the stored one, not sent to the store. A store may also refuse a
        // create-if-absent before it reads the body (s3s-fs does), and the refusal then reaches
        // us as a broken connection, not as "exists".
        if let Some(existing) = self.store.get(&path).await? {
            return same_file(id, &existing, &bytes);
        }
        match self.store.create(&path, bytes.clone()).await? {
            Created::New => Ok(Stored::Created),
            Created::Exists => {
                let existing = self.store.get(&path).await?.unwrap_or_default();
                same_file(id, &existing, &bytes)
            }
        }
    }

    /// The debug file of `id`, as stored.
    pub async fn get_bytes(&self, id: &BuildId) -> Result<Option<Bytes>, ServiceError> {
        Ok(self.store.get(&debug_file_path(id)).await?)
    }

    /// The parsed debug file of `id`, from the cache or the store; `None` if none is stored.
    pub async fn get(&self, id: &BuildId) -> Result<Option<SharedDebugInfo>, ServiceError> {
        if let Some(info) = self.cached(id) {
            return Ok(Some(info));
        }
        let Some(bytes) = self.get_bytes(id).await? else {
            return Ok(None);
        };
        let info = tokio::task::spawn_blocking(move || {
            Module::parse(bytes.to_vec()).and_then(DebugInfo::new)
        })
        .await?
        .map_err(|e| ServiceError::Internal(format!("the stored debug file is unreadable: {e}")))?;
        let info = Arc::new(Mutex::new(info));
        let mut cache = self.cache.lock().expect("the cache lock is never poisoned");
        cache.push_front((id.clone(), info.clone()));
        cache.truncate(self.capacity);
        Ok(Some(info))
    }

    fn cached(&self, id: &BuildId) -> Option<SharedDebugInfo> {
        let mut cache = self.cache.lock().expect("the cache lock is never poisoned");
        let i = cache.iter().position(|(cached, _)| cached == id)?;
        let entry = cache.remove(i)?;
        let info = entry.1.clone();
        cache.push_front(entry);
        Some(info)
    }
}

/// Whether `bytes` is the debug file of `id` already stored (`existing`).
fn same_file(id: &BuildId, existing: &[u8], bytes: &[u8]) -> Result<Stored, ServiceError> {
    if existing == bytes {
        Ok(Stored::Unchanged)
    } else {
        Err(ServiceError::Conflict(format!(
            "a different {} is already stored",
            id.debug_file_name()
        )))
    }
}

/// Checks a debug file before it is stored.
fn check_debug_file(id: &BuildId, bytes: Bytes) -> Result<(), ServiceError> {
    let name = id.debug_file_name();
    let module = Module::parse(bytes.to_vec())
        .map_err(|e| ServiceError::BadRequest(format!("{name} is not a Wasm module: {e}")))?;
    if !module.has_dwarf() {
        return Err(ServiceError::BadRequest(format!(
            "{name} has no DWARF (.debug_info): upload the debug file debuginfo-split wrote"
        )));
    }
    match module.build_id() {
        Some(found) if &found == id => Ok(()),
        Some(found) => Err(ServiceError::BadRequest(format!(
            "{name} has build_id {found}, not the {id} of the URL"
        ))),
        None => Err(ServiceError::BadRequest(format!(
            "{name} has no build_id section"
        ))),
    }
}

/// What identifies the module a dump came from.
#[derive(Debug, Clone, Default)]
pub struct DumpIdentity {
    /// The build_id.
    pub build_id: Option<BuildId>,
    /// The raw `build_id` payload.
    pub build_id_payload: Option<Vec<u8>>,
    /// The module's name.
    pub module_name: Option<String>,
}

impl DumpIdentity {
    /// Reads the identity of the module from the dump (its `build_id` section and module
    /// name), else from the `build_id` payloads the host sent beside it.
    pub fn of(dump: &CoreDump<'_>, sent_build_ids: &[Bytes]) -> DumpIdentity {
        let payload = dump
            .custom_section(debuginfo::BUILD_ID_SECTION)
            .map(<[u8]>::to_vec)
            .or_else(|| sent_build_ids.first().map(|b| b.to_vec()));
        let build_id = payload
            .as_deref()
            .and_then(BuildId::from_payload)
            .map(|(id, _)| id);
        let module_name = dump.modules().first().filter(|m| !m.is_empty()).cloned();
        DumpIdentity {
            build_id,
            build_id_payload: payload,
            module_name,
        }
    }
}

/// Symbolizes the condensed dump `bytes` with the debug file `info` if there is one, else
/// with `sections` (the older hosts' `<name>-section` parts), else with function indices only.
pub fn symbolize(
    bytes: &[u8],
    identity: &DumpIdentity,
    info: Option<&SharedDebugInfo>,
    sections: &[(String, Bytes)],
    mut notes: Vec<String>,
) -> Result<Stack, ServiceError> {
    let dump = CoreDump::parse(bytes)
        .map_err(|e| ServiceError::BadRequest(format!("not a valid core dump: {e}")))?;
    if let Some(info) = info {
        let info = info
            .lock()
            .expect("a symbolizer never panics holding the lock");
        return Ok(Stack::new(&dump, &info, notes));
    }
    let info = if sections.is_empty() {
        notes.push(match &identity.build_id {
            Some(id) => format!(
                "no debug file for build_id {id}: function indices only; upload {} \
                 (debuginfo-split --upload) and GET this dump's /stack again",
                id.debug_file_name()
            ),
            None => "the module has no build_id and no debug sections came with the dump: \
                     function indices only"
                .into(),
        });
        DebugInfo::from_parts(None, None, None)
    } else {
        notes.extend(section_notes(sections));
        Module::parse(sections_module(sections)).and_then(DebugInfo::new)
    }
    .map_err(|e| {
        ServiceError::BadRequest(format!("the debug sections that came are unreadable: {e}"))
    })?;
    Ok(Stack::new(&dump, &info, notes))
}

/// A module made of the sections an older host sent, to read them as one.
pub fn sections_module(sections: &[(String, Bytes)]) -> Vec<u8> {
    let mut module = wasm_encoder::Module::new();
    for (name, data) in sections {
        module.section(&wasm_encoder::CustomSection {
            name: name.into(),
            data: data.as_ref().into(),
        });
    }
    module.finish()
}

/// What symbolizing with an older host's sections lacks.
fn section_notes(sections: &[(String, Bytes)]) -> Vec<String> {
    let mut notes = vec![
        "the module has no build_id: symbolized with the sections the host sent, which lack \
         its Code section, so each line is the function's declaration, not the crashing line"
            .to_string(),
    ];
    let missing: Vec<&str> = SECTION_PARTS
        .iter()
        .filter(|name| !sections.iter().any(|(n, _)| n == *name))
        .copied()
        .collect();
    if !missing.is_empty() {
        notes.push(format!(
            "sections that did not come: {}",
            missing.join(", ")
        ));
    }
    notes.push(
        "the older host protocol sends no DWARF 5 sections (.debug_line_str, .debug_str_offsets, \
         .debug_addr, .debug_rnglists, .debug_loclists): names of DWARF 5 units may be missing"
            .into(),
    );
    notes
}
