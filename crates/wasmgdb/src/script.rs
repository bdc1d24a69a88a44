//! gdb's output commands for scripts: `echo`, `output` and `printf`.

use serde_json::json;

use crate::error::CommandError;
use crate::exec::Reply;
use crate::expr::Value;
use crate::expr::eval::Shape;
use crate::memory::split_args;
use crate::session::Session;

type Result<T> = std::result::Result<T, CommandError>;

/// `text` with C's escapes replaced (`\n`, `\t`, `\"`, `\\`, `\a`, `\e`, `\NNN` in octal), as
/// `echo` and `printf`'s format take them; a backslash before anything else stands for it.
pub(crate) fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('a') => out.push('\x07'),
            Some('b') => out.push('\x08'),
            Some('f') => out.push('\x0c'),
            Some('v') => out.push('\x0b'),
            Some('e') => out.push('\x1b'),
            Some(d @ '0'..='7') => {
                let mut code = d.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(digit) => {
                            code = code * 8 + digit;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            Some(other) => out.push(other),
            // A trailing backslash continues the line in gdb: nothing to print.
            None => {}
        }
    }
    out
}

/// One `%` conversion of a printf format.
#[derive(Debug, Default)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    alternate: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
    /// The integer's width in bits from the length modifier (`hh` 8, `h` 16, none 32, `l`, `ll`,
    /// `z`, `j`, `t` 64).
    bits: u32,
    conversion: char,
}

impl Session<'_> {
    /// `output[/FMT] EXPR`.
    pub(crate) fn output(&mut self, format: Option<char>, text: &str) -> Result<Reply> {
        let e = self.parse_expr(text)?;
        let value = self.eval(&e)?;
        let shown = self.format_top(&value, format)?;
        Ok(Reply::new(shown.clone(), json!({ "value": shown })))
    }

    /// `printf "FORMAT", ARG...`.
    pub(crate) fn printf(&mut self, args: &str) -> Result<Reply> {
        let args = split_args(args);
        let format = args[0]
            .strip_prefix('"')
            .and_then(|f| f.strip_suffix('"'))
            .ok_or_else(|| CommandError::new("Bad format string"))?;
        let values = args[1..]
            .iter()
            .filter(|a| !a.is_empty())
            .map(|a| {
                let e = self.parse_expr(a)?;
                self.eval(&e)
            })
            .collect::<Result<Vec<Value>>>()?;
        let format = unescape(format);
        let mut values = values.into_iter();
        let mut out = String::new();
        let mut chars = format.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            if chars.peek() == Some(&'%') {
                chars.next();
                out.push('%');
                continue;
            }
            let spec = parse_spec(&mut chars)?;
            let value = values.next().ok_or_else(wrong_number)?;
            let text = self.convert(&spec, &value)?;
            out.push_str(&pad(&spec, text));
        }
        if values.next().is_some() {
            return Err(wrong_number());
        }
        Ok(Reply::new(out.clone(), json!({ "text": out })))
    }

    /// The conversion of `value` by `spec`, before padding to the width.
    fn convert(&self, spec: &Spec, value: &Value) -> Result<String> {
        let shape = self.shape(&value.ty)?;
        let integer = || -> Result<(u128, bool)> {
            let x = self.as_int(value)?;
            let mask = if spec.bits >= 128 {
                u128::MAX
            } else {
                (1u128 << spec.bits) - 1
            };
            let bits = x as u128 & mask;
            let negative = spec.bits < 128 && bits >> (spec.bits - 1) & 1 == 1;
            Ok((bits, negative))
        };
        Ok(match spec.conversion {
            'd' | 'i' => {
                let (bits, negative) = integer()?;
                let magnitude = if negative {
                    (1u128 << spec.bits) - bits
                } else {
                    bits
                };
                let digits = min_digits(magnitude.to_string(), spec.precision);
                let sign = if negative {
                    "-"
                } else if spec.plus {
                    "+"
                } else if spec.space {
                    " "
                } else {
                    ""
                };
                format!("{sign}{digits}")
            }
            'u' => min_digits(integer()?.0.to_string(), spec.precision),
            'x' | 'X' | 'o' => {
                let bits = integer()?.0;
                let digits = match spec.conversion {
                    'x' => format!("{bits:x}"),
                    'X' => format!("{bits:X}"),
                    _ => format!("{bits:o}"),
                };
                let digits = min_digits(digits, spec.precision);
                match (spec.alternate && bits != 0, spec.conversion) {
                    (true, 'x') => format!("0x{digits}"),
                    (true, 'X') => format!("0X{digits}"),
                    (true, _) => format!("0{digits}"),
                    _ => digits,
                }
            }
            'p' => format!("{:#x}", self.as_int(value)? as u128 & u128::from(u64::MAX)),
            'c' => char::from(self.as_int(value)? as u8).to_string(),
            'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
                let x = match shape {
                    Shape::Float | Shape::Int { .. } => self.as_float(value)?,
                    _ => {
                        return Err(CommandError::new("Value can't be converted to float."));
                    }
                };
                let precision = spec.precision.unwrap_or(6);
                let text = match spec.conversion {
                    _ if !x.is_finite() => debuginfo::format_general(x, 6),
                    'f' | 'F' => format!("{x:.precision$}"),
                    'e' | 'E' => c_exponent(&format!("{x:.precision$e}")),
                    _ => debuginfo::format_general(x, precision),
                };
                let text = if spec.conversion.is_ascii_uppercase() {
                    text.to_uppercase()
                } else {
                    text
                };
                if spec.plus && x >= 0.0 {
                    format!("+{text}")
                } else {
                    text
                }
            }
            's' => {
                let text = self.string_argument(value)?;
                match spec.precision {
                    Some(p) => text.chars().take(p).collect(),
                    None => text,
                }
            }
            other => {
                return Err(CommandError::new(format!(
                    "Unrecognized format specifier '{other}' in printf"
                )));
            }
        })
    }

    /// What `%s` prints of `value`: the NUL-terminated string a pointer points at, the bytes of
    /// a char array up to its NUL.
    fn string_argument(&self, value: &Value) -> Result<String> {
        match self.shape(&value.ty)? {
            Shape::Pointer(_) | Shape::Int { .. } => {
                let address = self.address_of_operand(value)?;
                let (bytes, _, _) = self.c_string_bytes(address)?;
                Ok(String::from_utf8_lossy(&bytes).into_owned())
            }
            Shape::Array { .. } => {
                let end = value
                    .bytes
                    .iter()
                    .position(|&b| b == 0)
                    .unwrap_or(value.bytes.len());
                Ok(String::from_utf8_lossy(&value.bytes[..end]).into_owned())
            }
            _ => Err(CommandError::new("Value can't be converted to integer.")),
        }
    }
}

