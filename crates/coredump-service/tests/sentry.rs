//! The Sentry event a dump becomes, and how the sender deals with Sentry's answers, against a
//! local receiver that records the envelopes it gets.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use coredump_service::sentry::{
    DumpAttachment, EventInput, MAX_EVENT, SendOutcome, SenderError, SentrySender, envelope,
};
use coredump_service::{Crash, Fingerprint, Stack, StackFrame};
use serde_json::{Value, json};

const KEY: &str = "coredump.1700000000123.0123456789abcdef";

/// lld's `--build-id=uuid` section payload: length 16, then the id.
const BUILD_ID_PAYLOAD: [u8; 17] = [
    0x10, 0x72, 0x04, 0x26, 0xce, 0xa8, 0x47, 0x5f, 0x72, 0x8f, 0x78, 0x24, 0xd5, 0xa0, 0xff, 0x14,
    0xef,
];
/// Sentry's ids of that payload, as symbolic computes them: the hex of the whole payload, and
/// the UUID of its first 16 bytes (length byte included).
const CODE_ID: &str = "10720426cea8475f728f7824d5a0ff14ef";
const DEBUG_ID: &str = "10720426-cea8-475f-728f-7824d5a0ff14";
const BUILD_ID: &str = "720426ce-a847-5f72-8f78-24d5a0ff14ef";

/// How the receiver answers.
#[derive(Clone)]
enum Answer {
    Status(u16, Vec<(&'static str, &'static str)>),
    Hang,
}

struct Received {
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

#[derive(Clone)]
struct Receiver {
    answer: Answer,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

/// A receiver on 127.0.0.1, and a DSN pointing at it (project 42).
async fn receiver(answer: Answer) -> (Receiver, String) {
    let receiver = Receiver {
        answer,
        received: Arc::default(),
    };
    let app = axum::Router::new()
        .fallback(receive)
        .layer(DefaultBodyLimit::disable())
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (receiver, format!("http://public@{addr}/42"))
}

async fn receive(
    State(receiver): State<Receiver>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The sender gzips its envelopes (`Content-Encoding: gzip`).
    assert_eq!(headers.get("content-encoding").unwrap(), "gzip");
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain).unwrap();
    receiver.received.lock().unwrap().push(Received {
        path: uri.path().to_string(),
        headers,
        body: plain,
    });
    match receiver.answer {
        Answer::Status(status, headers) => {
            let mut response = (
                StatusCode::from_u16(status).unwrap(),
                r#"{"detail":"as you asked"}"#,
            )
                .into_response();
            for (name, value) in headers {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            response
        }
        Answer::Hang => std::future::pending().await,
    }
}

/// An envelope's header and items, parsed by hand from the wire format: a JSON header line,
/// then per item a JSON header line with its `length` and that many bytes.
struct Parsed {
    header: Value,
    items: Vec<(Value, Vec<u8>)>,
}

impl Parsed {
    fn new(body: &[u8]) -> Parsed {
        let line = |rest: &[u8]| {
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let value: Value = serde_json::from_slice(&rest[..end]).unwrap();
            (value, (end + 1).min(rest.len()))
        };
        let (header, mut at) = line(body);
        let mut items = Vec::new();
        while at < body.len() {
            let (item, skip) = line(&body[at..]);
            at += skip;
            let length = item["length"].as_u64().unwrap() as usize;
            items.push((item, body[at..at + length].to_vec()));
            at += length;
            if body.get(at) == Some(&b'\n') {
                at += 1;
            }
        }
        Parsed { header, items }
    }

    fn item(&self, ty: &str) -> Option<&[u8]> {
        self.items
            .iter()
            .find(|(header, _)| header["type"] == ty)
            .map(|(_, payload)| &payload[..])
    }

