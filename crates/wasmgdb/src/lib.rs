//! wasmgdb: a gdb-like post-mortem debugger for WebAssembly core dumps.
//!
//! [`Session`] is the main type: a module's debug info ([`debuginfo::DebugInfo`]) and a core
//! dump ([`coredump::CoreDump`]) loaded together, with the stack symbolized (inlined frames
//! included) and a selected frame. Commands are parsed by [`command::parse`] into a
//! [`Command`] and run with [`Session::execute`] (or both at once with [`Session::run_line`]);
//! each returns a [`Reply`] holding gdb's text and a JSON form. The `wasmgdb` binary adds the
//! REPL and batch mode ([`driver`]).
//!
//! Dumps come from `wasm-coredump-rewriter`'s runtime (real locals; given the pre-rewrite
//! module, the dump's original code offsets are used), or from Wasmtime (no locals: values
//! show as `<unavailable>`).
//!
//! ```
//! use coredump::{CoreDump, Frame, Thread};
//! use debuginfo::{DebugInfo, Module};
//! use wasmgdb::{LoadOptions, Outcome, Session};
//!
//! let wasm = wat::parse_str(r#"(module (func $crash unreachable))"#)?;
//! let mut dump = CoreDump::new("app.wasm");
//! dump.add_thread(Thread {
//!     name: "main".into(),
//!     frames: vec![Frame { instance: 0, func: 0, code_offset: 1, locals: vec![], stack: vec![] }],
//! });
//! let info = DebugInfo::new(Module::parse(wasm)?)?;
//! let mut session = Session::new("app.wasm".as_ref(), dump, info, &LoadOptions::default())?;
//! let Outcome::Reply(reply) = session.run_line("bt")? else { unreachable!() };
//! assert!(reply.text.starts_with("#0  0x"));
//! assert!(reply.text.contains(" in crash ()"));
//! let err = session.run_line("frame 9").unwrap_err();
//! assert_eq!(err.to_string(), "No frame at level 9.");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod backtrace;
pub mod command;
mod disasm;
pub mod driver;
mod error;
mod exec;
pub mod expr;
mod help;
mod info;
mod memory;
mod print;
mod ptype;
mod script;
mod session;
mod source;

pub use command::{Command, FrameSpec, Info, TypeFlags};
pub use error::{CommandError, Error};
pub use exec::{Outcome, Reply};
pub use session::{LoadOptions, OffsetSource, Session, StackFrame};
