//! Scalars as gdb prints them: floats with `%g` and 9 (`f32`) or 17 (`f64`) significant digits
//! (`0.899999976`, `2.7182818284590451`, `1e+20`, `-nan(0x8000000000000)`), Rust `char`s
//! (`233 '\xe9'`), and integers in the output formats of `print/FMT` and `x/FMT`.

/// A float of 4 or 8 little-endian `bytes` as gdb prints it; `None` for other sizes.
pub fn format_float(bytes: &[u8]) -> Option<String> {
    let (value, digits, fraction, negative) = match *bytes {
        [a, b, c, d] => {
            let bits = u32::from_le_bytes([a, b, c, d]);
            let f = f32::from_bits(bits);
            (
                f64::from(f),
                9,
                u64::from(bits & 0x7f_ffff),
                f.is_sign_negative(),
            )
        }
        [..] if bytes.len() == 8 => {
            let bits = u64::from_le_bytes(bytes.try_into().ok()?);
            let f = f64::from_bits(bits);
            (f, 17, bits & ((1 << 52) - 1), f.is_sign_negative())
        }
        _ => return None,
    };
    let sign = if negative { "-" } else { "" };
    Some(if value.is_nan() {
        format!("{sign}nan({fraction:#x})")
    } else if value.is_infinite() {
        format!("{sign}inf")
    } else {
        general(value, digits)
    })
}

/// C's `%.{digits}g` of a finite `value` (`digits` at least 1).
pub fn format_general(value: f64, digits: usize) -> String {
    general(value, digits.max(1))
}

/// C's `%.{digits}g` of a finite `value`.
fn general(value: f64, digits: usize) -> String {
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Rounded to `digits` significant digits first: the exponent is the rounded value's.
    let scientific = format!("{:.*e}", digits - 1, value);
    let (mantissa, exponent) = scientific.split_once('e').expect("`{:e}` has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}`'s exponent is a number");
    if exponent < -4 || exponent >= digits as i32 {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{}e{sign}{:02}",
            without_trailing_zeros(mantissa),
            exponent.unsigned_abs()
        )
    } else {
        let decimals = (digits as i32 - 1 - exponent) as usize;
        without_trailing_zeros(&format!("{value:.decimals$}")).to_string()
    }
}

/// `1.500` as `1.5`, `2.000` as `2`; a number without a point as it is.
fn without_trailing_zeros(number: &str) -> &str {
    if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.')
    } else {
        number
    }
}

/// A Rust `char` as gdb's Rust printer shows it: its code, then the character quoted, escaped
/// where it is not printable ASCII (`233 '\xe9'`, `128512 '\u{01f600}'`).
pub fn format_char(code: u32) -> String {
    let quoted = match code {
        0x5c => "\\\\".to_string(),
        0x27 => "\\'".to_string(),
        0x0a => "\\n".to_string(),
        0x0d => "\\r".to_string(),
        0x09 => "\\t".to_string(),
        0 => "\\0".to_string(),
        32..=126 => char::from(code as u8).to_string(),
        1..=255 => format!("\\x{code:02x}"),
        _ => format!("\\u{{{code:06x}}}"),
    };
    format!("{code} '{quoted}'")
}

