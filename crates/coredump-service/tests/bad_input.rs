//! Bad requests against the running service: each gets its 4xx with a JSON body
//! `{"error": "..."}` that says why, and leaves nothing in the store, not even a staging file of
//! a multipart upload. Then the guards (bearer tokens), and the compressed forms a host may send.

mod common;

use std::path::PathBuf;

use common::{
    FormPart, Running, build_id_payload, client, config, crafted_dump, files_under, get_json,
    gunzip, gzip, multipart_body, mything_dump, upload_debug_file,
};
use coredump_service::{Config, Limits, http::Tokens};
use rand::Rng;
use reqwest::blocking::{RequestBuilder, Response};
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE};
use serde_json::Value;
use wasm_coredump_tests::{Fixture, Profile, fixture};

/// A service over a fresh store directory.
struct Setup {
    dir: tempfile::TempDir,
    store: PathBuf,
    service: Running,
}

impl Setup {
    fn start(adjust: impl FnOnce(&mut Config)) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let mut config = config(&store);
        adjust(&mut config);
        let service = Running::start(config);
        Setup {
            dir,
            store,
            service,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.service.url)
    }

    /// Asserts the store holds no file at all (directories may stay).
    #[track_caller]
    fn assert_nothing_stored(&self, after: &str) {
        let files = files_under(&self.store);
        assert!(
            files.is_empty(),
            "after {after}, the store holds {files:#?}"
        );
    }

    /// POSTs a hand-built multipart form.
    fn post_form(&self, content_type: &str, body: Vec<u8>) -> Response {
        client()
            .post(self.url("/"))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .unwrap()
    }
}

/// Asserts `response` has `status` and the JSON body `{"error": "..."}` whose text contains
/// `says`; returns the text.
#[track_caller]
fn refused(response: Response, status: u16, says: &str) -> String {
    let got = response.status().as_u16();
    let text = response.text().unwrap();
    assert_eq!(got, status, "body: {text}");
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not a JSON body ({e}): {text:?}"));
    let fields = body
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {text}"));
    assert_eq!(fields.len(), 1, "only `error`: {text}");
    let message = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error text: {text}"));
    assert!(
        message.contains(says),
        "expected {says:?} in the error {message:?}"
    );
    message.to_string()
}

