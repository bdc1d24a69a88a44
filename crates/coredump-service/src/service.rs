//! The service's operations, independent of HTTP: take a dump in, store it, symbolize it,
//! record and group it, queue it for Sentry; serve what is stored.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use object_store::WriteMultipart;
use object_store::path::Path;

use crate::error::ServiceError;
use crate::forward::{Forwarder, Pending};
use crate::intake::{Intake, Taken};
use crate::key::{DumpKey, parse_build_id};
use crate::metrics::Metrics;
use crate::record::{DumpRecord, GroupMember, GroupSummary};
use crate::stack::Stack;
use crate::store::{Created, Store};
use crate::symbolize::{DebugFiles, DumpIdentity, Stored, symbolize};

/// Limits on what one request may make the service hold.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest dump accepted, decompressed.
    pub max_dump: u64,
    /// The most non-zero memory of a dump kept to read its crash reason.
    pub condense: usize,
    /// Stored bytes buffered before a dump goes to a multipart upload.
    pub upload_buffer: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // A 32-bit memory's maximum, plus the dump's own sections.
            max_dump: (4 << 30) + (64 << 20),
            // The lowest non-zero memory: a Rust or C program's stack and constant data, where
            // a panic's message and location are.
            condense: 8 << 20,
            upload_buffer: 8 << 20,
        }
    }
}

/// The service: a store, its debug files, metrics and the Sentry queue. Share it in an `Arc`.
#[derive(Debug)]
pub struct Service {
    store: Store,
    debug_files: DebugFiles,
    limits: Limits,
    metrics: Arc<Metrics>,
    forwarder: Option<Forwarder>,
}

/// Everything of a dump upload but the dump itself: what the multipart form's other parts said.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    /// The `request` part: the crashed request as JSON (`{method, url, headers}`).
    pub request: Option<serde_json::Value>,
    /// The `build_id-section` parts.
    pub build_ids: Vec<Bytes>,
    /// The `<name>-section` parts of the older hosts, by section name.
    pub sections: Vec<(String, Bytes)>,
}

/// A dump read in whole and checked, not yet stored under its key.
#[derive(Debug)]
pub struct ReceivedDump {
    key: DumpKey,
    upload: Upload,
    taken: Taken,
    stored_size: u64,
}

/// The stored bytes of a dump on their way to the store: buffered while small, then a
/// multipart upload (which no reader sees before it completes).
enum Upload {
    Buffered(Vec<u8>),
    Multipart(WriteMultipart),
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Upload::Buffered(b) => write!(f, "Buffered({} bytes)", b.len()),
            Upload::Multipart(_) => f.write_str("Multipart"),
        }
    }
}

/// The answer to an ingested dump.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ingested {
    /// The key it is stored under.
    pub key: String,
    /// Whether a debug file symbolized it.
    pub symbolized: bool,
    /// What was missing, if anything (the answer says so).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One page of `GET /coredumps`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DumpPage {
    /// The records, newest first.
    pub coredumps: Vec<DumpRecord>,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
}

