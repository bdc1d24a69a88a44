//! [`Command`]: one line of input, parsed (gdb's command names, unique prefixes and aliases),
//! apart from evaluating it against a session.

use crate::error::{CommandError, excerpt};

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `backtrace [N|-N] [full]` (`bt`, `where`): the innermost N frames, or the outermost.
    Backtrace {
        /// `N` (innermost N frames) or `-N` (outermost N).
        count: Option<i64>,
        /// Print each frame's locals too.
        full: bool,
    },
    /// `frame [N | level N | function NAME]` (`f`): select a frame, or show the selected one.
    Frame(Option<FrameSpec>),
    /// `up [N]`: select an outer (older) frame.
    Up(usize),
    /// `down [N]`: select an inner (younger) frame.
    Down(usize),
    /// `info SUBCOMMAND` (`i`).
    Info(Info),
    /// `thread [N]`: select thread N (1-based), or show the current one.
    Thread(Option<usize>),
    /// `print[/FMT] [EXPR]` (`p`, `inspect`): evaluate and record in the value history.
    Print {
        /// The output format letter (`x`, `d`, `u`, `o`, `t`, `c`, `a`, `z`).
        format: Option<char>,
        /// The expression; without one, the last history value.
        expr: Option<String>,
    },
    /// `ptype[/FLAGS] EXPR|TYPE`: the type, expanded; `/o` adds each field's offset and size.
    Ptype(String, TypeFlags),
    /// `whatis EXPR|TYPE`: the type's name.
    Whatis(String),
    /// `x/NFU ADDR`: examine memory.
    Examine(Examine),
    /// `find [/SIZE] [/MAX] START, +LEN|END, VAL...`: search memory.
    Find {
        /// The size letter of the values (`b`, `h`, `w`, `g`).
        size: Option<char>,
        /// Stop after this many matches.
        max: Option<usize>,
        /// `START, +LEN|END, VAL...`, unparsed (values are expressions).
        args: String,
    },
    /// `list [N|FILE:N|FUNCTION|-]` (`l`): source lines.
    List(Option<String>),
    /// `directory [DIR...]` (`dir`): add source directories, or reset them.
    Directory(Option<String>),
    /// `set substitute-path FROM TO`: rewrite source paths.
    SetSubstitutePath {
        /// The prefix to replace.
        from: String,
        /// Its replacement.
        to: String,
    },
    /// `set print pretty [on|off]`, `set print elements N`.
    SetPrint(PrintSetting),
    /// `show print pretty`, `show print elements`.
    ShowPrint(String),
    /// `show directories`.
    ShowDirectories,
    /// `show substitute-path`.
    ShowSubstitutePath,
    /// `disassemble [ADDR]` (`disas`): the function at ADDR (a module offset, as `bt` shows a
    /// pc), else the selected frame's; `=>` on the frame's instruction.
    Disassemble(Option<String>),
    /// `help [COMMAND]` (`h`).
    Help(Option<String>),
    /// `echo TEXT`: the text, its C escapes (`\n`) replaced, without a newline after.
    Echo(String),
    /// `output[/FMT] EXPR`: the value as `print` shows it, without `$N = `, a newline or a
    /// history entry.
    Output {
        /// The output format letter.
        format: Option<char>,
        /// The expression.
        expr: String,
    },
    /// `printf "FORMAT", ARG...`: C's printf of the values (`%d %u %x %o %c %s %f %e %g %p
    /// %%`, with flags, width, precision and length modifiers).
    Printf(String),
    /// `show version`.
    ShowVersion,
    /// `quit` (`q`, `exit`).
    Quit,
    /// An empty line or a comment (a session repeats the previous command for an empty line).
    Nothing,
}

impl Command {
    /// What an empty line runs after this command, as in gdb: the same command, except that
    /// `list` and `x` go on from where they stopped, and `quit`, `directory` and `set` are not
    /// repeated (`None`).
    pub fn repeated(&self) -> Option<Command> {
        match self {
            Command::Quit
            | Command::Nothing
            | Command::Directory(_)
            | Command::SetSubstitutePath { .. }
            | Command::SetPrint(_) => None,
            Command::List(Some(arg)) if arg == "-" => Some(self.clone()),
            Command::List(_) => Some(Command::List(None)),
            Command::Examine(x) => Some(Command::Examine(Examine {
                expr: None,
                ..x.clone()
            })),
            _ => Some(self.clone()),
        }
    }
}

