//! The expression parser: C-like syntax as gdb reads it, with Rust paths (`a::b`).
//!
//! ```text
//! expr    := binary (precedence: * / %, + -, << >>, < <= > >=, == !=, &, ^, |, &&, ||)
//! unary   := ('*' | '&' | '-' | '!' | '~') unary | 'sizeof' ( '(' TYPE ')' | unary )
//!          | '(' TYPE ')' unary | '{' TYPE '}' unary | postfix
//! postfix := primary ( '.' NAME | '->' NAME | '[' expr ']' )*
//! primary := NUMBER | 'c' | "string" | PATH | '$' | '$N' | '$$' | '$$N' | '(' expr ')'
//! ```
//!
//! `(x)` followed by an operand is a cast unless `x` is a variable in scope (the caller says
//! which names are: gdb decides the same way, by lookup).
//!
//! An expression is at most [`MAX_TOKENS`] tokens long and nests at most [`MAX_DEPTH`] levels
//! deep, so that parsing it, evaluating it, printing its value and dropping it never exhaust the
//! stack, whatever a line holds.

use std::num::IntErrorKind;

use crate::error::CommandError;

/// How deep an expression may nest: each operator, cast, member access, subscript and pair of
/// parentheses is one level (`1+1+1` is two: `(1+1)+1`). Deeper ones are refused: "Expression
/// too complex".
pub const MAX_DEPTH: usize = 128;

/// How many tokens an expression may have. Longer ones are refused before they are parsed.
pub const MAX_TOKENS: usize = 16384;

/// The error for an expression nested deeper than [`MAX_DEPTH`] levels (or a type with more
/// pointer levels).
pub(crate) fn too_complex() -> CommandError {
    CommandError::new(format!(
        "Expression too complex (nested more than {MAX_DEPTH} levels deep)."
    ))
}

