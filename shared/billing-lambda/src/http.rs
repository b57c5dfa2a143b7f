//! JSON responses for HTTP functions, so that every handler answers with a
//! mapped status and the same error body shape.

use lambda_http::http::StatusCode;
use lambda_http::http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::{Failure, FieldError};

/// The error body every HTTP function returns.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// The error itself.
    pub error: ErrorDetail<'a>,
}

/// Code, message and, for rejected input, the fields at fault.
#[derive(Debug, Serialize)]
pub struct ErrorDetail<'a> {
    /// Stable machine-readable code.
    pub code: &'a str,
    /// Human-readable explanation.
    pub message: String,
    /// Field-level problems (JSON pointer + message); omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

/// A JSON response with the given status.
pub fn json_response(status: u16, body: &impl Serialize) -> Response<Body> {
    let (status, text) = match serde_json::to_string(body) {
        Ok(text) => (status, text),
        Err(_) => (
            500,
            r#"{"error":{"code":"internal","message":"response could not be encoded"}}"#.to_owned(),
        ),
    };
    let mut response = Response::new(Body::from(text));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Map a failure to its response. Rejections tell the caller what is wrong;
/// server-side failures are logged in full and answered without internals.
pub fn error_response(failure: &(impl Failure + ?Sized)) -> Response<Body> {
    let disposition = failure.disposition();
    let status = disposition.http_status();
    let message = if status < 500 {
        failure.to_string()
    } else {
        tracing::error!(code = failure.code(), error = %failure, "request failed");
        if status == 503 {
            "temporarily unavailable, please retry".to_owned()
        } else {
            "internal error".to_owned()
        }
    };
    let body = ErrorBody {
        error: ErrorDetail {
            code: failure.code(),
            message,
            fields: failure.field_errors(),
        },
    };
    let mut response = json_response(status, &body);
    if status == 503 {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Disposition;

    #[derive(Debug, thiserror::Error)]
    enum SampleError {
        #[error("body is not valid")]
        Invalid,
        #[error("table billing-x throttled")]
        Throttled,
        #[error("secret mismatch in table billing-x")]
        Broken,
    }

    impl Failure for SampleError {
        fn disposition(&self) -> Disposition {
            match self {
                SampleError::Invalid => Disposition::Rejected(400),
                SampleError::Throttled => Disposition::Retryable,
                SampleError::Broken => Disposition::Permanent,
            }
        }
        fn code(&self) -> &'static str {
            match self {
                SampleError::Invalid => "invalid_body",
                SampleError::Throttled => "unavailable",
                SampleError::Broken => "internal",
            }
        }
        fn field_errors(&self) -> Vec<FieldError> {
            match self {
                SampleError::Invalid => {
                    vec![FieldError::new("/items/0/quantity", "must be positive")]
                }
                _ => Vec::new(),
            }
        }
    }

    fn body_json(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).unwrap()
    }

    #[test]
    fn a_rejection_names_the_fields() {
        let response = error_response(&SampleError::Invalid);
        assert_eq!(response.status(), 400);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(
            body_json(&response),
            serde_json::json!({"error": {"code": "invalid_body", "message": "body is not valid",
                "fields": [{"pointer": "/items/0/quantity", "message": "must be positive"}]}})
        );
    }

    #[test]
    fn a_passing_fault_is_503_with_retry_after_and_no_internals() {
        let response = error_response(&SampleError::Throttled);
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[RETRY_AFTER], "1");
        let body = body_json(&response);
        assert!(!body.to_string().contains("billing-x"));
    }

    #[test]
    fn an_internal_failure_is_500_without_internals() {
        let response = error_response(&SampleError::Broken);
        assert_eq!(response.status(), 500);
        assert_eq!(body_json(&response)["error"]["message"], "internal error");
    }
}
