//! A dump's Sentry event, and the envelope that carries it and the dump.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use ::sentry::Envelope;
use ::sentry::protocol::{
    Addr, Attachment, ClientSdkInfo, DebugImage, DebugMeta, Event, Exception, Frame, Level, Map,
    Mechanism, Request, Stacktrace, Url, WasmDebugImage,
};
use debuginfo::wasm_layout::SentryIds;
use serde_json::Value;
use uuid::Uuid;

use crate::stack::{Stack, StackFrame};

/// The largest dump sent to Sentry as an attachment; a bigger one goes as a link
/// ([`DumpAttachment::Link`]), and so does one whose compressed request would be over Sentry's
/// 20 MB ([`SendOutcome::TooLarge`](crate::sentry::SendOutcome::TooLarge)).
///
/// Sentry takes up to 100 MB of attachments per event, uncompressed; the forwarder holds the
/// dump in memory while it sends it, so this stays well below that: 64 MiB.
pub const MAX_ATTACHMENT: usize = 64 << 20;

/// The largest event JSON [`envelope`] makes. Sentry rejects an event over 1 MB decompressed
/// (its ingestion, Relay, counts 1 MiB); this stays under either reading, with a margin. A
/// deeper stack loses frames from its middle (see [`envelope`]).
pub const MAX_EVENT: usize = 1_000_000;

/// The namespace of event ids: an event's id is the UUID v5 of its dump key in it.
const EVENT_NAMESPACE: Uuid = Uuid::from_u128(0x477bfe26_eb19_44e9_9417_90115d0f3ab2);

/// The attachment's file name in Sentry.
const DUMP_FILE_NAME: &str = "coredump.wasm";

/// The module's name in the debug image when the host did not say.
const DEFAULT_MODULE_NAME: &str = "app.wasm";

/// Caps on host-given and symbolized text, so that only frames are ever trimmed. Relay trims
/// fields further on its side.
const MAX_TITLE: usize = 8 << 10;
const MAX_FRAME_TEXT: usize = 1 << 10;
const MAX_NOTE: usize = 1 << 10;
const MAX_NOTES: usize = 100;
const MAX_HEADERS: usize = 100;
const MAX_HEADER_VALUE: usize = 2 << 10;
const MAX_URL: usize = 8 << 10;
/// Sentry's limit on a tag value.
const MAX_TAG: usize = 200;

/// What a dump's event is made of.
#[derive(Debug, Clone)]
pub struct EventInput<'a> {
    /// The dump's key (`coredump.<millis>.<suffix>`): a tag, and the seed of the event id.
    pub key: &'a str,
    /// The symbolized stack and crash reason.
    pub stack: &'a Stack,
    /// The request that crashed, as the host sent it: `{"method", "url", "headers"}` (headers
    /// as an object or as `[name, value]` pairs).
    pub request: Option<&'a Value>,
    /// The module's build id, in its display form: a tag.
    pub build_id: Option<&'a str>,
    /// The raw payload of the module's `build_id` section (length byte included), which
    /// Sentry's ids derive from; without it the event has no debug image.
    pub build_id_payload: Option<&'a [u8]>,
    /// The module's file name, for the debug image's `code_file` (default `app.wasm`).
    pub module_name: Option<&'a str>,
    /// The debug file's name (`debug-<id>.wasm`): a tag and the image's `debug_file`.
    pub debug_file: Option<&'a str>,
    /// When the dump arrived: the event's timestamp.
    pub received_at: SystemTime,
    /// The dump itself, or where to get it.
    pub dump: DumpAttachment<'a>,
}

/// How the event gets its dump.
#[derive(Clone)]
pub enum DumpAttachment<'a> {
    /// The raw dump, attached as `coredump.wasm`; at most [`MAX_ATTACHMENT`] bytes.
    Bytes(&'a [u8]),
    /// The URL of `GET /coredumps/<key>`, put in the event's `extra.dump_url`.
    Link(String),
}

impl fmt::Debug for DumpAttachment<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DumpAttachment::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
            DumpAttachment::Link(url) => f.debug_tuple("Link").field(url).finish(),
        }
    }
}

