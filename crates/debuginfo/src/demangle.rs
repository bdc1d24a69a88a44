//! Turning linkage names into the names a debugger shows.

use std::borrow::Cow;

/// Demangles a symbol the way gdb shows it: Rust (legacy `_ZN...E` and v0 `_R...`) without the
/// hash or crate disambiguators (`mything::calculate`), C++ (Itanium `_Z...`) with its
/// parameters. `language` is the unit's `DW_AT_language`; without it Rust is tried first. A name
/// that is not mangled is returned unchanged.
pub fn demangle(name: &str, language: Option<gimli::DwLang>) -> Cow<'_, str> {
    let cpp_first = matches!(
        language,
        Some(
            gimli::DW_LANG_C_plus_plus
                | gimli::DW_LANG_C_plus_plus_03
                | gimli::DW_LANG_C_plus_plus_11
                | gimli::DW_LANG_C_plus_plus_14
                | gimli::DW_LANG_C_plus_plus_17
                | gimli::DW_LANG_C_plus_plus_20
                | gimli::DW_LANG_C
                | gimli::DW_LANG_C89
                | gimli::DW_LANG_C99
                | gimli::DW_LANG_C11
                | gimli::DW_LANG_C17
        )
    );
    let demangled = if cpp_first {
        demangle_cpp(name).or_else(|| demangle_rust(name))
    } else {
        demangle_rust(name).or_else(|| demangle_cpp(name))
    };
    demangled.map_or(Cow::Borrowed(name), Cow::Owned)
}

fn demangle_rust(name: &str) -> Option<String> {
    rustc_demangle::try_demangle(name)
        .ok()
        .map(|d| format!("{d:#}"))
}

fn demangle_cpp(name: &str) -> Option<String> {
    if !name.starts_with("_Z") {
        return None;
    }
    cpp_demangle::Symbol::new(name).ok()?.demangle().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_names_lose_their_hash() {
        assert_eq!(
            demangle("_ZN7mything9calculate17h48b2df9b7a4424baE", None),
            "mything::calculate"
        );
        assert_eq!(
            demangle(
                "_ZN7mything9calculate17h48b2df9b7a4424baE",
                Some(gimli::DW_LANG_Rust)
            ),
            "mything::calculate"
        );
        // v0: crate disambiguators go too.
        assert_eq!(
            demangle("_RNvCs15kBYyAo9fc_7mycrate7example", None),
            "mycrate::example"
        );
    }

    #[test]
    fn cpp_names_demangle() {
        assert_eq!(
            demangle("_Z3fooi", Some(gimli::DW_LANG_C_plus_plus)),
            "foo(int)"
        );
        assert_eq!(demangle("_ZN2ns3barEv", None), "ns::bar()");
    }

    #[test]
    fn plain_names_stay() {
        assert_eq!(demangle("main", None), "main");
        assert_eq!(
            demangle("__original_main", Some(gimli::DW_LANG_C11)),
            "__original_main"
        );
    }
}
