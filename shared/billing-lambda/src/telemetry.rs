//! Logs in the shape Lambda asks for.
//!
//! With `LoggingConfig: LogFormat: JSON` Lambda sets `AWS_LAMBDA_LOG_FORMAT=JSON`
//! and `AWS_LAMBDA_LOG_LEVEL`; honouring both keeps log filtering and format
//! a deployment decision rather than a code change. Locally (neither set) logs
//! are plain text at `RUST_LOG` or INFO.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// How logs should be written, decided from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// One JSON object per line (what CloudWatch's JSON log format expects).
    pub json: bool,
    /// The most verbose level written.
    pub level: LevelFilter,
}

impl LogSettings {
    /// Read `AWS_LAMBDA_LOG_FORMAT` and `AWS_LAMBDA_LOG_LEVEL` via `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let json = lookup("AWS_LAMBDA_LOG_FORMAT")
            .is_some_and(|format| format.eq_ignore_ascii_case("json"));
        let level = lookup("AWS_LAMBDA_LOG_LEVEL")
            .map(|level| match level.to_ascii_uppercase().as_str() {
                "TRACE" => LevelFilter::TRACE,
                "DEBUG" => LevelFilter::DEBUG,
                "WARN" => LevelFilter::WARN,
                // Lambda's FATAL has no tracing equivalent: errors only.
                "ERROR" | "FATAL" => LevelFilter::ERROR,
                _ => LevelFilter::INFO,
            })
            .unwrap_or(LevelFilter::INFO);
        Self { json, level }
    }
}

/// Install the global subscriber once, in `main`. Later calls are no-ops, so
/// tests that share a process may call it freely.
pub fn init() {
    let settings = LogSettings::from_lookup(|key| std::env::var(key).ok());
    let filter = if std::env::var_os("AWS_LAMBDA_LOG_LEVEL").is_some() {
        EnvFilter::default().add_directive(settings.level.into())
    } else {
        EnvFilter::builder()
            .with_default_directive(settings.level.into())
            .from_env_lossy()
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let installed = if settings.json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init()
    } else {
        builder.without_time().try_init()
    };
    // Already installed (e.g. by another test in this process): keep it.
    drop(installed);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> LogSettings {
        LogSettings::from_lookup(|key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn lambda_json_format_and_level_are_honoured() {
        let s = settings(&[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
        ]);
        assert_eq!(
            s,
            LogSettings {
                json: true,
                level: LevelFilter::DEBUG
            }
        );
    }

    #[test]
    fn fatal_maps_to_error_and_text_is_the_default() {
        let s = settings(&[("AWS_LAMBDA_LOG_LEVEL", "fatal")]);
        assert_eq!(
            s,
            LogSettings {
                json: false,
                level: LevelFilter::ERROR
            }
        );
    }

    #[test]
    fn nothing_set_means_text_at_info() {
        assert_eq!(
            settings(&[]),
            LogSettings {
                json: false,
                level: LevelFilter::INFO
            }
        );
    }
}
