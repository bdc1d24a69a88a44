//! Printing values and type names the way gdb does: `(*mut mything::MyThing) 0xfff9c`,
//! `mything::MyThing {value: 3}`, and the `/x`, `/d`, ... output formats.

use super::eval::Shape;
use super::{Ty, Value, le_int};
use crate::error::CommandError;
use crate::session::Session;

impl Session<'_> {
    /// Whether a type prints the Rust way.
    pub(crate) fn is_rust(&self, ty: &Ty) -> bool {
        match ty {
            Ty::Dwarf(id) => self.info.type_of(*id).is_ok_and(|t| t.rust),
            Ty::Ptr(t) => self.is_rust(t),
            Ty::Int { .. } | Ty::Void => self.frame_is_rust(),
        }
    }

    /// Whether the selected frame's source is Rust.
    pub(crate) fn frame_is_rust(&self) -> bool {
        self.frame().is_ok_and(|f| {
            f.symbol
                .location
                .as_ref()
                .and_then(|l| l.file.as_deref())
                .is_some_and(|f| f.ends_with(".rs"))
        })
    }

    /// The type's name (`mything::MyThing`, `*mut u8`, `int *`).
    pub(crate) fn type_name(&self, ty: &Ty) -> Result<String, CommandError> {
        Ok(match ty {
            Ty::Dwarf(id) => self.info.type_name(Some(*id))?,
            Ty::Int { name, .. } => name.to_string(),
            Ty::Void => if self.frame_is_rust() { "()" } else { "void" }.to_string(),
            Ty::Ptr(t) if self.is_rust(t) => format!("*mut {}", self.type_name(t)?),
            Ty::Ptr(t) => format!("{} *", self.type_name(t)?),
        })
    }

    /// Formats a value as gdb shows it in a frame line or `info locals`.
    pub(crate) fn format(&self, v: &Value, fmt: Option<char>) -> Result<String, CommandError> {
        let shape = self.shape(&v.ty)?;
        let scalar = matches!(shape, Shape::Int { .. } | Shape::Pointer(_));
        if let Some(f) = fmt
            && f != 's'
            && scalar
        {
            return Ok(format_int(
                &v.bytes,
                matches!(shape, Shape::Int { signed: true }),
                f,
            ));
        }
        if let Some('f') = fmt
            && let Shape::Int { .. } = shape
        {
            return Ok(format_int(&v.bytes, true, 'd'));
        }
        let text = match &v.ty {
            Ty::Dwarf(id) => {
                let frame = self.frame()?;
                let state = self.state(frame);
                self.info.format_value(*id, &v.bytes, &state, self.format)?
            }
            Ty::Int { signed, name, .. } if *name == "bool" && !signed => {
                (le_int(&v.bytes, false) != 0).to_string()
            }
            Ty::Int { signed, .. } => le_int(&v.bytes, *signed).to_string(),
            Ty::Ptr(_) => format!("{:#x}", le_int(&v.bytes, false)),
            Ty::Void => "void".into(),
        };
        Ok(text)
    }

    /// Formats a value as `print` shows it: a pointer with its type before it
    /// (`(&mything::MyThing) 0xfff9c`), except a C string and in an explicit format.
    pub(crate) fn format_top(&self, v: &Value, fmt: Option<char>) -> Result<String, CommandError> {
        let text = self.format(v, fmt)?;
        if fmt.is_none()
            && let Shape::Pointer(_) = self.shape(&v.ty)?
            && !text.contains(' ')
        {
            return Ok(format!("({}) {text}", self.type_name(&v.ty)?));
        }
        Ok(text)
    }
}

/// An integer in one of gdb's output formats.
pub(crate) fn format_int(bytes: &[u8], signed: bool, f: char) -> String {
    let bits = bytes.len() * 8;
    let unsigned = le_int(bytes, false) as u128;
    match f {
        'x' | 'a' => format!("{unsigned:#x}"),
        'z' => format!("0x{unsigned:0width$x}", width = bytes.len() * 2),
        'o' if unsigned == 0 => "0".into(),
        'o' => format!("0{unsigned:o}"),
        't' => format!("{unsigned:b}"),
        'd' => le_int(bytes, true).to_string(),
        'u' => unsigned.to_string(),
        'c' => {
            let v = le_int(&bytes[..1.min(bytes.len())], signed);
            let c = (v as u8) as char;
            let shown = match c {
                '\'' => "\\'".to_string(),
                '\\' => "\\\\".to_string(),
                c if c.is_ascii_graphic() || c == ' ' => c.to_string(),
                '\n' => "\\n".into(),
                '\t' => "\\t".into(),
                '\0' => "\\000".into(),
                c => format!("\\{:03o}", c as u32),
            };
            format!("{v} '{shown}'")
        }
        'f' if bits == 32 => f32::from_bits(unsigned as u32).to_string(),
        'f' if bits == 64 => f64::from_bits(unsigned as u64).to_string(),
        _ if signed => le_int(bytes, true).to_string(),
        _ => unsigned.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::format_int;

    #[test]
    fn integer_formats_follow_gdb() {
        let b = 3u32.to_le_bytes();
        assert_eq!(format_int(&b, false, 'x'), "0x3");
        assert_eq!(format_int(&b, false, 'z'), "0x00000003");
        assert_eq!(format_int(&b, false, 'o'), "03");
        assert_eq!(format_int(&b, false, 't'), "11");
        assert_eq!(format_int(&(-1i32).to_le_bytes(), true, 'x'), "0xffffffff");
        assert_eq!(format_int(&(-1i32).to_le_bytes(), true, 'u'), "4294967295");
        assert_eq!(format_int(&[65], false, 'c'), "65 'A'");
        assert_eq!(format_int(&[0], false, 'c'), "0 '\\000'");
    }
}
