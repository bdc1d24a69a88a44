//! Evaluating an [`Expr`] against the selected frame of a [`Session`].

use debuginfo::{Place, TypeKind, Variable, VariableKind};

use super::{BinOp, Expr, Ty, TypeSpec, UnOp, Value, le_int};
use crate::error::{CommandError, excerpt};
use crate::session::Session;

type Result<T> = std::result::Result<T, CommandError>;

/// What a type is, for the evaluator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    Int { signed: bool },
    Float,
    Pointer(Ty),
    Array { element: Ty, count: Option<u64> },
    Aggregate,
    Void,
}

/// Built-in type names, for casts and `sizeof` when the DWARF has no such type.
fn builtin(name: &str) -> Option<Ty> {
    let (size, signed, name) = match name {
        "u8" | "unsigned char" => (1, false, "u8"),
        "i8" | "char" | "signed char" => (1, true, "i8"),
        "u16" | "unsigned short" => (2, false, "u16"),
        "i16" | "short" => (2, true, "i16"),
        "u32" | "unsigned" | "unsigned int" => (4, false, "u32"),
        "i32" | "int" => (4, true, "i32"),
        "usize" => (4, false, "usize"),
        "isize" => (4, true, "isize"),
        "u64" | "unsigned long long" => (8, false, "u64"),
        "i64" | "long long" => (8, true, "i64"),
        "long" => (4, true, "long"),
        "unsigned long" => (4, false, "unsigned long"),
        "i128" => (16, true, "i128"),
        "u128" => (16, false, "u128"),
        "bool" => (1, false, "bool"),
        "f32" | "float" => {
            return Some(Ty::Float {
                size: 4,
                name: "f32",
            });
        }
        "f64" | "double" => {
            return Some(Ty::Float {
                size: 8,
                name: "f64",
            });
        }
        "void" | "()" => return Some(Ty::Void),
        _ => return None,
    };
    Some(Ty::Int { size, signed, name })
}

