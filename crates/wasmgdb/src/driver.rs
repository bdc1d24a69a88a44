//! Running commands from `-ex`, from a non-terminal stdin, or in the REPL (rustyline: history
//! file, tab completion of commands and names, Ctrl-C cancels the line).

use std::borrow::Cow;
use std::io::{self, BufRead, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use serde_json::{Value as Json, json};

use crate::command::{COMMANDS, INFO_COMMANDS};
use crate::exec::{Piece, Ran};
use crate::session::Session;

/// The REPL's prompt.
pub const PROMPT: &str = "(wasmgdb) ";

/// Where output goes and in which form.
#[derive(Debug)]
pub struct Output<O, E> {
    /// Replies (and, with `json`, errors).
    pub out: O,
    /// Error messages in text mode.
    pub err: E,
    /// Print each reply as one line of JSON (`{"command": ..., ...}`).
    pub json: bool,
}

/// Whether to go on after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The command succeeded.
    Ok,
    /// The command failed (its error was printed).
    Failed,
    /// `quit`.
    Quit,
}

impl<O: Write, E: Write> Output<O, E> {
    /// Runs one line and prints what it gives, as it gives it: a command that reads memory
    /// as it goes (`x`) is printed a piece at a time (in JSON, one object all the same).
    pub fn run(&mut self, session: &mut Session<'_>, line: &str) -> io::Result<Step> {
        let command = json!(line.trim());
        // Whether a JSON object for pieces was begun, and whether any item is in its array.
        let (mut begun, mut items) = (false, false);
        let mut failed = None;
        let ran = session.run_line_to(line, &mut |piece| {
            let written = self.piece(&command, piece, &mut begun, &mut items);
            match written {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    failed = Some(e);
                    ControlFlow::Break(())
                }
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        let step = match ran {
            Ok(Ran::Quit) => Step::Quit,
            Ok(Ran::Done) => {
                if begun {
                    writeln!(self.out, "]}}")?;
                }
                Step::Ok
            }
            Err(e) => {
                if !self.json {
                    self.out.flush()?;
                    writeln!(self.err, "{e}")?;
                } else if begun {
                    writeln!(self.out, "],\"error\":{}}}", json!(e.0))?;
                } else {
                    writeln!(self.out, "{}", json!({ "command": command, "error": e.0 }))?;
                }
                Step::Failed
            }
        };
        self.out.flush()?;
        Ok(step)
    }

    /// Prints a piece of a command's output. In JSON, a reply is one object with the command
    /// in it; pieces of lines go into one object's array, begun at the first one.
    fn piece(
        &mut self,
        command: &Json,
        piece: Piece,
        begun: &mut bool,
        items: &mut bool,
    ) -> io::Result<()> {
        match piece {
            Piece::Reply(reply) if self.json => {
                let mut value = reply.json;
                if let Some(map) = value.as_object_mut() {
                    map.insert("command".into(), command.clone());
                }
                writeln!(self.out, "{value}")?;
            }
            Piece::Reply(reply) => self.out.write_all(reply.text.as_bytes())?,
            Piece::Lines {
                key, items: new, ..
            } if self.json => {
                if !*begun {
                    write!(self.out, "{{\"command\":{command},{}:[", json!(key))?;
                    *begun = true;
                }
                for item in new {
                    if *items {
                        self.out.write_all(b",")?;
                    }
                    write!(self.out, "{item}")?;
                    *items = true;
                }
            }
            Piece::Lines { text, .. } => self.out.write_all(text.as_bytes())?,
        }
        self.out.flush()
    }

    /// Runs commands one by one; stops at `quit`. Returns the last command's step.
    pub fn run_all<'l>(
        &mut self,
        session: &mut Session<'_>,
        lines: impl IntoIterator<Item = &'l str>,
    ) -> io::Result<Step> {
        let mut last = Step::Ok;
        for line in lines {
            last = self.run(session, line)?;
            if last == Step::Quit {
                break;
            }
        }
        Ok(last)
    }

    /// Runs the commands read from `input` (a script, or stdin that is not a terminal).
    pub fn run_script(
        &mut self,
        session: &mut Session<'_>,
        input: impl BufRead,
    ) -> io::Result<Step> {
        let mut last = Step::Ok;
        for line in input.lines() {
            let line = line?;
            // An empty line repeats the previous command, as in gdb.
            last = self.run(session, &line)?;
            if last == Step::Quit {
                break;
            }
        }
        Ok(last)
    }
}

/// The REPL's history file: `$WASMGDB_HISTORY`, else `~/.wasmgdb_history`; none when that is
/// something other than a regular file (reading or writing a FIFO would block).
pub fn history_file() -> Option<PathBuf> {
    let path = match std::env::var_os("WASMGDB_HISTORY") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".wasmgdb_history"),
    };
    std::fs::metadata(&path)
        .map_or(true, |m| m.is_file())
        .then_some(path)
}