/// A form with `core` as the coredump part, then `after`.
fn dump_form(core: &[u8], after: &[FormPart<'_>]) -> (String, Vec<u8>) {
    let mut parts = vec![FormPart {
        name: "coredump",
        file_name: Some("coredump"),
        bytes: core,
    }];
    parts.extend(after.iter().map(|p| FormPart {
        name: p.name,
        file_name: p.file_name,
        bytes: p.bytes,
    }));
    multipart_body(&parts)
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rand::rng().fill(&mut bytes[..]);
    bytes
}

/// Random bytes that start with no magic the service knows (`\0asm`, gzip, zstd).
fn random_non_dump(len: usize) -> Vec<u8> {
    let mut bytes = random_bytes(len);
    bytes[..4].copy_from_slice(b"RND!");
    bytes
}

#[test]
fn broken_forms_are_refused_and_leave_nothing_stored() {
    // A tiny upload buffer: every dump goes to a multipart upload (a staging file of the local
    // store) as soon as its first kilobytes are compressed, so a refusal must abort it.
    let setup = Setup::start(|c| {
        c.limits = Limits {
            upload_buffer: 1024,
            ..Limits::default()
        }
    });
    let (built, core) = mything_dump(&setup.dir.path().join("built"));
    let request = br#"{"method":"GET","url":"https://example.com/","headers":{}}"#;

    // Cut in the middle of the coredump part.
    let (content_type, body) = dump_form(
        &core,
        &[FormPart {
            name: "request",
            file_name: None,
            bytes: request,
        }],
    );
    let start = body
        .windows(4)
        .position(|w| w == b"\0asm")
        .expect("the dump is in the form");
    let cut = body[..start + core.len() / 2].to_vec();
    let message = refused(setup.post_form(&content_type, cut), 400, "");
    assert!(
        message.contains("breaks off") || message.contains("malformed multipart body"),
        "{message}"
    );
    setup.assert_nothing_stored("a body cut in the coredump part");
    // The real dump compresses to a few kilobytes, so its first half is still buffered when
    // the body breaks off. One of random memory has its upload under way by then.
    let random = crafted_dump(2 << 20, |d| rand::rng().fill(d));
    let (content_type, body) = dump_form(&random, &[]);
    let start = body.windows(4).position(|w| w == b"\0asm").unwrap();
    let cut = body[..start + random.len() / 2].to_vec();
    let message = refused(setup.post_form(&content_type, cut), 400, "");
    assert!(
        message.contains("breaks off") || message.contains("malformed multipart body"),
        "{message}"
    );
    setup.assert_nothing_stored("a body cut in a dump being uploaded");

    // A form without a coredump part.
    let (content_type, body) = multipart_body(&[FormPart {
        name: "request",
        file_name: None,
        bytes: request,
    }]);
    refused(
        setup.post_form(&content_type, body),
        400,
        "no coredump part",
    );
    setup.assert_nothing_stored("a form without a coredump part");

    // A request part that is not JSON, after a valid dump (which was being uploaded).
    let (content_type, body) = dump_form(
        &core,
        &[FormPart {
            name: "request",
            file_name: None,
            bytes: b"{not json",
        }],
    );
    refused(
        setup.post_form(&content_type, body),
        400,
        "the request part is not JSON",
    );
    setup.assert_nothing_stored("a request part that is not JSON");

    // Two coredump parts.
    let (content_type, body) = dump_form(
        &core,
        &[FormPart {
            name: "coredump",
            file_name: Some("coredump"),
            bytes: &core,
        }],
    );
    refused(
        setup.post_form(&content_type, body),
        400,
        "more than one coredump part",
    );
    setup.assert_nothing_stored("two coredump parts");

    // An empty coredump part.
    let (content_type, body) = dump_form(b"", &[]);
    refused(
        setup.post_form(&content_type, body),
        400,
        "the coredump part is empty",
    );
    setup.assert_nothing_stored("an empty coredump part");

    // Random bytes as the dump.
    let (content_type, body) = dump_form(&random_non_dump(200_000), &[]);
    refused(
        setup.post_form(&content_type, body),
        400,
        "not a Wasm core dump: it starts with 52 4e 44 21",
    );
    setup.assert_nothing_stored("random bytes as the dump");

    // gzip that is not gzip: the magic, then random bytes.
    let mut corrupt = vec![0x1f, 0x8b, 0x08, 0x00];
    corrupt.extend(random_bytes(200_000));
    let (content_type, body) = dump_form(&corrupt, &[]);
    refused(
        setup.post_form(&content_type, body),
        400,
        "the Gzip dump does not decompress",
    );
    setup.assert_nothing_stored("a corrupt gzip dump");

    // Valid gzip of something that is not a dump.
    let (content_type, body) = dump_form(&gzip(&random_non_dump(200_000)), &[]);
    refused(
        setup.post_form(&content_type, body),
        400,
        "not a Wasm core dump: it starts with 52 4e 44 21",
    );
    setup.assert_nothing_stored("a gzip part of a non-dump");

    // Valid zstd of something that is not a dump.
    let zstd = zstd::encode_all(&random_non_dump(200_000)[..], 3).unwrap();
    let (content_type, body) = dump_form(&zstd, &[]);
    refused(
        setup.post_form(&content_type, body),
        400,
        "not a Wasm core dump: it starts with 52 4e 44 21",
    );
    setup.assert_nothing_stored("a zstd part of a non-dump");

    // A Wasm module, but not a core dump: plain, and gzip-compressed.
    let module = wat::parse_str("(module (memory 1) (func (export \"f\")))").unwrap();
    for (what, bytes) in [("plain", module.clone()), ("gzip", gzip(&module))] {
        let (content_type, body) = dump_form(&bytes, &[]);
        refused(
            setup.post_form(&content_type, body),
            400,
            "not a valid core dump",
        );
        setup.assert_nothing_stored(&format!("a {what} module that is not a core dump"));
    }
    let empty_module = wat::parse_str("(module)").unwrap();
    let (content_type, body) = dump_form(&empty_module, &[]);
    refused(
        setup.post_form(&content_type, body),
        400,
        "not a valid core dump",
    );
    setup.assert_nothing_stored("(module)");

    // The stripped app module is no dump either.
    let app = std::fs::read(&built.app).unwrap();
    let (content_type, body) = dump_form(&app, &[]);
    refused(
        setup.post_form(&content_type, body),
        400,
        "not a valid core dump",
    );
    setup.assert_nothing_stored("the app module as the dump");

    // A body that is no multipart form at all.
    refused(
        client()
            .post(setup.url("/"))
            .header(CONTENT_TYPE, "application/wasm")
            .body(core.clone())
            .send()
            .unwrap(),
        400,
        "",
    );
    setup.assert_nothing_stored("a body that is not a form");

    // A body whose Content-Encoding does not decode, and one the service does not know.
    let (content_type, body) = dump_form(&core, &[]);
    let mut corrupt = gzip(&body);
    let middle = corrupt.len() / 2;
    corrupt[middle..].iter_mut().for_each(|b| *b = !*b);
    refused(
        client()
            .post(setup.url("/"))
            .header(CONTENT_TYPE, &content_type)
            .header(CONTENT_ENCODING, "gzip")
            .body(corrupt)
            .send()
            .unwrap(),
        400,
        "",
    );
    setup.assert_nothing_stored("a gzip body that does not decode");
    let response = client()
        .post(setup.url("/"))
        .header(CONTENT_TYPE, &content_type)
        .header(CONTENT_ENCODING, "br")
        .body(body)
        .send()
        .unwrap();
    refused(response, 415, "");
    setup.assert_nothing_stored("a body in an unknown Content-Encoding");

    // The same dump, whole and well formed, is taken: the checks above were about the input.
    let build_id = build_id_payload(&app).unwrap();
    let (content_type, body) = dump_form(
        &core,
        &[
            FormPart {
                name: "request",
                file_name: None,
                bytes: request,
            },
            FormPart {
                name: "build_id-section",
                file_name: Some("build_id"),
                bytes: &build_id,
            },
        ],
    );
    let answer = setup.post_form(&content_type, body);
    assert_eq!(answer.status(), 200, "{}", answer.text().unwrap());
    let files = files_under(&setup.store);
    assert!(
        files
            .iter()
            .any(|f| f.to_string_lossy().ends_with(".wasm.gz")),
        "{files:#?}"
    );
    assert_no_staging_files(&files);
}

/// LocalFileSystem stages a multipart upload in `<path>#<n>`.
#[track_caller]
fn assert_no_staging_files(files: &[PathBuf]) {
    let staged: Vec<_> = files
        .iter()
        .filter(|f| f.file_name().unwrap().to_string_lossy().contains('#'))
        .collect();
    assert!(staged.is_empty(), "staging files left: {staged:#?}");
}

#[test]
fn oversized_bodies_and_parts_get_413() {
    let max_body = 256 << 10;
    let setup = Setup::start(|c| {
        c.max_body = max_body;
        c.limits = Limits {
            max_dump: 1 << 20,
            upload_buffer: 1024,
            ..Limits::default()
        };
    });
    let small = crafted_dump(64 << 10, |d| rand::rng().fill(d));

    // A form over max_body: a dump of random memory (gzip cannot shrink it).
    let big = crafted_dump(max_body * 2, |d| rand::rng().fill(d));
    let (content_type, body) = dump_form(&big, &[]);
    let message = refused(setup.post_form(&content_type, body), 413, "");
    assert!(message.contains("too large") || message.contains("length limit"));
    setup.assert_nothing_stored("a body over max_body");

    // The same, sent gzip-compressed as a whole (Content-Encoding): the limit counts the
    // decompressed body, so a small bomb is refused too.
    let bomb = crafted_dump(8 << 20, |_| {});
    let (content_type, body) = dump_form(&bomb, &[]);
    let compressed = gzip(&body);
    assert!(compressed.len() < max_body, "{}", compressed.len());
    refused(
        client()
            .post(setup.url("/"))
            .header(CONTENT_TYPE, content_type)
            .header(CONTENT_ENCODING, "gzip")
            .body(compressed)
            .send()
            .unwrap(),
        413,
        "",
    );
    setup.assert_nothing_stored("a gzip body that decompresses over max_body");

    // A gzip coredump part under max_body that decompresses over max_dump.
    let (content_type, body) = dump_form(&gzip(&bomb), &[]);
    refused(
        setup.post_form(&content_type, body),
        413,
        "the dump is larger than 1048576 bytes once decompressed",
    );
    setup.assert_nothing_stored("a dump over max_dump");

    // A build_id-section part over its 1 KiB, after a valid dump.
    let (content_type, body) = dump_form(
        &small,
        &[FormPart {
            name: "build_id-section",
            file_name: Some("build_id"),
            bytes: &[0x10; 2048],
        }],
    );
    refused(
        setup.post_form(&content_type, body),
        413,
        "the build_id-section part is over 1024 bytes",
    );
    setup.assert_nothing_stored("an oversized build_id-section part");

    // A request part over its 64 KiB.
    let huge_request = format!("{{\"url\": \"{}\"}}", "x".repeat(100 << 10));
    let (content_type, body) = dump_form(
        &small,
        &[FormPart {
            name: "request",
            file_name: None,
            bytes: huge_request.as_bytes(),
        }],
    );
    refused(
        setup.post_form(&content_type, body),
        413,
        "the request part is over 65536 bytes",
    );
    setup.assert_nothing_stored("an oversized request part");

    // A debug file over max_body.
    let id = "72042600-cea8-475f-b28f-7824d5a0ff14";
    let response = client()
        .put(setup.url(&format!("/debuginfo/{id}")))
        .body(random_bytes(max_body + 1))
        .send()
        .unwrap();
    refused(response, 413, "");
    setup.assert_nothing_stored("a debug file over max_body");

    // Under the limits, the small dump is taken.
    let (content_type, body) = dump_form(&small, &[]);
    let answer = setup.post_form(&content_type, body);
    assert_eq!(answer.status(), 200, "{}", answer.text().unwrap());
}

#[test]
fn odd_dump_keys_are_refused_and_unknown_ones_not_found() {
    let setup = Setup::start(|_| {});
    let long = format!("coredump.1.{}", "a".repeat(5000));
    for key in [
        "..%2F..%2Fetc%2Fpasswd",
        "..%2F..%2Fcoredumps%2Fcoredump.1.0123456789abcdef.wasm.gz",
        "coredump.1.ZZ",
        "coredump.1.0123456789ABCDEF",
        "coredump.1.0123456789abcdef.wasm.gz",
        "coredump.1700000000000",
        "coredump.-1.0123456789abcdef",
        "coredump.1.0123456789abcdef%00",
        "%C3%A9",
        &long,
    ] {
        for suffix in ["", "/stack"] {
            let response = client()
                .get(setup.url(&format!("/coredumps/{key}{suffix}")))
                .send()
                .unwrap();
            let message = refused(response, 400, "invalid dump key");
            assert!(
                message.contains("coredump.<millis>.<16 hex digits>"),
                "{message}"
            );
            assert!(message.len() < 300, "the key is cut short: {message}");
        }
    }
    // Not UTF-8.
    for path in ["/coredumps/%FF", "/coredumps/%FF/stack"] {
        refused(client().get(setup.url(path)).send().unwrap(), 400, "");
    }
    // No such route, or not that method.
    refused(
        client().get(setup.url("/nothing-here")).send().unwrap(),
        404,
        "",
    );
    refused(
        client().delete(setup.url("/coredumps")).send().unwrap(),
        405,
        "",
    );
    // A cursor is a key too.
    refused(
        client()
            .get(setup.url("/coredumps?cursor=..%2F..%2Fx"))
            .send()
            .unwrap(),
        400,
        "invalid dump key",
    );
    let unknown = "coredump.1700000000000.0123456789abcdef";
    for suffix in ["", "/stack"] {
        let response = client()
            .get(setup.url(&format!("/coredumps/{unknown}{suffix}")))
            .send()
            .unwrap();
        refused(response, 404, &format!("no dump {unknown}"));
    }
    setup.assert_nothing_stored("reads of odd keys");
}

#[test]
fn odd_build_ids_are_refused_on_put_and_get() {
    let setup = Setup::start(|_| {});
    let built = common::build(
        Fixture::MyThing,
        Profile::Debug,
        &setup.dir.path().join("built"),
    );
    let debug_file = std::fs::read(&built.debug_file).unwrap();
    let upper = built.build_id.to_uppercase();
    let unhyphenated = built.build_id.replace('-', "");
    let file_name = format!("debug-{}.wasm", built.build_id);
    for id in [
        "..%2F..%2Fetc%2Fpasswd",
        "..%2Fdebuginfo%2Fx",
        upper.as_str(),
        unhyphenated.as_str(),
        file_name.as_str(),
        "abc",
        "%C3%A9",
    ] {
        let url = setup.url(&format!("/debuginfo/{id}"));
        let put = client().put(&url).body(debug_file.clone()).send().unwrap();
        refused(put, 400, "invalid build_id");
        let get = client().get(&url).send().unwrap();
        refused(get, 400, "invalid build_id");
    }
    refused(
        client()
            .put(setup.url("/debuginfo/%FF"))
            .body(debug_file.clone())
            .send()
            .unwrap(),
        400,
        "",
    );
    setup.assert_nothing_stored("odd build ids");
    let get = client()
        .get(setup.url(&format!("/debuginfo/{}", built.build_id)))
        .send()
        .unwrap();
    refused(get, 404, &format!("no {file_name}"));
}

#[test]
fn bad_debug_files_are_refused_with_the_reason() {
    let setup = Setup::start(|_| {});
    let dir = setup.dir.path();
    let debug = common::build(Fixture::MyThing, Profile::Debug, &dir.join("debug"));
    let release = common::build(Fixture::MyThing, Profile::Release, &dir.join("release"));
    assert_ne!(debug.build_id, release.build_id);
    let put = |id: &str, bytes: Vec<u8>| {
        client()
            .put(setup.url(&format!("/debuginfo/{id}")))
            .body(bytes)
            .send()
            .unwrap()
    };
    let name = format!("debug-{}.wasm", debug.build_id);

    refused(
        put(&debug.build_id, random_non_dump(4096)),
        400,
        &format!("{name} is not a Wasm module"),
    );
    refused(
        put(&debug.build_id, Vec::new()),
        400,
        &format!("{name} is not a Wasm module"),
    );
    // The stripped module: the right build_id, no DWARF.
    refused(
        put(&debug.build_id, std::fs::read(&debug.app).unwrap()),
        400,
        &format!("{name} has no DWARF"),
    );
    // The release debug file under the debug build's id.
    refused(
        put(&debug.build_id, std::fs::read(&release.debug_file).unwrap()),
        400,
        &format!(
            "{name} has build_id {}, not the {} of the URL",
            release.build_id, debug.build_id
        ),
    );
    // A module with DWARF and no build_id: the fixture as the compiler left it.
    let unsplit = std::fs::read(fixture(Fixture::MyThing, Profile::Debug)).unwrap();
    assert!(build_id_payload(&unsplit).is_none());
    refused(
        put(&debug.build_id, unsplit),
        400,
        &format!("{name} has no build_id section"),
    );
    // A body whose Content-Encoding does not decode.
    let mut corrupt = gzip(&std::fs::read(&debug.debug_file).unwrap());
    let middle = corrupt.len() / 2;
    corrupt[middle..].iter_mut().for_each(|b| *b = !*b);
    let response = client()
        .put(setup.url(&format!("/debuginfo/{}", debug.build_id)))
        .header(CONTENT_ENCODING, "gzip")
        .body(corrupt)
        .send()
        .unwrap();
    refused(response, 400, "");
    setup.assert_nothing_stored("refused debug files");
    // The right file, gzip-compressed on the way, is taken.
    let response = client()
        .put(setup.url(&format!("/debuginfo/{}", debug.build_id)))
        .header(CONTENT_ENCODING, "gzip")
        .body(gzip(&std::fs::read(&debug.debug_file).unwrap()))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().unwrap());
}

