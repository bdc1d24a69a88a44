//! Values: `print`, `info args`, `info locals`.

use std::fmt::Write as _;

use debuginfo::VariableKind;
use serde_json::json;

use crate::command::PrintSetting;
use crate::error::{CommandError, excerpt};
use crate::exec::Reply;
use crate::session::Session;

type Result<T> = std::result::Result<T, CommandError>;

impl Session<'_> {
    /// `print[/FMT] [EXPR]`: evaluates, records `$N`, prints `$N = value`.
    pub(crate) fn print(&mut self, format: Option<char>, expr: Option<&str>) -> Result<Reply> {
        let value = match expr {
            Some(text) => {
                let e = self.parse_expr(text)?;
                self.eval(&e)?
            }
            None => self
                .history
                .last()
                .cloned()
                .ok_or_else(|| CommandError::new("History is empty."))?,
        };
        let text = self.format_top(&value, format)?;
        let ty = self.type_name(&value.ty)?;
        self.history.push(value.clone());
        let n = self.history.len();
        Ok(Reply::new(
            format!("${n} = {text}\n"),
            json!({
                "history": n,
                "type": ty,
                "value": text,
                "address": value.address.map(|a| format!("{a:#x}")),
            }),
        ))
    }

    /// `info args` (`args_only`: the parameters) and `info locals` (the other variables), as
    /// gdb splits them.
    pub(crate) fn info_variables_of_frame(&self, args_only: bool) -> Result<Reply> {
        let frame = self.frame()?;
        if frame.symbol.scope.is_none() {
            return Err(CommandError::new("No symbol table info available."));
        }
        let vars: Vec<_> = self
            .shown_variables(self.selected, false)?
            .into_iter()
            .filter(|v| (v.kind == VariableKind::Parameter) == args_only)
            .collect();
        let mut text = String::new();
        for v in &vars {
            writeln!(text, "{} = {}", v.name, v.value).ok();
        }
        if vars.is_empty() {
            text = if args_only {
                "No arguments.\n"
            } else {
                "No locals.\n"
            }
            .into();
        }
        let json = json!({ "variables": vars.iter().map(|v| v.json()).collect::<Vec<_>>() });
        Ok(Reply::new(text, json))
    }

    /// `set print pretty|elements`: silent, as in gdb.
    pub(crate) fn set_print(&mut self, setting: PrintSetting) -> Reply {
        match setting {
            PrintSetting::Pretty(on) => self.format.pretty = on,
            // gdb's 0 is no limit.
            PrintSetting::Elements(0) => self.format.max_elements = usize::MAX,
            PrintSetting::Elements(n) => self.format.max_elements = n,
        }
        Reply::text("")
    }

    /// `show print pretty|elements`, in gdb's words.
    pub(crate) fn show_print(&self, setting: &str) -> Result<Reply> {
        let text = match setting {
            "pretty" => format!(
                "Pretty formatting of structures is {}.\n",
                if self.format.pretty { "on" } else { "off" }
            ),
            "elements" => match self.format.max_elements {
                usize::MAX => {
                    "Limit on string chars or array elements to print is unlimited.\n".to_string()
                }
                n => format!("Limit on string chars or array elements to print is {n}.\n"),
            },
            other => {
                return Err(CommandError::new(format!(
                    "Undefined show print command: \"{}\".  Try \"help show print\".",
                    excerpt(other)
                )));
            }
        };
        Ok(Reply::text(text))
    }
}
