//! An error as every tool prints it: one line.

use std::error::Error;

/// `err` and its causes on one line, `what: why: ...`, as a tool prints it after `error: `.
///
/// A cause whose text the one before it already holds is left out (a wrapper that prints its
/// source, a context that says the same). Each run of whitespace, line breaks included
/// (wasmparser prints some byte arrays one byte a line), is one space; other control characters
/// are escaped, so that the input cannot write to the terminal through a message.
pub fn error_line(err: &(dyn Error + 'static)) -> String {
    let mut line = String::new();
    let mut previous = String::new();
    let mut cause = Some(err);
    while let Some(err) = cause {
        cause = err.source();
        let text = flattened(&err.to_string());
        if previous.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
        previous = text;
    }
    line
}

/// Whether `err` or one of its causes is a write to a pipe whose reader has gone (`| head`): a
/// tool that prints text then stops quietly, as gdb and the coreutils do.
pub fn is_broken_pipe(err: &(dyn Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
        {
            return true;
        }
        cause = err.source();
    }
    false
}

/// `text` on one line: each run of whitespace as one space, other control characters escaped.
fn flattened(text: &str) -> String {
    let mut out = String::new();
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars() {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::*;

    /// An error with a message and maybe a source.
    #[derive(Debug)]
    struct Cause(&'static str, Option<Box<Cause>>);

    impl fmt::Display for Cause {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Cause {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|c| c as _)
        }
    }

    fn chain(messages: &[&'static str]) -> Cause {
        let (last, rest) = messages.split_last().unwrap();
        rest.iter().rev().fold(Cause(last, None), |source, m| {
            Cause(m, Some(Box::new(source)))
        })
    }

    /// Errors ran to several lines: `caused by:` lines, a cause repeated by the one before it,
    /// wasmparser's byte arrays a byte a line.
    #[test]
    fn an_error_is_one_line_without_repeated_causes() {
        let err = chain(&[
            "cannot write out.wasm: File too large (os error 27)",
            "File too large (os error 27)",
        ]);
        assert_eq!(
            error_line(&err),
            "cannot write out.wasm: File too large (os error 27)"
        );
        let err = chain(&[
            "cannot rewrite app.wasm",
            "bad magic number - expected=[\n    0x0,\n    0x61,\n] actual=[\n    0x68,\n]",
            "unexpected end-of-file (at offset 0x0)",
        ]);
        assert_eq!(
            error_line(&err),
            "cannot rewrite app.wasm: bad magic number - expected=[ 0x0, 0x61, ] actual=[ 0x68, ]: \
             unexpected end-of-file (at offset 0x0)"
        );
        let err = chain(&["cannot read x", "a\u{1b}[2Jb"]);
        assert_eq!(error_line(&err), "cannot read x: a\\u{1b}[2Jb");
    }

    /// A closed pipe under a tool's context, as `anyhow` wraps it.
    #[derive(Debug)]
    struct Context(std::io::Error);

    impl fmt::Display for Context {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("cannot write stdout")
        }
    }

    impl Error for Context {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_closed_pipe_is_found_among_the_causes() {
        let closed = Context(std::io::ErrorKind::BrokenPipe.into());
        assert!(is_broken_pipe(&closed));
        assert!(is_broken_pipe(&closed.0));
        let full = Context(std::io::Error::from_raw_os_error(28));
        assert!(!is_broken_pipe(&full));
        assert!(!is_broken_pipe(&chain(&["cannot write", "Broken pipe"])));
    }
}
