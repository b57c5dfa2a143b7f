//! The route table: every method and path template the API answers, with
//! the role it needs. One list, so the role check, the dispatch, the OpenAPI
//! test and the local server can never disagree about what exists.
//!
//! No web framework: API Gateway already parsed the request; what is left
//! is matching a handful of templates, which a slice and a loop do plainly.

use crate::error::ApiError;

/// What a route needs of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `sales` and `billing`.
    Read,
    /// `billing` only.
    Write,
    /// `billing` only, though it only reads: files answered as stored
    /// (an exported period's DATEV files name customers), which the
    /// masking for `sales` cannot reach.
    Confidential,
}

/// Which operation a route runs (the dispatch key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Op {
    SearchAccounts,
    Account,
    AccountByCrm,
    AccountContracts,
    AccountInvoices,
    AccountBehaviour,
    AccountCredit,
    AccountAudit,
    Invoices,
    Invoice,
    InvoicePayments,
    InvoiceDocuments,
    InvoiceAudit,
    PaymentReview,
    Runs,
    Run,
    RunFailures,
    NeedsAttention,
    Aging,
    RevenueMrr,
    RevenueDeferred,
    SetDunningBlock,
    LiftDunningBlock,
    FlagDispute,
    ResolveDispute,
    ResolveAttention,
    ResendInvoice,
    RecordPayment,
    CreditNote,
    ApplyCredit,
    RefundCredit,
    CancelInvoice,
    WriteOff,
    Period,
    ClosePeriod,
    ExportPeriod,
    PeriodFile,
    AccountMandates,
    CreateMandate,
    ChangeMandate,
    CollectionFiles,
    DownloadCollectionFile,
    Search,
    AccountOverview,
    StartRunPreview,
    RunPreview,
    FinalizeRunPreview,
}

/// One route.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Path template; `{name}` is one path segment.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// What it does.
    pub op: Op,
}

const fn read(path: &'static str, op: Op) -> Route {
    Route {
        method: "GET",
        path,
        access: Access::Read,
        op,
    }
}

const fn write(method: &'static str, path: &'static str, op: Op) -> Route {
    Route {
        method,
        path,
        access: Access::Write,
        op,
    }
}

/// Every route of the staff API.
pub const ROUTES: &[Route] = &[
    read("/v1/accounts", Op::SearchAccounts),
    read("/v1/accounts/{account_id}", Op::Account),
    read("/v1/crm-links/{source}/{org}/{crm_id}", Op::AccountByCrm),
    read("/v1/accounts/{account_id}/contracts", Op::AccountContracts),
    read("/v1/accounts/{account_id}/invoices", Op::AccountInvoices),
    read(
        "/v1/accounts/{account_id}/payment-behaviour",
        Op::AccountBehaviour,
    ),
    read("/v1/accounts/{account_id}/credit", Op::AccountCredit),
    read("/v1/accounts/{account_id}/audit", Op::AccountAudit),
    read("/v1/invoices", Op::Invoices),
    read("/v1/invoices/{invoice_id}", Op::Invoice),
    read("/v1/invoices/{invoice_id}/payments", Op::InvoicePayments),
    read("/v1/invoices/{invoice_id}/documents", Op::InvoiceDocuments),
    read("/v1/invoices/{invoice_id}/audit", Op::InvoiceAudit),
    read("/v1/payments/review", Op::PaymentReview),
    read("/v1/runs", Op::Runs),
    read("/v1/runs/{run_id}", Op::Run),
    read("/v1/runs/{run_id}/failures", Op::RunFailures),
    read("/v1/needs-attention", Op::NeedsAttention),
    read("/v1/receivables/aging", Op::Aging),
    read("/v1/revenue/mrr", Op::RevenueMrr),
    read("/v1/revenue/deferred", Op::RevenueDeferred),
    read("/v1/periods/{month}", Op::Period),
    write(
        "PUT",
        "/v1/invoices/{invoice_id}/dunning-block",
        Op::SetDunningBlock,
    ),
    write(
        "DELETE",
        "/v1/invoices/{invoice_id}/dunning-block",
        Op::LiftDunningBlock,
    ),
    write("PUT", "/v1/invoices/{invoice_id}/dispute", Op::FlagDispute),
    write(
        "DELETE",
        "/v1/invoices/{invoice_id}/dispute",
        Op::ResolveDispute,
    ),
    write(
        "DELETE",
        "/v1/needs-attention/{kind}/{subject}",
        Op::ResolveAttention,
    ),
    write(
        "POST",
        "/v1/invoices/{invoice_id}/resend",
        Op::ResendInvoice,
    ),
    write(
        "POST",
        "/v1/invoices/{invoice_id}/payments",
        Op::RecordPayment,
    ),
    write(
        "POST",
        "/v1/invoices/{invoice_id}/credit-notes",
        Op::CreditNote,
    ),
    write(
        "POST",
        "/v1/invoices/{invoice_id}/credit-applications",
        Op::ApplyCredit,
    ),
    write(
        "POST",
        "/v1/accounts/{account_id}/credit/refunds",
        Op::RefundCredit,
    ),
    write(
        "POST",
        "/v1/invoices/{invoice_id}/cancellation",
        Op::CancelInvoice,
    ),
    write("POST", "/v1/invoices/{invoice_id}/write-off", Op::WriteOff),
    write("POST", "/v1/periods/{month}/close", Op::ClosePeriod),
    write("POST", "/v1/periods/{month}/export", Op::ExportPeriod),
    Route {
        method: "GET",
        path: "/v1/periods/{month}/export/{file}",
        access: Access::Confidential,
        op: Op::PeriodFile,
    },
    Route {
        method: "GET",
        path: "/v1/collection-files",
        access: Access::Confidential,
        op: Op::CollectionFiles,
    },
    write(
        "POST",
        "/v1/collection-files/{batch_id}/download",
        Op::DownloadCollectionFile,
    ),
    read("/v1/accounts/{account_id}/mandates", Op::AccountMandates),
    write(
        "POST",
        "/v1/accounts/{account_id}/mandates",
        Op::CreateMandate,
    ),
    write(
        "PATCH",
        "/v1/accounts/{account_id}/mandates/{reference}",
        Op::ChangeMandate,
    ),
    read("/v1/search", Op::Search),
    read("/v1/accounts/{account_id}/overview", Op::AccountOverview),
    write("POST", "/v1/run-previews", Op::StartRunPreview),
    read("/v1/run-previews/{run_id}", Op::RunPreview),
    write(
        "POST",
        "/v1/run-previews/{run_id}/finalize",
        Op::FinalizeRunPreview,
    ),
];