/// An integer of little-endian `bytes` in one of gdb's output format letters: `x`, `z`
/// (zero-padded hex), `o`, `t`, `d`, `u`, `c` (the code, then the character, C-escaped), `f` (the
/// bits as a float of that size, where there is one); any other letter prints it as `signed`
/// says.
pub fn format_integer(bytes: &[u8], signed: bool, letter: char) -> String {
    let n = bytes.len().min(16);
    let unsigned = bytes[..n]
        .iter()
        .rev()
        .fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
    let as_signed = || {
        if n == 0 || n == 16 {
            unsigned as i128
        } else {
            let shift = 128 - 8 * n as u32;
            ((unsigned << shift) as i128) >> shift
        }
    };
    match letter {
        'x' | 'a' => format!("{unsigned:#x}"),
        'z' => format!("0x{unsigned:0width$x}", width = n * 2),
        'o' if unsigned == 0 => "0".into(),
        'o' => format!("0{unsigned:o}"),
        't' => format!("{unsigned:b}"),
        'd' => as_signed().to_string(),
        'u' => unsigned.to_string(),
        'c' => {
            let code = if signed {
                i128::from(bytes.first().map_or(0, |&b| b as i8))
            } else {
                i128::from(bytes.first().copied().unwrap_or(0))
            };
            let byte = code as u8;
            let shown = match byte {
                b'\'' => "\\'".to_string(),
                b'\\' => "\\\\".to_string(),
                b'\n' => "\\n".into(),
                b'\t' => "\\t".into(),
                0 => "\\000".into(),
                b if b.is_ascii_graphic() || b == b' ' => char::from(b).to_string(),
                b => format!("\\{b:03o}"),
            };
            format!("{code} '{shown}'")
        }
        'f' => format_float(&bytes[..n]).unwrap_or_else(|| as_signed().to_string()),
        _ if signed => as_signed().to_string(),
        _ => unsigned.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each expected string is what gdb 13 printed for the value (`print`, `print/FMT`).
    #[test]
    fn floats_print_as_gdb_prints_them() {
        let f32s: [(f32, &str); 4] = [
            (0.9, "0.899999976"),
            (-0.9, "-0.899999976"),
            (2.5, "2.5"),
            (f32::INFINITY, "inf"),
        ];
        for (v, expected) in f32s {
            assert_eq!(format_float(&v.to_le_bytes()).unwrap(), expected);
        }
        let f64s: [(f64, &str); 11] = [
            (std::f64::consts::E, "2.7182818284590451"),
            (0.1, "0.10000000000000001"),
            (3.5, "3.5"),
            (1.0 / 3.0, "0.33333333333333331"),
            (1e10, "10000000000"),
            (1e-5, "1.0000000000000001e-05"),
            (123456789.0, "123456789"),
            (0.0001, "0.0001"),
            (100.0, "100"),
            (f64::from(0.9f32), "0.89999997615814209"),
            (f64::INFINITY, "inf"),
        ];
        for (v, expected) in f64s {
            assert_eq!(format_float(&v.to_le_bytes()).unwrap(), expected);
        }
        // x86's 0.0/0.0: the sign bit set, the quiet bit.
        let nan = f64::from_bits(0xfff8_0000_0000_0000);
        assert_eq!(
            format_float(&nan.to_le_bytes()).unwrap(),
            "-nan(0x8000000000000)"
        );
        assert_eq!(format_float(&[0; 2]), None);
    }

    #[test]
    fn integers_in_gdb_formats() {
        let b = 3u32.to_le_bytes();
        assert_eq!(format_integer(&b, false, 'x'), "0x3");
        assert_eq!(format_integer(&b, false, 'z'), "0x00000003");
        assert_eq!(format_integer(&b, false, 'o'), "03");
        assert_eq!(format_integer(&b, false, 't'), "11");
        assert_eq!(
            format_integer(&(-1i32).to_le_bytes(), true, 'x'),
            "0xffffffff"
        );
        assert_eq!(
            format_integer(&(-1i32).to_le_bytes(), true, 'u'),
            "4294967295"
        );
        assert_eq!(format_integer(&[65], false, 'c'), "65 'A'");
        assert_eq!(format_integer(&[200], false, 'c'), "200 '\\310'");
        assert_eq!(format_integer(&[0], false, 'c'), "0 '\\000'");
        // gdb: `p/f` of an i32 3 and an i64 12.
        assert_eq!(
            format_integer(&3i32.to_le_bytes(), true, 'f'),
            "4.20389539e-45"
        );
        assert_eq!(
            format_integer(&12i64.to_le_bytes(), true, 'f'),
            "5.9287877500949585e-323"
        );
        assert_eq!(
            format_integer(&u128::MAX.to_le_bytes(), false, 'u'),
            "340282366920938463463374607431768211455"
        );
    }

    #[test]
    fn chars_print_as_gdb_prints_rust_chars() {
        assert_eq!(format_char('A' as u32), "65 'A'");
        assert_eq!(format_char('é' as u32), "233 '\\xe9'");
        assert_eq!(format_char('\n' as u32), "10 '\\n'");
        assert_eq!(format_char('😀' as u32), "128512 '\\u{01f600}'");
    }
}