/// `ptype`'s and `whatis`'s `/FLAGS`, of which wasmgdb's output depends on two: gdb's `r`, `m`,
/// `M`, `t` and `T` change nothing in Rust and C types without methods or typedefs in them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeFlags {
    /// `o`: each field's offset and size, and the holes between them (`ptype` only).
    pub offsets: bool,
    /// `x` (`d` undoes it): those offsets and sizes in hex.
    pub hex: bool,
}

impl TypeFlags {
    /// Parses the letters after `/` (`fmt`, `None` without a `/`), followed by `rest`, with
    /// gdb's errors: `unrecognized flag 'q'`, `flag expected`, `expected space after format`.
    fn parse(fmt: Option<&str>, rest: &str) -> Result<TypeFlags, CommandError> {
        let mut flags = TypeFlags::default();
        let Some(fmt) = fmt else {
            return Ok(flags);
        };
        for c in fmt.chars() {
            match c {
                'o' => flags.offsets = true,
                'x' => flags.hex = true,
                'd' => flags.hex = false,
                'r' | 'm' | 'M' | 't' | 'T' => {}
                _ => return Err(CommandError::new(format!("unrecognized flag '{c}'"))),
            }
        }
        match (fmt.is_empty(), rest.is_empty()) {
            (true, true) => Err(CommandError::new("flag expected")),
            (false, true) => Err(CommandError::new("expected space after format")),
            _ => Ok(flags),
        }
    }
}

/// A setting of `set print`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintSetting {
    /// `pretty`: structs one field a line.
    Pretty(bool),
    /// `elements`: at most this many elements of an array or string (0: no limit).
    Elements(usize),
}

/// Which frame `frame` and `info frame` name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameSpec {
    /// `N` or `level N`: the frame at level N (0 is the innermost; a negative N names none).
    Level(i64),
    /// `function NAME`: the innermost frame of the function NAME (its full name, or its last
    /// path segments: `calculate`, `mything::calculate`).
    Function(String),
}

/// The `info` subcommands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Info {
    /// `info frame [N | level N | function NAME]`: the selected frame, or the one named,
    /// described without selecting it.
    Frame(Option<FrameSpec>),
    /// `info args`.
    Args,
    /// `info locals`.
    Locals,
    /// `info globals`: the Wasm globals of the dump.
    Globals,
    /// `info functions [REGEX]`.
    Functions(Option<String>),
    /// `info variables [REGEX]`: static variables described by DWARF.
    Variables(Option<String>),
    /// `info types [REGEX]`.
    Types(Option<String>),
    /// `info symbol ADDR|FUNCIDX`.
    Symbol(String),
    /// `info line [*ADDR|FUNCTION]`: the line of the selected frame, of the code at ADDR (the
    /// expression after the `*`), or where FUNCTION begins.
    Line(Option<String>),
    /// `info source`.
    Source,
    /// `info imports`.
    Imports,
    /// `info threads`.
    Threads,
    /// `info program`: why the program ended (the trap).
    Program,
    /// `info scope FUNCTION|*ADDR`: the variables in scope where FUNCTION begins (or at ADDR),
    /// and where each is.
    Scope(String),
}

/// `x/NFU`'s letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Examine {
    /// How many units; negative: that many before the address (`x/-4xw`); `None`: one, or
    /// for a bare `x`, as many as the last `x`.
    pub count: Option<i64>,
    /// The format letter (`x`, `d`, `u`, `o`, `t`, `c`, `a`, `s`, `z`); `None`: the last one.
    pub format: Option<char>,
    /// The unit letter (`b`, `h`, `w`, `g`); `None`: the last one.
    pub size: Option<char>,
    /// The address expression; `None`: after the last examined address.
    pub expr: Option<String>,
}

/// Top-level command names, with the aliases gdb gives them, in completion order.
pub const COMMANDS: &[&str] = &[
    "backtrace",
    "bt",
    "where",
    "frame",
    "up",
    "down",
    "info",
    "thread",
    "print",
    "inspect",
    "ptype",
    "whatis",
    "x",
    "find",
    "list",
    "directory",
    "set",
    "show",
    "disassemble",
    "echo",
    "output",
    "printf",
    "help",
    "quit",
    "exit",
];

