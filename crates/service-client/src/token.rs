//! [`TokenArg`]: the `--token` option both commands take.

/// The environment variable [`TokenArg`] reads.
const TOKEN_ENV: &str = "COREDUMP_SERVICE_TOKEN";

/// The `--token TOKEN` option, also read from `COREDUMP_SERVICE_TOKEN` (whose value help never
/// shows), for a command to flatten into its options:
///
/// ```
/// use clap::Parser;
/// use coredump_service_client::TokenArg;
///
/// #[derive(Parser)]
/// #[command(mut_arg("token", |a| a.help("Bearer token for --upload")))]
/// struct Opts {
///     #[command(flatten)]
///     token: TokenArg,
/// }
///
/// let opts = Opts::parse_from(["cmd", "--token", "s3cret"]);
/// assert_eq!(opts.token.get(), Some("s3cret"));
/// ```
///
/// Its help says "Bearer token for coredump-service"; a command names what it sends it with, as
/// above.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct TokenArg {
    /// Bearer token for coredump-service
    #[arg(long, value_name = "TOKEN", env = TOKEN_ENV, hide_env_values = true)]
    token: Option<String>,
}

impl TokenArg {
    /// The token, unless none was given or it is empty (`COREDUMP_SERVICE_TOKEN=` sends none).
    pub fn get(&self) -> Option<&str> {
        self.token.as_deref().filter(|t| !t.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_token_is_none() {
        use clap::Parser;
        #[derive(Parser)]
        struct Opts {
            #[command(flatten)]
            token: TokenArg,
        }
        let parse = |args: &[&str]| Opts::try_parse_from(args).unwrap().token;
        assert_eq!(parse(&["cmd", "--token", "t"]).get(), Some("t"));
        assert_eq!(parse(&["cmd", "--token", ""]).get(), None);
        assert_eq!(TokenArg::default().get(), None);
    }

    /// A command's `mut_arg` names what it sends the token with.
    #[test]
    fn a_command_words_the_help() {
        use clap::CommandFactory;
        #[derive(clap::Parser)]
        #[command(mut_arg("token", |a| a.help("Bearer token for --upload")))]
        struct Upload {
            #[command(flatten)]
            token: TokenArg,
        }
        #[derive(clap::Parser)]
        struct Plain {
            #[command(flatten)]
            token: TokenArg,
        }
        let help = Upload::command().render_help().to_string();
        assert!(
            help.contains(
                "--token <TOKEN>  Bearer token for --upload [env: COREDUMP_SERVICE_TOKEN]"
            ),
            "{help}"
        );
        let help = Plain::command().render_help().to_string();
        assert!(help.contains("Bearer token for coredump-service"), "{help}");
    }
}
