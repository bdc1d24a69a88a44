//! The HTTP front end: an axum router over [`Service`]. Handlers only translate between HTTP
//! and the service's operations; [`ApiError`] maps every failure to its status and a JSON body.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use futures::StreamExt;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::error::ServiceError;
use crate::metrics::RequestLabels;
use crate::service::{Service, Submission};
use crate::symbolize::{SECTION_PARTS, Stored};

/// The largest `request` part kept.
const MAX_REQUEST_PART: usize = 64 << 10;
/// The largest `build_id-section` part.
const MAX_BUILD_ID_PART: usize = 1 << 10;

/// Who may do what: bearer tokens for writing (dumps, debug files) and for reading.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    /// Needed to post dumps and upload debug files; `None`: anyone may.
    pub ingest: Option<String>,
    /// Needed to read dumps, stacks, lists and debug files; `None`: anyone may.
    pub read: Option<String>,
}

/// What the handlers share.
#[derive(Debug)]
pub struct AppState {
    /// The service.
    pub service: Arc<Service>,
    /// The tokens.
    pub tokens: Tokens,
    /// Bounds the requests that receive a body at once.
    pub ingest_slots: Semaphore,
}

/// A failed request: its status and why, answered as `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let status = match &e {
            ServiceError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::Conflict(_) => StatusCode::CONFLICT,
            ServiceError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ServiceError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!("{e}");
        }
        ApiError::new(status, e.to_string())
    }
}

impl From<axum::extract::multipart::MultipartError> for ApiError {
    fn from(e: axum::extract::multipart::MultipartError) -> Self {
        ApiError::new(
            multipart_status(&e),
            format!("malformed multipart body: {}", multipart_text(&e)),
        )
    }
}

/// The status of a form that cannot be read: 413 over the body limit, else 400. axum answers
/// 500 when the body itself fails, but a request body fails only by the client's doing (it
/// breaks off, or its Content-Encoding does not decode).
fn multipart_status(e: &axum::extract::multipart::MultipartError) -> StatusCode {
    match e.status() {
        status if status.is_server_error() => StatusCode::BAD_REQUEST,
        status => status,
    }
}

/// What went wrong with a form: axum's text, and the first cause when it only says that the
/// body failed ("failed to read stream": a Content-Encoding that does not decode, a client
/// that went away).
fn multipart_text(e: &axum::extract::multipart::MultipartError) -> String {
    let text = e.body_text();
    let mut cause = std::error::Error::source(e);
    let mut innermost = None;
    while let Some(c) = cause {
        innermost = Some(c.to_string());
        cause = c.source();
    }
    match innermost {
        Some(innermost)
            if multipart_status(e) == StatusCode::BAD_REQUEST && !text.contains(&innermost) =>
        {
            format!("{text}: {innermost}")
        }
        _ => text,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "error": self.message }));
        (self.status, body).into_response()
    }
}

/// The service's routes, with `max_body` bytes the most a request may send.
pub fn router(state: Arc<AppState>, max_body: usize) -> Router {
    let ingest = Router::new()
        .route("/", post(post_dump))
        .route("/debuginfo/{id}", axum::routing::put(put_debug_file))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_ingest,
        ));
    let read = Router::new()
        .route("/debuginfo/{id}", get(get_debug_file))
        .route("/coredumps", get(list_dumps))
        .route("/coredumps/{key}", get(get_dump))
        .route("/coredumps/{key}/stack", get(get_stack))
        .route("/groups", get(list_groups))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_read));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .merge(ingest)
        .merge(read)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(tower_http::decompression::RequestDecompressionLayer::new())
        .layer(middleware::map_response(json_errors))
        .layer(middleware::from_fn_with_state(max_body, read_on))
        .with_state(state)
}

/// How long the rest of a refused upload is read, at most.
const READ_ON_TIME: std::time::Duration = std::time::Duration::from_secs(30);

/// Reads a request's body to its end (at most `max_body` more bytes, for at most
/// [`READ_ON_TIME`]) when what answered it stopped reading: an upload refused on its first
/// bytes (a token, a route, a magic number) is answered while the client still sends it, and
/// a connection closed on unread data reaches the client as a reset (a broken pipe), not as
/// the answer that says why.
async fn read_on(State(max_body): State<usize>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        let mut chunks = body.into_data_stream();
        // Passed on while the handler reads.
        loop {
            let chunk = tokio::select! {
                chunk = chunks.next() => chunk,
                () = tx.closed() => break,
            };
            let Some(chunk) = chunk else {
                return;
            };
            if tx.send(chunk).await.is_err() {
                break;
            }
        }
        // Then read and dropped.
        let mut read = 0usize;
        let _ = tokio::time::timeout(READ_ON_TIME, async {
            while let Some(Ok(chunk)) = chunks.next().await {
                read = read.saturating_add(chunk.len());
                if read > max_body {
                    break;
                }
            }
        })
        .await;
    });
    let passed = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    next.run(Request::from_parts(parts, Body::from_stream(passed)))
        .await
}

/// Gives the refusals that do not come from a handler the same `{"error": "..."}` body: axum's
/// own (no such route, a path, query or body it cannot extract: plain text) and the
/// decompression layer's (415, empty).
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 << 10)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("refused")
            .to_lowercase()
    } else {
        text
    };
    let mut answer = ApiError::new(status, message).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().append(name, value.clone());
        }
    }
    answer
}

