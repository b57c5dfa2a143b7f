//! Configuration from the environment, read once per cold start.
//!
//! Resource names reach code only through the variables the SAM template
//! defines, so a function's configuration struct is built from these helpers
//! in `main` and a missing variable stops the cold start with its name.

/// Why a function could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The template (or the local environment) did not set a variable.
    #[error("missing environment variable {name}")]
    Missing {
        /// The variable's name, e.g. `BILLING_TABLE`.
        name: String,
    },
    /// The variable is set but unusable.
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid {
        /// The variable's name.
        name: String,
        /// What is wrong with its value (never the value itself: it may be secret).
        reason: String,
    },
}

/// A variable the function cannot run without; empty counts as missing.
pub fn required(name: &str) -> Result<String, ConfigError> {
    required_from(name, |key| std::env::var(key).ok())
}

/// A variable with a sensible absence (e.g. a local-only override); blank
/// counts as absent.
pub fn optional(name: &str) -> Option<String> {
    optional_from(name, |key| std::env::var(key).ok())
}

/// [`optional`] over any lookup.
pub fn optional_from(name: &str, lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    lookup(name).filter(|v| !v.trim().is_empty())
}

/// [`required`] over any lookup, so tests need not mutate the process environment.
pub fn required_from(
    name: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    match lookup(name) {
        Some(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(ConfigError::Missing {
            name: name.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_variable_is_named_in_the_error() {
        let err = required_from("BILLING_TABLE", |_| None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing environment variable BILLING_TABLE"
        );
    }

    #[test]
    fn an_empty_variable_counts_as_missing() {
        let err = required_from("DELIVERY_QUEUE_URL", |_| Some("  ".into())).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Missing {
                name: "DELIVERY_QUEUE_URL".into()
            }
        );
    }

    #[test]
    fn a_present_variable_is_returned_unchanged() {
        let value = required_from("BILLING_TABLE", |key| {
            (key == "BILLING_TABLE").then(|| "billing-local-BillingTable".to_owned())
        });
        assert_eq!(value.as_deref(), Ok("billing-local-BillingTable"));
    }
}