/// Tab completion: command names, `info` subcommands, and the names in scope.
#[derive(Debug, Default)]
pub struct Completion {
    /// Variable and function names to offer after the command word.
    pub names: Vec<String>,
}

/// Completion candidates for `line` up to `pos`: where the word starts and the candidates.
pub fn complete(line: &str, pos: usize, names: &[String]) -> (usize, Vec<String>) {
    let before = &line[..pos];
    let start = before
        .rfind(|c: char| c.is_whitespace() || "*&(/[".contains(c))
        .map_or(0, |i| i + 1);
    let word = &before[start..];
    let words: Vec<&str> = before[..start].split_whitespace().collect();
    let pool: Vec<&str> = match words.as_slice() {
        [] => COMMANDS.to_vec(),
        ["info" | "i"] => INFO_COMMANDS.to_vec(),
        _ => names.iter().map(String::as_str).collect(),
    };
    let mut out: Vec<String> = pool
        .into_iter()
        .filter(|c| c.starts_with(word))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    (start, out)
}

impl Completer for Completion {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(complete(line, pos, &self.names))
    }
}

impl Hinter for Completion {
    type Hint = String;
}

impl Highlighter for Completion {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}

impl Validator for Completion {}

impl Helper for Completion {}

impl Session<'_> {
    /// The names tab completion offers: the selected frame's variables and the stack's functions.
    pub fn completion_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .frame_variables()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.name)
            .collect();
        names.extend(self.frames.iter().map(|f| f.symbol.function.name.clone()));
        names
    }
}

/// The interactive loop: reads lines with rustyline until `quit` or end of input. An empty
/// line repeats the previous command, as in gdb; Ctrl-C cancels the line being typed.
pub fn repl(session: &mut Session<'_>, json: bool) -> io::Result<()> {
    session.interactive = true;
    let mut editor: Editor<Completion, rustyline::history::DefaultHistory> =
        Editor::new().map_err(io::Error::other)?;
    editor.set_helper(Some(Completion::default()));
    let history = history_file();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    let mut output = Output {
        out: io::stdout(),
        err: io::stderr(),
        json,
    };
    loop {
        if let Some(helper) = editor.helper_mut() {
            helper.names = session.completion_names();
        }
        match editor.readline(PROMPT) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                if output.run(session, &line)? == Step::Quit {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => {
                eprintln!("Quit");
            }
            Err(ReadlineError::Eof) => {
                println!("quit");
                break;
            }
            Err(e) => return Err(io::Error::other(e)),
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::complete;

    #[test]
    fn completes_commands_info_subcommands_and_names() {
        assert_eq!(complete("ba", 2, &[]), (0, vec!["backtrace".to_string()]));
        assert_eq!(complete("info lo", 7, &[]), (5, vec!["locals".to_string()]));
        let names = vec!["thing".to_string(), "value".to_string()];
        assert_eq!(complete("p *th", 5, &names), (3, vec!["thing".to_string()]));
    }
}
