//! Forwarding to Sentry in the background: a bounded queue in memory over a pending set in the
//! store, so a slow or failing Sentry never delays an answer or loses an event, and a restarted
//! instance sends what a stopped one had accepted.
//!
//! Each accepted dump gets a marker `sentry-pending/<key>` holding what its event needs; the
//! worker sends it, and deletes the marker once Sentry took it (or refused it for good).
//! Failures are retried with exponential backoff (or after Sentry's `Retry-After`); the store is
//! swept for markers at start and every few minutes, which also picks up what did not fit in
//! the queue. Several instances may send the same marker: each event's id derives from the
//! dump's key, so Sentry keeps one.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use futures::StreamExt;
use object_store::path::Path;
use tokio::sync::{mpsc, watch};

use crate::key::DumpKey;
use crate::metrics::Metrics;
use crate::sentry::{DumpAttachment, EventInput, MAX_ATTACHMENT, SendOutcome, SentrySender};
use crate::stack::Stack;
use crate::store::Store;

/// What a dump's Sentry event is built from, kept in the store until it is sent.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Pending {
    /// The dump's key.
    pub key: String,
    /// Its symbolized stack.
    pub stack: Stack,
    /// The crashed request.
    pub request: Option<serde_json::Value>,
    /// The build_id, as debug files are named.
    pub build_id: Option<String>,
    /// The raw build_id payload (Sentry's ids derive from it).
    pub build_id_payload: Option<Vec<u8>>,
    /// The module's name.
    pub module_name: Option<String>,
    /// When the dump came, Unix milliseconds.
    pub received_at: u64,
    /// The dump's size, decompressed.
    pub size: u64,
}

/// The most events waiting in memory; more wait in the store for the next sweep.
const QUEUE: usize = 1024;
/// The most attempts in a row before an event waits for the next sweep.
const ATTEMPTS: u32 = 10;
/// The first retry's delay; each next one doubles, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How often the store is swept for pending events.
const SWEEP: Duration = Duration::from_secs(300);

/// The handle that queues events; the worker runs as a task.
#[derive(Debug, Clone)]
pub struct Forwarder {
    queue: mpsc::Sender<String>,
}

/// The worker's settings.
#[derive(Debug, Clone)]
pub struct ForwardConfig {
    /// The service's public base URL, for links to dumps too big to attach.
    pub public_url: String,
    /// How long shutdown waits for events in flight.
    pub drain: Duration,
}

impl Forwarder {
    /// Starts the worker. It stops when `shutdown` turns true, after trying what is due within
    /// the drain deadline; what is left stays pending in the store.
    pub fn start(
        store: Store,
        sender: SentrySender,
        config: ForwardConfig,
        metrics: Arc<Metrics>,
        shutdown: watch::Receiver<bool>,
    ) -> (Forwarder, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let worker = Worker {
            store,
            sender,
            config,
            metrics,
            due: BTreeMap::new(),
            attempts: HashMap::new(),
        };
        let task = tokio::spawn(worker.run(rx, shutdown));
        (Forwarder { queue: tx }, task)
    }

    /// Records `pending` in the store, then queues it. When the queue is full it waits in the
    /// store for the next sweep.
    pub async fn enqueue(&self, store: &Store, pending: Pending) {
        let Ok(key) = pending.key.parse::<DumpKey>() else {
            return;
        };
        let bytes = serde_json::to_vec(&pending).expect("pending events serialize");
        if let Err(e) = store.put(&key.sentry_pending_path(), bytes.into()).await {
            tracing::error!(key = %key, "cannot record the Sentry event as pending: {e}");
        }
        if self.queue.try_send(pending.key).is_err() {
            tracing::warn!(key = %key, "the Sentry queue is full: the event waits for the next sweep");
        }
    }
}

struct Worker {
    store: Store,
    sender: SentrySender,
    config: ForwardConfig,
    metrics: Arc<Metrics>,
    /// Keys by when they are due.
    due: BTreeMap<(Instant, String), ()>,
    /// Failed attempts per key.
    attempts: HashMap<String, u32>,
}

impl Worker {
    async fn run(mut self, mut queue: mpsc::Receiver<String>, mut shutdown: watch::Receiver<bool>) {
        let mut next_sweep = Instant::now();
        loop {
            if Instant::now() >= next_sweep {
                self.sweep().await;
                next_sweep = Instant::now() + SWEEP;
            }
            let wake = self
                .due
                .keys()
                .next()
                .map_or(next_sweep, |(at, _)| (*at).min(next_sweep));
            tokio::select! {
                key = queue.recv() => match key {
                    Some(key) => self.schedule(key, Instant::now()),
                    None => break,
                },
                _ = tokio::time::sleep_until(wake.into()) => {}
                _ = shutdown.changed() => break,
            }
            self.send_due().await;
        }
        // Drain: what is queued or due now, within the deadline.
        let deadline = Instant::now() + self.config.drain;
        while let Ok(key) = queue.try_recv() {
            self.schedule(key, Instant::now());
        }
        let _ = tokio::time::timeout_at(deadline.into(), self.send_due()).await;
    }

