//! Forwarding crashes to Sentry: [`envelope`] turns a symbolized dump into a Sentry envelope (a
//! fatal event, plus the dump as an attachment when it is small enough), and [`SentrySender`]
//! posts it and says whether Sentry took it.
//!
//! The event carries both what Sentry shows (function, file, line, in-app) and the native form
//! that lets Sentry symbolicate server-side from a debug file uploaded with sentry-cli: each
//! frame's `instruction_addr` is its offset in the module file, `addr_mode` is `rel:0`, and
//! `debug_meta.images[0]` is the module's `wasm` image with Sentry's own `code_id` and
//! `debug_id` ([`debuginfo::wasm_layout::SentryIds`]).
//!
//! # Why not the `sentry` crate's client and transport
//!
//! The `sentry` crate supplies the protocol here (events, envelopes, the DSN, the
//! `X-Sentry-Auth` header, the rate limiter), but not the sending. Its `Client` hands envelopes
//! to a background transport thread that drops what fails and never tells the caller (and a
//! `Client::from_config` without a transport sends nothing at all). A crash collector has to
//! know whether each event arrived: a dump whose event did not arrive stays pending in the store
//! and is sent again later, even after a restart. So [`SentrySender::send`] posts one envelope
//! with reqwest and answers a [`SendOutcome`]: sent, retry later (with how long Sentry asked to
//! wait), or rejected for good. Resending is safe: the event id derives from the dump key, and
//! Sentry drops an event whose id it has already seen.

mod event;
mod send;

pub use event::{DumpAttachment, EventInput, MAX_ATTACHMENT, MAX_EVENT, envelope};
pub use send::{DEFAULT_TIMEOUT, MAX_REQUEST, SendOutcome, SenderError, SentrySender};