impl Session<'_> {
    /// The variables of the selected frame; innermost block first, then the parameters.
    pub(crate) fn frame_variables(&self) -> Result<Vec<Variable>> {
        let frame = self.frame()?;
        let Some(scope) = frame.symbol.scope else {
            return Ok(Vec::new());
        };
        Ok(self.info.variables(&scope)?)
    }

    fn lookup(&self, name: &str) -> Result<Option<Variable>> {
        let mut vars = self.frame_variables()?;
        vars.sort_by_key(|v| {
            (
                v.kind == VariableKind::Parameter,
                std::cmp::Reverse(v.block_depth),
            )
        });
        Ok(vars.into_iter().find(|v| v.name.as_deref() == Some(name)))
    }

    /// Whether `name` is a variable of the selected frame (for the parser's cast test).
    pub(crate) fn is_variable(&self, name: &str) -> bool {
        self.lookup(name).ok().flatten().is_some()
    }

    /// Parses `text` in the selected frame's scope.
    pub(crate) fn parse_expr(&self, text: &str) -> Result<Expr> {
        let names: Vec<String> = self
            .frame_variables()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.name)
            .collect();
        super::parse::parse(text, &|n| names.iter().any(|v| v == n)).map_err(|e| {
            if self.frame_is_rust() && e.to_string() == super::parse::TOO_LARGE {
                CommandError::new(super::parse::RUST_TOO_LARGE)
            } else {
                e
            }
        })
    }

    /// Evaluates an expression in the selected frame.
    pub(crate) fn eval(&self, e: &Expr) -> Result<Value> {
        match e {
            Expr::Int(v) if self.frame_is_rust() => Ok(Value::rust_int(*v)),
            Expr::Int(v) => Ok(Value::int(*v)),
            // Rust's `char` (4 bytes), C's `char` (1).
            Expr::Char(code) if self.frame_is_rust() => {
                Ok(Value::int_of(i128::from(*code), 4, false, "char"))
            }
            Expr::Char(code) => Ok(Value::int_of(i128::from(*code), 1, true, "char")),
            Expr::Binary(op @ (BinOp::Eq | BinOp::Ne), a, b)
                if matches!(**a, Expr::Str(_)) || matches!(**b, Expr::Str(_)) =>
            {
                let ((Expr::Str(literal), other) | (other, Expr::Str(literal))) = (&**a, &**b)
                else {
                    unreachable!("one side is a string literal")
                };
                let value = self.eval(other)?;
                let equal = self.string_equals(&value, literal)?;
                Ok(Value::boolean(
                    equal == (*op == BinOp::Eq),
                    self.frame_is_rust(),
                ))
            }
            Expr::Float(bits) => Ok(Value::float(
                f64::from_bits(*bits),
                8,
                if self.frame_is_rust() {
                    "f64"
                } else {
                    "double"
                },
            )),
            Expr::Str(_) => Err(CommandError::new(
                "String values are only supported by `find`.",
            )),
            Expr::Var(name) => self.variable(name),
            Expr::History(n) => self
                .history
                .get(n.wrapping_sub(1))
                .cloned()
                .ok_or_else(|| CommandError::new(format!("History has not yet reached ${n}."))),
            Expr::HistoryBack(back) => {
                if self.history.is_empty() {
                    return Err(CommandError::new("History is empty."));
                }
                let index = self.history.len().checked_sub(1 + back);
                index
                    .and_then(|i| self.history.get(i))
                    .cloned()
                    .ok_or_else(|| CommandError::new("History has not yet reached that far back."))
            }
            Expr::Convenience(name) => self.convenience(name),
            Expr::Unary(op, inner) => self.unary(*op, inner),
            Expr::Repeat(first, count) => {
                let first = self.eval(first)?;
                let count = self.eval(count)?;
                self.repeat(first, self.as_int(&count)?)
            }
            Expr::Binary(op, a, b) => {
                let a = self.eval(a)?;
                let b = self.eval(b)?;
                self.binary(*op, a, b)
            }
            Expr::Field(inner, name) => {
                let v = self.eval(inner)?;
                self.field(self.auto_deref(v)?, name)
            }
            Expr::Arrow(inner, name) => {
                let v = self.eval(inner)?;
                let v = match self.shape(&v.ty)? {
                    Shape::Pointer(_) => self.deref(v)?,
                    _ => {
                        return Err(CommandError::new(format!(
                            "The -> operator needs a pointer; use `.{name}`."
                        )));
                    }
                };
                self.field(v, name)
            }
            Expr::Index(base, index) => {
                let base = self.eval(base)?;
                let index = self.eval(index)?;
                let i = self.as_int(&index)?;
                self.index(base, i)
            }
            Expr::Cast(spec, inner) => {
                let ty = self.resolve_type(spec)?;
                let v = self.eval(inner)?;
                self.cast(v, ty)
            }
            Expr::At(spec, inner) => {
                let ty = self.resolve_type(spec)?;
                let v = self.eval(inner)?;
                let address = self.address_of_operand(&v)?;
                self.read_at(ty, address)
            }
            Expr::SizeofType(spec) => {
                let ty = self.resolve_type(spec)?;
                Ok(Value::int_of(
                    i128::from(self.size_of(&ty)?),
                    4,
                    false,
                    "usize",
                ))
            }
            Expr::SizeofExpr(inner) => {
                let v = self.eval(inner)?;
                Ok(Value::int_of(
                    i128::from(self.size_of(&v.ty)?),
                    4,
                    false,
                    "usize",
                ))
            }
        }
    }

    /// `$pc`: the selected frame's pc, as `bt` shows it (a module offset); `$sp`: its stack
    /// pointer, the frame base its DWARF gives (the `__stack_pointer` global's value on entry);
    /// `$_`: the address `x` examined last. Any other is void, as an unset one in gdb.
    fn convenience(&self, name: &str) -> Result<Value> {
        let pointer = |address: u64, to: Ty| {
            Value::computed(
                Ty::Ptr(Box::new(to)),
                address.to_le_bytes()[..self.pointer_size() as usize].to_vec(),
            )
        };
        match name {
            "pc" => {
                let frame = self.frame()?;
                let pc = self
                    .pc(frame.func, frame.code_offset)
                    .ok_or_else(|| CommandError::new("No registers."))?;
                Ok(Value::computed(
                    Ty::Ptr(Box::new(Ty::Void)),
                    pc.to_le_bytes().to_vec(),
                ))
            }
            "sp" => {
                let frame = self.frame()?;
                let scope = frame.symbol.scope.ok_or_else(|| {
                    CommandError::new("No frame base for this frame (its function has no DWARF).")
                })?;
                let base = self.info.frame_base(&scope, &self.state(frame))?;
                Ok(pointer(base, Ty::Void))
            }
            "_" => Ok(match self.examine_state.last {
                Some((address, size)) => {
                    let name = match size {
                        1 => "i8",
                        2 => "i16",
                        8 => "i64",
                        _ => "i32",
                    };
                    let unit = Ty::Int {
                        size: size as u8,
                        signed: true,
                        name,
                    };
                    pointer(address, unit)
                }
                None => Value::computed(Ty::Void, Vec::new()),
            }),
            _ => Ok(Value::computed(Ty::Void, Vec::new())),
        }
    }

    fn variable(&self, name: &str) -> Result<Value> {
        let Some(var) = self.lookup(name)? else {
            return self.global(name);
        };
        let frame = self.frame()?;
        let state = self.state(frame);
        let ty = var
            .ty
            .map(Ty::Dwarf)
            .ok_or_else(|| CommandError::new(format!("\"{name}\" has no type.")))?;
        let place = self.info.locate(&var, &state)?;
        match place {
            Place::Memory(address) => self.read_at(ty, address),
            place => {
                let size = self.size_of(&ty)?;
                let (bytes, described) = match place.read_described(size, &state) {
                    Err(debuginfo::Error::OptimizedOut) => {
                        return Ok(Value::optimized_out(ty));
                    }
                    read => read?,
                };
                Ok(Value {
                    ty,
                    bytes,
                    address: None,
                    optimized_out: false,
                    described,
                })
            }
        }
    }

    /// A global variable (a `static`), by qualified or plain name: read from linear memory at
    /// its `DW_OP_addr` address. Statics of the selected frame's unit win, as in gdb.
    fn global(&self, name: &str) -> Result<Value> {
        let near = self.frame().ok().and_then(|f| f.symbol.scope);
        let global = self
            .info
            .find_global_variable(name, near.as_ref())?
            .ok_or_else(|| self.no_symbol(name))?;
        let ty = global
            .ty
            .map(Ty::Dwarf)
            .ok_or_else(|| CommandError::new(format!("\"{name}\" has no type.")))?;
        match global.address {
            Some(address) => self.read_at(ty, address),
            None => Ok(Value::optimized_out(ty)),
        }
    }

    /// Whether `value`, a Rust `&str` or `String` or a C string (a `char *`), holds the bytes
    /// of `literal`.
    fn string_equals(&self, value: &Value, literal: &[u8]) -> Result<bool> {
        available(value)?;
        if let Ty::Dwarf(id) = value.ty
            && let Some((data, len)) =
                self.info
                    .rust_string(id, &value.bytes, &self.state(self.frame()?))?
        {
            if len != literal.len() as u64 {
                return Ok(false);
            }
            return Ok(self.dump.read(self.memory_index(), data, len)?.as_ref() == literal);
        }
        match self.shape(&value.ty)? {
            Shape::Pointer(_) => {
                let (bytes, _, complete) = self.c_string_bytes(self.as_int(value)? as u64)?;
                Ok(complete && bytes == literal)
            }
            _ => Err(CommandError::new(
                "A string can only be compared with a string (&str, String, char *).",
            )),
        }
    }

    /// gdb's error for a name it does not know, in its Rust or its C words.
    fn no_symbol(&self, name: &str) -> CommandError {
        let name = excerpt(name);
        CommandError::new(if self.frame_is_rust() {
            format!("No symbol '{name}' in current context")
        } else {
            format!("No symbol \"{name}\" in current context.")
        })
    }

    /// Reads a value of type `ty` at `address` of the selected frame's memory.
    pub(crate) fn read_at(&self, ty: Ty, address: u64) -> Result<Value> {
        let size = self.size_of(&ty)?;
        let bytes = self
            .dump
            .read(self.memory_index(), address, size)?
            .into_owned();
        Ok(Value {
            address: Some(address),
            ..Value::computed(ty, bytes)
        })
    }

    /// The address size of the memory (4, or 8 for memory64).
    pub(crate) fn pointer_size(&self) -> u64 {
        let memory64 = self
            .dump
            .memories()
            .get(self.memory_index() as usize)
            .is_some_and(|m| m.ty.memory64);
        if memory64 { 8 } else { 4 }
    }

    pub(crate) fn size_of(&self, ty: &Ty) -> Result<u64> {
        Ok(match ty {
            Ty::Dwarf(id) => self.info.type_size(*id)?.unwrap_or(0),
            Ty::Int { size, .. } | Ty::Float { size, .. } => u64::from(*size),
            Ty::Ptr(_) => self.pointer_size(),
            Ty::Array { element, count } => self.size_of(element)?.saturating_mul(*count),
            Ty::Void => 1,
        })
    }

    pub(crate) fn shape(&self, ty: &Ty) -> Result<Shape> {
        Ok(match ty {
            Ty::Int { signed, .. } => Shape::Int { signed: *signed },
            Ty::Float { .. } => Shape::Float,
            Ty::Ptr(t) => Shape::Pointer((**t).clone()),
            Ty::Array { element, count } => Shape::Array {
                element: (**element).clone(),
                count: Some(*count),
            },
            Ty::Void => Shape::Void,
            Ty::Dwarf(id) => {
                let (_, t) = self.info.strip_type(*id)?;
                match &t.kind {
                    TypeKind::Base(enc) => match *enc {
                        debuginfo::gimli::DW_ATE_float => Shape::Float,
                        debuginfo::gimli::DW_ATE_signed | debuginfo::gimli::DW_ATE_signed_char => {
                            Shape::Int { signed: true }
                        }
                        _ => Shape::Int { signed: false },
                    },
                    TypeKind::Enum(e) => Shape::Int { signed: e.signed },
                    TypeKind::Pointer(p) | TypeKind::Reference(p) => {
                        Shape::Pointer(p.map_or(Ty::Void, Ty::Dwarf))
                    }
                    TypeKind::Array { element, counts } => Shape::Array {
                        element: Ty::Dwarf(*element),
                        count: counts.first().copied().flatten(),
                    },
                    TypeKind::Struct(_) | TypeKind::Union(_) => Shape::Aggregate,
                    TypeKind::Function => Shape::Int { signed: false },
                    _ => Shape::Void,
                }
            }
        })
    }

    /// The value as an integer (integers, enums, pointers, bools).
    pub(crate) fn as_int(&self, v: &Value) -> Result<i128> {
        available(v)?;
        match self.shape(&v.ty)? {
            Shape::Int { signed } => Ok(le_int(&v.bytes, signed)),
            Shape::Pointer(_) => Ok(le_int(&v.bytes, false)),
            _ => Err(CommandError::new(
                "Argument to arithmetic operation not a number or boolean.",
            )),
        }
    }

    /// `first@count`: `count` values of `first`'s type from its address on.
    fn repeat(&self, first: Value, count: i128) -> Result<Value> {
        let address = first
            .address
            .ok_or_else(|| CommandError::new("Only values in memory can be extended with '@'."))?;
        let count = u64::try_from(count)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| CommandError::new(format!("Invalid number {count} of repetitions.")))?;
        let ty = Ty::Array {
            element: Box::new(first.ty),
            count,
        };
        self.read_at(ty, address)
    }

    /// The value as a float (floats, and integers converted).
    pub(crate) fn as_float(&self, v: &Value) -> Result<f64> {
        available(v)?;
        match self.shape(&v.ty)? {
            Shape::Float => match *v.bytes.as_slice() {
                [a, b, c, d] => Ok(f64::from(f32::from_le_bytes([a, b, c, d]))),
                _ => Ok(f64::from_le_bytes(
                    v.bytes.as_slice().try_into().map_err(|_| not_a_number())?,
                )),
            },
            Shape::Int { signed } => Ok(exact(&v.bytes, signed).as_f64()),
            _ => Err(not_a_number()),
        }
    }

    /// Whether the value is a Rust `bool`.
    fn is_bool(&self, v: &Value) -> bool {
        match &v.ty {
            Ty::Int { name, .. } => *name == "bool",
            Ty::Dwarf(id) => self.info.strip_type(*id).is_ok_and(|(_, t)| {
                matches!(t.kind, TypeKind::Base(debuginfo::gimli::DW_ATE_boolean))
            }),
            _ => false,
        }
    }

    fn auto_deref(&self, v: Value) -> Result<Value> {
        match self.shape(&v.ty)? {
            Shape::Pointer(_) => self.deref(v),
            _ => Ok(v),
        }
    }

    fn deref(&self, v: Value) -> Result<Value> {
        available(&v)?;
        match self.shape(&v.ty)? {
            Shape::Pointer(Ty::Void) => Err(CommandError::new(
                "Attempt to take contents of a non-pointer value.",
            )),
            Shape::Pointer(target) => {
                let address = le_int(&v.bytes, false) as u64;
                self.read_at(target, address)
            }
            // gdb reads an `int` at an integer address.
            Shape::Int { .. } => {
                let address = le_int(&v.bytes, false) as u64;
                self.read_at(
                    Ty::Int {
                        size: 4,
                        signed: true,
                        name: "i32",
                    },
                    address,
                )
            }
            // A trait object (`&dyn T`, `Box<dyn T>`): the value its vtable says it is.
            Shape::Aggregate => match self.trait_object(&v)? {
                Some((address, concrete)) => self.read_at(Ty::Dwarf(concrete), address),
                None => Err(CommandError::new(
                    "Attempt to take contents of a non-pointer value.",
                )),
            },
            _ => Err(CommandError::new(
                "Attempt to take contents of a non-pointer value.",
            )),
        }
    }

    /// Where a trait object's value is and its concrete type, if `v` is one (a `pointer` and a
    /// `vtable` whose type the DWARF describes).
    fn trait_object(&self, v: &Value) -> Result<Option<(u64, debuginfo::TypeId)>> {
        let Ty::Dwarf(id) = v.ty else {
            return Ok(None);
        };
        let (_, t) = self.info.strip_type(id)?;
        let TypeKind::Struct(c) = &t.kind else {
            return Ok(None);
        };
        let has = |name: &str| c.members.iter().any(|m| m.name.as_deref() == Some(name));
        if !(has("pointer") && has("vtable")) {
            return Ok(None);
        }
        let pointer = self.field(v.clone(), "pointer")?;
        let vtable = self.field(v.clone(), "vtable")?;
        let vtable = le_int(&vtable.bytes, false) as u64;
        Ok(self
            .info
            .vtable_type(vtable)?
            .map(|concrete| (le_int(&pointer.bytes, false) as u64, concrete)))
    }

    fn unary(&self, op: UnOp, inner: &Expr) -> Result<Value> {
        let v = self.eval(inner)?;
        match op {
            UnOp::Deref => self.deref(v),
            UnOp::AddrOf => {
                let address = v.address.ok_or_else(|| {
                    CommandError::new("Attempt to take address of value not located in memory.")
                })?;
                let size = self.pointer_size() as u8;
                let mut bytes = (address as u128).to_le_bytes()[..size as usize].to_vec();
                bytes.truncate(size as usize);
                Ok(Value::computed(Ty::Ptr(Box::new(v.ty)), bytes))
            }
            UnOp::Neg if self.shape(&v.ty)? == Shape::Float => {
                let size = v.bytes.len() as u8;
                let name = match v.ty {
                    Ty::Float { name, .. } => name,
                    _ if size == 4 => "f32",
                    _ => "f64",
                };
                Ok(Value::float(-self.as_float(&v)?, size, name))
            }
            UnOp::Neg => Ok(self.int_like(&v, self.as_int(&v)?.wrapping_neg())),
            UnOp::BitNot => Ok(self.int_like(&v, !self.as_int(&v)?)),
            // Rust's `!` complements an integer's bits; it negates a bool, and C's any value.
            UnOp::Not if self.frame_is_rust() && !self.is_bool(&v) => {
                Ok(self.int_like(&v, !self.as_int(&v)?))
            }
            UnOp::Not => {
                let zero = match self.shape(&v.ty)? {
                    Shape::Float => self.as_float(&v)? == 0.0,
                    _ => self.as_int(&v)? == 0,
                };
                Ok(Value::boolean(zero, self.frame_is_rust()))
            }
        }
    }

    /// An integer result of the width and signedness of `like` (or `i32`/`i64` for others).
    fn int_like(&self, like: &Value, x: i128) -> Value {
        match &like.ty {
            Ty::Int { size, signed, name } => Value::int_of(x, *size, *signed, name),
            Ty::Dwarf(_)
                if like.bytes.len() <= 16
                    && matches!(self.shape(&like.ty), Ok(Shape::Int { .. })) =>
            {
                Value::computed(
                    like.ty.clone(),
                    x.to_le_bytes()[..like.bytes.len()].to_vec(),
                )
            }
            _ => Value::int(x),
        }
    }

    fn binary(&self, op: BinOp, a: Value, b: Value) -> Result<Value> {
        available(&a)?;
        available(&b)?;
        // Pointer arithmetic scales by the pointee's size, as in C.
        if let (Shape::Pointer(target), BinOp::Add | BinOp::Sub) = (self.shape(&a.ty)?, op)
            && !matches!(self.shape(&b.ty)?, Shape::Pointer(_))
        {
            let scale = i128::from(self.size_of(&target)?.max(1));
            let base = self.as_int(&a)?;
            let n = self.as_int(&b)? * scale;
            let r = if op == BinOp::Add { base + n } else { base - n };
            let mut out = a.clone();
            out.bytes = r.to_le_bytes()[..a.bytes.len()].to_vec();
            out.address = None;
            return Ok(out);
        }
        let rust = self.frame_is_rust();
        if self.shape(&a.ty)? == Shape::Float || self.shape(&b.ty)? == Shape::Float {
            return self.float_binary(op, &a, &b);
        }
        if rust {
            return self.rust_int_binary(op, &a, &b);
        }
        let x = self.as_int(&a)?;
        let y = self.as_int(&b)?;
        let bool_result = |c: bool| Ok(Value::boolean(c, false));
        let r = match op {
            BinOp::Add => x.wrapping_add(y),
            BinOp::Sub => x.wrapping_sub(y),
            BinOp::Mul => x.wrapping_mul(y),
            BinOp::Div | BinOp::Rem if y == 0 => return Err(CommandError::new("Division by zero")),
            BinOp::Div => x.wrapping_div(y),
            BinOp::Rem => x.wrapping_rem(y),
            BinOp::Shl => x.checked_shl(y as u32).unwrap_or(0),
            BinOp::Shr => x.checked_shr(y as u32).unwrap_or(0),
            BinOp::BitAnd => x & y,
            BinOp::BitOr => x | y,
            BinOp::BitXor => x ^ y,
            BinOp::Lt => return bool_result(x < y),
            BinOp::Le => return bool_result(x <= y),
            BinOp::Gt => return bool_result(x > y),
            BinOp::Ge => return bool_result(x >= y),
            BinOp::Eq => return bool_result(x == y),
            BinOp::Ne => return bool_result(x != y),
            BinOp::And => return bool_result(x != 0 && y != 0),
            BinOp::Or => return bool_result(x != 0 || y != 0),
        };
        // The wider operand's type, as C's usual arithmetic conversions (roughly) pick.
        let wide = if b.bytes.len() > a.bytes.len() {
            &b
        } else {
            &a
        };
        let v = self.int_like(wide, r);
        // A result that does not fit the type grows, as a literal would.
        if le_int(
            &v.bytes,
            matches!(self.shape(&v.ty)?, Shape::Int { signed: true }),
        ) != r
            && matches!(v.ty, Ty::Int { .. })
        {
            return Ok(Value::int(r));
        }
        Ok(v)
    }

    /// A binary operation with a float operand: computed in `f64`. The result is a `double`
    /// in Rust, as gdb promotes it (`p price * 2` of an `f32`); in C, a `float` of two `float`s.
    fn float_binary(&self, op: BinOp, a: &Value, b: &Value) -> Result<Value> {
        let rust = self.frame_is_rust();
        let (x, y) = (self.as_float(a)?, self.as_float(b)?);
        let r = match op {
            BinOp::Add => x + y,
            BinOp::Sub => x - y,
            BinOp::Mul => x * y,
            BinOp::Div => x / y,
            BinOp::Rem => x % y,
            BinOp::Lt => return Ok(Value::boolean(x < y, rust)),
            BinOp::Le => return Ok(Value::boolean(x <= y, rust)),
            BinOp::Gt => return Ok(Value::boolean(x > y, rust)),
            BinOp::Ge => return Ok(Value::boolean(x >= y, rust)),
            BinOp::Eq => return Ok(Value::boolean(x == y, rust)),
            BinOp::Ne => return Ok(Value::boolean(x != y, rust)),
            BinOp::And => return Ok(Value::boolean(x != 0.0 && y != 0.0, rust)),
            BinOp::Or => return Ok(Value::boolean(x != 0.0 || y != 0.0, rust)),
            BinOp::Shl | BinOp::Shr | BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor => {
                return Err(CommandError::new("Integer only operation."));
            }
        };
        let both_f32 = a.bytes.len() == 4 && b.bytes.len() == 4;
        Ok(if !rust && both_f32 {
            Value::float(r, 4, "float")
        } else {
            Value::float(r, 8, "double")
        })
    }

    /// A binary operation on integers in a Rust frame, as gdb does it but exact past 64 bits.
    /// Operands are promoted to `long` (8 bytes, as `usize` is on the host gdb runs on: the
    /// results are a native build's), unsigned where an operand is an unsigned `long` or
    /// `usize`; an `i128` or `u128` operand makes it 16 bytes (gdb refuses those). The result
    /// wraps in that type. Comparisons compare the values themselves, whatever their types.
    fn rust_int_binary(&self, op: BinOp, a: &Value, b: &Value) -> Result<Value> {
        let operand = |v: &Value| -> Result<(Exact, usize, bool)> {
            match self.shape(&v.ty)? {
                shape @ (Shape::Int { .. } | Shape::Pointer(_)) if v.bytes.len() <= 16 => {
                    let signed = signed_shape(&shape);
                    let wide = v.bytes.len() >= 8 || self.type_name(&v.ty)? == "usize";
                    Ok((exact(&v.bytes, signed), v.bytes.len(), !signed && wide))
                }
                _ => Err(not_a_number()),
            }
        };
        let (x, x_len, x_unsigned) = operand(a)?;
        let (y, y_len, y_unsigned) = operand(b)?;
        let compare = |ordering: fn(std::cmp::Ordering) -> bool| {
            Ok(Value::boolean(ordering(x.cmp(&y)), true))
        };
        match op {
            BinOp::Lt => return compare(|o| o.is_lt()),
            BinOp::Le => return compare(|o| o.is_le()),
            BinOp::Gt => return compare(|o| o.is_gt()),
            BinOp::Ge => return compare(|o| o.is_ge()),
            BinOp::Eq => return compare(|o| o.is_eq()),
            BinOp::Ne => return compare(|o| o.is_ne()),
            BinOp::And => return Ok(Value::boolean(!x.is_zero() && !y.is_zero(), true)),
            BinOp::Or => return Ok(Value::boolean(!x.is_zero() || !y.is_zero(), true)),
            _ => {}
        }
        let (size, unsigned, name) = if x_len == 16 || y_len == 16 {
            let unsigned = (x_len == 16 && x_unsigned) || (y_len == 16 && y_unsigned);
            (16, unsigned, if unsigned { "u128" } else { "i128" })
        } else if x_unsigned || y_unsigned {
            (8, true, "unsigned long")
        } else {
            (8, false, "long")
        };
        let bits = 8 * size as u32;
        let (x, y) = (x.wrapped(bits, !unsigned), y.wrapped(bits, !unsigned));
        let r = match op {
            BinOp::Add => x.bits.wrapping_add(y.bits),
            BinOp::Sub => x.bits.wrapping_sub(y.bits),
            BinOp::Mul => x.bits.wrapping_mul(y.bits),
            BinOp::BitAnd => x.bits & y.bits,
            BinOp::BitOr => x.bits | y.bits,
            BinOp::BitXor => x.bits ^ y.bits,
            BinOp::Div | BinOp::Rem if y.is_zero() => {
                return Err(CommandError::new("Division by zero"));
            }
            BinOp::Div if unsigned => x.bits / y.bits,
            BinOp::Rem if unsigned => x.bits % y.bits,
            BinOp::Div => (x.bits as i128).wrapping_div(y.bits as i128) as u128,
            BinOp::Rem => (x.bits as i128).wrapping_rem(y.bits as i128) as u128,
            BinOp::Shl | BinOp::Shr => {
                let count = u32::try_from(y.bits).ok().filter(|&c| c < bits);
                match (op, count) {
                    (BinOp::Shl, Some(c)) => x.bits << c,
                    (_, Some(c)) if unsigned => x.bits >> c,
                    (_, Some(c)) => ((x.bits as i128) >> c) as u128,
                    (BinOp::Shl, None) => 0,
                    (_, None) if !unsigned && (x.bits as i128) < 0 => u128::MAX,
                    (_, None) => 0,
                }
            }
            _ => unreachable!("comparisons and logic are answered above"),
        };
        Ok(Value::int_of(r as i128, size, !unsigned, name))
    }

    fn field(&self, v: Value, name: &str) -> Result<Value> {
        if v.optimized_out {
            return available(&v).map(|()| v);
        }
        let Ty::Dwarf(id) = v.ty else {
            return Err(CommandError::new(
                "Attempt to extract a component of a value that is not a structure.",
            ));
        };
        let (_, t) = self.info.strip_type(id)?;
        let (TypeKind::Struct(c) | TypeKind::Union(c)) = &t.kind else {
            return Err(CommandError::new(
                "Attempt to extract a component of a value that is not a structure.",
            ));
        };
        let tuple_name = format!("__{name}");
        let member = c
            .members
            .iter()
            .find(|m| m.name.as_deref() == Some(name) || m.name.as_deref() == Some(&tuple_name))
            .ok_or_else(|| CommandError::new(format!("There is no member named {name}.")))?;
        let ty = member
            .ty
            .map(Ty::Dwarf)
            .ok_or_else(|| CommandError::new(format!("Member {name} has no type.")))?;
        let size = self.size_of(&ty)?;
        let start = member.offset as usize;
        let bytes = v
            .bytes
            .get(start..start + size as usize)
            .ok_or_else(|| CommandError::new(format!("Member {name} lies outside its value.")))?
            .to_vec();
        Ok(Value {
            ty,
            bytes,
            address: v.address.map(|a| a + member.offset),
            optimized_out: false,
            described: part_described(&v, start, size as usize),
        })
    }

    fn index(&self, base: Value, i: i128) -> Result<Value> {
        if base.optimized_out {
            return available(&base).map(|()| base);
        }
        match self.shape(&base.ty)? {
            Shape::Array { element, count } => {
                let size = self.size_of(&element)?;
                if let Some(count) = count
                    && (i < 0 || i as u64 >= count)
                    && base.address.is_none()
                {
                    return Err(CommandError::new("no such vector element"));
                }
                match base.address {
                    Some(a) => self.read_at(element, (a as i128 + i * size as i128) as u64),
                    None => {
                        let start = (i as u64 * size) as usize;
                        let bytes = base.bytes[start..start + size as usize].to_vec();
                        Ok(Value {
                            ty: element,
                            bytes,
                            address: None,
                            optimized_out: false,
                            described: part_described(&base, start, size as usize),
                        })
                    }
                }
            }
            Shape::Pointer(target) => {
                let size = self.size_of(&target)? as i128;
                let a = le_int(&base.bytes, false);
                self.read_at(target, (a + i * size) as u64)
            }
            // A `Vec`, `VecDeque`, `String`, `&[T]` or `&str`: its element, within its length
            // (gdb cannot index them; a Rust developer expects to).
            Shape::Aggregate
                if let Ty::Dwarf(id) = base.ty
                    && let Some((address, element)) = self.info.rust_element(
                        id,
                        &base.bytes,
                        i,
                        &self.state(self.frame()?),
                    )? =>
            {
                self.read_at(Ty::Dwarf(element), address)
            }
            Shape::Aggregate => {
                // A Rust slice `&[T]`: a data pointer and a length. Only a pointer is indexed in
                // turn, so a malformed type holding itself as `data_ptr` cannot recurse.
                let data = self.field(base.clone(), "data_ptr")?;
                if !matches!(self.shape(&data.ty)?, Shape::Pointer(_)) {
                    return Err(CommandError::new(
                        "cannot subscript something that is not an array or pointer",
                    ));
                }
                let len = self.field(base, "length")?;
                let len = self.as_int(&len)?;
                if i < 0 || i >= len {
                    return Err(CommandError::new(format!(
                        "Index {i} is out of bounds (length {len})."
                    )));
                }
                self.index(data, i)
            }
            _ => Err(CommandError::new(
                "cannot subscript something that is not an array or pointer",
            )),
        }
    }

    fn cast(&self, v: Value, ty: Ty) -> Result<Value> {
        let from_float = self.shape(&v.ty)? == Shape::Float;
        match self.shape(&ty)? {
            Shape::Float => {
                let size = self.size_of(&ty)? as u8;
                let x = self.as_float(&v)?;
                let bytes = Value::float(x, size, "f64").bytes;
                return Ok(Value::computed(ty, bytes));
            }
            // Toward zero, saturating at the integer's bounds (Rust's `as`).
            Shape::Int { signed } if from_float => {
                let size = self.size_of(&ty)?.min(16) as usize;
                let x = self.as_float(&v)?;
                let bits = 8 * size as u32;
                let r: i128 = if signed {
                    let max = if bits >= 128 {
                        i128::MAX
                    } else {
                        (1i128 << (bits - 1)) - 1
                    };
                    (x as i128).clamp(-max - 1, max)
                } else {
                    let max = if bits >= 128 {
                        u128::MAX
                    } else {
                        (1u128 << bits) - 1
                    };
                    (x as u128).min(max) as i128
                };
                return Ok(Value::computed(ty, r.to_le_bytes()[..size].to_vec()));
            }
            _ => {}
        }
        match self.shape(&ty)? {
            shape @ (Shape::Int { .. } | Shape::Pointer(_)) => {
                let x = match self.shape(&v.ty)? {
                    Shape::Aggregate | Shape::Array { .. } => v
                        .address
                        .map(i128::from)
                        .ok_or_else(|| CommandError::new("Invalid cast."))?,
                    _ => self.as_int(&v)?,
                };
                let mut size = self.size_of(&ty)?.min(16) as usize;
                // An address wider than the memory's pointers stays whole: reading at it fails
                // as `x` there does, instead of reading at the address cut to the pointer size.
                let bits = 8 * size as u32;
                let fits = bits >= 128 || (x >= -(1i128 << (bits - 1)) && x < 1i128 << bits);
                if matches!(shape, Shape::Pointer(_)) && !fits {
                    size = 8;
                }
                Ok(Value::computed(ty, x.to_le_bytes()[..size].to_vec()))
            }
            _ if self.size_of(&ty)? == v.bytes.len() as u64 => Ok(Value { ty, ..v }),
            _ => Err(CommandError::new("Invalid cast.")),
        }
    }

    /// The address an operand names: a pointer's or integer's value, an aggregate's address.
    pub(crate) fn address_of_operand(&self, v: &Value) -> Result<u64> {
        match self.shape(&v.ty)? {
            Shape::Int { .. } | Shape::Pointer(_) => Ok(self.as_int(v)? as u64),
            _ => v
                .address
                .ok_or_else(|| CommandError::new("Value can't be converted to integer.")),
        }
    }

    /// Resolves a type name: the DWARF's type of that name, else a built-in one.
    /// Refuses more pointer levels than [`super::parse::MAX_DEPTH`]: a type is printed and dropped
    /// recursively.
    pub(crate) fn resolve_type(&self, spec: &TypeSpec) -> Result<Ty> {
        if spec.pointers as usize > super::parse::MAX_DEPTH {
            return Err(super::parse::too_complex());
        }
        // Built-in names first: looking a type up by name scans every unit.
        let mut ty = match builtin(&spec.name) {
            Some(ty) => ty,
            None => match self.info.find_type(&spec.name)? {
                Some(id) => Ty::Dwarf(id),
                None => return Err(self.no_symbol(&spec.name)),
            },
        };
        for _ in 0..spec.pointers {
            ty = Ty::Ptr(Box::new(ty));
        }
        Ok(ty)
    }
}