    fn schedule(&mut self, key: String, at: Instant) {
        if self.due.keys().any(|(_, k)| *k == key) {
            return;
        }
        self.due.insert((at, key), ());
        self.metrics.set_sentry_queued(self.due.len());
    }

    /// Queues every pending marker in the store.
    async fn sweep(&mut self) {
        let paths = match self.store.list_paths(&Path::from("sentry-pending")).await {
            Ok(paths) => paths,
            Err(e) => {
                tracing::warn!("cannot list pending Sentry events: {e}");
                return;
            }
        };
        for path in paths {
            if let Some(key) = path.filename().filter(|k| k.parse::<DumpKey>().is_ok()) {
                if self.due.len() >= QUEUE {
                    break;
                }
                self.attempts.remove(key);
                self.schedule(key.to_string(), Instant::now());
            }
        }
    }

    /// Sends every event that is due.
    async fn send_due(&mut self) {
        while let Some((at, key)) = self.due.keys().next().cloned() {
            if at > Instant::now() {
                break;
            }
            self.due.remove(&(at, key.clone()));
            self.metrics.set_sentry_queued(self.due.len());
            self.send(key).await;
        }
    }

    async fn send(&mut self, key: String) {
        let Ok(parsed) = key.parse::<DumpKey>() else {
            return;
        };
        let marker = parsed.sentry_pending_path();
        let pending: Pending = match self.store.get(&marker).await {
            Ok(Some(bytes)) => match serde_json::from_slice(&bytes) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(key = %key, "unreadable pending Sentry event, dropped: {e}");
                    let _ = self.store.delete(&marker).await;
                    return;
                }
            },
            // Sent by another instance.
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(key = %key, "cannot read the pending Sentry event: {e}");
                return self.retry(key, None);
            }
        };
        let link = format!(
            "{}/coredumps/{key}",
            self.config.public_url.trim_end_matches('/')
        );
        let debug_file = pending
            .build_id
            .as_ref()
            .map(|id| format!("debug-{id}.wasm"));
        let envelope = |dump: DumpAttachment<'_>| {
            crate::sentry::envelope(&EventInput {
                key: &pending.key,
                stack: &pending.stack,
                request: pending.request.as_ref(),
                build_id: pending.build_id.as_deref(),
                build_id_payload: pending.build_id_payload.as_deref(),
                module_name: pending.module_name.as_deref(),
                debug_file: debug_file.as_deref(),
                received_at: UNIX_EPOCH + Duration::from_millis(pending.received_at),
                dump,
            })
        };
        let mut outcome = match self.attachment(&parsed, &pending).await {
            Some(bytes) => {
                self.sender
                    .send(&envelope(DumpAttachment::Bytes(&bytes)))
                    .await
            }
            None => SendOutcome::TooLarge(0),
        };
        if let SendOutcome::TooLarge(_) = outcome {
            outcome = self
                .sender
                .send(&envelope(DumpAttachment::Link(link)))
                .await;
        }
        match outcome {
            SendOutcome::Sent => {
                self.metrics.sentry("sent");
                self.attempts.remove(&key);
                if let Err(e) = self.store.delete(&marker).await {
                    tracing::warn!(key = %key, "sent to Sentry, but the pending marker stays: {e}");
                }
            }
            SendOutcome::RetryAfter(after) => {
                self.metrics.sentry("failed");
                tracing::warn!(key = %key, "Sentry did not take the event: retrying");
                self.retry(key, Some(after));
            }
            SendOutcome::TooLarge(size) => {
                self.metrics.sentry("rejected");
                self.attempts.remove(&key);
                tracing::error!(key = %key, "the event alone is {size} bytes compressed, over Sentry's limit: given up");
                let _ = self.store.delete(&marker).await;
            }
            SendOutcome::Rejected(why) => {
                self.metrics.sentry("rejected");
                self.attempts.remove(&key);
                tracing::error!(key = %key, "Sentry refused the event, given up: {why}");
                let _ = self.store.delete(&marker).await;
            }
        }
    }

    fn retry(&mut self, key: String, after: Option<Duration>) {
        let attempts = self.attempts.entry(key.clone()).or_insert(0);
        *attempts += 1;
        if *attempts >= ATTEMPTS {
            self.attempts.remove(&key);
            return;
        }
        let backoff = FIRST_BACKOFF
            .saturating_mul(1 << (*attempts - 1).min(16))
            .min(MAX_BACKOFF);
        let delay = after.map_or(backoff, |a| a.max(backoff));
        self.schedule(key, Instant::now() + delay);
    }

    /// The dump itself when it is small enough to attach.
    async fn attachment(&self, key: &DumpKey, pending: &Pending) -> Option<Vec<u8>> {
        if pending.size > MAX_ATTACHMENT as u64 {
            return None;
        }
        let stream = self.store.get_stream(&key.dump_path()).await.ok()??;
        let mut stream = Box::pin(crate::gunzip::gunzip_stream(stream));
        let mut bytes = Vec::with_capacity(pending.size as usize);
        while let Some(chunk) = stream.next().await {
            bytes.extend_from_slice(&chunk.ok()?);
            if bytes.len() > MAX_ATTACHMENT {
                return None;
            }
        }
        Some(bytes)
    }
}