#[test]
fn a_different_debug_file_under_a_stored_id_is_a_conflict() {
    let setup = Setup::start(|_| {});
    let id = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
    let first = common::split_with_id(Profile::Debug, id, &setup.dir.path().join("debug"));
    let second = common::split_with_id(Profile::Release, id, &setup.dir.path().join("release"));
    let first_bytes = std::fs::read(&first.debug_file).unwrap();
    assert_ne!(first_bytes, std::fs::read(&second.debug_file).unwrap());

    let put = upload_debug_file(&setup.service.url, &first, None);
    assert_eq!(put.status(), 201, "{}", put.text().unwrap());
    let put: Value = upload_debug_file(&setup.service.url, &first, None)
        .json()
        .unwrap();
    assert_eq!(put["build_id"], id, "the same file again: {put}");
    refused(
        upload_debug_file(&setup.service.url, &second, None),
        409,
        &format!("a different debug-{id}.wasm is already stored"),
    );
    // The first file stays.
    let stored = client()
        .get(setup.url(&format!("/debuginfo/{id}")))
        .send()
        .unwrap();
    assert_eq!(stored.status(), 200);
    assert_eq!(stored.bytes().unwrap().as_ref(), &first_bytes[..]);
    let files = files_under(&setup.store);
    assert_eq!(files.len(), 1, "{files:#?}");
    assert_eq!(
        std::fs::read(setup.store.join(&files[0])).unwrap(),
        first_bytes
    );
}

