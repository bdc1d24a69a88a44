//! Crashes reach Sentry through the running service, whatever Sentry does: the event carries
//! the crash, its frames and the dump; failures are retried; a slow Sentry does not delay the
//! answer; what a stopped instance had accepted is sent by the next one.

mod common;

use common::{
    Running, SentryAnswer, SentryReceiver, build, config, crash_and_post, files_under,
    upload_debug_file,
};
use serde_json::{Value, json};
use wasm_coredump_tests::{Fixture, Profile};

/// The event and the attachment of an envelope, read with the `sentry` crate's own parser.
fn event_of(body: &[u8]) -> (Value, Option<Vec<u8>>) {
    let envelope = sentry::Envelope::from_slice(body).unwrap();
    let mut event = None;
    let mut attachment = None;
    for item in envelope.items() {
        match item {
            sentry::protocol::EnvelopeItem::Event(e) => {
                event = Some(serde_json::to_value(e).unwrap())
            }
            sentry::protocol::EnvelopeItem::Attachment(a) => attachment = Some(a.buffer.clone()),
            _ => {}
        }
    }
    (event.expect("an event"), attachment)
}

fn request() -> Value {
    json!({"method": "POST", "url": "https://example.com/api", "headers": {"x-test": "1"}})
}

fn pending(store: &std::path::Path) -> Vec<String> {
    files_under(store)
        .into_iter()
        .map(|f| f.strip_prefix(store).unwrap().display().to_string())
        .filter(|f| f.starts_with("sentry-pending"))
        .collect()
}

#[test]
fn the_crash_reaches_sentry_with_its_frames_ids_and_dump() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let sentry = SentryReceiver::start(SentryAnswer::OkAfter { failures: 0 });
    let mut cfg = config(&store);
    cfg.sentry_dsn = Some(sentry.dsn.clone());
    let service = Running::start(cfg);
    let kind = Fixture::MyThing;
    let built = build(kind, Profile::Debug, &dir.path().join("build"));
    assert_eq!(upload_debug_file(&service.url, &built, None).status(), 201);
    let (answer, run) = crash_and_post(&service.url, &built, &request());
    let key = answer["key"].as_str().unwrap();

    let (event, attachment) = event_of(&sentry.wait_for(1)[0]);
    assert_eq!(event["level"], "fatal");
    let std_said = format!(
        "panicked at {}: {}",
        run.panic_location().unwrap(),
        run.panic_text().unwrap()
    );
    assert_eq!(event["exception"]["values"][0]["value"], std_said.as_str());
    assert_eq!(event["tags"]["dump_key"], key);
    assert_eq!(event["tags"]["build_id"], built.build_id.as_str());
    assert_eq!(event["request"]["url"], "https://example.com/api");
    // Oldest first: main before process_thing before calculate.
    let frames = event["exception"]["values"][0]["stacktrace"]["frames"]
        .as_array()
        .unwrap();
    let app: Vec<&str> = frames
        .iter()
        .filter(|f| f["in_app"] == true)
        .map(|f| f["function"].as_str().unwrap())
        .collect();
    assert_eq!(
        app,
        [
            "mything::main",
            "mything::process_thing",
            "mything::calculate"
        ]
    );
    assert!(
        frames.iter().all(|f| f["addr_mode"] == "rel:0"),
        "{frames:#?}"
    );
    // Sentry's ids: the hex of the whole build_id payload, the UUID of its first 16 bytes.
    let module = std::fs::read(&built.app).unwrap();
    let payload = common::build_id_payload(&module).unwrap();
    let image = &event["debug_meta"]["images"][0];
    assert_eq!(image["type"], "wasm");
    let hex: String = payload.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(image["code_id"], hex.as_str());
    assert_eq!(
        image["debug_id"],
        uuid::Uuid::from_slice(&payload[..16])
            .unwrap()
            .to_string()
            .as_str()
    );
    assert_eq!(
        attachment.as_deref(),
        run.core.as_deref(),
        "the dump rides along"
    );
    // Sent: nothing is pending any more.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !pending(&store).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            pending(&store)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    service.stop().unwrap();
}