/// `info` subcommand names, in completion order.
pub const INFO_COMMANDS: &[&str] = &[
    "args",
    "frame",
    "functions",
    "globals",
    "imports",
    "line",
    "locals",
    "program",
    "scope",
    "source",
    "symbol",
    "threads",
    "types",
    "variables",
];

/// Aliases that win over prefix matching, as in gdb.
pub(crate) const ALIASES: &[(&str, &str)] = &[
    ("bt", "backtrace"),
    ("where", "backtrace"),
    ("f", "frame"),
    ("i", "info"),
    ("p", "print"),
    ("inspect", "print"),
    ("l", "list"),
    ("dir", "directory"),
    ("disas", "disassemble"),
    ("h", "help"),
    ("q", "quit"),
    ("exit", "quit"),
    ("do", "down"),
];

/// Resolves a command word: an alias, an exact name, or a unique prefix of one of `names`; a
/// prefix of an alias among `names` (`whe`, `ins`, `e`) is the command the alias stands for.
pub(crate) fn resolve<'n>(
    word: &str,
    names: &[&'n str],
    aliases: &[(&str, &'n str)],
) -> Option<&'n str> {
    let alias = |word: &str| {
        aliases
            .iter()
            .find(|(a, _)| *a == word)
            .map(|(_, name)| *name)
    };
    if let Some(name) = alias(word) {
        return Some(name);
    }
    if let Some(name) = names.iter().find(|n| **n == word) {
        return Some(name);
    }
    let mut matches = names.iter().filter(|n| n.starts_with(word));
    match (matches.next(), matches.next()) {
        (Some(name), None) if !word.is_empty() => Some(alias(name).unwrap_or(name)),
        _ => None,
    }
}

/// Splits `print/x foo` into the command word, its `/FMT` suffix and the rest.
fn split_word(line: &str) -> (&str, Option<&str>, &str) {
    let line = line.trim();
    let end = line
        .find(|c: char| c.is_whitespace() || c == '/')
        .unwrap_or(line.len());
    let (word, rest) = line.split_at(end);
    if let Some(rest) = rest.strip_prefix('/') {
        let fend = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (fmt, rest) = rest.split_at(fend);
        return (word, Some(fmt), rest.trim());
    }
    (word, None, rest.trim())
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Parses a non-negative count (`up 2`) the way gdb complains about a bad one.
fn number(s: &str) -> Result<usize, CommandError> {
    let s = s.trim();
    let parsed = match s.strip_prefix("0x") {
        Some(hex) => usize::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    };
    parsed.ok_or_else(|| CommandError::new(format!("Invalid number \"{s}\".")))
}

/// Parses `frame`'s argument: none, `N`, `level N` or `function NAME` (gdb's subcommands, by
/// unique prefix).
fn frame_spec(s: &str) -> Result<Option<FrameSpec>, CommandError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let (word, rest) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
    let rest = rest.trim();
    if !word.is_empty() && "function".starts_with(word) && !rest.is_empty() {
        return Ok(Some(FrameSpec::Function(rest.to_string())));
    }
    let level = if !word.is_empty() && "level".starts_with(word) && !rest.is_empty() {
        rest
    } else {
        s
    };
    let parsed = match level.strip_prefix("0x") {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => level.parse().ok(),
    };
    parsed
        .map(|n| Some(FrameSpec::Level(n)))
        .ok_or_else(|| CommandError::new(format!("Invalid number \"{}\".", excerpt(level))))
}

/// Parses one command line.
///
/// Fails with gdb's messages: `Undefined command: "foo".  Try "help".`, `Invalid number "x".`.
pub fn parse(line: &str) -> Result<Command, CommandError> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(Command::Nothing);
    }
    let (word, fmt, rest) = split_word(line);
    let Some(name) = resolve(word, COMMANDS, ALIASES) else {
        let mut candidates: Vec<&str> = COMMANDS
            .iter()
            .copied()
            .filter(|c| !word.is_empty() && c.starts_with(word))
            .collect();
        candidates.sort_unstable();
        if candidates.len() > 1 {
            return Err(CommandError::new(format!(
                "Ambiguous command \"{}\": {}.",
                excerpt(word),
                candidates.join(", ")
            )));
        }
        return Err(CommandError::new(format!(
            "Undefined command: \"{}\".  Try \"help\".",
            excerpt(word)
        )));
    };
    let no_format = |cmd: &str| match fmt {
        Some(_) => Err(CommandError::new(format!(
            "Invalid use of \"/\" with \"{cmd}\"."
        ))),
        None => Ok(()),
    };
    if !matches!(name, "print" | "x" | "find" | "output" | "ptype" | "whatis") {
        no_format(name)?;
    }
    Ok(match name {
        "backtrace" => backtrace(rest)?,
        "frame" => Command::Frame(frame_spec(rest)?),
        "up" => Command::Up(non_empty(rest).map_or(Ok(1), |n| number(&n))?),
        "down" => Command::Down(non_empty(rest).map_or(Ok(1), |n| number(&n))?),
        "info" => Command::Info(info(rest)?),
        "thread" => Command::Thread(match non_empty(rest) {
            Some(n) => Some(number(&n)?),
            None => None,
        }),
        "print" => Command::Print {
            format: print_format(fmt)?,
            expr: non_empty(rest),
        },
        "ptype" | "whatis" => {
            let flags = TypeFlags::parse(fmt, rest)?;
            let expr = non_empty(rest).ok_or_else(|| {
                CommandError::new("Argument required (one or more choice items).")
            })?;
            if name == "ptype" {
                Command::Ptype(expr, flags)
            } else {
                Command::Whatis(expr)
            }
        }
        "x" => Command::Examine(examine(fmt.unwrap_or(""), rest)?),
        "find" => find(fmt, rest)?,
        "list" => Command::List(non_empty(rest)),
        "directory" => Command::Directory(non_empty(rest)),
        "set" => set(rest)?,
        "show" => match rest {
            "version" => Command::ShowVersion,
            setting if setting.starts_with("print ") => {
                Command::ShowPrint(setting["print ".len()..].trim().to_string())
            }
            "directories" | "dir" | "directory" => Command::ShowDirectories,
            "substitute-path" => Command::ShowSubstitutePath,
            _ => {
                return Err(CommandError::new(format!(
                    "Undefined show command: \"{rest}\".  Try \"help show\"."
                )));
            }
        },
        "disassemble" => Command::Disassemble(non_empty(rest)),
        "help" => Command::Help(non_empty(rest)),
        "echo" => Command::Echo(rest.to_string()),
        "output" => Command::Output {
            format: print_format(fmt)?,
            expr: non_empty(rest)
                .ok_or_else(|| CommandError::new("Argument required (expression to compute)."))?,
        },
        "printf" => Command::Printf(non_empty(rest).ok_or_else(|| {
            CommandError::new("Argument required (format-control string and values to print).")
        })?),
        "quit" => Command::Quit,
        _ => unreachable!("every command name is handled"),
    })
}