/// Sends `request` with the bearer token `token`, if any.
fn with_token(request: RequestBuilder, token: Option<&str>) -> Response {
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
    .send()
    .unwrap()
}

#[test]
fn tokens_guard_ingest_and_read() {
    let setup = Setup::start(|c| {
        c.tokens = Tokens {
            ingest: Some("in".into()),
            read: Some("rd".into()),
        };
    });
    let (built, core) = mything_dump(&setup.dir.path().join("built"));
    let module = std::fs::read(&built.app).unwrap();
    let build_id = build_id_payload(&module).unwrap();
    let form = || {
        dump_form(
            &core,
            &[FormPart {
                name: "build_id-section",
                file_name: Some("build_id"),
                bytes: &build_id,
            }],
        )
    };
    let debug_url = setup.url(&format!("/debuginfo/{}", built.build_id));
    let debug_file = std::fs::read(&built.debug_file).unwrap();
    let not_ingest = [
        None,
        Some("rd"),
        Some("wrong"),
        Some("inx"),
        Some("i"),
        Some(""),
    ];
    let not_read = [None, Some("in"), Some("wrong"), Some("rdx"), Some("")];

    // Writes without the ingest token.
    for token in not_ingest {
        let (content_type, body) = form();
        let post = client()
            .post(setup.url("/"))
            .header(CONTENT_TYPE, content_type)
            .body(body);
        refused(
            with_token(post, token),
            401,
            "missing or wrong bearer token",
        );
        let put = client().put(&debug_url).body(debug_file.clone());
        refused(with_token(put, token), 401, "missing or wrong bearer token");
    }
    // Not `Bearer`.
    let put = client()
        .put(&debug_url)
        .basic_auth("in", Some("in"))
        .body(debug_file.clone());
    refused(put.send().unwrap(), 401, "missing or wrong bearer token");
    setup.assert_nothing_stored("writes without the ingest token");

    // With it.
    let put = with_token(
        client().put(&debug_url).body(debug_file.clone()),
        Some("in"),
    );
    assert_eq!(put.status(), 201, "{}", put.text().unwrap());
    let (content_type, body) = form();
    let post = client()
        .post(setup.url("/"))
        .header(CONTENT_TYPE, content_type)
        .body(body);
    let answer: Value = with_token(post, Some("in")).json().unwrap();
    let key = answer["key"].as_str().unwrap().to_string();
    assert_eq!(answer["symbolized"], true, "{answer}");

    // Reads without the read token.
    let reads = [
        debug_url.clone(),
        setup.url("/coredumps"),
        setup.url(&format!("/coredumps/{key}")),
        setup.url(&format!("/coredumps/{key}/stack")),
        setup.url("/groups"),
    ];
    for url in &reads {
        for token in not_read {
            refused(
                with_token(client().get(url), token),
                401,
                "missing or wrong bearer token",
            );
        }
    }
    // The token is checked before the name: an odd one is still a 401.
    refused(
        client()
            .get(setup.url("/coredumps/..%2F..%2Fetc%2Fpasswd"))
            .send()
            .unwrap(),
        401,
        "missing or wrong bearer token",
    );

    // With it.
    for url in &reads {
        let response = with_token(client().get(url), Some("rd"));
        assert_eq!(
            response.status(),
            200,
            "{url}: {}",
            response.text().unwrap()
        );
    }
    let dump = with_token(
        client().get(setup.url(&format!("/coredumps/{key}"))),
        Some("rd"),
    );
    assert_eq!(dump.bytes().unwrap().as_ref(), &core[..]);
    let stored = with_token(client().get(&debug_url), Some("rd"));
    assert_eq!(stored.bytes().unwrap().as_ref(), &debug_file[..]);

    // Health and metrics stay open.
    for path in ["/healthz", "/metrics"] {
        let response = client().get(setup.url(path)).send().unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let metrics = client()
        .get(setup.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(metrics.contains("401"), "refusals are counted: {metrics}");
}

#[test]
fn compressed_bodies_and_parts_are_taken_and_read_back_plain() {
    let setup = Setup::start(|_| {});
    let (built, core) = mything_dump(&setup.dir.path().join("built"));
    let put = upload_debug_file(&setup.service.url, &built, None);
    assert_eq!(put.status(), 201, "{}", put.text().unwrap());
    let module = std::fs::read(&built.app).unwrap();
    let build_id = build_id_payload(&module).unwrap();
    let form = |dump: &[u8]| {
        dump_form(
            dump,
            &[FormPart {
                name: "build_id-section",
                file_name: Some("build_id"),
                bytes: &build_id,
            }],
        )
    };
    let zstd = |bytes: &[u8]| zstd::encode_all(bytes, 3).unwrap();

    let mut sent = Vec::new();
    // The whole body gzip- or zstd-compressed (Content-Encoding), the dump plain inside.
    for (encoding, compress) in [
        ("gzip", &gzip as &dyn Fn(&[u8]) -> Vec<u8>),
        ("zstd", &zstd),
    ] {
        let (content_type, body) = form(&core);
        let response = client()
            .post(setup.url("/"))
            .header(CONTENT_TYPE, content_type)
            .header(CONTENT_ENCODING, encoding)
            .body(compress(&body))
            .send()
            .unwrap();
        sent.push((format!("a {encoding} body"), response, "plain"));
    }
    // The coredump part gzip- or zstd-compressed.
    for (encoding, part) in [("gzip", gzip(&core)), ("zstd", zstd(&core))] {
        assert_ne!(part, core);
        let (content_type, body) = form(&part);
        sent.push((
            format!("a {encoding} coredump part"),
            setup.post_form(&content_type, body),
            encoding,
        ));
    }
    for (what, response, encoding) in sent {
        let status = response.status();
        let text = response.text().unwrap();
        assert_eq!(status, 200, "{what}: {text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["symbolized"], true, "{what}: {answer}");
        let key = answer["key"].as_str().unwrap();
        let stored = client()
            .get(setup.url(&format!("/coredumps/{key}")))
            .send()
            .unwrap();
        assert_eq!(stored.status(), 200, "{what}");
        assert_eq!(stored.bytes().unwrap().as_ref(), &core[..], "{what}");
        // Stored as gzip of the dump, whatever came.
        let stored_file = setup.store.join("coredumps").join(format!("{key}.wasm.gz"));
        assert_eq!(gunzip(&std::fs::read(stored_file).unwrap()), core, "{what}");
        let list: Value = get_json(&setup.url("/coredumps"));
        let record = list["coredumps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == key)
            .unwrap_or_else(|| panic!("{what}: {key} is not listed: {list:#}"));
        assert_eq!(record["encoding"], encoding, "{what}: {record}");
        assert_eq!(record["size"], core.len() as u64, "{what}: {record}");
    }
}

#[test]
fn a_large_upload_refused_early_still_gets_the_answer() {
    // Refused on its first bytes (a token, a magic number) while the client still sends
    // megabytes: unless the service reads the rest, the client sees a broken pipe, not why.
    let setup = Setup::start(|c| {
        c.tokens = Tokens {
            ingest: Some("in".into()),
            read: None,
        };
        c.max_body = 24 << 20;
    });
    let junk = random_non_dump(16 << 20);
    let send = |request: RequestBuilder, what: &str, round: usize| {
        request
            .body(junk.clone())
            .send()
            .unwrap_or_else(|e| panic!("round {round}: no answer to {what}: {e:?}"))
    };
    for round in 0..3 {
        // Refused before a handler reads: no such route, a path that is not UTF-8, not a form.
        let response = send(client().post(setup.url("/upload")), "a wrong route", round);
        refused(response, 404, "not found");
        let response = send(
            client().put(setup.url("/")).bearer_auth("in"),
            "a wrong method",
            round,
        );
        refused(response, 405, "method not allowed");
        let response = send(
            client().put(setup.url("/debuginfo/%FF")).bearer_auth("in"),
            "a path that is not UTF-8",
            round,
        );
        refused(response, 400, "Invalid URL");
        let response = send(
            client()
                .post(setup.url("/"))
                .bearer_auth("in")
                .header(CONTENT_TYPE, "application/octet-stream"),
            "a body that is not a form",
            round,
        );
        refused(response, 400, "");
        // Over the body limit by 8 MiB: read on, and answered.
        let big = random_non_dump(32 << 20);
        let response = client()
            .put(setup.url("/debuginfo/72042600-cea8-475f-b28f-7824d5a0ff14"))
            .bearer_auth("in")
            .body(big)
            .send()
            .unwrap_or_else(|e| panic!("round {round}: no answer to a body over the limit: {e:?}"));
        refused(response, 413, "length limit exceeded");
    }
    for round in 0..5 {
        let put = client()
            .put(setup.url("/debuginfo/72042600-cea8-475f-b28f-7824d5a0ff14"))
            .body(junk.clone())
            .send()
            .unwrap_or_else(|e| panic!("round {round}: no answer to a PUT without token: {e:?}"));
        refused(put, 401, "missing or wrong bearer token");
        let (content_type, body) = dump_form(&junk, &[]);
        let post = client()
            .post(setup.url("/"))
            .header(CONTENT_TYPE, &content_type)
            .body(body.clone())
            .send()
            .unwrap_or_else(|e| panic!("round {round}: no answer to a POST without token: {e:?}"));
        refused(post, 401, "missing or wrong bearer token");
        let post = client()
            .post(setup.url("/"))
            .header(CONTENT_TYPE, &content_type)
            .bearer_auth("in")
            .body(body)
            .send()
            .unwrap_or_else(|e| panic!("round {round}: no answer to a junk dump: {e:?}"));
        refused(
            post,
            400,
            "not a Wasm core dump: it starts with 52 4e 44 21",
        );
    }
    setup.assert_nothing_stored("large refused uploads");
}