/// A type as written in a cast, `sizeof` or `ptype`: a name and how many pointer levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeSpec {
    /// The base type's name (`mything::MyThing`, `int`, `usize`).
    pub name: String,
    /// Pointer levels: `T *`, `*mut T`, `&T` each add one.
    pub pointers: u32,
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expr {
    /// An integer literal.
    Int(i128),
    /// A float literal: the bits of the `f64`.
    Float(u64),
    /// A character literal (`'a'`, `'é'`): its code.
    Char(u32),
    /// A string literal (for `find`, and comparing with a Rust string).
    Str(Vec<u8>),
    /// A variable, by name or path.
    Var(String),
    /// `$` (n = 0), `$$` (1), `$$N` (N): back from the last history value.
    HistoryBack(usize),
    /// `$N`.
    History(usize),
    /// A convenience variable or register: `$pc`, `$sp`, `$_` (others are void, as unset ones
    /// are in gdb).
    Convenience(String),
    /// A unary operation.
    Unary(UnOp, Box<Expr>),
    /// A binary operation.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `e@n`: `n` values like `e` from `e`'s address on (gdb's artificial array).
    Repeat(Box<Expr>, Box<Expr>),
    /// `e.name`.
    Field(Box<Expr>, String),
    /// `e->name`.
    Arrow(Box<Expr>, String),
    /// `e[i]`.
    Index(Box<Expr>, Box<Expr>),
    /// `(T) e`.
    Cast(TypeSpec, Box<Expr>),
    /// `{T} e`: the `T` at address `e`.
    At(TypeSpec, Box<Expr>),
    /// `sizeof(T)`.
    SizeofType(TypeSpec),
    /// `sizeof e`.
    SizeofExpr(Box<Expr>),
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `*`
    Deref,
    /// `&`
    AddrOf,
    /// `-`
    Neg,
    /// `!`
    Not,
    /// `~`
    BitNot,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum BinOp {
    Mul,
    Div,
    Rem,
    Add,
    Sub,
    Shl,
    Shr,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    BitAnd,
    BitXor,
    BitOr,
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A literal and its type suffix (`5u8`, `2.5f32`).
    Int(i128, Option<&'static str>),
    Float(u64, Option<&'static str>),
    /// A character literal's code.
    Char(u32),
    Str(Vec<u8>),
    Name(String),
    Dollar(String),
    Punct(&'static str),
}

const PUNCTS: &[&str] = &[
    "->", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "*", "/", "%", "+", "-", "<", ">", "&",
    "^", "|", "!", "~", "(", ")", "[", "]", "{", "}", ".", ",", "@",
];

fn syntax_error(at: &str) -> CommandError {
    if at.is_empty() {
        CommandError::new("A syntax error in expression, near `'.")
    } else {
        CommandError::new(format!("A syntax error in expression, near `{at}'."))
    }
}

/// The message for an integer literal past 64 bits (C's; a Rust frame says
/// [`RUST_TOO_LARGE`]).
pub(crate) const TOO_LARGE: &str = "Numeric constant too large.";
/// gdb's message for an integer literal past 64 bits in Rust.
pub(crate) const RUST_TOO_LARGE: &str = "Integer literal is too large";

/// Rust's literal suffixes.
const SUFFIXES: &[&str] = &[
    "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize", "f32",
    "f64",
];

/// A literal of the type its suffix names: a cast of the literal to it.
fn suffixed(ty: &'static str, literal: Expr) -> Expr {
    Expr::Cast(
        TypeSpec {
            name: ty.to_string(),
            pointers: 0,
        },
        Box::new(literal),
    )
}

/// A decimal literal at `start` (which is a digit) with a fraction, an exponent or a Rust suffix
/// (`0.5`, `1e-3`, `2.5f32`, `255u8`), and where it ends; `None` for any other number (hex,
/// octal, C suffixes), which the caller reads.
fn decimal(input: &str, start: usize) -> Result<Option<(Tok, usize)>, CommandError> {
    let b = input.as_bytes();
    let digits = |mut i: usize| {
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
        i
    };
    let mut i = digits(start);
    if b[start] == b'0'
        && i == start + 1
        && matches!(b.get(i), Some(b'x' | b'X' | b'b' | b'B' | b'o' | b'O'))
    {
        // 0x.., 0b.., 0o..
        return Ok(None);
    }
    let mut float = false;
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i = digits(i + 1);
        float = true;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
        if b.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
            i = digits(i + 1 + sign);
            float = true;
        }
    }
    let number = input[start..i].replace('_', "");
    let mut end = i;
    while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
        end += 1;
    }
    let suffix = SUFFIXES.iter().copied().find(|s| *s == &input[i..end]);
    if end > i && suffix.is_none() {
        // A C suffix (`10u`, `5L`) or not a number: the caller's.
        return if float {
            Err(CommandError::new(format!(
                "Invalid number \"{}\".",
                &input[start..end]
            )))
        } else {
            Ok(None)
        };
    }
    if float || suffix.is_some_and(|s| s.starts_with('f')) {
        let value: f64 = number
            .parse()
            .map_err(|_| CommandError::new(format!("Invalid number \"{number}\".")))?;
        return Ok(Some((Tok::Float(value.to_bits(), suffix), end)));
    }
    if suffix.is_none() {
        return Ok(None);
    }
    // A literal is at most 64 bits, as gdb's (a `ULONGEST`).
    let value: u64 = number.parse().map_err(|_| CommandError::new(TOO_LARGE))?;
    Ok(Some((Tok::Int(i128::from(value), suffix), end)))
}

fn lex(input: &str) -> Result<Vec<(Tok, usize)>, CommandError> {
    let b = input.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if out.len() == MAX_TOKENS {
            return Err(CommandError::new(format!(
                "Expression too long (more than {MAX_TOKENS} tokens)."
            )));
        }
        let start = i;
        let after_dot = matches!(out.last(), Some((Tok::Punct("."), _)));
        if c.is_ascii_digit()
            && !after_dot
            && let Some((tok, end)) = decimal(input, i)?
        {
            out.push((tok, start));
            i = end;
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let text = input[start..i].replace('_', "");
            let text = text.trim_end_matches(['u', 'U', 'l', 'L']);
            // A literal is at most 64 bits, as gdb's (a `ULONGEST`).
            let parsed = if let Some(h) = text.strip_prefix("0x").or(text.strip_prefix("0X")) {
                u64::from_str_radix(h, 16)
            } else if let Some(bin) = text.strip_prefix("0b") {
                u64::from_str_radix(bin, 2)
            } else if text.len() > 1 && text.starts_with('0') {
                u64::from_str_radix(&text[1..], 8)
            } else {
                text.parse()
            };
            let v = parsed.map_err(|e| match e.kind() {
                IntErrorKind::PosOverflow => CommandError::new(TOO_LARGE),
                _ => CommandError::new(format!("Invalid number \"{}\".", &input[start..i])),
            })?;
            out.push((Tok::Int(i128::from(v), None), start));
        } else if c.is_ascii_alphabetic() || c == '_' {
            loop {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                if input[i..].starts_with("::")
                    && input[i + 2..]
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                {
                    i += 2;
                    continue;
                }
                break;
            }
            out.push((Tok::Name(input[start..i].to_string()), start));
        } else if c == '$' {
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                i += 1;
            }
            out.push((Tok::Dollar(input[start + 1..i].to_string()), start));
        } else if c == '"' || c == '\'' {
            let (bytes, end) = quoted(input, i)?;
            i = end;
            if c == '\'' {
                // One character: a byte, or one Unicode scalar value in UTF-8 (`'é'`), its code.
                let code = match bytes.as_slice() {
                    [b] => u32::from(*b),
                    _ => {
                        let text = std::str::from_utf8(&bytes).ok();
                        let mut chars = text.into_iter().flat_map(str::chars);
                        match (chars.next(), chars.next()) {
                            (Some(c), None) => u32::from(c),
                            _ => return Err(syntax_error(&input[start..])),
                        }
                    }
                };
                out.push((Tok::Char(code), start));
            } else {
                out.push((Tok::Str(bytes), start));
            }
        } else if let Some(p) = PUNCTS.iter().find(|p| input[i..].starts_with(**p)) {
            i += p.len();
            out.push((Tok::Punct(p), start));
        } else {
            return Err(CommandError::new(format!(
                "Invalid character '{c}' in expression."
            )));
        }
    }
    Ok(out)
}

