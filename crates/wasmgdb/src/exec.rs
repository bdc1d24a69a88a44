//! Running a [`Command`] against a [`Session`]: the one dispatch over the command enum.
//!
//! A command hands its output to a sink as it produces it, so that one whose output grows with
//! its count (`x/100000000s 0`) is written out as memory is read instead of being held whole;
//! [`Session::run_line`] and [`Session::execute`] collect it into one [`Reply`].

use std::ops::ControlFlow;

use serde_json::{Value as Json, json};

use crate::command::{self, Command, Info, TypeFlags};
use crate::error::CommandError;
use crate::session::Session;

/// What a command printed: its text, and the same as JSON for `--json`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The text, as gdb prints it (lines end with `\n`).
    pub text: String,
    /// The machine-readable form: `{"frames": [...]}` for `bt`, `{"frame": {...}}` for `frame`,
    /// `{"variables": [...]}` for `info locals` and `info args`, `{"history": N, "type": ...,
    /// "value": ...}` for `print`; `{"text": ...}` for other commands.
    pub json: Json,
}

impl Reply {
    /// A reply with text and its JSON form.
    pub fn new(text: impl Into<String>, json: Json) -> Reply {
        Reply {
            text: text.into(),
            json,
        }
    }

    /// A reply that is text only (its JSON form is `{"text": ...}`).
    pub fn text(text: impl Into<String>) -> Reply {
        let text = text.into();
        Reply {
            json: json!({ "text": text }),
            text,
        }
    }
}

/// What running a line did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The command ran and printed this.
    Reply(Reply),
    /// `quit`.
    Quit,
}

/// Part of a command's output, as it is produced.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    /// The whole output of a command.
    Reply(Reply),
    /// The next lines of a command that writes its output as it goes (`x`): their text, and their
    /// entries of the array its JSON form holds under `key` (`{"memory": [...]}`).
    Lines {
        key: &'static str,
        text: String,
        items: Vec<Json>,
    },
}

/// Where a command's output goes as it is produced. `Break` stops the command: nobody reads
/// what follows (a closed pipe).
pub(crate) type Sink<'s> = dyn FnMut(Piece) -> ControlFlow<()> + 's;

/// Whether a command was `quit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ran {
    /// Any other command: its output went to the sink.
    Done,
    /// `quit`.
    Quit,
}

/// The pieces of a command's output put back together into one reply.
#[derive(Debug, Default)]
struct Collected {
    reply: Option<Reply>,
    key: Option<&'static str>,
    text: String,
    items: Vec<Json>,
}

impl Collected {
    fn push(&mut self, piece: Piece) -> ControlFlow<()> {
        match piece {
            Piece::Reply(reply) => self.reply = Some(reply),
            Piece::Lines { key, text, items } => {
                self.key = Some(key);
                self.text.push_str(&text);
                self.items.extend(items);
            }
        }
        ControlFlow::Continue(())
    }

    fn outcome(self, ran: Ran) -> Outcome {
        match (ran, self.reply, self.key) {
            (Ran::Quit, ..) => Outcome::Quit,
            (Ran::Done, Some(reply), _) => Outcome::Reply(reply),
            (Ran::Done, None, Some(key)) => {
                Outcome::Reply(Reply::new(self.text, json!({ key: self.items })))
            }
            (Ran::Done, None, None) => Outcome::Reply(Reply::text(self.text)),
        }
    }
}

