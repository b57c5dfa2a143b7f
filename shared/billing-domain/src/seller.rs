//! The seller's configuration: the billing entity that issues invoices, with
//! its identity as printed, its number series, tax rules, line limit,
//! dunning policy, payment tolerance, mid-period rule, mail sender and
//! accounting settings. Read once per run, sweep or statement.
//!
//! It sits above every rule it configures (tax, numbering, dunning,
//! matching, mid-period changes, accounting), so those rules never need the
//! whole seller; the invoice snapshot keeps only [`SellerIdentity`].

use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::accounting::AccountingSettings;
use crate::direct_debit::CreditorSettings;
use crate::dunning::DunningPolicy;
use crate::ids::BillingEntityId;
use crate::matching::AmountTolerance;
use crate::mid_period::MidPeriodPolicy;
use crate::numbering::{DocumentType, NumberSeries};
use crate::party::{EmailAddress, Language, SellerIdentity};
use crate::taxation::TaxRules;

/// Line limit when the entity configures none: enough for any real invoice,
/// small enough that a runaway run cannot produce a 10,000-page PDF.
pub const DEFAULT_MAX_INVOICE_LINES: usize = 500;

fn default_max_invoice_lines() -> usize {
    DEFAULT_MAX_INVOICE_LINES
}

/// The legal entity that issues invoices: its identity, tax rules and number
/// series. Configuration data, read once per run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BillingEntity {
    /// Our id for the entity.
    pub id: BillingEntityId,
    /// Name, address, tax ids and bank account, as printed.
    pub identity: SellerIdentity,
    /// Zone in which "today", issue dates and due dates are reckoned.
    pub time_zone: chrono_tz::Tz,
    /// Language for customers that have none set and for internal documents.
    pub default_language: Language,
    /// Number series, one per document type.
    pub number_series: Vec<NumberSeries>,
    /// VAT rates and legal notes this entity applies.
    pub tax_rules: TaxRules,
    /// Most lines one invoice may have.
    #[serde(default = "default_max_invoice_lines")]
    pub max_invoice_lines: usize,
    /// Reminder levels, fees and statutory interest; the German default
    /// (§288 BGB) when a stored configuration has none.
    #[serde(default = "crate::dunning::DunningPolicy::german_default")]
    pub dunning: DunningPolicy,
    /// How far a bank transfer may differ from an open amount and still be
    /// matched to it by amount alone; exact when not configured.
    #[serde(default)]
    pub payment_tolerance: AmountTolerance,
    /// How quantity and price changes inside a period are billed (upgrades
    /// pro rata; downgrades from the next period unless set to credit the
    /// unused rest); a contract may override it.
    #[serde(default)]
    pub mid_period_changes: MidPeriodPolicy,
    /// Who invoice e-mails come from.
    pub mail: InvoiceMailSender,
    /// Chart of accounts, account mapping and DATEV numbers for the booking
    /// journal and its export; SKR03's standard accounts when a stored
    /// configuration has none.
    #[serde(default)]
    pub accounting: AccountingSettings,
    /// SEPA creditor identifier, collection account and pre-notification
    /// period; without them the seller cannot collect by direct debit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_debit: Option<CreditorSettings>,
}

/// The From and Reply-To of the entity's invoice e-mails. The address must
/// belong to an identity SES has verified for the deployment; the customer's
/// replies (questions, disputes) go to `reply_to`, usually the billing team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceMailSender {
    /// The From address.
    pub address: EmailAddress,
    /// The name shown next to it, e.g. the entity's trading name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Where replies go, if not to the From address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<EmailAddress>,
}

impl InvoiceMailSender {
    /// A display name is one printable line (it becomes a mail header).
    pub fn validate(&self, field: &str) -> Result<(), DomainError> {
        if let Some(name) = &self.display_name
            && (name.trim().is_empty() || name.len() > 200 || name.chars().any(char::is_control))
        {
            return Err(DomainError::invalid(
                format!("{field}.display_name"),
                "must be one printable line of at most 200 bytes",
            ));
        }
        Ok(())
    }
}

impl BillingEntity {
    /// Checks what a legally complete invoice needs from the seller, naming
    /// the field (prefixed `billing_entity.`).
    pub fn validate(&self) -> Result<(), DomainError> {
        self.identity.validate("billing_entity.identity")?;
        if self.max_invoice_lines == 0 {
            return Err(DomainError::invalid(
                "billing_entity.max_invoice_lines",
                "must be at least 1",
            ));
        }
        for (i, series) in self.number_series.iter().enumerate() {
            let duplicate = self.number_series[..i]
                .iter()
                .any(|s| s.document_type == series.document_type);
            if duplicate {
                return Err(DomainError::invalid(
                    format!("billing_entity.number_series[{i}].document_type"),
                    "only one series per document type",
                ));
            }
        }
        self.tax_rules.validate("billing_entity.tax_rules")?;
        self.mail.validate("billing_entity.mail")?;
        self.payment_tolerance
            .validate("billing_entity.payment_tolerance")?;
        self.accounting.validate("billing_entity.accounting")?;
        if let Some(direct_debit) = &self.direct_debit {
            direct_debit.validate("billing_entity.direct_debit")?;
        }
        self.dunning.validate()
    }

    /// The series that numbers documents of `document_type`.
    pub fn series_for(&self, document_type: DocumentType) -> Result<&NumberSeries, DomainError> {
        self.number_series
            .iter()
            .find(|s| s.document_type == document_type)
            .ok_or_else(|| {
                DomainError::invalid(
                    "billing_entity.number_series",
                    format!("no series for document type {}", document_type.code()),
                )
            })
    }
}