#[test]
fn a_failing_sentry_gets_the_event_on_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let sentry = SentryReceiver::start(SentryAnswer::OkAfter { failures: 2 });
    let mut cfg = config(&dir.path().join("store"));
    cfg.sentry_dsn = Some(sentry.dsn.clone());
    let service = Running::start(cfg);
    let built = build(
        Fixture::MyThing,
        Profile::Release,
        &dir.path().join("build"),
    );
    let (answer, _) = crash_and_post(&service.url, &built, &request());
    assert!(answer["key"].is_string(), "{answer}");
    let bodies = sentry.wait_for(3);
    let ids: Vec<Value> = bodies
        .iter()
        .map(|b| event_of(b).0["event_id"].clone())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "one event, sent again: {ids:?}"
    );
    service.stop().unwrap();
}

#[test]
fn a_hanging_sentry_delays_nothing_and_the_next_instance_sends_what_was_left() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let hanging = SentryReceiver::start(SentryAnswer::Hang);
    let mut cfg = config(&store);
    cfg.sentry_dsn = Some(hanging.dsn.clone());
    let service = Running::start(cfg.clone());
    let built = build(Fixture::MyThing, Profile::Debug, &dir.path().join("build"));
    // The answer comes while Sentry has not answered at all.
    let (answer, _) = crash_and_post(&service.url, &built, &request());
    let key = answer["key"].as_str().unwrap().to_string();
    hanging.wait_for(1);
    assert_eq!(pending(&store), [format!("sentry-pending/{key}")]);
    // A stop ends the instance within its drain deadline; the event stays pending.
    service.stop().unwrap();
    assert_eq!(pending(&store), [format!("sentry-pending/{key}")]);

    let sentry = SentryReceiver::start(SentryAnswer::OkAfter { failures: 0 });
    cfg.sentry_dsn = Some(sentry.dsn.clone());
    let next = Running::start(cfg);
    let (event, _) = event_of(&sentry.wait_for(1)[0]);
    assert_eq!(event["tags"]["dump_key"], key.as_str());
    next.stop().unwrap();
}

/// The envelope goes gzip-compressed, so a 40 MiB dump that is mostly zeros rides along
/// whole, while one whose compressed request would pass Sentry's 20 MB goes as a link.
#[test]
fn large_dumps_ride_compressed_or_as_links() {
    use rand::Rng;
    let dir = tempfile::tempdir().unwrap();
    let sentry = SentryReceiver::start(SentryAnswer::OkAfter { failures: 0 });
    let mut cfg = config(&dir.path().join("store"));
    cfg.sentry_dsn = Some(sentry.dsn.clone());
    cfg.public_url = Some("https://crashes.example".into());
    let service = Running::start(cfg);
    let post = |dump: Vec<u8>| -> String {
        let form = reqwest::blocking::multipart::Form::new().part(
            "coredump",
            reqwest::blocking::multipart::Part::bytes(dump).file_name("coredump"),
        );
        common::post_form(&service.url, form)["key"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let sparse = common::crafted_dump(40 << 20, |d| d[..4096].fill(7));
    post(sparse.clone());
    let (event, attachment) = event_of(&sentry.wait_for(1)[0]);
    assert_eq!(attachment.as_deref(), Some(&sparse[..]), "{event:#}");

    let dense = common::crafted_dump(24 << 20, |d| rand::rng().fill(d));
    let key = post(dense);
    let (event, attachment) = event_of(&sentry.wait_for(2)[1]);
    assert!(attachment.is_none());
    assert_eq!(
        event["extra"]["dump_url"],
        format!("https://crashes.example/coredumps/{key}").as_str()
    );
    service.stop().unwrap();
}