fn backtrace(rest: &str) -> Result<Command, CommandError> {
    let mut count = None;
    let mut full = false;
    for word in rest.split_whitespace() {
        match word {
            "full" | "-full" => full = true,
            n => {
                count = Some(n.parse::<i64>().map_err(|_| {
                    CommandError::new(format!("No symbol \"{}\" in current context.", excerpt(n)))
                })?)
            }
        }
    }
    Ok(Command::Backtrace { count, full })
}

fn info(rest: &str) -> Result<Info, CommandError> {
    let (word, _, arg) = split_word(rest);
    if word.is_empty() {
        return Err(CommandError::new(format!(
            "\"info\" must be followed by the name of an info command.\nList of info subcommands: {}.",
            INFO_COMMANDS.join(", ")
        )));
    }
    let aliases = [("f", "frame")];
    let Some(name) = resolve(word, INFO_COMMANDS, &aliases) else {
        return Err(CommandError::new(format!(
            "Undefined info command: \"{word}\".  Try \"help info\"."
        )));
    };
    let arg = non_empty(arg);
    Ok(match name {
        "frame" => Info::Frame(frame_spec(arg.as_deref().unwrap_or(""))?),
        "args" => Info::Args,
        "locals" => Info::Locals,
        "globals" => Info::Globals,
        "functions" => Info::Functions(arg),
        "variables" => Info::Variables(arg),
        "types" => Info::Types(arg),
        "symbol" => {
            Info::Symbol(arg.ok_or_else(|| CommandError::new("Argument required (address)."))?)
        }
        "line" => Info::Line(arg),
        "source" => Info::Source,
        "imports" => Info::Imports,
        "threads" => Info::Threads,
        "scope" => Info::Scope(arg.ok_or_else(|| {
            CommandError::new("requires an argument (function, line or *addr) to define a scope")
        })?),
        "program" => Info::Program,
        _ => unreachable!("every info command is handled"),
    })
}

