//! coredump-service's `POST /` (the multipart form: `coredump`, `request`, `build_id-section`,
//! `<name>-section` parts) through the whole router, as a host's request reaches it: header
//! lines (`Content-Type` with its boundary, `Content-Encoding`, ...) up to an empty line, then
//! the body, fed in pieces of (first byte + 1)² bytes (1 to 64 KiB, small ones rarer: each
//! piece costs a trip through the router's layers). Each input gets a fresh service over a
//! `memory://` store. Any request is answered, never a panic: a refusal is a 4xx with a JSON
//! `{"error": ...}` body, and no request is a server error.
#![no_main]

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request};
use bytes::Bytes;
use coredump_service::http::{AppState, Tokens};
use coredump_service::{Limits, Metrics, Service, Store, http};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;
use wasm_coredump_fuzz as _;

/// The most bytes a request may send.
const MAX_BODY: usize = 1 << 20;

/// Limits well under the defaults, so a compressed dump cannot take seconds or gigabytes to
/// read; a small upload buffer, so dumps past it go through the store's multipart upload too.
fn limits() -> Limits {
    Limits {
        max_dump: 1 << 24,
        condense: 1 << 20,
        upload_buffer: 1 << 12,
    }
}

/// A router over a fresh service and an empty memory store, no tokens required.
fn router() -> axum::Router {
    let store = Store::open("memory://").unwrap();
    let service = Service::new(store, limits(), Arc::new(Metrics::default()), None);
    let state = AppState {
        service: Arc::new(service),
        tokens: Tokens::default(),
        ingest_slots: tokio::sync::Semaphore::new(1),
    };
    http::router(Arc::new(state), MAX_BODY)
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
}

fuzz_target!(|data: &[u8]| {
    let Some((&piece, rest)) = data.split_first() else {
        return;
    };
    let Some(end) = rest.windows(2).position(|w| w == b"\n\n") else {
        return;
    };
    let (head, body) = (&rest[..end], &rest[end + 2..]);
    let mut request = Request::post("/");
    for line in head.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return;
        };
        let name = HeaderName::from_bytes(line[..colon].trim_ascii());
        let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii());
        let (Ok(name), Ok(value)) = (name, value) else {
            return;
        };
        request = request.header(name, value);
    }
    let chunks: Vec<Result<Bytes, Infallible>> = body
        .chunks((usize::from(piece) + 1).pow(2))
        .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
        .collect();
    let request = request
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap();
    RUNTIME.with(|runtime| {
        runtime.block_on(async {
            let response = router().oneshot(request).await.unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            let text = String::from_utf8_lossy(&body);
            assert!(!status.is_server_error(), "{status}: {text}");
            if !status.is_success() {
                let answer: serde_json::Value = serde_json::from_slice(&body)
                    .unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"));
                assert!(answer["error"].is_string(), "{status}: {text}");
            }
        });
    });
});