/// Parses the rest of a `%` conversion (after the `%`).
fn parse_spec(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<Spec> {
    let mut spec = Spec {
        bits: 32,
        ..Spec::default()
    };
    while let Some(&c) = chars.peek() {
        match c {
            '-' => spec.left = true,
            '+' => spec.plus = true,
            ' ' => spec.space = true,
            '#' => spec.alternate = true,
            '0' => spec.zero = true,
            _ => break,
        }
        chars.next();
    }
    let number = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        let mut n: usize = 0;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            n = n.saturating_mul(10).saturating_add(d as usize).min(4096);
            chars.next();
        }
        n
    };
    spec.width = number(chars);
    if chars.peek() == Some(&'.') {
        chars.next();
        spec.precision = Some(number(chars));
    }
    while let Some(&c) = chars.peek() {
        match c {
            'h' => spec.bits = if spec.bits == 16 { 8 } else { 16 },
            'l' | 'z' | 'j' | 't' | 'L' => spec.bits = 64,
            _ => break,
        }
        chars.next();
    }
    spec.conversion = chars
        .next()
        .ok_or_else(|| CommandError::new("Bad format string"))?;
    Ok(spec)
}

/// `digits` with leading zeros up to `precision` digits.
fn min_digits(digits: String, precision: Option<usize>) -> String {
    match precision {
        Some(p) if digits.len() < p => format!("{digits:0>p$}"),
        _ => digits,
    }
}

/// Rust's `1.5e0` as C's `1.5e+00`.
fn c_exponent(rust: &str) -> String {
    match rust.split_once('e') {
        Some((mantissa, exponent)) => {
            let (sign, digits) = match exponent.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exponent),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => rust.to_string(),
    }
}

/// `text` padded to the spec's width: on the left with spaces or (`0`, numbers) zeros after the
/// sign, or on the right (`-`).
fn pad(spec: &Spec, text: String) -> String {
    let len = text.chars().count();
    if len >= spec.width {
        return text;
    }
    let fill = spec.width - len;
    let mut out = String::new();
    if spec.left {
        out.push_str(&text);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && "diuxXofFeEgG".contains(spec.conversion) {
        let sign_len = usize::from(text.starts_with(['-', '+', ' ']));
        let prefix_len = sign_len
            + if text[sign_len..].starts_with("0x") {
                2
            } else {
                0
            };
        out.push_str(&text[..prefix_len]);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(&text[prefix_len..]);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(&text);
    }
    out
}

/// gdb's message for a printf whose values are not as many as its conversions.
fn wrong_number() -> CommandError {
    CommandError::new("Wrong number of arguments for specified format-string")
}