/// The envelope of a dump's event: one fatal event, plus the dump when it is
/// [`DumpAttachment::Bytes`].
///
/// The event id is the UUID v5 of the dump key, so sending the same dump again (after a
/// restart, say) makes the same event, which Sentry drops as a duplicate. Frames go oldest
/// first, the reverse of a [`Stack`]. When the event would exceed [`MAX_EVENT`] (a very deep
/// recursion), frames are dropped from the middle of the stack, keeping as many of the youngest
/// and oldest as fit, and `frames_omitted` says which, as Sentry's SDKs do.
pub fn envelope(input: &EventInput<'_>) -> Envelope {
    let stack = input.stack;
    let ids = input.build_id_payload.map(SentryIds::from_payload);
    let has_image = ids.is_some();

    let mut tags = Map::new();
    tags.insert("dump_key".to_string(), clip(input.key, MAX_TAG));
    tags.insert("crash_kind".to_string(), clip(&stack.crash.kind, MAX_TAG));
    if let Some(build_id) = input.build_id {
        tags.insert("build_id".to_string(), clip(build_id, MAX_TAG));
    }
    if let Some(debug_file) = input.debug_file {
        tags.insert("debug_file".to_string(), clip(debug_file, MAX_TAG));
    }

    let mut extra = Map::new();
    if !stack.notes.is_empty() {
        let notes = stack.notes.iter().take(MAX_NOTES);
        let notes = notes.map(|n| Value::from(clip(n, MAX_NOTE))).collect();
        extra.insert("symbolication_notes".to_string(), Value::Array(notes));
    }
    if let Some(trap) = &stack.crash.trap {
        extra.insert("trap".to_string(), Value::from(trap.as_str()));
    }
    match &input.dump {
        DumpAttachment::Bytes(bytes) => {
            extra.insert("dump_attachment".to_string(), Value::from(DUMP_FILE_NAME));
            extra.insert("dump_size".to_string(), Value::from(bytes.len()));
        }
        DumpAttachment::Link(url) => {
            extra.insert("dump_url".to_string(), Value::from(url.as_str()));
        }
    }
    let request = input.request.map(|r| request(r, &mut extra));

    let mut mechanism = Mechanism {
        ty: "coredump".to_string(),
        handled: Some(false),
        ..Default::default()
    };
    if let Some(trap) = &stack.crash.trap {
        mechanism
            .data
            .insert("trap".to_string(), Value::from(trap.as_str()));
    }
    let exception = Exception {
        ty: if stack.crash.kind == "trap" {
            "wasm trap".to_string()
        } else {
            stack.crash.kind.clone()
        },
        value: Some(clip(&stack.crash.title, MAX_TITLE)),
        mechanism: Some(mechanism),
        ..Default::default()
    };

    let images = ids.map(|ids| {
        let code_file = input.module_name.unwrap_or(DEFAULT_MODULE_NAME).to_string();
        DebugImage::Wasm(WasmDebugImage {
            name: code_file.clone(),
            debug_id: ids.debug_id,
            debug_file: input.debug_file.map(str::to_string),
            code_id: Some(ids.code_id),
            code_file,
        })
    });

    let mut event = Event {
        event_id: event_id(input.key),
        level: Level::Fatal,
        fingerprint: Cow::Owned(vec![Cow::Owned(stack.fingerprint.to_string())]),
        platform: Cow::Borrowed("native"),
        timestamp: input.received_at,
        request,
        exception: vec![exception].into(),
        tags,
        extra,
        debug_meta: Cow::Owned(DebugMeta {
            images: images.into_iter().collect(),
            ..Default::default()
        }),
        sdk: Some(Cow::Owned(ClientSdkInfo {
            name: "coredump-service".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            integrations: Vec::new(),
            packages: Vec::new(),
        })),
        ..Default::default()
    };
    let frames = stack
        .frames
        .iter()
        .rev()
        .map(|f| frame(f, has_image))
        .collect();
    fit_frames(&mut event, frames);

    let mut envelope = Envelope::new();
    envelope.add_item(event);
    if let DumpAttachment::Bytes(bytes) = input.dump {
        envelope.add_item(Attachment {
            buffer: bytes.to_vec(),
            filename: DUMP_FILE_NAME.to_string(),
            content_type: Some("application/wasm".to_string()),
            ty: None,
        });
    }
    envelope
}

/// The event id of the dump `key`: the same key always gives the same id.
fn event_id(key: &str) -> Uuid {
    Uuid::new_v5(&EVENT_NAMESPACE, key.as_bytes())
}

/// A Sentry frame. `addr_mode` is `rel:0` (relative to the debug image) only when the event has
/// one: Sentry resolves `rel:0` against `debug_meta.images[0]`.
fn frame(f: &StackFrame, has_image: bool) -> Frame {
    Frame {
        function: Some(clip(&f.function, MAX_FRAME_TEXT)),
        filename: f.file.as_deref().map(|s| clip(s, MAX_FRAME_TEXT)),
        abs_path: f.abs_path.as_deref().map(|s| clip(s, MAX_FRAME_TEXT)),
        lineno: f.line.map(u64::from),
        colno: f.column.map(u64::from),
        in_app: Some(f.in_app),
        instruction_addr: f.instruction_addr.map(Addr),
        addr_mode: (has_image && f.instruction_addr.is_some()).then(|| "rel:0".to_string()),
        ..Default::default()
    }
}