/// A quoted string or char starting at `start`: its bytes (escapes decoded) and the index after
/// the closing quote.
fn quoted(input: &str, start: usize) -> Result<(Vec<u8>, usize), CommandError> {
    let quote = input.as_bytes()[start];
    let mut out = Vec::new();
    let mut chars = input[start + 1..].char_indices();
    while let Some((j, c)) = chars.next() {
        match c {
            c if c as u32 == u32::from(quote) => return Ok((out, start + 1 + j + 1)),
            '\\' => {
                let (_, e) = chars.next().ok_or_else(|| syntax_error(&input[start..]))?;
                out.push(match e {
                    'n' => b'\n',
                    't' => b'\t',
                    'r' => b'\r',
                    '0' => 0,
                    e => e as u8,
                });
            }
            c => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Err(CommandError::new("Unterminated string in expression."))
}

struct Parser<'i, 'f> {
    input: &'i str,
    toks: Vec<(Tok, usize)>,
    pos: usize,
    is_variable: &'f dyn Fn(&str) -> bool,
    /// How many nested parses enclose the current one.
    depth: usize,
}

/// A parsed expression and its height: the levels of nodes below its root (0 for a leaf).
type Parsed = Result<(Expr, usize), CommandError>;

/// Parses an expression. `is_variable` says whether a name is a variable in scope, to tell
/// `(x) * y` (a product) from `(T) *p` (a cast).
pub fn parse(input: &str, is_variable: &dyn Fn(&str) -> bool) -> Result<Expr, CommandError> {
    let mut p = Parser {
        input,
        toks: lex(input)?,
        pos: 0,
        is_variable,
        depth: 0,
    };
    let (e, _) = p.binary(0)?;
    if p.pos < p.toks.len() {
        return Err(syntax_error(p.rest()));
    }
    Ok(e)
}

/// Parses a type name as written after `ptype`, in a cast or `sizeof`.
pub fn parse_type(text: &str) -> Option<TypeSpec> {
    let mut t = text.trim();
    let mut pointers = 0;
    loop {
        if let Some(rest) = t.strip_suffix('*') {
            pointers += 1;
            t = rest.trim_end();
        } else if let Some(rest) = t.strip_prefix("*mut ").or(t.strip_prefix("*const ")) {
            pointers += 1;
            t = rest.trim_start();
        } else if let Some(rest) = t.strip_prefix("&mut ").or(t.strip_prefix('&')) {
            pointers += 1;
            t = rest.trim_start();
        } else {
            break;
        }
    }
    for prefix in [
        "struct ",
        "union ",
        "enum ",
        "class ",
        "const ",
        "volatile ",
    ] {
        if let Some(rest) = t.strip_prefix(prefix) {
            t = rest.trim_start();
        }
    }
    let valid = !t.is_empty()
        && t.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '(' || c == '[')
        && t.chars()
            .all(|c| c.is_alphanumeric() || " _:<>,()[];&*".contains(c));
    valid.then_some(TypeSpec {
        name: t.to_string(),
        pointers,
    })
}

fn binop(p: &str) -> Option<(BinOp, u8)> {
    Some(match p {
        "||" => (BinOp::Or, 1),
        "&&" => (BinOp::And, 2),
        "|" => (BinOp::BitOr, 3),
        "^" => (BinOp::BitXor, 4),
        "&" => (BinOp::BitAnd, 5),
        "==" => (BinOp::Eq, 6),
        "!=" => (BinOp::Ne, 6),
        "<" => (BinOp::Lt, 7),
        "<=" => (BinOp::Le, 7),
        ">" => (BinOp::Gt, 7),
        ">=" => (BinOp::Ge, 7),
        "<<" => (BinOp::Shl, 8),
        ">>" => (BinOp::Shr, 8),
        "+" => (BinOp::Add, 9),
        "-" => (BinOp::Sub, 9),
        "*" => (BinOp::Mul, 10),
        "/" => (BinOp::Div, 10),
        "%" => (BinOp::Rem, 10),
        _ => return None,
    })
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn rest(&self) -> &str {
        self.toks
            .get(self.pos)
            .map_or("", |(_, at)| &self.input[*at..])
    }

    fn punct(&mut self, p: &str) -> bool {
        if self.peek()
            == Some(&Tok::Punct(
                PUNCTS.iter().find(|x| **x == p).copied().unwrap_or(""),
            ))
        {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, p: &str) -> Result<(), CommandError> {
        if self.punct(p) {
            Ok(())
        } else {
            Err(syntax_error(self.rest()))
        }
    }

    /// Runs `parse` one level deeper, or fails if that is past [`MAX_DEPTH`]: every recursive
    /// call goes through here, so the parser's own stack is bounded.
    fn nested(&mut self, parse: impl FnOnce(&mut Self) -> Parsed) -> Parsed {
        if self.depth >= MAX_DEPTH {
            return Err(too_complex());
        }
        self.depth += 1;
        let parsed = parse(self);
        self.depth -= 1;
        parsed
    }

    /// `expr` of `height`, if it fits under the levels that enclose it: what keeps trees that
    /// loops build (`1+1+...`, `a.b.c...`) as shallow as the ones recursion builds.
    fn node(&self, expr: Expr, height: usize) -> Parsed {
        if self.depth + height > MAX_DEPTH {
            return Err(too_complex());
        }
        Ok((expr, height))
    }

    fn binary(&mut self, min: u8) -> Parsed {
        let (mut lhs, mut height) = self.cast_operand()?;
        while let Some(Tok::Punct(p)) = self.peek() {
            // `@` binds loosest of all.
            if *p == "@" && min == 0 {
                self.pos += 1;
                let (rhs, rhs_height) = self.nested(|p| p.binary(1))?;
                (lhs, height) = self.node(
                    Expr::Repeat(Box::new(lhs), Box::new(rhs)),
                    1 + height.max(rhs_height),
                )?;
                continue;
            }
            let Some((op, prec)) = binop(p) else { break };
            if prec < min {
                break;
            }
            self.pos += 1;
            let (rhs, rhs_height) = self.nested(|p| p.binary(prec + 1))?;
            (lhs, height) = self.node(
                Expr::Binary(op, Box::new(lhs), Box::new(rhs)),
                1 + height.max(rhs_height),
            )?;
        }
        Ok((lhs, height))
    }

    /// A unary expression and the Rust casts after it (`x as u8`, `0x1000 as *const u32`):
    /// `as` binds tighter than the binary operators, looser than the unary ones.
    fn cast_operand(&mut self) -> Parsed {
        let (mut e, mut height) = self.unary()?;
        while self.peek() == Some(&Tok::Name("as".into())) {
            self.pos += 1;
            let ty = self.rust_type()?;
            (e, height) = self.node(Expr::Cast(ty, Box::new(e)), height + 1)?;
        }
        Ok((e, height))
    }

    /// A type after `as`: `*const T`, `*mut T`, `&T`, `&mut T`, each of those on a path.
    fn rust_type(&mut self) -> Result<TypeSpec, CommandError> {
        let mut pointers = 0;
        loop {
            match self.peek() {
                Some(Tok::Punct("*")) => {
                    self.pos += 1;
                    match self.peek() {
                        Some(Tok::Name(n)) if n == "const" || n == "mut" => self.pos += 1,
                        _ => return Err(syntax_error(self.rest())),
                    }
                }
                Some(Tok::Punct("&")) => {
                    self.pos += 1;
                    if self.peek() == Some(&Tok::Name("mut".into())) {
                        self.pos += 1;
                    }
                }
                Some(Tok::Punct("&&")) => {
                    self.pos += 1;
                    pointers += 1;
                }
                Some(Tok::Name(name)) => {
                    let name = name.clone();
                    self.pos += 1;
                    return Ok(TypeSpec { name, pointers });
                }
                _ => return Err(syntax_error(self.rest())),
            }
            pointers += 1;
        }
    }

    /// The text between the `(` at `self.pos` and its matching `)`, and the token index after.
    fn parenthesized(&self, open: &str, close: &str) -> Option<(String, usize)> {
        let mut depth = 0;
        let start = self.toks.get(self.pos)?.1 + 1;
        for (i, (t, at)) in self.toks.iter().enumerate().skip(self.pos) {
            match t {
                Tok::Punct(p) if *p == open => depth += 1,
                Tok::Punct(p) if *p == close => {
                    depth -= 1;
                    if depth == 0 {
                        return Some((self.input[start..*at].to_string(), i + 1));
                    }
                }
                _ => {}
            }
        }
        None
    }

    fn starts_operand(&self, index: usize) -> bool {
        matches!(
            self.toks.get(index).map(|(t, _)| t),
            Some(
                Tok::Int(..)
                    | Tok::Float(..)
                    | Tok::Char(_)
                    | Tok::Name(_)
                    | Tok::Dollar(_)
                    | Tok::Str(_)
            ) | Some(Tok::Punct("(" | "*" | "&" | "!" | "~" | "{"))
        )
    }

    /// `wrap(operand)`, the operand being the unary expression that follows, one level deeper.
    fn prefix(&mut self, wrap: impl FnOnce(Box<Expr>) -> Expr) -> Parsed {
        let (operand, height) = self.nested(Self::unary)?;
        self.node(wrap(Box::new(operand)), height + 1)
    }

    fn unary(&mut self) -> Parsed {
        let op = match self.peek() {
            Some(Tok::Punct("*")) => Some(UnOp::Deref),
            Some(Tok::Punct("&")) => Some(UnOp::AddrOf),
            Some(Tok::Punct("-")) => Some(UnOp::Neg),
            Some(Tok::Punct("!")) => Some(UnOp::Not),
            Some(Tok::Punct("~")) => Some(UnOp::BitNot),
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            return self.prefix(|e| Expr::Unary(op, e));
        }
        if self.peek() == Some(&Tok::Punct("+")) {
            self.pos += 1;
            return self.nested(Self::unary);
        }
        if self.peek() == Some(&Tok::Name("sizeof".into())) {
            self.pos += 1;
            if self.peek() == Some(&Tok::Punct("("))
                && let Some((inner, next)) = self.parenthesized("(", ")")
                && !(self.is_variable)(inner.trim())
                && let Some(ty) = parse_type(&inner)
                && !inner.trim().starts_with('*')
            {
                self.pos = next;
                return Ok((Expr::SizeofType(ty), 0));
            }
            return self.prefix(Expr::SizeofExpr);
        }
        if self.peek() == Some(&Tok::Punct("{"))
            && let Some((inner, next)) = self.parenthesized("{", "}")
        {
            let ty = parse_type(&inner).ok_or_else(|| syntax_error(self.rest()))?;
            self.pos = next;
            return self.prefix(|e| Expr::At(ty, e));
        }
        if self.peek() == Some(&Tok::Punct("("))
            && let Some((inner, next)) = self.parenthesized("(", ")")
            && self.starts_operand(next)
            && !(self.is_variable)(inner.trim())
            && let Some(ty) = parse_type(&inner)
            && (!inner.trim().starts_with('*')
                || ty.name.contains(' ')
                || inner.contains("*mut")
                || inner.contains("*const"))
            && !inner.trim().starts_with('&')
        {
            self.pos = next;
            return self.prefix(|e| Expr::Cast(ty, e));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Parsed {
        let (mut e, mut height) = self.primary()?;
        loop {
            if self.punct(".") || self.punct("->") {
                let arrow = matches!(self.toks[self.pos - 1].0, Tok::Punct("->"));
                let name = match self.toks.get(self.pos).map(|(t, _)| t) {
                    Some(Tok::Name(n)) => n.clone(),
                    Some(Tok::Int(i, None)) => i.to_string(),
                    _ => return Err(syntax_error(self.rest())),
                };
                self.pos += 1;
                let access = if arrow {
                    Expr::Arrow(Box::new(e), name)
                } else {
                    Expr::Field(Box::new(e), name)
                };
                (e, height) = self.node(access, height + 1)?;
            } else if self.punct("[") {
                let (index, index_height) = self.nested(|p| p.binary(0))?;
                self.expect("]")?;
                (e, height) = self.node(
                    Expr::Index(Box::new(e), Box::new(index)),
                    1 + height.max(index_height),
                )?;
            } else {
                return Ok((e, height));
            }
        }
    }

    fn primary(&mut self) -> Parsed {
        let Some((tok, _)) = self.toks.get(self.pos).cloned() else {
            return Err(syntax_error(""));
        };
        self.pos += 1;
        let leaf = match tok {
            Tok::Int(v, None) => Expr::Int(v),
            Tok::Float(bits, None) => Expr::Float(bits),
            Tok::Int(v, Some(ty)) => suffixed(ty, Expr::Int(v)),
            Tok::Float(bits, Some(ty)) => suffixed(ty, Expr::Float(bits)),
            Tok::Char(code) => Expr::Char(code),
            Tok::Str(s) => Expr::Str(s),
            Tok::Name(n) if n == "true" => suffixed("bool", Expr::Int(1)),
            Tok::Name(n) if n == "false" => suffixed("bool", Expr::Int(0)),
            Tok::Name(n) => Expr::Var(n),
            Tok::Dollar(d) => history(&d)?,
            Tok::Punct("(") => {
                let parsed = self.nested(|p| p.binary(0))?;
                self.expect(")")?;
                return Ok(parsed);
            }
            _ => {
                self.pos -= 1;
                return Err(syntax_error(self.rest()));
            }
        };
        Ok((leaf, 0))
    }
}

fn history(d: &str) -> Result<Expr, CommandError> {
    if d.is_empty() {
        return Ok(Expr::HistoryBack(0));
    }
    if let Some(rest) = d.strip_prefix('$') {
        if rest.is_empty() {
            return Ok(Expr::HistoryBack(1));
        }
        if let Ok(n) = rest.parse() {
            return Ok(Expr::HistoryBack(n));
        }
    }
    if let Ok(n) = d.parse() {
        return Ok(Expr::History(n));
    }
    Ok(Expr::Convenience(d.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Expr {
        parse(s, &|n| n == "x" || n == "thing").unwrap()
    }

    fn var(n: &str) -> Box<Expr> {
        Box::new(Expr::Var(n.into()))
    }

    #[test]
    fn postfix_and_unary_operators() {
        assert_eq!(p("*thing"), Expr::Unary(UnOp::Deref, var("thing")));
        assert_eq!(p("thing->value"), Expr::Arrow(var("thing"), "value".into()));
        assert_eq!(
            p("&a.b[2]"),
            Expr::Unary(
                UnOp::AddrOf,
                Box::new(Expr::Index(
                    Box::new(Expr::Field(var("a"), "b".into())),
                    Box::new(Expr::Int(2))
                ))
            )
        );
        assert_eq!(p("t.0"), Expr::Field(var("t"), "0".into()));
        assert_eq!(p("mything::X"), Expr::Var("mything::X".into()));
    }

    #[test]
    fn arithmetic_has_c_precedence() {
        assert_eq!(
            p("1 + 2 * 3 - 4"),
            Expr::Binary(
                BinOp::Sub,
                Box::new(Expr::Binary(
                    BinOp::Add,
                    Box::new(Expr::Int(1)),
                    Box::new(Expr::Binary(
                        BinOp::Mul,
                        Box::new(Expr::Int(2)),
                        Box::new(Expr::Int(3))
                    ))
                )),
                Box::new(Expr::Int(4))
            )
        );
        assert_eq!(p("0x10"), Expr::Int(16));
        assert_eq!(p("0.5"), Expr::Float(0.5f64.to_bits()));
        assert_eq!(p("1e-3"), Expr::Float(1e-3f64.to_bits()));
        assert_eq!(p("010"), Expr::Int(8));
        // A tuple field after a field is not a float.
        assert_eq!(
            p("t.0.1"),
            Expr::Field(
                Box::new(Expr::Field(Box::new(Expr::Var("t".into())), "0".into())),
                "1".into()
            )
        );
        assert!(
            matches!(p("5u8"), Expr::Cast(TypeSpec { ref name, pointers: 0 }, _) if name == "u8")
        );
        assert_eq!(p("'a'"), Expr::Char(97));
        assert_eq!(p("'é'"), Expr::Char(233));
    }

    #[test]
    fn casts_are_told_from_parenthesized_variables() {
        assert_eq!(
            p("(mything::MyThing *) 0xfff9c"),
            Expr::Cast(
                TypeSpec {
                    name: "mything::MyThing".into(),
                    pointers: 1
                },
                Box::new(Expr::Int(0xfff9c))
            )
        );
        assert_eq!(
            p("(*mut u8)x"),
            Expr::Cast(
                TypeSpec {
                    name: "u8".into(),
                    pointers: 1
                },
                var("x")
            )
        );
        // `x` is a variable: a product, not a cast.
        assert_eq!(
            p("(x) * 2"),
            Expr::Binary(BinOp::Mul, var("x"), Box::new(Expr::Int(2)))
        );
        assert_eq!(
            p("(*thing).value"),
            Expr::Field(
                Box::new(Expr::Unary(UnOp::Deref, var("thing"))),
                "value".into()
            )
        );
        assert_eq!(
            p("sizeof(usize)"),
            Expr::SizeofType(TypeSpec {
                name: "usize".into(),
                pointers: 0
            })
        );
        assert_eq!(p("sizeof x"), Expr::SizeofExpr(var("x")));
        assert_eq!(
            p("{int} 0x10"),
            Expr::At(
                TypeSpec {
                    name: "int".into(),
                    pointers: 0
                },
                Box::new(Expr::Int(16))
            )
        );
    }

    #[test]
    fn history_references() {
        assert_eq!(p("$"), Expr::HistoryBack(0));
        assert_eq!(p("$$"), Expr::HistoryBack(1));
        assert_eq!(p("$$3"), Expr::HistoryBack(3));
        assert_eq!(p("$2"), Expr::History(2));
    }

    #[test]
    fn syntax_errors_quote_the_rest() {
        let e = parse("1 +", &|_| false).unwrap_err();
        assert_eq!(e.0, "A syntax error in expression, near `'.");
        let e = parse("a b", &|_| false).unwrap_err();
        assert_eq!(e.0, "A syntax error in expression, near `b'.");
    }
}
