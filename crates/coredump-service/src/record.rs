//! What the service keeps about each dump besides the dump itself: its record (listed by
//! `GET /coredumps`) and its group (listed by `GET /groups`).

use serde::{Deserialize, Serialize};

use crate::intake::Encoding;

/// A stored dump's record, written once when the dump is received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DumpRecord {
    /// The dump's key.
    pub key: String,
    /// When it was received, Unix milliseconds.
    pub time: u64,
    /// Its size decompressed, in bytes.
    pub size: u64,
    /// Its size as stored (gzip), in bytes.
    pub stored_size: u64,
    /// How it came over the wire.
    pub encoding: Encoding,
    /// The build_id of the module that crashed, as debug files are named.
    pub build_id: Option<String>,
    /// The raw `build_id` payload, hex (Sentry's ids derive from it).
    pub build_id_payload: Option<String>,
    /// The module's name, from the dump.
    pub module_name: Option<String>,
    /// The crash reason in one line.
    pub crash: String,
    /// The top in-app frame, `function (file:line)`.
    pub top_frame: Option<String>,
    /// The request that crashed, as the host sent it (`{method, url, headers}`).
    pub request: Option<serde_json::Value>,
    /// The URL of the request that crashed.
    pub request_url: Option<String>,
    /// The group's fingerprint, as symbolized at intake.
    pub group: String,
    /// Whether a debug file was found at intake.
    pub symbolized: bool,
    /// The debug sections that came with the dump (older hosts, modules without build_id):
    /// stored beside it.
    pub sections: Vec<String>,
}

/// A group's member marker: enough to list a group without reading records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupMember {
    /// The dump's key.
    pub key: String,
    /// When it was received, Unix milliseconds.
    pub time: u64,
    /// The crash reason in one line.
    pub crash: String,
    /// The top in-app frame.
    pub top_frame: Option<String>,
}

/// A group, as `GET /groups` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    /// The fingerprint.
    pub group: String,
    /// How many dumps it has.
    pub count: u64,
    /// The oldest dump's time, Unix milliseconds.
    pub first_seen: u64,
    /// The newest dump's time.
    pub last_seen: u64,
    /// The newest dump's key.
    pub last_key: String,
    /// The newest dump's crash reason.
    pub crash: String,
    /// The newest dump's top in-app frame.
    pub top_frame: Option<String>,
}