/// Puts `frames` (oldest first) in the event's exception, dropping frames from the middle when
/// the event would exceed [`MAX_EVENT`]. When the event does not fit even without frames
/// (huge request headers or notes), drops the request's headers and the notes first.
fn fit_frames(event: &mut Event<'static>, frames: Vec<Frame>) {
    // The size without frames, counting the longest `frames_omitted` there can be.
    set_stacktrace(event, Vec::new(), Some((u64::MAX, u64::MAX)));
    let mut base = json_len(event);
    if base > MAX_EVENT {
        if let Some(request) = &mut event.request {
            request.headers.clear();
        }
        if let Some(Value::Array(notes)) = event.extra.remove("symbolication_notes") {
            event.extra.insert(
                "symbolication_notes".to_string(),
                Value::from(format!("{} notes, too long for Sentry", notes.len())),
            );
        }
        base = json_len(event);
    }
    let sizes: Vec<usize> = frames.iter().map(|f| json_len(f) + 1).collect();
    if base + sizes.iter().sum::<usize>() <= MAX_EVENT {
        set_stacktrace(event, frames, None);
        return;
    }
    // Keep the youngest and the oldest frames, one of each in turn, while they fit.
    let n = frames.len();
    let mut room = MAX_EVENT.saturating_sub(base);
    let (mut oldest, mut youngest) = (0, 0);
    loop {
        let mut grew = false;
        if oldest + youngest < n && sizes[n - 1 - youngest] <= room {
            room -= sizes[n - 1 - youngest];
            youngest += 1;
            grew = true;
        }
        if oldest + youngest < n && sizes[oldest] <= room {
            room -= sizes[oldest];
            oldest += 1;
            grew = true;
        }
        if !grew {
            break;
        }
    }
    let end = n - youngest;
    let mut kept = frames;
    kept.drain(oldest..end);
    set_stacktrace(event, kept, Some((oldest as u64, end as u64)));
}

fn set_stacktrace(event: &mut Event<'static>, frames: Vec<Frame>, omitted: Option<(u64, u64)>) {
    let exception = &mut event.exception.values[0];
    exception.stacktrace = (!frames.is_empty() || omitted.is_some()).then(|| Stacktrace {
        frames,
        frames_omitted: omitted,
        ..Default::default()
    });
}

fn json_len<T: serde::Serialize>(value: &T) -> usize {
    let mut counter = Counter(0);
    // Serializing the protocol types cannot fail: their maps have string keys.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// A writer that only counts.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sentry's request from the host's `{method, url, headers}`. Secret headers (credentials,
/// cookies, tokens) keep their name but lose their value, as Sentry's own scrubbing does. A URL
/// Sentry cannot take goes to `extra.request_url`.
fn request(value: &Value, extra: &mut Map<String, Value>) -> Request {
    let mut request = Request {
        method: value
            .get("method")
            .and_then(Value::as_str)
            .map(|m| clip(m, 32)),
        ..Default::default()
    };
    if let Some(url) = value.get("url").and_then(Value::as_str) {
        match Url::parse(url) {
            Ok(parsed) if url.len() <= MAX_URL => request.url = Some(parsed),
            _ => {
                extra.insert("request_url".to_string(), Value::from(clip(url, MAX_URL)));
            }
        }
    }
    let pairs: Vec<(&str, String)> = match value.get("headers") {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.as_str(), text(v))).collect(),
        Some(Value::Array(pairs)) => pairs
            .iter()
            .filter_map(|pair| match pair.as_array()?.as_slice() {
                [Value::String(k), v] => Some((k.as_str(), text(v))),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    for (name, value) in pairs.into_iter().take(MAX_HEADERS) {
        let value = if is_secret_header(name) {
            "[Filtered]".to_string()
        } else {
            clip(&value, MAX_HEADER_VALUE)
        };
        request.headers.insert(clip(name, 256), value);
    }
    request
}

/// A JSON value as header text.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether a request header may carry a credential.
fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "cookie"
        || name == "set-cookie"
        || [
            "auth", "token", "secret", "password", "api-key", "apikey", "session", "jwt",
        ]
        .iter()
        .any(|word| name.contains(word))
}

/// `text` cut to at most `max` bytes, at a character boundary, with `…` when cut.
fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_cuts_at_char_boundaries() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("ééééé", 6), "é…");
        assert!(clip(&"x".repeat(300), MAX_TAG).len() <= MAX_TAG);
    }

    #[test]
    fn secret_headers_are_recognized() {
        for name in [
            "Authorization",
            "cookie",
            "X-Api-Key",
            "cf-access-jwt-assertion",
            "x-auth-token",
        ] {
            assert!(is_secret_header(name), "{name}");
        }
        for name in ["user-agent", "content-type", "cf-ray", "accept"] {
            assert!(!is_secret_header(name), "{name}");
        }
    }

    #[test]
    fn event_ids_are_version_5_and_per_key() {
        let a = event_id("coredump.1700000000000.0123456789abcdef");
        assert_eq!(a.get_version_num(), 5);
        assert_eq!(a, event_id("coredump.1700000000000.0123456789abcdef"));
        assert_ne!(a, event_id("coredump.1700000000000.0123456789abcdee"));
    }
}