impl Service {
    /// A service over `store`, sending to Sentry through `forwarder` if there is one.
    pub fn new(
        store: Store,
        limits: Limits,
        metrics: Arc<Metrics>,
        forwarder: Option<Forwarder>,
    ) -> Self {
        Service {
            debug_files: DebugFiles::new(store.clone(), 16),
            store,
            limits,
            metrics,
            forwarder,
        }
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Reads a dump from `body` (plain, gzip or zstd), compressing it for the store as it
    /// comes; checks it is a core dump. Nothing is visible in the store until
    /// [`Service::commit`].
    pub async fn receive<S, E>(&self, mut body: S) -> Result<ReceivedDump, ServiceError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let key = DumpKey::new(now_millis());
        let mut intake = Intake::new(self.limits.max_dump, self.limits.condense);
        let mut upload = Upload::Buffered(Vec::new());
        let mut stored_size = 0u64;
        let result: Result<Taken, ServiceError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| {
                    ServiceError::BadRequest(format!("the coredump part breaks off: {e}"))
                })?;
                intake.push(&chunk)?;
                let stored = intake.take_stored();
                stored_size += stored.len() as u64;
                self.write(&key, &mut upload, stored).await?;
            }
            let (tail, taken) = intake.finish()?;
            stored_size += tail.len() as u64;
            self.write(&key, &mut upload, tail).await?;
            // The dump must parse before it is kept.
            coredump::CoreDump::parse(&taken.condensed.bytes)
                .map_err(|e| ServiceError::BadRequest(format!("not a valid core dump: {e}")))?;
            Ok(taken)
        }
        .await;
        match result {
            Ok(taken) => Ok(ReceivedDump {
                key,
                upload,
                taken,
                stored_size,
            }),
            Err(e) => {
                abort(upload).await;
                Err(e)
            }
        }
    }

    async fn write(
        &self,
        key: &DumpKey,
        upload: &mut Upload,
        bytes: Vec<u8>,
    ) -> Result<(), ServiceError> {
        if bytes.is_empty() {
            return Ok(());
        }
        match upload {
            Upload::Buffered(buffer) => {
                buffer.extend(bytes);
                if buffer.len() > self.limits.upload_buffer {
                    let mut multipart = self.store.upload(&key.dump_path()).await?;
                    multipart.write(buffer);
                    *upload = Upload::Multipart(multipart);
                }
            }
            Upload::Multipart(multipart) => {
                multipart.wait_for_capacity(2).await?;
                multipart.write(&bytes);
            }
        }
        Ok(())
    }

    /// Drops a received dump (the rest of its form was bad): nothing of it stays stored.
    pub async fn discard(&self, dump: ReceivedDump) {
        abort(dump.upload).await;
    }

    /// Stores a received dump under its key, then symbolizes it, records and groups it, logs
    /// its stack and queues it for Sentry. Once the dump is stored, a failure of any later step
    /// is logged and the dump stays.
    pub async fn commit(
        &self,
        dump: ReceivedDump,
        submission: Submission,
    ) -> Result<Ingested, ServiceError> {
        let ReceivedDump {
            key,
            upload,
            taken,
            stored_size,
        } = dump;
        match upload {
            Upload::Buffered(bytes) => {
                if self.store.create(&key.dump_path(), bytes.into()).await? == Created::Exists {
                    return Err(ServiceError::Internal(format!("{key} is taken")));
                }
            }
            Upload::Multipart(multipart) => {
                multipart.finish().await?;
            }
        }
        self.metrics
            .dump_received(taken.condensed.received, stored_size);
        match self.process(&key, taken, stored_size, submission).await {
            Ok(ingested) => Ok(ingested),
            Err(e) => {
                tracing::error!(key = %key, "the dump is stored, but processing it failed: {e}");
                Ok(Ingested {
                    key: key.to_string(),
                    symbolized: false,
                    warnings: vec![format!("stored, but not processed: {e}")],
                })
            }
        }
    }

    /// What follows a dump's storing: symbolize, log, record, group, queue for Sentry.
    async fn process(
        &self,
        key: &DumpKey,
        taken: Taken,
        stored_size: u64,
        submission: Submission,
    ) -> Result<Ingested, ServiceError> {
        let size = taken.condensed.received;
        let mut notes = Vec::new();
        if taken.condensed.dropped_memory > 0 {
            notes.push(format!(
                "{} bytes of non-zero memory were not read for the crash reason (over the \
                 service's limit)",
                taken.condensed.dropped_memory
            ));
        }
        let identity = {
            let dump = coredump::CoreDump::parse(&taken.condensed.bytes)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            DumpIdentity::of(&dump, &submission.build_ids)
        };
        if !submission.sections.is_empty() {
            let module = crate::symbolize::sections_module(&submission.sections);
            self.store
                .create(&sections_path(key), module.into())
                .await?;
        }
        let stack = self
            .symbolize_condensed(
                taken.condensed.bytes,
                &identity,
                &submission.sections,
                notes,
            )
            .await?;
        let symbolized = stack.frames.iter().any(|f| f.line.is_some());
        self.metrics.symbolized(symbolized);
        tracing::error!(key = %key, "{}", stack.log_text().trim_end());
        let record = DumpRecord {
            key: key.to_string(),
            time: key.millis(),
            size,
            stored_size,
            encoding: taken.encoding,
            build_id: identity.build_id.as_ref().map(ToString::to_string),
            build_id_payload: identity.build_id_payload.as_deref().map(hex),
            module_name: identity.module_name.clone(),
            crash: stack.crash.title.clone(),
            top_frame: stack.top_frame().map(describe_frame),
            request_url: submission
                .request
                .as_ref()
                .and_then(|r| r.get("url"))
                .and_then(|u| u.as_str())
                .map(str::to_string),
            request: submission.request.clone(),
            group: stack.fingerprint.to_string(),
            symbolized,
            sections: submission.sections.iter().map(|(n, _)| n.clone()).collect(),
        };
        self.store
            .create(
                &key.record_path(),
                serde_json::to_vec(&record)
                    .expect("records serialize")
                    .into(),
            )
            .await?;
        let member = GroupMember {
            key: record.key.clone(),
            time: record.time,
            crash: record.crash.clone(),
            top_frame: record.top_frame.clone(),
        };
        self.store
            .create(
                &key.group_member_path(&stack.fingerprint),
                serde_json::to_vec(&member)
                    .expect("members serialize")
                    .into(),
            )
            .await?;
        if let Some(forwarder) = &self.forwarder {
            let pending = Pending {
                key: record.key.clone(),
                stack: stack.clone(),
                request: submission.request,
                build_id: record.build_id.clone(),
                build_id_payload: identity.build_id_payload,
                module_name: identity.module_name,
                received_at: record.time,
                size,
            };
            forwarder.enqueue(&self.store, pending).await;
        }
        let warnings = if symbolized {
            Vec::new()
        } else {
            stack.notes.clone()
        };
        Ok(Ingested {
            key: key.to_string(),
            symbolized,
            warnings,
        })
    }

    async fn symbolize_condensed(
        &self,
        bytes: Vec<u8>,
        identity: &DumpIdentity,
        sections: &[(String, Bytes)],
        notes: Vec<String>,
    ) -> Result<Stack, ServiceError> {
        let info = match &identity.build_id {
            Some(id) => self.debug_files.get(id).await?,
            None => None,
        };
        let identity = identity.clone();
        let sections = sections.to_vec();
        tokio::task::spawn_blocking(move || {
            symbolize(&bytes, &identity, info.as_ref(), &sections, notes)
        })
        .await?
    }

    /// The dump stored under `key`, decompressed, as a stream of pieces.
    pub async fn dump(
        &self,
        key: &str,
    ) -> Result<impl Stream<Item = std::io::Result<Bytes>> + Send + use<>, ServiceError> {
        let key: DumpKey = key.parse()?;
        let Some(stream) = self.store.get_stream(&key.dump_path()).await? else {
            return Err(ServiceError::NotFound(format!("no dump {key}")));
        };
        Ok(crate::gunzip::gunzip_stream(stream))
    }

    /// The stack of the dump stored under `key`, symbolized now (so a debug file uploaded since
    /// the crash applies).
    pub async fn stack(&self, key: &str) -> Result<Stack, ServiceError> {
        let parsed: DumpKey = key.parse()?;
        // A dump whose processing failed after it was stored has no record: still readable.
        let record = match self.record(&parsed).await {
            Ok(record) => Some(record),
            Err(ServiceError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        let Some(mut stream) = self.store.get_stream(&parsed.dump_path()).await? else {
            return Err(ServiceError::NotFound(format!("no dump {parsed}")));
        };
        // The stored gzip goes in as it is: the intake decompresses it and stores nothing new.
        let mut intake = Intake::new(self.limits.max_dump, self.limits.condense);
        while let Some(chunk) = stream.next().await {
            intake
                .push(&chunk?)
                .map_err(|e| ServiceError::Internal(format!("stored {key}: {e}")))?;
            intake.take_stored();
        }
        let (_, taken) = intake
            .finish()
            .map_err(|e| ServiceError::Internal(format!("stored {key}: {e}")))?;
        let sections = match &record {
            Some(record) if !record.sections.is_empty() => self.stored_sections(&parsed).await?,
            _ => Vec::new(),
        };
        let identity = {
            let dump = coredump::CoreDump::parse(&taken.condensed.bytes)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            let sent: Vec<Bytes> = record
                .as_ref()
                .and_then(|r| r.build_id_payload.as_deref())
                .and_then(unhex)
                .map(Bytes::from)
                .into_iter()
                .collect();
            DumpIdentity::of(&dump, &sent)
        };
        self.symbolize_condensed(taken.condensed.bytes, &identity, &sections, Vec::new())
            .await
    }

    async fn stored_sections(&self, key: &DumpKey) -> Result<Vec<(String, Bytes)>, ServiceError> {
        let Some(module) = self.store.get(&sections_path(key)).await? else {
            return Ok(Vec::new());
        };
        let mut sections = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(&module) {
            if let Ok(wasmparser::Payload::CustomSection(c)) = payload {
                sections.push((c.name().to_string(), module.slice_ref(c.data())));
            }
        }
        Ok(sections)
    }

    /// The record of `key`.
    pub async fn record(&self, key: &DumpKey) -> Result<DumpRecord, ServiceError> {
        let Some(bytes) = self.store.get(&key.record_path()).await? else {
            return Err(ServiceError::NotFound(format!("no dump {key}")));
        };
        serde_json::from_slice(&bytes)
            .map_err(|e| ServiceError::Internal(format!("the record of {key} is unreadable: {e}")))
    }

    /// A page of at most `limit` records, newest first, after the dump `cursor` if given.
    pub async fn list(&self, cursor: Option<&str>, limit: usize) -> Result<DumpPage, ServiceError> {
        let after = match cursor {
            Some(cursor) => Some(cursor.parse::<DumpKey>()?.record_path()),
            None => None,
        };
        let names = self
            .store
            .list_names(&Path::from("records"), after.as_ref(), limit + 1)
            .await?;
        let mut coredumps = Vec::new();
        for name in names.iter().take(limit) {
            let Ok(key) = DumpKey::from_newest_first_name(name) else {
                continue;
            };
            coredumps.push(self.record(&key).await?);
        }
        let next = (names.len() > limit)
            .then(|| coredumps.last().map(|r| r.key.clone()))
            .flatten();
        Ok(DumpPage { coredumps, next })
    }

    /// Every group with its count, first and last seen, most recent first.
    pub async fn groups(&self) -> Result<Vec<GroupSummary>, ServiceError> {
        let paths = self.store.list_paths(&Path::from("groups")).await?;
        let mut groups: Vec<GroupSummary> = Vec::new();
        // Paths sort by group, then newest member first.
        for path in paths {
            let mut parts = path.parts();
            let (Some(_), Some(group), Some(name)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let Ok(key) = DumpKey::from_newest_first_name(name.as_ref()) else {
                continue;
            };
            match groups.last_mut() {
                Some(summary) if summary.group == group.as_ref() => {
                    summary.count += 1;
                    summary.first_seen = summary.first_seen.min(key.millis());
                }
                _ => {
                    let member: GroupMember = match self.store.get(&path).await? {
                        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                            ServiceError::Internal(format!(
                                "group member {path} is unreadable: {e}"
                            ))
                        })?,
                        None => continue,
                    };
                    groups.push(GroupSummary {
                        group: group.as_ref().to_string(),
                        count: 1,
                        first_seen: key.millis(),
                        last_seen: key.millis(),
                        last_key: key.to_string(),
                        crash: member.crash,
                        top_frame: member.top_frame,
                    });
                }
            }
        }
        groups.sort_by_key(|g| std::cmp::Reverse(g.last_seen));
        Ok(groups)
    }

    /// Stores the debug file of the build_id `id` (as debug file names spell it).
    pub async fn put_debug_file(&self, id: &str, bytes: Bytes) -> Result<Stored, ServiceError> {
        let id = parse_build_id(id)?;
        self.debug_files.put(&id, bytes).await
    }

    /// The debug file of the build_id `id`.
    pub async fn debug_file(&self, id: &str) -> Result<Bytes, ServiceError> {
        let id = parse_build_id(id)?;
        self.debug_files
            .get_bytes(&id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no {}", id.debug_file_name())))
    }
}

/// Where the sections an older host sent beside a dump are stored.
fn sections_path(key: &DumpKey) -> Path {
    Path::from(format!("coredumps/{key}.sections.wasm"))
}

async fn abort(upload: Upload) {
    if let Upload::Multipart(multipart) = upload
        && let Err(e) = multipart.abort().await
    {
        tracing::warn!("aborting an upload failed: {e}");
    }
}

/// `function (file:line)`, or just the function.
fn describe_frame(f: &crate::stack::StackFrame) -> String {
    match (&f.file, f.line) {
        (Some(file), Some(line)) => format!("{} ({file}:{line})", f.function),
        _ => f.function.clone(),
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    text.len().is_multiple_of(2).then_some(())?;
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
