//! `help [COMMAND]`.

use crate::command::{ALIASES, COMMANDS, resolve};
use crate::error::{CommandError, excerpt};
use crate::exec::Reply;

/// One line per command: name and what it does.
const HELP: &[(&str, &str)] = &[
    (
        "backtrace",
        "backtrace [N|-N] [full] (bt, where) -- Print the stack, youngest frame (#0) first; N innermost or -N outermost frames; full: with locals.",
    ),
    (
        "frame",
        "frame [N|level N|function NAME] (f) -- Select a frame and print it; without an argument, print the selected frame.",
    ),
    ("up", "up [N] -- Select the frame N levels up (older)."),
    (
        "down",
        "down [N] -- Select the frame N levels down (younger).",
    ),
    (
        "info",
        "info args|locals|frame [N|level N|function NAME]|globals|functions [RE]|variables [RE]|types [RE]|symbol ADDR|func[N]|line [*ADDR|FUNCTION]|source|imports|threads|program|scope FUNCTION|*ADDR (i)",
    ),
    (
        "thread",
        "thread [N] -- Select thread N, or print the current thread.",
    ),
    (
        "print",
        "print[/FMT] [EXPR] (p) -- Print a value and record it as $N. EXPR: variables, literals (5, 5u8, 0.5, 2.5f32, 'a', true), * & . -> [i], E as T, (T) and (T *) casts, {T} ADDR, E@N, + - * / % << >> & | ^, comparisons, && || !, sizeof, $ $N $$ $$N, $pc $sp $_. FMT: x d u o t c a z f.",
    ),
    (
        "ptype",
        "ptype[/o] EXPR|TYPE -- Print a type, with its members; /o with each one's offset and size and the holes between them (/ox in hex).",
    ),
    ("whatis", "whatis EXPR|TYPE -- Print the name of a type."),
    (
        "x",
        "x/NFU ADDR -- Examine memory: N units (-N: the N before ADDR), format F (x d u o t c a s z f), unit U (b h w g); a bare x goes on with the last format and count.",
    ),
    (
        "find",
        "find [/b|/h|/w|/g] [/N] START, +LEN|END, VAL... -- Search memory for values or \"strings\".",
    ),
    (
        "list",
        "list [N|FILE:N|FUNCTION|FIRST,LAST|FIRST,|,LAST|-] (l) -- List source lines around the frame's line, or continue.",
    ),
    (
        "directory",
        "directory [DIR...] (dir) -- Add source directories; without DIR, reset them.",
    ),
    (
        "set",
        "set substitute-path FROM TO -- Rewrite source paths starting with FROM.",
    ),
    ("show", "show directories|substitute-path|version"),
    (
        "disassemble",
        "disassemble [ADDR] (disas) -- The Wasm function at ADDR or the selected frame's, => on the frame's instruction.",
    ),
    (
        "echo",
        "echo TEXT -- Print TEXT, its C escapes (\\n) replaced, without a newline after.",
    ),
    (
        "output",
        "output[/FMT] EXPR -- Print a value as print does, without $N = , a newline or a history entry.",
    ),
    (
        "printf",
        "printf \"FORMAT\", EXPR... -- Print values with C's printf conversions (%d %u %x %o %c %s %f %e %g %p).",
    ),
    (
        "help",
        "help [COMMAND] (h) -- This list, or one command's help.",
    ),
    ("quit", "quit (q, exit) -- Leave wasmgdb."),
];

/// `help` and `help COMMAND`.
pub(crate) fn help(topic: Option<&str>) -> Result<Reply, CommandError> {
    match topic {
        None => {
            let mut text = String::from("List of commands:\n\n");
            for (_, line) in HELP {
                text.push_str(line);
                text.push('\n');
            }
            text.push_str("\nType \"help\" followed by a command name for its documentation.\n");
            Ok(Reply::text(text))
        }
        Some(topic) => {
            let word = topic.split_whitespace().next().unwrap_or(topic);
            let name = resolve(word, COMMANDS, ALIASES).ok_or_else(|| {
                CommandError::new(format!(
                    "Undefined command: \"{}\".  Try \"help\".",
                    excerpt(word)
                ))
            })?;
            let line = HELP.iter().find(|(n, _)| *n == name).map_or("", |(_, l)| l);
            Ok(Reply::text(format!("{line}\n")))
        }
    }
}