/// Fails with gdb's message on a value that was optimized out: only its type can be used.
fn available(v: &Value) -> Result<()> {
    let partial = (v.described.as_ref()).is_some_and(|d| d.contains(&false));
    if v.optimized_out || partial {
        return Err(CommandError::new("value has been optimized out"));
    }
    Ok(())
}

/// Which bytes of the part `start..start + len` of `v` its location describes, when not all.
fn part_described(v: &Value, start: usize, len: usize) -> Option<Vec<bool>> {
    let mask = v.described.as_ref()?.get(start..start + len)?;
    mask.contains(&false).then(|| mask.to_vec())
}

/// gdb's message for arithmetic on what is not a number.
fn not_a_number() -> CommandError {
    CommandError::new("Argument to arithmetic operation not a number or boolean.")
}

/// Whether a scalar shape is signed (pointers are not).
fn signed_shape(shape: &Shape) -> bool {
    matches!(shape, Shape::Int { signed: true })
}

/// An integer's exact value: its bits sign- or zero-extended to 128 (so a `u128` past
/// `i128::MAX` keeps its value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Exact {
    bits: u128,
    signed: bool,
}

/// The integer in little-endian `bytes`, exact.
fn exact(bytes: &[u8], signed: bool) -> Exact {
    Exact {
        bits: le_int(bytes, signed) as u128,
        signed,
    }
}

impl Exact {
    fn is_negative(self) -> bool {
        self.signed && (self.bits as i128) < 0
    }

    fn is_zero(self) -> bool {
        self.bits == 0
    }

    fn as_f64(self) -> f64 {
        if self.is_negative() {
            self.bits as i128 as f64
        } else {
            self.bits as f64
        }
    }

    /// The value converted to an integer of `bits` bits, `signed` or not, as C converts it:
    /// wrapped, then sign- or zero-extended again.
    fn wrapped(self, bits: u32, signed: bool) -> Exact {
        let shift = 128 - bits;
        let bits = if shift == 0 {
            self.bits
        } else if signed {
            (((self.bits << shift) as i128) >> shift) as u128
        } else {
            (self.bits << shift) >> shift
        };
        Exact { bits, signed }
    }
}

impl PartialOrd for Exact {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// By value, whatever the signedness.
impl Ord for Exact {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self.is_negative(), other.is_negative()) {
            (true, false) => std::cmp::Ordering::Less,
            (false, true) => std::cmp::Ordering::Greater,
            (true, true) => (self.bits as i128).cmp(&(other.bits as i128)),
            (false, false) => self.bits.cmp(&other.bits),
        }
    }
}