    fn event(&self) -> Value {
        serde_json::from_slice(self.item("event").expect("an event item")).unwrap()
    }
}

fn wire(envelope: &sentry::Envelope) -> Parsed {
    let mut body = Vec::new();
    envelope.to_writer(&mut body).unwrap();
    Parsed::new(&body)
}

fn frame(function: &str, file: &str, line: u32, addr: Option<u64>, in_app: bool) -> StackFrame {
    StackFrame {
        func: 7,
        code_offset: 0x12,
        instruction_addr: addr,
        function: function.to_string(),
        file: Some(file.to_string()),
        abs_path: Some(format!("/work/app/{file}")),
        line: Some(line),
        column: Some(5),
        inlined: false,
        in_app,
    }
}

/// A panic's stack, youngest first: two library frames above two of the app's.
fn stack() -> Stack {
    Stack {
        crash: Crash {
            kind: "panic".to_string(),
            trap: Some("unreachable".to_string()),
            title: "panicked at src/main.rs:42:64: called `Option::unwrap()` on a `None` value"
                .to_string(),
        },
        frames: vec![
            frame(
                "core::panicking::panic",
                "library/core/src/panicking.rs",
                145,
                Some(0x1a2b),
                false,
            ),
            frame(
                "core::option::unwrap_failed",
                "library/core/src/option.rs",
                2015,
                Some(0x1c00),
                false,
            ),
            frame("app::handle", "src/main.rs", 42, Some(0x2345), true),
            frame("app::main", "src/main.rs", 10, None, true),
        ],
        notes: vec!["no .debug_ranges section".to_string()],
        fingerprint: Fingerprint::parse("0123456789abcdef0123456789abcdef").unwrap(),
    }
}

fn received_at() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)
}

fn input<'a>(
    stack: &'a Stack,
    request: Option<&'a Value>,
    dump: DumpAttachment<'a>,
) -> EventInput<'a> {
    EventInput {
        key: KEY,
        stack,
        request,
        build_id: Some(BUILD_ID),
        build_id_payload: Some(&BUILD_ID_PAYLOAD),
        module_name: Some("worker.wasm"),
        debug_file: Some("debug-720426ce-a847-5f72-8f78-24d5a0ff14ef.wasm"),
        received_at: received_at(),
        dump,
    }
}

/// A small envelope to probe the sender with.
fn small_envelope() -> sentry::Envelope {
    let stack = stack();
    envelope(&input(
        &stack,
        None,
        DumpAttachment::Link("http://collector/coredumps/x".into()),
    ))
}

#[test]
fn sender_is_shareable() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<SentrySender>();
}

#[test]
fn invalid_dsn_is_an_error() {
    assert!(matches!(
        SentrySender::new("not a dsn"),
        Err(SenderError::Dsn(_))
    ));
    assert!(matches!(
        SentrySender::new("https://key@sentry.example.com/"),
        Err(SenderError::Dsn(_))
    ));
    let sender = SentrySender::new("https://key@o1.ingest.sentry.io/2").unwrap();
    assert_eq!(sender.dsn().project_id().to_string(), "2");
}

