//! A stand-in for coredump-service in the tests of its clients (wasmgdb, debuginfo-split,
//! coredump-service-client): a minimal HTTP/1.1 server on 127.0.0.1 that takes one connection
//! at a time, records each request, answers it with a closure, and closes the connection.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//!
//! use wasm_coredump_tests::http_stub::{Server, json_error};
//!
//! let server = Server::start(|request| match request.path.as_str() {
//!     "/coredumps/k1" => (200, "application/octet-stream", b"dump".to_vec()),
//!     _ => json_error(404, "no such core dump"),
//! });
//! // A client under test would be given `server.url()`.
//! let mut stream = TcpStream::connect(server.url().trim_start_matches("http://")).unwrap();
//! stream.write_all(b"GET /coredumps/k2 HTTP/1.1\r\nAuthorization: Bearer t\r\n\r\n").unwrap();
//! let mut answer = String::new();
//! stream.read_to_string(&mut answer).unwrap();
//! assert!(answer.starts_with("HTTP/1.1 404 "));
//! assert!(answer.ends_with(r#"{"error": "no such core dump"}"#));
//! let requests = server.requests();
//! assert_eq!(requests[0].path, "/coredumps/k2");
//! assert_eq!(requests[0].header("authorization"), Some("Bearer t"));
//! ```

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// A request as received.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `PUT`, ...
    pub method: String,
    /// The request target: path and query, as sent.
    pub path: String,
    /// The headers in order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes).
    pub body: Vec<u8>,
}

impl Request {
    /// The value of header `name` (lowercase), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An answer: status, content type, body.
pub type Response = (u16, &'static str, Vec<u8>);

type Respond = Box<dyn Fn(&Request) -> Response + Send>;

/// The server: listens from [`Server::start`] until dropped.
pub struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens on a free port of 127.0.0.1, answering each request with `respond`.
    pub fn start(respond: impl Fn(&Request) -> Response + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let respond: Respond = Box::new(respond);
        let thread = {
            let (requests, stop) = (requests.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        serve(stream, &respond, &requests);
                    }
                }
            })
        };
        Server {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests answered so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, which then sees `stop`.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request from `stream`, records it, and writes `respond`'s answer.
fn serve(stream: TcpStream, respond: &Respond, requests: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let request = Request {
        method,
        path,
        headers,
        body: Vec::new(),
    };
    let len = request
        .header("content-length")
        .map_or(0, |v| v.parse::<usize>().unwrap());
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request = Request { body, ..request };
    let (status, content_type, body) = respond(&request);
    requests.lock().unwrap().push(request);
    let mut stream = reader.into_inner();
    let head = format!(
        "HTTP/1.1 {status} Status\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

/// A JSON error body as the service sends it: `{"error": "MESSAGE"}` with `status`.
pub fn json_error(status: u16, message: &str) -> Response {
    let body = format!("{{\"error\": {message:?}}}");
    (status, "application/json", body.into_bytes())
}

/// A URL nothing listens at: a port of 127.0.0.1 just freed.
pub fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// Removes from `cmd`'s environment what would change how a client binary talks to the stub:
/// the service token (`COREDUMP_SERVICE_TOKEN`) and the proxy variables.
pub fn clear_client_env(cmd: &mut Command) -> &mut Command {
    for var in [
        "COREDUMP_SERVICE_TOKEN",
        "http_proxy",
        "HTTP_PROXY",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd
}
