//! The whole pipeline through the running service: rewrite and split a fixture, upload its
//! debug file, run it under Node, post the dump as the older hosts do, then read back the
//! stack, the dump and the lists. Expected frames, lines and crash reasons come from the
//! fixtures' sources and from what the program itself printed (std's panic message), never from
//! the service. Last, the stack the service makes of a module that ships without names.

mod common;

use common::{Running, build, client, config, get_bytes, get_json, upload_debug_file};
use serde_json::Value;
use wasm_coredump_tests::{Fixture, NamelessCrash, Profile};

fn line_of(kind: Fixture, snippet: &str) -> u64 {
    let location = kind.source_location(snippet, snippet);
    location.split(':').nth(1).unwrap().parse().unwrap()
}

/// The (function, line) of the frames in the fixture's own source file.
fn app_frames(stack: &Value, kind: Fixture) -> Vec<(String, u64)> {
    stack["frames"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["file"].as_str() == Some(&kind.source_path_in_build()))
        .map(|f| {
            (
                f["function"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn mything_crash_is_stored_symbolized_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let service = Running::start(config(&dir.path().join("store")));
    let kind = Fixture::MyThing;
    for profile in [Profile::Debug, Profile::Release] {
        let built = build(kind, profile, &dir.path().join(profile.to_string()));
        let put = upload_debug_file(&service.url, &built, None);
        assert_eq!(put.status(), 201, "{}", put.text().unwrap());
        // The same file again is fine.
        assert_eq!(upload_debug_file(&service.url, &built, None).status(), 200);

        let request = serde_json::json!({
            "method": "GET",
            "url": "https://example.com/thing?id=3",
            "headers": {"user-agent": "test"},
        });
        let (answer, run) = common::crash_and_post(&service.url, &built, &request);
        let core = run.core.clone().unwrap();
        let key = answer["key"].as_str().unwrap().to_string();
        assert!(key.starts_with("coredump."), "{answer}");
        assert_eq!(answer["symbolized"], true, "{answer}");

        let stack: Value = get_json(&format!("{}/coredumps/{key}/stack", service.url));
        // mything: main calls process_thing, which calls calculate, which overflows.
        assert_eq!(
            app_frames(&stack, kind),
            [
                (
                    "mything::calculate".to_string(),
                    line_of(kind, "value - 10")
                ),
                (
                    "mything::process_thing".into(),
                    line_of(kind, "let result = calculate")
                ),
                (
                    "mything::main".into(),
                    line_of(kind, "process_thing(&thing)")
                ),
            ],
            "{profile}: {stack:#}"
        );
        let std_said = format!(
            "panicked at {}: {}",
            run.panic_location().unwrap(),
            run.panic_text().unwrap()
        );
        assert_eq!(stack["crash"]["title"], std_said.as_str(), "{profile}");
        assert_eq!(stack["crash"]["kind"], "panic");
        assert_eq!(stack["crash"]["trap"], "unreachable");

        // The dump comes back byte for byte.
        let stored = client()
            .get(format!("{}/coredumps/{key}", service.url))
            .send()
            .unwrap();
        assert_eq!(stored.status(), 200);
        assert_eq!(stored.bytes().unwrap().as_ref(), &core[..], "{profile}");

        let list: Value = get_json(&format!("{}/coredumps", service.url));
        let newest = &list["coredumps"][0];
        assert_eq!(newest["key"], key.as_str(), "newest first: {list:#}");
        assert_eq!(newest["build_id"], built.build_id.as_str());
        assert_eq!(newest["crash"], std_said.as_str());
        assert_eq!(newest["request_url"], "https://example.com/thing?id=3");
        assert_eq!(
            newest["top_frame"],
            format!(
                "mything::calculate ({}:{})",
                kind.source_path_in_build(),
                line_of(kind, "value - 10")
            )
            .as_str()
        );
    }
    // Pages of one, newest first, by cursor.
    let page = |cursor: Option<&str>| -> Value {
        let mut url = format!("{}/coredumps?limit=1", service.url);
        if let Some(cursor) = cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        get_json(&url)
    };
    let first = page(None);
    let cursor = first["next"].as_str().expect("a second page");
    let second = page(Some(cursor));
    assert_eq!(first["coredumps"].as_array().unwrap().len(), 1);
    assert!(
        second["coredumps"][0]["time"].as_u64() <= first["coredumps"][0]["time"].as_u64(),
        "{first:#} {second:#}"
    );
    assert_ne!(second["coredumps"][0]["key"], first["coredumps"][0]["key"]);
    assert!(second["next"].is_null(), "two dumps, two pages: {second:#}");
    let metrics = client()
        .get(format!("{}/metrics", service.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l == "coredump_service_dumps_received_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("coredump_service_symbolizations_total{result=\"symbolized\"} 2"),
        "{metrics}"
    );
    // One bug, two builds: one group of two.
    let groups: Value = get_json(&format!("{}/groups", service.url));
    let groups = groups["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{groups:#?}");
    assert_eq!(groups[0]["count"], 2);
    service.stop().unwrap();
}

/// An older host (no build_id in its module) sends the module's `name` and `.debug_*` sections
/// beside the dump of the older rewriter: the stack names the functions from the name section
/// and gives each one's declaration line from the DWARF (there is no Code section to map code
/// offsets), and says so.
#[test]
fn an_older_hosts_dump_symbolizes_with_the_sections_it_sent() {
    let dir = tempfile::tempdir().unwrap();
    let service = Running::start(config(&dir.path().join("store")));
    let kind = Fixture::MyThing;
    let dump = std::fs::read(
        wasm_coredump_tests::workspace_root().join("tests/legacy-dumps/mything-debug.coredump"),
    )
    .unwrap();
    let module = std::fs::read(wasm_coredump_tests::fixture(kind, Profile::Debug)).unwrap();
    let mut form = reqwest::blocking::multipart::Form::new()
        .part(
            "coredump",
            reqwest::blocking::multipart::Part::bytes(dump.clone()).file_name("coredump"),
        )
        .text(
            "request",
            r#"{"method":"GET","url":"https://old.example/","headers":{}}"#,
        );
    let mut sent = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(&module) {
        if let Ok(wasmparser::Payload::CustomSection(c)) = payload
            && coredump_service::SECTION_PARTS.contains(&c.name())
        {
            sent.push(c.name().to_string());
            form = form.part(
                format!("{}-section", c.name()),
                reqwest::blocking::multipart::Part::bytes(c.data().to_vec())
                    .file_name(c.name().to_string()),
            );
        }
    }
    assert!(sent.iter().any(|s| s == ".debug_info"), "{sent:?}");
    let answer = common::post_form(&service.url, form);
    let key = answer["key"].as_str().unwrap();
    let stack: Value = get_json(&format!("{}/coredumps/{key}/stack", service.url));
    assert_eq!(
        app_frames(&stack, kind),
        [
            (
                "mything::calculate".to_string(),
                line_of(kind, "fn calculate(")
            ),
            (
                "mything::process_thing".into(),
                line_of(kind, "fn process_thing(")
            ),
            ("mything::main".into(), line_of(kind, "fn main()")),
        ],
        "{stack:#}"
    );
    let notes = stack["notes"].to_string();
    assert!(notes.contains("declaration"), "{notes}");
    // The dump comes back as it was sent.
    let stored = get_bytes(&format!("{}/coredumps/{key}", service.url));
    assert_eq!(stored, dump);
    service.stop().unwrap();
}

/// Two instances over one store, as behind a load balancer: what one received, the other lists,
/// serves and symbolizes, with the debug file the first one was given.
#[test]
fn two_instances_share_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let a = Running::start(config(&store));
    let b = Running::start(config(&store));
    let built = build(
        Fixture::MyThing,
        Profile::Release,
        &dir.path().join("build"),
    );
    assert_eq!(upload_debug_file(&a.url, &built, None).status(), 201);
    // The same file through the other instance: already there.
    assert_eq!(upload_debug_file(&b.url, &built, None).status(), 200);
    let (answer, run) = common::crash_and_post(&a.url, &built, &serde_json::json!({}));
    let key = answer["key"].as_str().unwrap();
    let list: Value = get_json(&format!("{}/coredumps", b.url));
    assert_eq!(list["coredumps"][0]["key"], key);
    let dump = get_bytes(&format!("{}/coredumps/{key}", b.url));
    assert_eq!(Some(&dump), run.core.as_ref());
    let stack: Value = get_json(&format!("{}/coredumps/{key}/stack", b.url));
    assert_eq!(
        app_frames(&stack, Fixture::MyThing)[0].0,
        "mything::calculate",
        "{stack:#}"
    );
    a.stop().unwrap();
    b.stop().unwrap();
}

/// A dump that comes before its debug file is stored anyway, the answer says what is missing,
/// and its stack is symbolized once the debug file is uploaded.
#[test]
fn a_debug_file_uploaded_after_the_crash_applies() {
    let dir = tempfile::tempdir().unwrap();
    let service = Running::start(config(&dir.path().join("store")));
    let kind = Fixture::MyThing;
    let built = build(kind, Profile::Debug, &dir.path().join("build"));
    let (answer, _) = common::crash_and_post(&service.url, &built, &serde_json::json!({}));
    assert_eq!(answer["symbolized"], false, "{answer}");
    let warning = answer["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains(&format!("no debug file for build_id {}", built.build_id)),
        "{warning}"
    );
    let key = answer["key"].as_str().unwrap();
    let stack = |url: &str| -> Value { get_json(&format!("{url}/coredumps/{key}/stack")) };
    let before = stack(&service.url);
    assert!(app_frames(&before, kind).is_empty(), "{before:#}");
    assert_eq!(upload_debug_file(&service.url, &built, None).status(), 201);
    let after = stack(&service.url);
    assert_eq!(
        app_frames(&after, kind)[0],
        (
            "mything::calculate".to_string(),
            line_of(kind, "value - 10")
        )
    );
    service.stop().unwrap();
}

/// A release module without a `name` section or DWARF: the stack the service makes of its dump
/// with the module's own names (`Stack::new`, what `/stack`, the log and Sentry get) shows the
/// exported function's export name and `func[N]` for every other frame. The names and indices
/// come from the original module's Export section; the module that ran, rewritten, exports the
/// rewriter's entry wrappers instead, which name what they wrap.
#[test]
fn a_module_without_names_is_symbolized_with_its_export_names() {
    let dir = tempfile::tempdir().unwrap();
    let crash = NamelessCrash::run(dir.path());
    let core = crash.core.clone();
    let dump = coredump::CoreDump::parse(&core).unwrap();
    let module = debuginfo::Module::read(&crash.app).unwrap();
    let info = debuginfo::DebugInfo::new(module).unwrap();
    let stack = coredump_service::Stack::new(&dump, &info, Vec::new());
    for f in &stack.frames {
        assert_eq!(
            f.function,
            crash.expected_name(f.func),
            "{:#?}",
            stack.frames
        );
    }
    let outermost = stack.frames.last().unwrap();
    assert_eq!(outermost.function, "process", "{:#?}", stack.frames);
    assert!(stack.log_text().contains("    at process (wasm-function["));
}
