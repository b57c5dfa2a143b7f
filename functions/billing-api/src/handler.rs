//! One request: who is calling, which route, whether their role may use
//! it, one route call, the answer (masked for `sales` by [`render`]).

use billing_domain::ids::BillingEntityId;
use billing_store::BillingStore;
use lambda_http::http::header::{ACCEPT, CONTENT_TYPE, IF_MATCH};
use lambda_http::{Body, Request, RequestExt, Response};

use crate::error::ApiError;
use crate::reply::{Reply, render};
use crate::router::{Access, Op, query_pairs, resolve};
use crate::routes::{
    Ctx, collections, corrections, customers, mandates, periods, reads, revenue, runs, writes,
};
use crate::staff::caller;

/// What every request needs, built once per cold start.
#[derive(Debug)]
pub struct ApiState {
    /// The billing table.
    pub store: BillingStore,
    /// The seller this deployment bills for; every read is limited to it.
    pub entity: BillingEntityId,
    /// Presigns document links.
    pub s3: aws_sdk_s3::Client,
    /// The archive of PDFs and XML.
    pub documents_bucket: String,
    /// Hands re-sent invoices to the delivery function.
    pub sqs: aws_sdk_sqs::Client,
    /// The delivery queue.
    pub delivery_queue_url: String,
    /// The invoice-run queue: run previews and their finalize runs are
    /// planned here, as the CLI plans them.
    pub run_queue_url: String,
}

/// Answers one staff request; every failure becomes a mapped status.
pub async fn handle(state: &ApiState, request: Request) -> Response<Body> {
    let caller = caller(&request.request_context());
    let role = caller.as_ref().ok().map(|c| c.role);
    let outcome = match caller {
        Ok(caller) => answer(state, &caller, &request).await,
        Err(error) => Err(error),
    };
    render(role, outcome)
}

async fn answer(
    state: &ApiState,
    caller: &crate::staff::Caller,
    request: &Request,
) -> Result<Reply, ApiError> {
    let matched = resolve(request.method().as_str(), request.uri().path())?;
    match matched.route.access {
        Access::Write if !caller.role.may_write() => {
            return Err(ApiError::Forbidden(
                "changes are for the billing group only",
            ));
        }
        Access::Confidential if !caller.role.may_write() => {
            return Err(ApiError::Forbidden(
                "exported files are for the billing group only",
            ));
        }
        _ => {}
    }
    let ctx = Ctx {
        state,
        caller,
        query: query_pairs(request.uri().query())?,
        body: request.body().as_ref(),
        content_type: request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        if_match: request
            .headers()
            .get(IF_MATCH)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        accept: request
            .headers()
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        matched,
    };
    match ctx.matched.route.op {
        Op::SearchAccounts => reads::search_accounts(&ctx).await,
        Op::Account => reads::account(&ctx).await,
        Op::AccountByCrm => reads::account_by_crm(&ctx).await,
        Op::AccountContracts => reads::contracts(&ctx).await,
        Op::AccountInvoices => reads::account_invoices(&ctx).await,
        Op::AccountBehaviour => reads::payment_behaviour_of(&ctx).await,
        Op::AccountCredit => reads::account_credit(&ctx).await,
        Op::AccountAudit => reads::account_audit(&ctx).await,
        Op::Invoices => reads::invoices(&ctx).await,
        Op::Invoice => reads::invoice(&ctx).await,
        Op::InvoicePayments => reads::invoice_payments(&ctx).await,
        Op::InvoiceDocuments => reads::invoice_documents(&ctx).await,
        Op::InvoiceAudit => reads::invoice_audit(&ctx).await,
        Op::PaymentReview => reads::payment_review(&ctx).await,
        Op::Runs => reads::runs(&ctx).await,
        Op::Run => reads::run(&ctx).await,
        Op::RunFailures => reads::run_failures(&ctx).await,
        Op::NeedsAttention => reads::needs_attention(&ctx).await,
        Op::Aging => reads::receivables_aging(&ctx).await,
        Op::RevenueMrr => revenue::mrr(&ctx).await,
        Op::RevenueDeferred => revenue::deferred(&ctx).await,
        Op::SetDunningBlock => writes::set_dunning_block(&ctx).await,
        Op::LiftDunningBlock => writes::lift_dunning_block(&ctx).await,
        Op::FlagDispute => writes::flag_dispute(&ctx).await,
        Op::ResolveDispute => writes::resolve_dispute(&ctx).await,
        Op::ResolveAttention => writes::resolve_attention(&ctx).await,
        Op::ResendInvoice => writes::resend(&ctx).await,
        Op::RecordPayment => corrections::record_payment(&ctx).await,
        Op::CreditNote => corrections::credit_note(&ctx).await,
        Op::ApplyCredit => corrections::apply_credit(&ctx).await,
        Op::RefundCredit => corrections::refund_credit(&ctx).await,
        Op::CancelInvoice => corrections::cancel(&ctx).await,
        Op::WriteOff => writes::write_off(&ctx).await,
        Op::Period => periods::show(&ctx).await,
        Op::ClosePeriod => periods::close(&ctx).await,
        Op::ExportPeriod => periods::export(&ctx).await,
        Op::PeriodFile => periods::file(&ctx).await,
        Op::CollectionFiles => collections::list(&ctx).await,
        Op::DownloadCollectionFile => collections::download(&ctx).await,
        Op::AccountMandates => mandates::list(&ctx).await,
        Op::CreateMandate => mandates::create(&ctx).await,
        Op::ChangeMandate => mandates::change(&ctx).await,
        // Planning a run and the customer page's joined reads are large
        // futures: on the heap, so a request never grows the stack by them.
        Op::Search => Box::pin(customers::search(&ctx)).await,
        Op::AccountOverview => Box::pin(customers::overview(&ctx)).await,
        Op::StartRunPreview => Box::pin(runs::start_preview(&ctx)).await,
        Op::RunPreview => Box::pin(runs::preview(&ctx)).await,
        Op::FinalizeRunPreview => Box::pin(runs::finalize(&ctx)).await,
    }
}
