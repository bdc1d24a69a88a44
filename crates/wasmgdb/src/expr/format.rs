//! Printing values and type names the way gdb does: `(*mut mything::MyThing) 0xfff9c`,
//! `mything::MyThing {value: 3}`, and the `/x`, `/d`, ... output formats.

use debuginfo::{FormatOptions, format_char, format_float, format_integer};

use super::eval::Shape;
use super::{Ty, Value, le_int};
use crate::error::CommandError;
use crate::session::Session;

impl Session<'_> {
    /// Whether a type prints the Rust way.
    pub(crate) fn is_rust(&self, ty: &Ty) -> bool {
        match ty {
            Ty::Dwarf(id) => self.info.type_of(*id).is_ok_and(|t| t.rust),
            Ty::Ptr(t) | Ty::Array { element: t, .. } => self.is_rust(t),
            Ty::Int { .. } | Ty::Float { .. } | Ty::Void => self.frame_is_rust(),
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
            Ty::Int { name, .. } | Ty::Float { name, .. } => name.to_string(),
            Ty::Void => if self.frame_is_rust() { "()" } else { "void" }.to_string(),
            Ty::Ptr(t) if self.is_rust(t) => format!("*mut {}", self.type_name(t)?),
            Ty::Ptr(t) => format!("{} *", self.type_name(t)?),
            Ty::Array { element, count } if self.is_rust(element) => {
                format!("[{}; {count}]", self.type_name(element)?)
            }
            Ty::Array { element, count } => format!("{} [{count}]", self.type_name(element)?),
        })
    }

    /// Formats a value as gdb shows it in a frame line or `info locals`, in the output format
    /// `fmt` of `print/FMT` when there is one (applied to each scalar of an aggregate).
    pub(crate) fn format(&self, v: &Value, fmt: Option<char>) -> Result<String, CommandError> {
        let all_described = !(v.described.as_ref()).is_some_and(|d| d.contains(&false));
        if v.optimized_out || (!all_described && !matches!(v.ty, Ty::Dwarf(_))) {
            return Ok("<optimized out>".into());
        }
        // `/r` (raw: no std type's printer) and `/s` are not output formats; an artificial
        // array's elements get the letter as given.
        let letter = fmt;
        let raw = fmt == Some('r');
        let fmt = fmt.filter(|&f| f != 's' && f != 'r');
        let shape = self.shape(&v.ty)?;
        let text = match (&v.ty, fmt) {
            (Ty::Dwarf(id), _) => {
                let frame = self.frame()?;
                let state = self.state(frame);
                let options = FormatOptions {
                    format: fmt,
                    raw,
                    ..self.format
                };
                let described = v.described.as_deref();
                (self.info).format_described_value(*id, &v.bytes, described, &state, options)?
            }
            (Ty::Array { element, .. }, _) => {
                let size = self.size_of(element)? as usize;
                let mut items = Vec::new();
                for (i, bytes) in v.bytes.chunks(size.max(1)).enumerate() {
                    if i >= self.format.max_elements {
                        items.push("...".to_string());
                        break;
                    }
                    let item = Value {
                        address: v.address.map(|a| a + (i * size) as u64),
                        ..Value::computed((**element).clone(), bytes.to_vec())
                    };
                    items.push(self.format(&item, letter)?);
                }
                if self.is_rust(element) {
                    format!("[{}]", items.join(", "))
                } else {
                    format!("{{{}}}", items.join(", "))
                }
            }
            // A float prints its bits in a format, but as a float in `/f`.
            (Ty::Float { .. }, None | Some('f')) => format_float(&v.bytes).unwrap_or_default(),
            (_, Some(f)) => format_integer(&v.bytes, shape != Shape::Int { signed: false }, f),
            (Ty::Int { name: "char", .. }, None) if v.bytes.len() == 4 => {
                format_char(le_int(&v.bytes, false) as u32)
            }
            (
                Ty::Int {
                    name: "char",
                    signed,
                    ..
                },
                None,
            ) => format_integer(&v.bytes, *signed, 'c'),
            (Ty::Int { signed, name, .. }, None) if *name == "bool" && !signed => {
                (le_int(&v.bytes, false) != 0).to_string()
            }
            (Ty::Int { signed, .. }, None) => le_int(&v.bytes, *signed).to_string(),
            (Ty::Ptr(_), None) => format!("{:#x}", le_int(&v.bytes, false)),
            (Ty::Void, None) => "void".into(),
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