impl Session<'_> {
    /// Parses and runs one command line. An empty line repeats the previous command as gdb
    /// does ([`Command::repeated`]: `list` and `x` go on, `quit` is not repeated); a comment
    /// does nothing.
    pub fn run_line(&mut self, line: &str) -> Result<Outcome, CommandError> {
        let mut collected = Collected::default();
        let ran = self.run_line_to(line, &mut |piece| collected.push(piece))?;
        Ok(collected.outcome(ran))
    }

    /// Runs a parsed command.
    pub fn execute(&mut self, cmd: &Command) -> Result<Outcome, CommandError> {
        let mut collected = Collected::default();
        let ran = self.execute_to(cmd, &mut |piece| collected.push(piece))?;
        Ok(collected.outcome(ran))
    }

    /// [`Session::run_line`], handing the output to `sink` as it is produced. An error after
    /// some output comes after it, as gdb prints the memory it read before the memory it
    /// cannot.
    pub(crate) fn run_line_to(
        &mut self,
        line: &str,
        sink: &mut Sink<'_>,
    ) -> Result<Ran, CommandError> {
        let cmd = if line.trim().is_empty() {
            match self.last_command.take() {
                Some(cmd) => cmd,
                None => {
                    let _ = sink(Piece::Reply(Reply::text("")));
                    return Ok(Ran::Done);
                }
            }
        } else {
            match command::parse(line) {
                Ok(cmd) => cmd,
                Err(e) => {
                    self.last_command = None;
                    return Err(e);
                }
            }
        };
        if cmd != Command::Nothing {
            self.last_command = cmd.repeated();
        }
        self.execute_to(&cmd, sink)
    }

    /// [`Session::execute`], handing the output to `sink` as it is produced.
    pub(crate) fn execute_to(
        &mut self,
        cmd: &Command,
        sink: &mut Sink<'_>,
    ) -> Result<Ran, CommandError> {
        let reply = match cmd {
            Command::Nothing => Reply::text(""),
            Command::Quit => return Ok(Ran::Quit),
            Command::Backtrace { count, full } => self.backtrace(*count, *full)?,
            Command::Frame(spec) => self.select_frame(spec.as_ref())?,
            Command::Up(n) => self.up(*n)?,
            Command::Down(n) => self.down(*n)?,
            Command::Thread(n) => self.thread(*n)?,
            Command::Info(info) => self.info(info)?,
            Command::Print { format, expr } => self.print(*format, expr.as_deref())?,
            Command::Ptype(e, flags) => self.ptype(e, true, *flags)?,
            Command::Whatis(e) => self.ptype(e, false, TypeFlags::default())?,
            Command::Examine(x) => {
                self.examine(x, sink)?;
                return Ok(Ran::Done);
            }
            Command::Find { size, max, args } => self.find(*size, *max, args)?,
            Command::List(arg) => self.list(arg.as_deref())?,
            Command::Directory(dirs) => self.directory(dirs.as_deref()),
            Command::SetSubstitutePath { from, to } => self.substitute_path(from, to),
            Command::SetPrint(setting) => self.set_print(*setting),
            Command::ShowPrint(setting) => self.show_print(setting)?,
            Command::ShowDirectories => self.show_directories(),
            Command::ShowSubstitutePath => self.show_substitute_path(),
            Command::Disassemble(arg) => self.disassemble(arg.as_deref())?,
            Command::Help(topic) => crate::help::help(topic.as_deref())?,
            Command::Echo(text) => Reply::text(crate::script::unescape(text)),
            Command::Output { format, expr } => self.output(*format, expr)?,
            Command::Printf(args) => self.printf(args)?,
            Command::ShowVersion => Reply::text(format!(
                "wasmgdb {}\nA post-mortem debugger for WebAssembly core dumps, with gdb's commands.\n",
                env!("CARGO_PKG_VERSION")
            )),
        };
        // What the sink says no longer matters: the reply is all there is.
        let _ = sink(Piece::Reply(reply));
        Ok(Ran::Done)
    }

    fn info(&mut self, info: &Info) -> Result<Reply, CommandError> {
        match info {
            Info::Frame(spec) => self.info_frame(spec.as_ref()),
            Info::Args => self.info_variables_of_frame(true),
            Info::Locals => self.info_variables_of_frame(false),
            Info::Globals => Ok(self.info_globals()),
            Info::Functions(re) => self.info_functions(re.as_deref()),
            Info::Variables(re) => self.info_statics(re.as_deref()),
            Info::Types(re) => self.info_types(re.as_deref()),
            Info::Symbol(arg) => self.info_symbol(arg),
            Info::Line(arg) => self.info_line(arg.as_deref()),
            Info::Source => self.info_source(),
            Info::Imports => self.info_imports(),
            Info::Threads => Ok(self.info_threads()),
            Info::Program => Ok(self.info_program()),
            Info::Scope(spec) => self.info_scope(spec),
        }
    }
}
