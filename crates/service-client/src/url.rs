//! The service's URLs: the base URL a user gives, and the API's paths below it.

use std::fmt::Display;

/// Checks that `base` is the URL of a service: http or https, with a host. Gives it back as it
/// is (a trailing slash is tolerated: the URLs built from it drop it), or says what is wrong;
/// made to be a clap `value_parser`.
pub fn parse_base_url(base: &str) -> Result<String, String> {
    let rest = base
        .strip_prefix("http://")
        .or_else(|| base.strip_prefix("https://"))
        .ok_or_else(|| format!("`{base}` is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("`{base}` has no host"));
    }
    Ok(base.to_owned())
}

/// `{base}/debuginfo/<build_id>`: where the service keeps the debug file of `build_id` (`PUT`
/// stores it, `GET` fetches it); `base` without its trailing slashes.
pub fn debuginfo_url(base: &str, build_id: impl Display) -> String {
    format!("{}/debuginfo/{build_id}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(parse_base_url("http://h:1/").unwrap(), "http://h:1/");
        assert!(parse_base_url("https://h/base").is_ok());
        for bad in [
            "ftp://h",
            "file:///x",
            "127.0.0.1:8080",
            "http://",
            "https://",
            "http:///p",
        ] {
            assert!(parse_base_url(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_base_url("h").unwrap_err(),
            "`h` is not an http:// or https:// URL"
        );
        assert_eq!(
            parse_base_url("http://").unwrap_err(),
            "`http://` has no host"
        );
    }

    #[test]
    fn debuginfo_url_drops_the_trailing_slash() {
        assert_eq!(
            debuginfo_url("http://h:8080/", "abababab"),
            "http://h:8080/debuginfo/abababab"
        );
        assert_eq!(
            debuginfo_url("https://h/base", 7),
            "https://h/base/debuginfo/7"
        );
        assert_eq!(debuginfo_url("http://h//", "ab"), "http://h/debuginfo/ab");
    }
}
