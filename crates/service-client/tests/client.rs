//! The client against a stand-in for coredump-service on 127.0.0.1 that records each request.

use std::io::Write as _;

use coredump_service_client::{Client, Error, debuginfo_url};
use wasm_coredump_tests::http_stub::{Server, json_error, refused_url};

/// A temporary file holding `bytes`, opened for reading.
fn file_with(bytes: &[u8]) -> std::fs::File {
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(bytes).unwrap();
    std::io::Seek::rewind(&mut file).unwrap();
    file
}

#[test]
fn get_sends_the_token_and_gives_the_body() {
    let server = Server::start(|_| (200, "application/wasm", b"\0asm dump".to_vec()));
    let client = Client::new("test/1", Some("s3cret"));
    let url = format!("{}/coredumps/k1", server.url());
    assert_eq!(client.get(&url).unwrap(), b"\0asm dump");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/coredumps/k1");
    assert_eq!(requests[0].header("authorization"), Some("Bearer s3cret"));
    assert_eq!(requests[0].header("user-agent"), Some("test/1"));
}

/// No token, or an empty one: no Authorization header.
#[test]
fn no_token_no_authorization_header() {
    let server = Server::start(|_| (200, "application/wasm", Vec::new()));
    for token in [None, Some("")] {
        Client::new("test/1", token).get(&server.url()).unwrap();
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.header("authorization").is_none()));
}

#[test]
fn a_refusal_says_the_status_and_the_service_error() {
    let server = Server::start(|r| match r.method.as_str() {
        "GET" => json_error(404, "no such core dump"),
        _ => json_error(409, "a different debug file is stored under this build_id"),
    });
    let client = Client::new("test/1", None);
    let err = client.get(&server.url()).unwrap_err();
    assert!(matches!(err, Error::Status { status: 404, .. }), "{err:?}");
    assert_eq!(err.to_string(), "404 Not Found: no such core dump");

    let url = debuginfo_url(&server.url(), "abab");
    let err = client.put_wasm(&url, file_with(b"\0asm")).unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert_eq!(
        err.to_string(),
        "409 Conflict: a different debug file is stored under this build_id"
    );
}

#[test]
fn put_wasm_sends_the_file_with_its_length() {
    let server = Server::start(|r| {
        let status = if r.path.ends_with("/new") { 201 } else { 200 };
        (status, "application/json", b"{}".to_vec())
    });
    let client = Client::new("test/1", Some("t"));
    let body = b"\0asm\x01\0\0\0 debug file".to_vec();
    let base = format!("{}/", server.url());
    assert_eq!(
        client
            .put_wasm(&debuginfo_url(&base, "new"), file_with(&body))
            .unwrap(),
        201
    );
    assert_eq!(
        client
            .put_wasm(&debuginfo_url(&base, "old"), file_with(&body))
            .unwrap(),
        200
    );
    let put = &server.requests()[0];
    assert_eq!(put.method, "PUT");
    assert_eq!(put.path, "/debuginfo/new");
    assert_eq!(put.header("content-type"), Some("application/wasm"));
    assert_eq!(put.header("content-length"), Some(&*body.len().to_string()));
    assert_eq!(put.header("authorization"), Some("Bearer t"));
    assert_eq!(put.body, body);
}

#[test]
fn nothing_listening_is_a_network_error() {
    let err = Client::new("test/1", None).get(&refused_url()).unwrap_err();
    assert!(matches!(err, Error::Network(_)), "{err:?}");
    assert_eq!(err.status(), None);
    assert!(err.to_string().to_lowercase().contains("refused"), "{err}");
}
