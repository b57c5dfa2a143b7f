//! Who is calling, from the claims API Gateway's JWT authorizer verified.

use billing_domain::staff::StaffRole;
use billing_store::Actor;
use lambda_http::request::RequestContext;

use crate::error::ApiError;

/// The signed-in staff member: their stable user id (Cognito `sub`, never
/// an e-mail address) and the strongest role their groups grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Cognito `sub` (or `username` when a token has no `sub`).
    pub user: String,
    /// `billing` or `sales`.
    pub role: StaffRole,
}

impl Caller {
    /// The caller as an audit record names them.
    pub fn actor(&self) -> Actor {
        Actor {
            user: self.user.clone(),
            role: self.role,
        }
    }
}

/// The caller of a request: 401 without verified claims, 403 when their
/// groups grant neither role.
///
/// HTTP APIs pass a list claim as one string, `[billing sales]`; a plain
/// `billing` or a JSON array are accepted too.
pub fn caller(context: &RequestContext) -> Result<Caller, ApiError> {
    let RequestContext::ApiGatewayV2(context) = context else {
        return Err(ApiError::Unauthorized);
    };
    let claims = &context
        .authorizer
        .as_ref()
        .and_then(|a| a.jwt.as_ref())
        .ok_or(ApiError::Unauthorized)?
        .claims;
    let user = claims
        .get("sub")
        .or_else(|| claims.get("username"))
        .or_else(|| claims.get("cognito:username"))
        .filter(|user| !user.is_empty())
        .ok_or(ApiError::Unauthorized)?;
    let groups = claims
        .get("cognito:groups")
        .map(String::as_str)
        .unwrap_or("");
    let names = groups
        .split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | ',' | '"'))
        .filter(|name| !name.is_empty());
    let role = StaffRole::strongest(names).ok_or(ApiError::Forbidden(
        "this needs membership in the billing or sales group",
    ))?;
    Ok(Caller {
        user: user.clone(),
        role,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::apigw::{
        ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
        ApiGatewayV2httpRequestContext,
    };

    fn with_claims(claims: &[(&str, &str)]) -> RequestContext {
        let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
        for (name, value) in claims {
            jwt.claims.insert((*name).to_owned(), (*value).to_owned());
        }
        let mut authorizer = ApiGatewayRequestAuthorizer::default();
        authorizer.jwt = Some(jwt);
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.authorizer = Some(authorizer);
        RequestContext::ApiGatewayV2(context)
    }

    fn role(groups: &str) -> Result<StaffRole, ApiError> {
        caller(&with_claims(&[("sub", "u-1"), ("cognito:groups", groups)])).map(|c| c.role)
    }

    #[test]
    fn groups_in_every_form_http_apis_pass_them() {
        assert_eq!(role("[sales billing]").unwrap(), StaffRole::Billing);
        assert_eq!(role(r#"["sales"]"#).unwrap(), StaffRole::Sales);
        assert_eq!(role("billing").unwrap(), StaffRole::Billing);
        assert!(matches!(
            role("[billingx salesy]"),
            Err(ApiError::Forbidden(_))
        ));
        assert!(matches!(role(""), Err(ApiError::Forbidden(_))));
    }

    #[test]
    fn no_claims_or_no_user_is_unauthenticated() {
        let context = RequestContext::ApiGatewayV2(ApiGatewayV2httpRequestContext::default());
        assert!(matches!(caller(&context), Err(ApiError::Unauthorized)));
        let no_sub = with_claims(&[("cognito:groups", "[billing]")]);
        assert!(matches!(caller(&no_sub), Err(ApiError::Unauthorized)));
        let named = caller(&with_claims(&[
            ("username", "clerk-7"),
            ("cognito:groups", "[billing]"),
        ]));
        assert_eq!(named.unwrap().user, "clerk-7");
    }
}
