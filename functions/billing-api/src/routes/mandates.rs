//! An account's SEPA mandates: listed for both roles (masked for `sales`
//! by the response layer like every other bank detail), recorded and
//! changed by `billing`. A change of reference, IBAN or creditor identifier
//! is the domain's amendment (`Mandate::amend`), announced with the next
//! collection; a block, an unblock and a revocation are status changes.
//! Every write is one store transaction with its audit entry, conditioned
//! on the mandate's revision (`If-Match`).

use billing_domain::direct_debit::{
    CreditorIdentifier, Mandate, MandateReference, MandateStatus, MandateUpdate, NewMandate,
};
use billing_domain::party::{Bic, Iban};
use billing_store::StoredMandate;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::writes::audit;
use super::{Ctx, reason, refused, today};
use crate::error::ApiError;
use crate::reply::Reply;

/// A mandate as the API shows it: the stored mandate and the day it lapses
/// unless collected on before.
#[derive(Debug, Serialize)]
struct MandateView<'a> {
    #[serde(flatten)]
    stored: &'a StoredMandate,
    lapses_on: NaiveDate,
}

fn view(stored: &StoredMandate) -> MandateView<'_> {
    MandateView {
        stored,
        lapses_on: stored.mandate.lapses_on(),
    }
}

/// The status a `PATCH` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StatusChange {
    Active,
    Blocked,
    Revoked,
}

/// Body of `PATCH …/mandates/{reference}`: every field optional, at least
/// one change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MandatePatch {
    reference: Option<MandateReference>,
    debtor_iban: Option<Iban>,
    debtor_bic: Option<Bic>,
    creditor_identifier: Option<CreditorIdentifier>,
    status: Option<StatusChange>,
    reason: Option<String>,
}

/// `GET /v1/accounts/{account_id}/mandates`.
pub async fn list(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let account = ctx.account().await?;
    let mandates = ctx.state.store.mandates(&account.account.id).await?;
    let items: Vec<MandateView<'_>> = mandates.iter().map(view).collect();
    Reply::ok(json!({ "items": items }))
}

/// `POST /v1/accounts/{account_id}/mandates`: records a signed mandate,
/// granted to the seller's creditor identifier unless the body names
/// another.
pub async fn create(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let body: NewMandate = ctx.json()?;
    let account = ctx.account().await?;
    let seller = ctx.state.store.billing_entity(&ctx.state.entity).await?;
    let creditor = seller.direct_debit.as_ref().map(|d| &d.creditor_identifier);
    let mandate = body
        .into_mandate(creditor, today())
        .map_err(domain_refused)?;
    let stored = StoredMandate::new(account.account.id.clone(), mandate, chrono::Utc::now());
    let entry = audit(
        ctx,
        "account.mandate.create",
        None,
        &stored.account_id,
        None,
        json!({"mandate_id": stored.mandate_id, "after": summary(&stored.mandate)}),
    );
    ctx.state
        .store
        .create_mandate(&stored, Some(&entry))
        .await?;
    Ok(Reply::with_status(201, view(&stored))?.tagged(stored.revision))
}

/// `PATCH /v1/accounts/{account_id}/mandates/{reference}`.
pub async fn change(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let patch: MandatePatch = ctx.json()?;
    let why = reason(patch.reason.as_deref(), "/reason", false)?;
    let wanted = MandateReference::parse(ctx.param("reference")?)
        .map_err(|e| refused("/path/reference", e))?;
    let account = ctx.account().await?;
    let mandates = ctx.state.store.mandates(&account.account.id).await?;
    let Some(read) = mandates.into_iter().find(|m| m.mandate.reference == wanted) else {
        return Err(ApiError::not_found(format!("mandate {wanted}")));
    };
    let expected = ctx.expected_revision(&format!("mandate {wanted}"), read.revision)?;
    let today = today();
    let (changed, action) = apply(&read.mandate, &patch, why.as_deref(), today)?;
    let entry = audit(
        ctx,
        action,
        None,
        &read.account_id,
        why,
        json!({
            "mandate_id": read.mandate_id,
            "changed": changed_fields(&read.mandate, &changed),
            "before": summary(&read.mandate),
            "after": summary(&changed),
        }),
    );
    let stored = ctx
        .state
        .store
        .change_mandate(&read, expected, changed, &entry)
        .await?;
    Ok(Reply::ok(view(&stored))?.tagged(stored.revision))
}

