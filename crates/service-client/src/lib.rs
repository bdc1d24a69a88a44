//! The client side of coredump-service's HTTP API, as wasmgdb and debuginfo-split speak it.
//!
//! The main type is [`Client`]: a blocking HTTP client that sends the bearer token (if any) to
//! every request, reads a success's body whole, and turns any other answer into an [`Error`]
//! that says it in one line: the status and the service's own `{"error": "..."}` text
//! (`404 Not Found: no such core dump`), or the network error. Around it: [`parse_base_url`]
//! checks a service URL given on the command line, [`debuginfo_url`] builds a debug file's URL
//! from it, and [`TokenArg`] is the `--token` option (`COREDUMP_SERVICE_TOKEN`)
//! both commands flatten into theirs.
//!
//! ```
//! use coredump_service_client::{debuginfo_url, parse_base_url};
//!
//! // A trailing slash on the base URL is tolerated.
//! let base = parse_base_url("http://127.0.0.1:8080/").unwrap();
//! assert_eq!(debuginfo_url(&base, "abab"), "http://127.0.0.1:8080/debuginfo/abab");
//! assert!(parse_base_url("ftp://symbols.example.com").is_err());
//! ```
//!
//! Fetching, which needs a service:
//!
//! ```no_run
//! use coredump_service_client::{Client, Error};
//!
//! let client = Client::new("example/1.0", Some("s3cret"));
//! match client.get("http://127.0.0.1:8080/coredumps/KEY") {
//!     Ok(dump) => println!("{} bytes", dump.len()),
//!     Err(Error::Status { status: 404, .. }) => println!("no such dump"),
//!     Err(err) => eprintln!("error: {err}"),
//! }
//! ```

#![deny(missing_docs)]

mod client;
mod token;
mod url;

pub use client::{Client, Error, status_line};
pub use token::TokenArg;
pub use url::{debuginfo_url, parse_base_url};