/// Logs and measures each request.
async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = request.method().to_string();
    let span = tracing::info_span!("request", %method, path = %request.uri().path());
    let response = {
        let _enter = span.enter();
        next.run(request).await
    };
    let status = response.status().as_u16();
    let seconds = start.elapsed().as_secs_f64();
    tracing::info!(parent: &span, status, seconds, "answered");
    state.service.metrics().request(
        RequestLabels {
            route,
            method,
            status,
        },
        seconds,
    );
    response
}

async fn require_ingest(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    check_token(request.headers(), state.tokens.ingest.as_deref())?;
    Ok(next.run(request).await)
}

async fn require_read(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    check_token(request.headers(), state.tokens.read.as_deref())?;
    Ok(next.run(request).await)
}

/// Checks the bearer token in constant time.
fn check_token(headers: &HeaderMap, expected: Option<&str>) -> Result<(), ApiError> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token",
        ))
    }
}

/// `POST /`: the older hosts' multipart form (see DESIGN §4).
async fn post_dump(
    State(state): State<Arc<AppState>>,
    mut form: Multipart,
) -> Result<Json<crate::service::Ingested>, ApiError> {
    let _slot = state
        .ingest_slots
        .acquire()
        .await
        .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
    let service = &state.service;
    let mut received = None;
    let mut submission = Submission::default();
    let result: Result<(), ApiError> = async {
        while let Some(mut field) = form.next_field().await? {
            let name = field.name().unwrap_or_default().to_string();
            match name.as_str() {
                "coredump" => {
                    if received.is_some() {
                        return Err(ApiError::new(
                            StatusCode::BAD_REQUEST,
                            "more than one coredump part",
                        ));
                    }
                    // A form that breaks off inside the dump keeps its status (413 over the
                    // body limit), which `receive` cannot tell from its error text.
                    let mut broken = None;
                    let chunks = (&mut field).inspect(|chunk| {
                        if let Err(e) = chunk {
                            broken = Some(ApiError::new(
                                multipart_status(e),
                                format!("the coredump part breaks off: {}", multipart_text(e)),
                            ));
                        }
                    });
                    let dump = service.receive(chunks).await;
                    received = Some(match (dump, broken) {
                        (Ok(dump), _) => dump,
                        (Err(_), Some(broken)) => return Err(broken),
                        (Err(e), None) => return Err(e.into()),
                    });
                }
                "request" => {
                    let text = read_part(field, MAX_REQUEST_PART, &name).await?;
                    let value = serde_json::from_slice(&text).map_err(|e| {
                        ApiError::new(
                            StatusCode::BAD_REQUEST,
                            format!("the request part is not JSON: {e}"),
                        )
                    })?;
                    submission.request = Some(value);
                }
                "build_id-section" => {
                    submission
                        .build_ids
                        .push(read_part(field, MAX_BUILD_ID_PART, &name).await?);
                }
                other => {
                    let section = other.strip_suffix("-section");
                    match section.filter(|s| SECTION_PARTS.contains(s)) {
                        Some(section) => {
                            let bytes = read_part(field, usize::MAX, &name).await?;
                            submission.sections.push((section.to_string(), bytes));
                        }
                        // Parts of later clients are skipped, not refused.
                        None => while field.chunk().await?.is_some() {},
                    }
                }
            }
        }
        Ok(())
    }
    .await;
    let received = match (result, received) {
        (Ok(()), Some(received)) => received,
        (Ok(()), None) => {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "no coredump part"));
        }
        (Err(e), received) => {
            if let Some(received) = received {
                service.discard(received).await;
            }
            return Err(e);
        }
    };
    Ok(Json(service.commit(received, submission).await?))
}

/// A small part, whole; refused over `limit` bytes.
async fn read_part(
    mut field: axum::extract::multipart::Field<'_>,
    limit: usize,
    name: &str,
) -> Result<Bytes, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the {name} part is over {limit} bytes"),
            ));
        }
    }
    Ok(bytes.into())
}

async fn put_debug_file(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let _slot = state
        .ingest_slots
        .acquire()
        .await
        .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
    let stored = state.service.put_debug_file(&id, body).await?;
    let status = match stored {
        Stored::Created => StatusCode::CREATED,
        Stored::Unchanged => StatusCode::OK,
    };
    Ok((status, Json(serde_json::json!({ "build_id": id }))))
}

async fn get_debug_file(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let bytes = state.service.debug_file(&id).await?;
    Ok(([(header::CONTENT_TYPE, "application/wasm")], bytes).into_response())
}

/// `GET /coredumps` query: `cursor` (the last key of the previous page) and `limit`.
#[derive(Debug, serde::Deserialize)]
struct ListQuery {
    cursor: Option<String>,
    limit: Option<usize>,
}

async fn list_dumps(
    State(state): State<Arc<AppState>>,
    Query(query): Query<ListQuery>,
) -> Result<Json<crate::service::DumpPage>, ApiError> {
    let limit = query.limit.unwrap_or(50).clamp(1, 1000);
    Ok(Json(
        state.service.list(query.cursor.as_deref(), limit).await?,
    ))
}

async fn get_dump(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let stream = state.service.dump(&key).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/wasm")],
        Body::from_stream(stream),
    )
        .into_response())
}

async fn get_stack(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
) -> Result<Json<crate::stack::Stack>, ApiError> {
    Ok(Json(state.service.stack(&key).await?))
}

async fn list_groups(
    State(state): State<Arc<AppState>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let groups = state.service.groups().await?;
    Ok(Json(serde_json::json!({ "groups": groups })))
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.service.metrics().render(),
    )
        .into_response()
}