/// The whole event as it reaches Sentry, checked against values computed here.
#[tokio::test]
async fn event_reaches_sentry_with_frames_oldest_first_and_the_debug_image() {
    let (receiver, dsn) = receiver(Answer::Status(200, vec![])).await;
    let stack = stack();
    let dump: Vec<u8> = b"\0asm\x01\0\0\0"
        .iter()
        .copied()
        .chain((0..=255).cycle().take(5000))
        .collect();
    let request = json!({
        "method": "POST",
        "url": "https://example.com/api/items?id=3",
        "headers": {
            "content-type": "application/json",
            "authorization": "Bearer secret",
            "cookie": "session=abc",
            "cf-ray": "8a1b2c3d"
        }
    });
    let envelope = envelope(&input(&stack, Some(&request), DumpAttachment::Bytes(&dump)));
    let sender = SentrySender::new(&dsn).unwrap();
    assert_eq!(sender.send(&envelope).await, SendOutcome::Sent);

    let received = receiver.received.lock().unwrap();
    assert_eq!(received.len(), 1);
    let got = &received[0];
    assert_eq!(got.path, "/api/42/envelope/");
    let auth = got.headers["x-sentry-auth"].to_str().unwrap();
    assert!(
        auth.starts_with("Sentry sentry_key=public, sentry_version=7"),
        "{auth}"
    );
    assert!(auth.contains("sentry_client=coredump-service/"), "{auth}");
    assert_eq!(got.headers["content-type"], "application/x-sentry-envelope");

    let parsed = Parsed::new(&got.body);
    let event = parsed.event();
    let event_id = event["event_id"].as_str().unwrap().replace('-', "");
    assert_eq!(
        parsed.header["event_id"].as_str().unwrap().replace('-', ""),
        event_id
    );
    assert_eq!(event["level"], "fatal");
    assert_eq!(event["platform"], "native");
    assert_eq!(event["timestamp"].as_f64().unwrap(), 1_700_000_000.123);
    assert_eq!(
        event["fingerprint"],
        json!(["0123456789abcdef0123456789abcdef"])
    );
    assert_eq!(event["tags"]["dump_key"], KEY);
    assert_eq!(event["tags"]["build_id"], BUILD_ID);
    assert_eq!(
        event["tags"]["debug_file"],
        "debug-720426ce-a847-5f72-8f78-24d5a0ff14ef.wasm"
    );
    assert_eq!(event["tags"]["crash_kind"], "panic");
    assert_eq!(
        event["extra"]["symbolication_notes"],
        json!(["no .debug_ranges section"])
    );
    assert!(event["extra"].get("dump_url").is_none());

    let exception = &event["exception"]["values"][0];
    assert_eq!(exception["type"], "panic");
    assert_eq!(exception["value"], stack.crash.title);
    assert_eq!(exception["mechanism"]["type"], "coredump");
    assert_eq!(exception["mechanism"]["handled"], false);
    let frames = exception["stacktrace"]["frames"].as_array().unwrap();
    let functions: Vec<&str> = frames
        .iter()
        .map(|f| f["function"].as_str().unwrap())
        .collect();
    assert_eq!(
        functions,
        [
            "app::main",
            "app::handle",
            "core::option::unwrap_failed",
            "core::panicking::panic"
        ]
    );
    let in_app: Vec<bool> = frames
        .iter()
        .map(|f| f["in_app"].as_bool().unwrap())
        .collect();
    assert_eq!(in_app, [true, true, false, false]);
    assert_eq!(frames[1]["instruction_addr"], "0x2345");
    assert_eq!(frames[1]["addr_mode"], "rel:0");
    assert_eq!(frames[1]["filename"], "src/main.rs");
    assert_eq!(frames[1]["abs_path"], "/work/app/src/main.rs");
    assert_eq!(frames[1]["lineno"], 42);
    assert_eq!(frames[1]["colno"], 5);
    assert_eq!(frames[3]["instruction_addr"], "0x1a2b");
    // A frame with no known address has no address mode either.
    assert!(frames[0].get("instruction_addr").is_none());
    assert!(frames[0].get("addr_mode").is_none());
    assert!(exception["stacktrace"].get("frames_omitted").is_none());

    let images = event["debug_meta"]["images"].as_array().unwrap();
    assert_eq!(images.len(), 1);
    let image = &images[0];
    assert_eq!(image["type"], "wasm");
    assert_eq!(image["code_id"], CODE_ID);
    assert_eq!(image["code_id"], hex(&BUILD_ID_PAYLOAD));
    assert_eq!(image["debug_id"], DEBUG_ID);
    assert_eq!(image["code_file"], "worker.wasm");
    assert_eq!(
        image["debug_file"],
        "debug-720426ce-a847-5f72-8f78-24d5a0ff14ef.wasm"
    );
    assert!(image.get("image_addr").is_none());

    let req = &event["request"];
    assert_eq!(req["method"], "POST");
    assert_eq!(req["url"], "https://example.com/api/items?id=3");
    assert_eq!(req["headers"]["content-type"], "application/json");
    assert_eq!(req["headers"]["cf-ray"], "8a1b2c3d");
    assert_eq!(req["headers"]["authorization"], "[Filtered]");
    assert_eq!(req["headers"]["cookie"], "[Filtered]");

    let (attachment_header, attachment) = parsed
        .items
        .iter()
        .find(|(h, _)| h["type"] == "attachment")
        .expect("the dump attached");
    assert_eq!(attachment_header["filename"], "coredump.wasm");
    assert_eq!(attachment_header["content_type"], "application/wasm");
    assert_eq!(attachment, &dump);

    // The sentry crate reads it back too.
    let typed = sentry::Envelope::from_slice(&got.body).unwrap();
    assert_eq!(
        typed.event().unwrap().event_id.simple().to_string(),
        event_id
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A resend after a restart must be the same event, which Sentry drops as a duplicate.
#[test]
fn event_id_derives_from_the_dump_key() {
    let stack = stack();
    let link = || DumpAttachment::Link("http://collector/coredumps/x".into());
    let first = wire(&envelope(&input(&stack, None, link()))).event();
    let again = wire(&envelope(&input(&stack, None, link()))).event();
    assert_eq!(first["event_id"], again["event_id"]);
    let other = EventInput {
        key: "coredump.1700000000123.0123456789abcdee",
        ..input(&stack, None, link())
    };
    assert_ne!(
        first["event_id"],
        wire(&envelope(&other)).event()["event_id"]
    );
}

/// Without a build_id there is no image for `rel:0` to refer to; a dump too big to attach goes
/// as a link.
#[test]
fn no_build_id_means_no_image_and_a_link_is_not_an_attachment() {
    let mut stack = stack();
    stack.crash.kind = "trap".to_string();
    stack.crash.title = "wasm trap: unreachable".to_string();
    let input = EventInput {
        build_id: None,
        build_id_payload: None,
        debug_file: None,
        ..input(
            &stack,
            None,
            DumpAttachment::Link("https://collector.example/coredumps/k".into()),
        )
    };
    let parsed = wire(&envelope(&input));
    assert!(parsed.item("attachment").is_none());
    let event = parsed.event();
    assert!(
        event
            .get("debug_meta")
            .is_none_or(|m| m.get("images").is_none())
    );
    assert_eq!(
        event["extra"]["dump_url"],
        "https://collector.example/coredumps/k"
    );
    let frames = event["exception"]["values"][0]["stacktrace"]["frames"]
        .as_array()
        .unwrap();
    assert_eq!(frames[1]["instruction_addr"], "0x2345");
    assert!(frames.iter().all(|f| f.get("addr_mode").is_none()));
    assert!(event["tags"].get("build_id").is_none());
    let exception = &event["exception"]["values"][0];
    assert_eq!(exception["type"], "wasm trap");
    assert_eq!(exception["value"], "wasm trap: unreachable");
}

/// Header values of control characters take six bytes each in JSON: when the request alone
/// would break the limit, its headers go, and the frames stay.
#[test]
fn huge_request_headers_are_dropped_to_fit() {
    let stack = stack();
    let headers: serde_json::Map<String, Value> = (0..200)
        .map(|i| (format!("x-h{i}"), Value::from("\u{1}".repeat(4096))))
        .collect();
    let request = json!({"method": "GET", "url": "https://example.com/", "headers": headers});
    let link = DumpAttachment::Link("http://c/x".into());
    let parsed = wire(&envelope(&input(&stack, Some(&request), link)));
    assert!(parsed.item("event").unwrap().len() <= MAX_EVENT);
    let event = parsed.event();
    assert_eq!(event["request"]["url"], "https://example.com/");
    assert!(event["request"].get("headers").is_none());
    let frames = &event["exception"]["values"][0]["stacktrace"]["frames"];
    assert_eq!(frames.as_array().unwrap().len(), 4);
}

/// A 100 000-frame recursion keeps its youngest and oldest frames and fits Sentry's 1 MB.
#[test]
fn huge_stack_is_trimmed_under_the_event_limit() {
    let mut stack = stack();
    let deep: Vec<StackFrame> = (0..100_000)
        .map(|i| {
            frame(
                &format!("app::recurse::h{i:016x}"),
                "src/recurse.rs",
                7,
                Some(0x3000 + i),
                true,
            )
        })
        .collect();
    stack.frames.splice(2..2, deep);
    let total = stack.frames.len();
    let parsed = wire(&envelope(&input(
        &stack,
        None,
        DumpAttachment::Link("http://c/x".into()),
    )));
    let event_len = parsed.item("event").unwrap().len();
    assert!(event_len <= MAX_EVENT, "{event_len} bytes");
    assert!(
        event_len > MAX_EVENT * 9 / 10,
        "{event_len} bytes: trimmed too much"
    );
    let stacktrace = &parsed.event()["exception"]["values"][0]["stacktrace"];
    let frames = stacktrace["frames"].as_array().unwrap();
    let [start, end] = [0, 1].map(|i| stacktrace["frames_omitted"][i].as_u64().unwrap() as usize);
    assert_eq!(frames.len(), total - (end - start));
    // Oldest first: `app::main` first, the panic last.
    assert_eq!(frames[0]["function"], "app::main");
    assert_eq!(
        frames[frames.len() - 1]["function"],
        "core::panicking::panic"
    );
    // About as many kept at each end.
    let youngest = total - end;
    assert!(
        start.abs_diff(youngest) <= 1,
        "{start} oldest, {youngest} youngest kept"
    );
}

#[tokio::test]
async fn retry_after_holds_back_the_next_send() {
    let (receiver, dsn) = receiver(Answer::Status(429, vec![("retry-after", "7")])).await;
    let sender = SentrySender::new(&dsn).unwrap();
    let SendOutcome::RetryAfter(wait) = sender.send(&small_envelope()).await else {
        panic!("429 is worth retrying");
    };
    assert!(
        wait > Duration::from_secs(5) && wait <= Duration::from_secs(7),
        "{wait:?}"
    );
    let SendOutcome::RetryAfter(wait) = sender.send(&small_envelope()).await else {
        panic!("still rate limited");
    };
    assert!(
        wait > Duration::from_secs(5) && wait <= Duration::from_secs(7),
        "{wait:?}"
    );
    assert_eq!(
        receiver.count(),
        1,
        "the second send was not even attempted"
    );
}

#[tokio::test]
async fn sentry_rate_limits_hold_back_the_next_send() {
    let limits = ("x-sentry-rate-limits", "60:error:key");
    let (receiver, dsn) = receiver(Answer::Status(429, vec![limits])).await;
    let sender = SentrySender::new(&dsn).unwrap();
    let SendOutcome::RetryAfter(wait) = sender.send(&small_envelope()).await else {
        panic!("429 is worth retrying");
    };
    assert!(
        wait > Duration::from_secs(55) && wait <= Duration::from_secs(60),
        "{wait:?}"
    );
    assert!(matches!(
        sender.send(&small_envelope()).await,
        SendOutcome::RetryAfter(_)
    ));
    assert_eq!(
        receiver.count(),
        1,
        "the second send was not even attempted"
    );
    assert_eq!(sender.attachments_limited(), None);
}

/// Sentry took the event but limits attachments from now on: the next dump waits.
#[tokio::test]
async fn attachment_limits_hold_back_envelopes_with_a_dump() {
    let limits = (
        "x-sentry-rate-limits",
        "120:attachment:organization:quota_exceeded",
    );
    let (receiver, dsn) = receiver(Answer::Status(200, vec![limits])).await;
    let sender = SentrySender::new(&dsn).unwrap();
    let stack = stack();
    let with_dump = envelope(&input(&stack, None, DumpAttachment::Bytes(b"\0asm")));
    assert_eq!(sender.send(&with_dump).await, SendOutcome::Sent);
    assert!(sender.attachments_limited().is_some());
    assert!(
        matches!(sender.send(&with_dump).await, SendOutcome::RetryAfter(w) if w > Duration::from_secs(100))
    );
    assert_eq!(receiver.count(), 1);
    assert_eq!(sender.send(&small_envelope()).await, SendOutcome::Sent);
    assert_eq!(receiver.count(), 2);
}

#[tokio::test]
async fn server_error_is_retried() {
    let (receiver, dsn) = receiver(Answer::Status(500, vec![])).await;
    let sender = SentrySender::new(&dsn).unwrap();
    assert_eq!(
        sender.send(&small_envelope()).await,
        SendOutcome::RetryAfter(Duration::ZERO)
    );
    // No limit was set: the next send goes out.
    assert!(matches!(
        sender.send(&small_envelope()).await,
        SendOutcome::RetryAfter(_)
    ));
    assert_eq!(receiver.count(), 2);
}

#[tokio::test]
async fn bad_request_is_rejected() {
    let (_receiver, dsn) = receiver(Answer::Status(400, vec![])).await;
    let sender = SentrySender::new(&dsn).unwrap();
    let SendOutcome::Rejected(why) = sender.send(&small_envelope()).await else {
        panic!("400 is permanent");
    };
    assert!(why.contains("400") && why.contains("as you asked"), "{why}");
}

#[tokio::test]
async fn connection_refused_is_retried() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let sender = SentrySender::new(&format!("http://public@{addr}/42")).unwrap();
    assert_eq!(
        sender.send(&small_envelope()).await,
        SendOutcome::RetryAfter(Duration::ZERO)
    );
}

#[tokio::test]
async fn silent_sentry_times_out() {
    let (receiver, dsn) = receiver(Answer::Hang).await;
    let sender = SentrySender::new(&dsn)
        .unwrap()
        .with_timeout(Duration::from_secs(1));
    let start = Instant::now();
    assert_eq!(
        sender.send(&small_envelope()).await,
        SendOutcome::RetryAfter(Duration::ZERO)
    );
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(receiver.count(), 1);
}
