//! Keeping personal data out of logs when the text is not ours.
//!
//! Our own log lines name invoices, accounts and counts, never people. But
//! the text of an error from another service (SES quoting the sender, a
//! mail server's bounce diagnostic) may contain an e-mail address; such
//! text passes through [`redact_email_addresses`] before it is logged or
//! stored as a reason. The rule itself is the domain's
//! ([`billing_domain::privacy`]), the same that masks what `sales` reads.

pub use billing_domain::privacy::redact_email_addresses;
