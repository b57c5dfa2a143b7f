//! The webhook's single error type, and how each case is answered.

use billing_domain::DomainError;
use billing_lambda::{Disposition, Failure, FieldError};
use billing_store::StoreError;

/// Largest body accepted; CRMs send a few KiB, 500 lines fit comfortably.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Why a webhook request was not (or not yet) processed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Missing, malformed, stale or wrong signature. Deliberately vague: an
    /// unauthenticated caller learns nothing about which check failed.
    #[error("signature missing or invalid")]
    Unauthorized,
    /// Body over [`MAX_BODY_BYTES`].
    #[error("body is {size} bytes; at most {MAX_BODY_BYTES} are accepted")]
    TooLarge {
        /// Received size.
        size: usize,
    },
    /// Not `application/json`.
    #[error("content type must be application/json")]
    UnsupportedMediaType,
    /// Not JSON, or JSON that violates the published schema.
    #[error("body does not match the opportunity-closed schema")]
    Malformed(Vec<FieldError>),
    /// Well-formed, but the content cannot be billed as sent.
    #[error("opportunity cannot be billed as sent")]
    Unprocessable(Vec<FieldError>),
    /// The opportunity was already processed with different content.
    #[error(
        "opportunity {opportunity_id} was already processed with different content; \
         corrections to an invoiced deal go through a credit note"
    )]
    Conflict {
        /// The CRM's id.
        opportunity_id: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for WebhookError {
    /// Everything the webhook stores comes from the deal, so a document too
    /// large for one item is the deal's size: content to split (422), not a
    /// storage fault.
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::TooLarge { what, size } => Self::unprocessable(
                "/items",
                format!(
                    "the deal is too large to store: its {what} is {size} bytes encoded; \
                     split it into several opportunities"
                ),
            ),
            other => Self::Store(other),
        }
    }
}

impl WebhookError {
    /// A single unprocessable field.
    pub fn unprocessable(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Unprocessable(vec![FieldError::new(pointer, message)])
    }

    /// A domain rule refused the content: 422 with the field as a JSON pointer.
    pub fn from_domain(error: DomainError, pointer_prefix: &str) -> Self {
        let DomainError::Invalid { field, message } = error;
        Self::unprocessable(domain_field_pointer(pointer_prefix, &field), message)
    }
}

/// `lines[3].item.unit_price` under `/items` → `/items/lines/3/item/unit_price`:
/// the domain names fields as dotted paths; HTTP callers get JSON pointers.
pub fn domain_field_pointer(prefix: &str, field: &str) -> String {
    if field.starts_with('/') {
        return field.to_owned();
    }
    let mut pointer = prefix.trim_end_matches('/').to_owned();
    for segment in field.split('.') {
        for part in segment.split(['[', ']']).filter(|p| !p.is_empty()) {
            pointer.push('/');
            pointer.push_str(&part.replace('~', "~0").replace('/', "~1"));
        }
    }
    pointer
}

impl Failure for WebhookError {
    fn disposition(&self) -> Disposition {
        match self {
            WebhookError::Unauthorized => Disposition::Rejected(401),
            WebhookError::TooLarge { .. } => Disposition::Rejected(413),
            WebhookError::UnsupportedMediaType => Disposition::Rejected(415),
            WebhookError::Malformed(_) => Disposition::Rejected(400),
            WebhookError::Unprocessable(_) => Disposition::Rejected(422),
            WebhookError::Conflict { .. } => Disposition::Rejected(409),
            WebhookError::Store(store) => store.disposition(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            WebhookError::Unauthorized => "unauthorized",
            WebhookError::TooLarge { .. } => "body_too_large",
            WebhookError::UnsupportedMediaType => "unsupported_media_type",
            WebhookError::Malformed(_) => "invalid_body",
            WebhookError::Unprocessable(_) => "unprocessable",
            WebhookError::Conflict { .. } => "conflict",
            WebhookError::Store(store) => store.code(),
        }
    }

    fn field_errors(&self) -> Vec<FieldError> {
        match self {
            WebhookError::Malformed(fields) | WebhookError::Unprocessable(fields) => fields.clone(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_paths_become_json_pointers() {
        assert_eq!(
            domain_field_pointer("/items/2", "item.unit_price"),
            "/items/2/item/unit_price"
        );
        assert_eq!(
            domain_field_pointer("", "lines[3].quantity"),
            "/lines/3/quantity"
        );
        assert_eq!(
            domain_field_pointer("/x", "/account/vat_id"),
            "/account/vat_id"
        );
        assert_eq!(domain_field_pointer("/a", "b/c"), "/a/b~1c");
    }
}