const PRINT_FORMATS: &str = "xduotcazfsr";

fn print_format(fmt: Option<&str>) -> Result<Option<char>, CommandError> {
    let Some(fmt) = fmt else { return Ok(None) };
    let mut chars = fmt.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if PRINT_FORMATS.contains(c) => Ok(Some(c)),
        (Some(c), None) => Err(CommandError::new(format!(
            "Undefined output format \"{c}\"."
        ))),
        _ => Err(CommandError::new(
            "Item count other than 1 is meaningless in \"print\" command.",
        )),
    }
}

fn examine(fmt: &str, rest: &str) -> Result<Examine, CommandError> {
    let negative = fmt.starts_with('-');
    let unsigned = &fmt[usize::from(negative)..];
    let digits: String = unsigned.chars().take_while(char::is_ascii_digit).collect();
    let count = match (digits.is_empty(), negative) {
        (true, false) => None,
        (true, true) => Some(-1),
        (false, _) => {
            let n = i64::try_from(number(&digits)?)
                .map_err(|_| CommandError::new(format!("Invalid number \"{digits}\".")))?;
            Some(if negative { -n } else { n })
        }
    };
    let mut format = None;
    let mut size = None;
    for c in unsigned[digits.len()..].chars() {
        match c {
            'b' | 'h' | 'w' | 'g' => size = Some(c),
            c if "xduotcasfiz".contains(c) => format = Some(c),
            c => {
                return Err(CommandError::new(format!("Invalid number \"{c}\".")));
            }
        }
    }
    Ok(Examine {
        count,
        format,
        size,
        expr: non_empty(rest),
    })
}

fn find(fmt: Option<&str>, rest: &str) -> Result<Command, CommandError> {
    let mut size = None;
    let mut max = None;
    let mut rest = rest.to_string();
    let mut fmts: Vec<String> = fmt.into_iter().map(str::to_string).collect();
    // `find /b /5 start, ...`: more switches may follow the first.
    while let Some(r) = rest.strip_prefix('/') {
        let end = r.find(char::is_whitespace).unwrap_or(r.len());
        fmts.push(r[..end].to_string());
        rest = r[end..].trim_start().to_string();
    }
    for f in &fmts {
        for c in f.chars() {
            match c {
                'b' | 'h' | 'w' | 'g' => size = Some(c),
                'n' => {}
                _ => {}
            }
        }
        let digits: String = f.chars().filter(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            max = Some(number(&digits)?);
        }
    }
    if rest.is_empty() {
        return Err(CommandError::new("Missing search parameters."));
    }
    Ok(Command::Find {
        size,
        max,
        args: rest,
    })
}

fn set(rest: &str) -> Result<Command, CommandError> {
    let (word, _, args) = split_word(rest);
    match word {
        "substitute-path" => {
            let mut parts = args.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some(from), Some(to), None) => Ok(Command::SetSubstitutePath {
                    from: from.to_string(),
                    to: to.to_string(),
                }),
                _ => Err(CommandError::new(
                    "Incorrect usage, too few arguments in command",
                )),
            }
        }
        "print" | "p" => {
            let (setting, _, value) = split_word(args);
            let on = match value {
                "" | "on" | "1" | "yes" | "enable" => true,
                "off" | "0" | "no" | "disable" => false,
                _ if setting == "elements" => true,
                other => {
                    return Err(CommandError::new(format!(
                        "\"on\" or \"off\" expected, not \"{}\".",
                        excerpt(other)
                    )));
                }
            };
            match setting {
                "pretty" => Ok(Command::SetPrint(PrintSetting::Pretty(on))),
                "elements" => {
                    let n = match value {
                        "unlimited" | "0" => 0,
                        v => number(v)?,
                    };
                    Ok(Command::SetPrint(PrintSetting::Elements(n)))
                }
                _ => Err(CommandError::new(format!(
                    "Undefined set print command: \"{}\".  Try \"help set print\".",
                    excerpt(setting)
                ))),
            }
        }
        _ => Err(CommandError::new(format!(
            "Undefined set command: \"{}\".  Try \"help set\".",
            excerpt(rest)
        ))),
    }
}

#[cfg(test)]
mod tests;
