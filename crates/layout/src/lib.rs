//! The layout of a WebAssembly module, as every wasm-coredump tool sees it: one scan, one set of
//! rules for the facts the tools share.
//!
//! [`ModuleLayout`] is the main type: the module's top-level sections as file ranges, found
//! without decoding any section's content. From it and the module's bytes come
//! - [`CodeLayout`]: where the Code section's payload starts (DWARF address 0) and where each
//!   function body lies, and the one rule that turns a core dump frame's code offset into a
//!   DWARF address ([`CodeLayout::dwarf_address`]);
//! - the build id ([`ModuleLayout::build_id`], [`BuildId`]), read and written as
//!   tool-conventions BuildId.md encodes it (a length, then the id bytes), and the ids Sentry
//!   derives from the same section ([`SentryIds`]);
//! - the `external_debug_info` URL and the `name` section's module name;
//! - [`FunctionNames`]: what a function is called outside DWARF (the `name` section, else its
//!   export, else its import), the one lookup every tool names functions with.
//!
//! [`InputFile`] reads the files the tools are given, modules and dumps alike: a regular file
//! only (not a FIFO, which would block, nor `/dev/zero`, which never ends), and no more than its
//! size; [`read_stdin`] reads stdin by the same rules, pipes included. [`OutputFile`] writes
//! the files they make: whole or not at all (a temporary file renamed into place), through a
//! symlink, and never over a device, a socket or a directory. [`error_line`] is how they print
//! an error: on one line.
//!
//! ```
//! use wasm_layout::{BuildId, BuildIdEncoding, CodeLayout, ModuleLayout};
//!
//! let mut module = wat::parse_str(r#"(module $app (func nop) (func unreachable))"#)?;
//! let id: BuildId = "720426ce-a847-5f72-8f78-24d5a0ff14ef".parse()?;
//! module.extend(id.section());
//!
//! let layout = ModuleLayout::parse(&module)?;
//! assert_eq!(layout.build_id(&module)?, Some((id.clone(), BuildIdEncoding::Spec)));
//! assert_eq!(id.debug_file_name(), "debug-720426ce-a847-5f72-8f78-24d5a0ff14ef.wasm");
//! assert_eq!(layout.module_name(&module).as_deref(), Some("app"));
//!
//! let code = CodeLayout::read(&module, &layout)?.expect("the module has code");
//! // Function 1's first instruction, relative to the Code section's payload.
//! let address = code.dwarf_address(1, 0)?;
//! assert_eq!(code.code_location(address).map(|l| l.func), Some(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod build_id;
mod code;
mod custom;
mod error;
mod input;
mod message;
mod names;
mod output;
mod sections;

pub use build_id::{
    BUILD_ID_SECTION, BuildId, BuildIdEncoding, DETERMINISTIC_NAMESPACE, ParseBuildIdError,
    SentryIds,
};
pub use code::{CodeLayout, CodeLocation};
pub use custom::{
    EXTERNAL_DEBUG_INFO_SECTION, NAME_SECTION, custom_section, external_debug_info_section,
};
pub use error::{Error, SectionRef};
pub use input::{InputFile, read_input_file, read_stdin};
pub use message::{error_line, is_broken_pipe};
pub use names::{FunctionNames, NameOrigin, index_name};
pub use output::{OutputFile, WriteError, clean_up_outputs_on_signals};
pub use sections::{HEADER_LEN, ModuleLayout, Section, section_id};
pub use uuid;