/// Longest path parameter accepted, in characters (ids and CRM keys are
/// far shorter); `docs/openapi.yaml` states it as `maxLength`.
pub const MAX_PARAM_LEN: usize = 200;

/// A request matched to its route, with the path parameters decoded.
#[derive(Debug, Clone)]
pub struct Matched {
    /// The route.
    pub route: &'static Route,
    /// `{name}` → value, in template order.
    pub params: Vec<(&'static str, String)>,
}

impl Matched {
    /// A path parameter by name (every template names what its op reads).
    pub fn param(&self, name: &str) -> Result<&str, ApiError> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| ApiError::invalid(&format!("/path/{name}"), "is missing"))
    }
}

/// The route for `method` and `path`: 404 when no template matches the
/// path, 405 when one does but not for this method.
pub fn resolve(method: &str, path: &str) -> Result<Matched, ApiError> {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let mut allowed = Vec::new();
    for route in ROUTES {
        let Some(params) = match_template(route.path, path)? else {
            continue;
        };
        if route.method == method {
            return Ok(Matched { route, params });
        }
        allowed.push(route.method);
    }
    if allowed.is_empty() {
        Err(ApiError::not_found(format!("route {method} {path}")))
    } else {
        Err(ApiError::MethodNotAllowed {
            path: path.to_owned(),
            allowed: allowed.join(", "),
        })
    }
}

fn match_template(
    template: &'static str,
    path: &str,
) -> Result<Option<Vec<(&'static str, String)>>, ApiError> {
    let mut wanted = template.split('/');
    let mut given = path.split('/');
    let mut params = Vec::new();
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return Ok(Some(params)),
            (Some(w), Some(g)) => {
                if let Some(name) = w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                    if g.is_empty() {
                        return Ok(None);
                    }
                    let value = percent_decode(g).ok_or_else(|| {
                        ApiError::invalid(
                            &format!("/path/{name}"),
                            "is not valid percent-encoded UTF-8",
                        )
                    })?;
                    if value.chars().count() > MAX_PARAM_LEN || value.chars().any(char::is_control)
                    {
                        return Err(ApiError::invalid(
                            &format!("/path/{name}"),
                            format!("must be at most {MAX_PARAM_LEN} printable characters"),
                        ));
                    }
                    params.push((name, value));
                } else if w != g {
                    return Ok(None);
                }
            }
            _ => return Ok(None),
        }
    }
}

/// `%XX` decoding of one path segment or query value (`+` is left alone in
/// paths; [`query_pairs`] turns it into a space).
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The decoded `name=value` pairs of a query string.
pub fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(Vec::new());
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |t: &str| {
                percent_decode(&t.replace('+', " ")).ok_or_else(|| {
                    ApiError::invalid("/query", "is not valid percent-encoded UTF-8")
                })
            };
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_segments_and_decode_them() {
        let m = resolve("GET", "/v1/crm-links/hubspot/org%201/42").unwrap();
        assert_eq!(m.route.op, Op::AccountByCrm);
        assert_eq!(m.param("org").unwrap(), "org 1");
        assert_eq!(
            resolve("GET", "/v1/accounts/a1/").unwrap().route.op,
            Op::Account
        );
        assert_eq!(
            resolve("GET", "/v1/accounts/a1/invoices").unwrap().route.op,
            Op::AccountInvoices
        );
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405() {
        assert!(matches!(
            resolve("GET", "/v1/nothing"),
            Err(ApiError::NotFound { .. })
        ));
        assert!(matches!(
            resolve("GET", "/v1/accounts//invoices"),
            Err(ApiError::NotFound { .. })
        ));
        match resolve("PATCH", "/v1/invoices/i1/dunning-block") {
            Err(ApiError::MethodNotAllowed { allowed, .. }) => assert_eq!(allowed, "PUT, DELETE"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            resolve("GET", "/v1/accounts/%ZZ"),
            Err(ApiError::Invalid { .. })
        ));
    }

    #[test]
    fn every_template_is_unique_per_method() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {}",
                    a.method,
                    a.path
                );
            }
            assert_eq!(a.access != Access::Write, a.method == "GET", "{}", a.path);
        }
    }

    #[test]
    fn query_strings_decode() {
        assert_eq!(
            query_pairs(Some("name_prefix=M%C3%BCller+%26+Co&limit=5")).unwrap(),
            vec![
                ("name_prefix".to_owned(), "Müller & Co".to_owned()),
                ("limit".to_owned(), "5".to_owned())
            ]
        );
    }
}