/// The mandate after `patch`, and the audit action that names it. A
/// revoked mandate stays revoked (the customer signs a new one).
fn apply(
    mandate: &Mandate,
    patch: &MandatePatch,
    why: Option<&str>,
    today: NaiveDate,
) -> Result<(Mandate, &'static str), ApiError> {
    let nothing = patch.reference.is_none()
        && patch.debtor_iban.is_none()
        && patch.debtor_bic.is_none()
        && patch.creditor_identifier.is_none()
        && patch.status.is_none();
    if nothing {
        return Err(ApiError::invalid(
            "",
            "names no change: give reference, debtor_iban, debtor_bic, creditor_identifier or status",
        ));
    }
    if matches!(mandate.status, MandateStatus::Revoked { .. }) {
        return Err(ApiError::Store(billing_store::StoreError::Refused {
            what: format!("mandate {}", mandate.reference),
            reason: "is revoked; record the customer's new mandate instead".to_owned(),
        }));
    }
    let mut changed = mandate.clone();
    let mut action = "account.mandate.amend";
    if let Some(reference) = &patch.reference {
        changed.amend(today, MandateUpdate::Reference(reference.clone()));
    }
    if let Some(identifier) = &patch.creditor_identifier {
        changed.amend(today, MandateUpdate::Creditor(identifier.clone()));
    }
    if let Some(iban) = &patch.debtor_iban
        && *iban != changed.debtor_iban
    {
        changed.amend(today, MandateUpdate::DebtorAccount(iban.clone()));
        // The BIC belonged to the old bank.
        changed.debtor_bic = None;
    }
    if let Some(bic) = &patch.debtor_bic {
        changed.debtor_bic = Some(bic.clone());
    }
    match patch.status {
        None => {}
        Some(StatusChange::Blocked) => {
            let Some(why) = why else {
                return Err(ApiError::invalid(
                    "/reason",
                    "is required to block a mandate",
                ));
            };
            changed.status = MandateStatus::Blocked {
                since: today,
                reason: why.to_owned(),
            };
            action = "account.mandate.block";
        }
        Some(StatusChange::Active) => {
            if matches!(mandate.status, MandateStatus::Blocked { .. }) {
                action = "account.mandate.unblock";
            }
            changed.status = MandateStatus::Active;
        }
        Some(StatusChange::Revoked) => {
            changed.status = MandateStatus::Revoked { since: today };
            action = "account.mandate.revoke";
        }
    }
    Ok((changed, action))
}

/// What the audit trail keeps of a mandate: no IBAN, BIC or debtor name
/// (bank and personal data stay out of the trail), only whether they
/// changed through the amendment count.
fn summary(mandate: &Mandate) -> serde_json::Value {
    let status = match &mandate.status {
        MandateStatus::Active => "active",
        MandateStatus::Blocked { .. } => "blocked",
        MandateStatus::Revoked { .. } => "revoked",
    };
    json!({
        "reference": mandate.reference,
        "creditor_identifier": mandate.creditor_identifier,
        "scheme": mandate.scheme,
        "usage": mandate.usage,
        "signed_on": mandate.signed_on,
        "status": status,
        "amendments": mandate.amendments.len(),
    })
}

/// The names of the fields a change touched (values of bank details stay
/// out of the audit trail).
fn changed_fields(before: &Mandate, after: &Mandate) -> Vec<&'static str> {
    [
        ("reference", before.reference != after.reference),
        (
            "creditor_identifier",
            before.creditor_identifier != after.creditor_identifier,
        ),
        ("debtor_iban", before.debtor_iban != after.debtor_iban),
        ("debtor_bic", before.debtor_bic != after.debtor_bic),
        ("status", before.status != after.status),
    ]
    .into_iter()
    .filter_map(|(name, changed)| changed.then_some(name))
    .collect()
}

/// A domain refusal of a new mandate, named by its JSON pointer.
fn domain_refused(error: billing_domain::DomainError) -> ApiError {
    let billing_domain::DomainError::Invalid { field, .. } = &error;
    let pointer = format!("/{field}");
    refused(&pointer, error)
}
