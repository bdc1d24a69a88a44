//! Running a [`Command`] against a [`Session`]: the one dispatch over the command enum.

use serde_json::{Value as Json, json};

use crate::command::{self, Command, Info};
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

impl Session<'_> {
    /// Parses and runs one command line. An empty line repeats the previous command as gdb
    /// does ([`Command::repeated`]: `list` and `x` go on, `quit` is not repeated); a comment
    /// does nothing.
    pub fn run_line(&mut self, line: &str) -> Result<Outcome, CommandError> {
        let cmd = if line.trim().is_empty() {
            match self.last_command.take() {
                Some(cmd) => cmd,
                None => return Ok(Outcome::Reply(Reply::text(""))),
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
        self.execute(&cmd)
    }

    /// Runs a parsed command.
    pub fn execute(&mut self, cmd: &Command) -> Result<Outcome, CommandError> {
        let reply = match cmd {
            Command::Nothing => Reply::text(""),
            Command::Quit => return Ok(Outcome::Quit),
            Command::Backtrace { count, full } => self.backtrace(*count, *full)?,
            Command::Frame(level) => self.select_frame(*level)?,
            Command::Up(n) => self.up(*n)?,
            Command::Down(n) => self.down(*n)?,
            Command::Thread(n) => self.thread(*n)?,
            Command::Info(info) => self.info(info)?,
            Command::Print { format, expr } => self.print(*format, expr.as_deref())?,
            Command::Ptype(e) => self.ptype(e, true)?,
            Command::Whatis(e) => self.ptype(e, false)?,
            Command::Examine(x) => self.examine(x)?,
            Command::Find { size, max, args } => self.find(*size, *max, args)?,
            Command::List(arg) => self.list(arg.as_deref())?,
            Command::Directory(dirs) => self.directory(dirs.as_deref()),
            Command::SetSubstitutePath { from, to } => self.substitute_path(from, to),
            Command::ShowDirectories => self.show_directories(),
            Command::ShowSubstitutePath => self.show_substitute_path(),
            Command::Disassemble => self.disassemble()?,
            Command::Help(topic) => crate::help::help(topic.as_deref())?,
        };
        Ok(Outcome::Reply(reply))
    }

    fn info(&mut self, info: &Info) -> Result<Reply, CommandError> {
        match info {
            Info::Frame => self.info_frame(),
            Info::Args => self.info_variables_of_frame(true),
            Info::Locals => self.info_variables_of_frame(false),
            Info::Globals => Ok(self.info_globals()),
            Info::Functions(re) => self.info_functions(re.as_deref()),
            Info::Variables(re) => self.info_statics(re.as_deref()),
            Info::Types(re) => self.info_types(re.as_deref()),
            Info::Symbol(arg) => self.info_symbol(arg),
            Info::Line => self.info_line(),
            Info::Source => self.info_source(),
            Info::Imports => self.info_imports(),
            Info::Threads => Ok(self.info_threads()),
            Info::Program => Ok(self.info_program()),
        }
    }
}
