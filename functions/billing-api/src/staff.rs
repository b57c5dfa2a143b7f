//! Who is calling, from the claims API Gateway's JWT authorizer verified.

use lambda_http::request::RequestContext;

/// A staff member's role, from their Cognito group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffRole {
    /// Billing clerks: read and change everything.
    Billing,
    /// Sales and account managers: read only.
    Sales,
}

/// The most capable role among the caller's `cognito:groups`, if any.
///
/// HTTP APIs pass a list claim as one string, `[billing sales]`; a plain
/// `billing` or a JSON array are accepted too.
pub fn role(context: &RequestContext) -> Option<StaffRole> {
    let RequestContext::ApiGatewayV2(context) = context else {
        return None;
    };
    let groups = context
        .authorizer
        .as_ref()?
        .jwt
        .as_ref()?
        .claims
        .get("cognito:groups")?;
    let names: Vec<&str> = groups
        .split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | ',' | '"'))
        .filter(|name| !name.is_empty())
        .collect();
    if names.contains(&"billing") {
        Some(StaffRole::Billing)
    } else if names.contains(&"sales") {
        Some(StaffRole::Sales)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::apigw::{
        ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
        ApiGatewayV2httpRequestContext,
    };

    fn with_groups(groups: &str) -> RequestContext {
        let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
        jwt.claims
            .insert("cognito:groups".to_owned(), groups.to_owned());
        let mut authorizer = ApiGatewayRequestAuthorizer::default();
        authorizer.jwt = Some(jwt);
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.authorizer = Some(authorizer);
        RequestContext::ApiGatewayV2(context)
    }

    #[test]
    fn groups_in_every_form_http_apis_pass_them() {
        assert_eq!(
            role(&with_groups("[sales billing]")),
            Some(StaffRole::Billing)
        );
        assert_eq!(role(&with_groups(r#"["sales"]"#)), Some(StaffRole::Sales));
        assert_eq!(role(&with_groups("billing")), Some(StaffRole::Billing));
        assert_eq!(role(&with_groups("[billingx salesy]")), None);
        assert_eq!(role(&with_groups("")), None);
    }

    #[test]
    fn no_authorizer_means_no_role() {
        let context = RequestContext::ApiGatewayV2(ApiGatewayV2httpRequestContext::default());
        assert_eq!(role(&context), None);
    }
}
