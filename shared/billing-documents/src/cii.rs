//! The EN 16931 invoice in UN/CEFACT CII syntax (D16B), as Factur-X /
//! ZUGFeRD (profile EN16931) embeds it and as XRechnung routes it.
//!
//! Written straight from the finalized domain invoice, the same value the
//! PDF is rendered from, so the two can never disagree. Element order follows
//! the CII XSD sequences (the schema validates order, not just presence);
//! business terms are named by their EN 16931 ids (BT-n, BG-n) next to each
//! element so a reviewer can check the mapping line by line.

use std::io;

use billing_domain::invoice::{Invoice, InvoiceLine, TaxBreakdown};
use billing_domain::money::Money;
use billing_domain::party::{ElectronicAddress, PostalAddress, SellerContact, SellerIdentity};
use billing_domain::period::ServicePeriod;
use billing_domain::tax::VatCategoryCode;
use chrono::NaiveDate;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use rust_decimal::Decimal;

use crate::DocumentError;
use crate::text::{self, Labels};

/// Guideline id (BT-24) of the EN 16931 core, what Factur-X profile EN16931
/// declares.
pub const FACTUR_X_EN16931: &str = "urn:cen.eu:en16931:2017";

/// Guideline id (BT-24) of XRechnung 3.0, the German CIUS public-sector
/// recipients require.
pub const XRECHNUNG_3_0: &str =
    "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0";

/// Business process (BT-23) XRechnung 3.0 expects (the Peppol billing
/// process it builds on).
pub const PEPPOL_BILLING_PROCESS: &str = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0";

/// How an invoice is paid (BG-16). The domain models one way so far, SEPA
/// credit transfer to the seller's account; the XML's payment means and the
/// GiroCode both ask here, so a direct-debit variant added later turns the
/// GiroCode off for those invoices by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentMeans {
    /// SEPA credit transfer to the seller's IBAN.
    SepaCreditTransfer,
    /// SEPA direct debit under the customer's mandate (BG-19).
    SepaDirectDebit,
}

impl PaymentMeans {
    /// UNTDID 4461 code (BT-81).
    pub fn code(self) -> &'static str {
        match self {
            Self::SepaCreditTransfer => "58",
            Self::SepaDirectDebit => "59",
        }
    }
}

/// How `invoice` is paid: by direct debit when it carries a
/// pre-notification, else by transfer.
pub fn payment_means(invoice: &Invoice) -> PaymentMeans {
    match invoice.content().direct_debit {
        Some(_) => PaymentMeans::SepaDirectDebit,
        None => PaymentMeans::SepaCreditTransfer,
    }
}

/// Which flavour of EN 16931 CII to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CiiProfile {
    /// Factur-X / ZUGFeRD profile EN16931: the XML embedded in every PDF.
    FacturXEn16931,
    /// XRechnung 3.0 for public-sector customers; needs the buyer's
    /// Leitweg-ID, which becomes the buyer reference (BT-10).
    XRechnung,
}

impl CiiProfile {
    /// The guideline id (BT-24) this profile declares.
    pub fn guideline_id(self) -> &'static str {
        match self {
            Self::FacturXEn16931 => FACTUR_X_EN16931,
            Self::XRechnung => XRECHNUNG_3_0,
        }
    }
}

/// Writes `invoice` as CII XML (UTF-8, indented) in `profile`.
///
/// The only refusals are XRechnung for a customer without a Leitweg-ID, and
/// XRechnung for an invoice whose parties lack what XRechnung requires
/// (seller contact and electronic address, buyer electronic address): the
/// recipient's platform would reject such a file anyway. New invoices cannot
/// get here (the domain refuses to build them); this guards snapshots built
/// before those fields existed.
pub fn invoice_xml(invoice: &Invoice, profile: CiiProfile) -> Result<Vec<u8>, DocumentError> {
    let content = invoice.content();
    let buyer_reference = match profile {
        CiiProfile::FacturXEn16931 => None,
        CiiProfile::XRechnung => {
            let leitweg_id = content
                .buyer
                .leitweg_id
                .as_ref()
                .map(|id| id.as_str().to_owned())
                .ok_or(DocumentError::MissingLeitwegId)?;
            content
                .buyer
                .check_xrechnung("account")
                .and_then(|()| content.seller.check_xrechnung("billing_entity.identity"))
                .map_err(DocumentError::XRechnungIncomplete)?;
            Some(leitweg_id)
        }
    };
    let mut cii = Cii {
        w: Writer::new_with_indent(Vec::with_capacity(8 * 1024), b' ', 2),
        invoice,
        profile,
        labels: text::labels(invoice.content().buyer.language),
    };
    cii.document(buyer_reference.as_deref())
        .map_err(DocumentError::Xml)?;
    Ok(cii.w.into_inner())
}

struct Cii<'a> {
    w: Writer<Vec<u8>>,
    invoice: &'a Invoice,
    profile: CiiProfile,
    labels: &'static Labels,
}

impl Cii<'_> {
    fn open(&mut self, name: &str, attributes: &[(&str, &str)]) -> io::Result<()> {
        let mut start = BytesStart::new(name);
        for attribute in attributes {
            start.push_attribute(*attribute);
        }
        self.w.write_event(Event::Start(start))
    }

    fn close(&mut self, name: &str) -> io::Result<()> {
        self.w.write_event(Event::End(BytesEnd::new(name)))
    }

    fn group(
        &mut self,
        name: &str,
        inner: impl FnOnce(&mut Self) -> io::Result<()>,
    ) -> io::Result<()> {
        self.open(name, &[])?;
        inner(self)?;
        self.close(name)
    }

    fn text_with(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) -> io::Result<()> {
        self.open(name, attributes)?;
        self.w.write_event(Event::Text(BytesText::new(text)))?;
        self.close(name)
    }

    fn text(&mut self, name: &str, text: &str) -> io::Result<()> {
        self.text_with(name, &[], text)
    }

    fn date(&mut self, name: &str, date: NaiveDate) -> io::Result<()> {
        self.group(name, |c| {
            c.text_with(
                "udt:DateTimeString",
                &[("format", "102")],
                &date.format("%Y%m%d").to_string(),
            )
        })
    }

    fn period(&mut self, period: &ServicePeriod) -> io::Result<()> {
        self.group("ram:BillingSpecifiedPeriod", |c| {
            c.date("ram:StartDateTime", period.start)?;
            c.date("ram:EndDateTime", period.end)
        })
    }

    fn document(&mut self, buyer_reference: Option<&str>) -> io::Result<()> {
        self.w
            .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        self.open(
            "rsm:CrossIndustryInvoice",
            &[
                (
                    "xmlns:rsm",
                    "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
                ),
                (
                    "xmlns:qdt",
                    "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
                ),
                (
                    "xmlns:ram",
                    "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
                ),
                (
                    "xmlns:udt",
                    "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
                ),
            ],
        )?;
        self.context()?;
        self.header()?;
        self.group("rsm:SupplyChainTradeTransaction", |c| {
            for line in &c.invoice.content().lines {
                c.line(line)?;
            }
            c.agreement(buyer_reference)?;
            c.delivery()?;
            c.settlement()
        })?;
        self.close("rsm:CrossIndustryInvoice")?;
        self.w.get_mut().push(b'\n');
        Ok(())
    }

    /// BG-2: process and specification identifiers.
    fn context(&mut self) -> io::Result<()> {
        let profile = self.profile;
        self.group("rsm:ExchangedDocumentContext", |c| {
            if profile == CiiProfile::XRechnung {
                c.group(
                    "ram:BusinessProcessSpecifiedDocumentContextParameter",
                    |c| {
                        c.text("ram:ID", PEPPOL_BILLING_PROCESS) // BT-23
                    },
                )?;
            }
            c.group("ram:GuidelineSpecifiedDocumentContextParameter", |c| {
                c.text("ram:ID", profile.guideline_id()) // BT-24
            })
        })
    }

    fn header(&mut self) -> io::Result<()> {
        let invoice = self.invoice;
        let content = invoice.content();
        self.group("rsm:ExchangedDocument", |c| {
            c.text("ram:ID", invoice.number().as_str())?; // BT-1
            c.text("ram:TypeCode", &content.document_type.code().to_string())?; // BT-3
            c.date("ram:IssueDateTime", content.issue_date)?; // BT-2
            for note in &content.notes {
                c.group("ram:IncludedNote", |c| c.text("ram:Content", note))?; // BG-1
            }
            Ok(())
        })
    }

    /// BG-25.
    fn line(&mut self, line: &InvoiceLine) -> io::Result<()> {
        self.group("ram:IncludedSupplyChainTradeLineItem", |c| {
            c.group("ram:AssociatedDocumentLineDocument", |c| {
                c.text("ram:LineID", &line.position.to_string()) // BT-126
            })?;
            c.group("ram:SpecifiedTradeProduct", |c| {
                if let Some(code) = &line.item.product_code {
                    c.text("ram:SellerAssignedID", code.as_str())?; // BT-155
                }
                c.text("ram:Name", &line.item.description) // BT-153
            })?;
            c.group("ram:SpecifiedLineTradeAgreement", |c| {
                c.group("ram:NetPriceProductTradePrice", |c| {
                    c.text("ram:ChargeAmount", &unit_price(line.item.unit_price)) // BT-146
                })
            })?;
            c.group("ram:SpecifiedLineTradeDelivery", |c| {
                c.text_with(
                    "ram:BilledQuantity",
                    &[("unitCode", line.item.unit.as_str())], // BT-130
                    &plain(line.item.quantity),               // BT-129
                )
            })?;
            c.group("ram:SpecifiedLineTradeSettlement", |c| {
                c.group("ram:ApplicableTradeTax", |c| {
                    c.text("ram:TypeCode", "VAT")?;
                    c.text("ram:CategoryCode", line.tax.category.code())?; // BT-151
                    if line.tax.category == VatCategoryCode::O {
                        return Ok(()); // BR-O-05: no rate outside the scope of VAT
                    }
                    c.text("ram:RateApplicablePercent", &plain(line.tax.rate)) // BT-152
                })?;
                if let Some(period) = &line.service_period {
                    c.period(period)?; // BG-26
                }
                c.group("ram:SpecifiedTradeSettlementLineMonetarySummation", |c| {
                    c.text("ram:LineTotalAmount", &amount(line.net_amount)) // BT-131
                })
            })
        })
    }

    fn agreement(&mut self, buyer_reference: Option<&str>) -> io::Result<()> {
        let content = self.invoice.content();
        let tax_treatment_hides_vat_ids = hides_vat_ids(content.tax_breakdown.as_slice());
        self.group("ram:ApplicableHeaderTradeAgreement", |c| {
            if let Some(reference) = buyer_reference {
                c.text("ram:BuyerReference", reference)?; // BT-10
            }
            c.seller(&content.seller, tax_treatment_hides_vat_ids)?;
            c.group("ram:BuyerTradeParty", |c| {
                c.text("ram:Name", &content.buyer.name)?; // BT-44
                c.address(&content.buyer.address)?; // BG-8
                if let Some(address) = &content.buyer.electronic_address {
                    c.electronic_address(address)?; // BT-49
                }
                match &content.buyer.vat_id {
                    Some(vat) if !tax_treatment_hides_vat_ids => {
                        c.group("ram:SpecifiedTaxRegistration", |c| {
                            c.text_with("ram:ID", &[("schemeID", "VA")], vat.as_str()) // BT-48
                        })
                    }
                    _ => Ok(()),
                }
            })?;
            if let Some(po) = &content.references.purchase_order {
                c.group("ram:BuyerOrderReferencedDocument", |c| {
                    c.text("ram:IssuerAssignedID", po) // BT-13
                })?;
            }
            Ok(())
        })
    }

    /// BG-4. Under "not subject to VAT" (category O) EN 16931 forbids VAT
    /// ids (BR-O-02); the tax number stays. Without a VAT ID in the XML
    /// (category O, or a §19 UStG seller without one) the buyer identifies
    /// the seller by the seller identifier (BT-29, BR-CO-26): the tax
    /// number the invoice prints, without a scheme (known to both).
    fn seller(&mut self, seller: &SellerIdentity, hide_vat_id: bool) -> io::Result<()> {
        let vat_id = seller.vat_id.as_ref().filter(|_| !hide_vat_id);
        self.group("ram:SellerTradeParty", |c| {
            if let Some(number) = seller.tax_number.as_ref().filter(|_| vat_id.is_none()) {
                c.text("ram:ID", number.as_str())?; // BT-29
            }
            c.text("ram:Name", &seller.legal_name)?; // BT-27
            if let Some(contact) = &seller.contact {
                c.contact(contact)?; // BG-6
            }
            c.address(&seller.address)?; // BG-5
            if let Some(address) = &seller.electronic_address {
                c.electronic_address(address)?; // BT-34
            }
            if let Some(vat) = vat_id {
                c.group("ram:SpecifiedTaxRegistration", |c| {
                    c.text_with("ram:ID", &[("schemeID", "VA")], vat.as_str()) // BT-31
                })?;
            }
            if let Some(number) = &seller.tax_number {
                c.group("ram:SpecifiedTaxRegistration", |c| {
                    c.text_with("ram:ID", &[("schemeID", "FC")], number.as_str()) // BT-32
                })?;
            }
            Ok(())
        })
    }

    /// BG-6: who answers questions about the invoice.
    fn contact(&mut self, contact: &SellerContact) -> io::Result<()> {
        self.group("ram:DefinedTradeContact", |c| {
            c.text("ram:PersonName", &contact.name)?; // BT-41
            c.group("ram:TelephoneUniversalCommunication", |c| {
                c.text("ram:CompleteNumber", contact.telephone.as_str()) // BT-42
            })?;
            c.group("ram:EmailURIUniversalCommunication", |c| {
                c.text("ram:URIID", contact.email.as_str()) // BT-43
            })
        })
    }

    /// BT-34 / BT-49 with its EAS scheme.
    fn electronic_address(&mut self, address: &ElectronicAddress) -> io::Result<()> {
        self.group("ram:URIUniversalCommunication", |c| {
            c.text_with(
                "ram:URIID",
                &[("schemeID", address.scheme().as_str())],
                address.value(),
            )
        })
    }

    fn address(&mut self, address: &PostalAddress) -> io::Result<()> {
        self.group("ram:PostalTradeAddress", |c| {
            if let Some(code) = &address.postal_code {
                c.text("ram:PostcodeCode", code)?; // BT-38 / BT-53
            }
            c.text("ram:LineOne", &address.street)?; // BT-35 / BT-50
            if let Some(line) = &address.additional_line {
                c.text("ram:LineTwo", line)?; // BT-36 / BT-51
            }
            c.text("ram:CityName", &address.city)?; // BT-37 / BT-52
            c.text("ram:CountryID", address.country.as_str()) // BT-40 / BT-55
        })
    }

    /// BG-13: the date of supply is given per line and for the invoice as
    /// periods (BG-26, BG-14), so no separate delivery date is written. An
    /// intra-EU supply of goods (K) names where the goods go (BG-15 with
    /// BT-80, BR-IC-12): the customer's address, the only address the
    /// invoice knows; its delivery date is the lines' period (BG-14,
    /// BR-IC-11), which the domain requires of every K line.
    fn delivery(&mut self) -> io::Result<()> {
        let content = self.invoice.content();
        let intra_eu = content
            .tax_breakdown
            .iter()
            .any(|g| g.category == VatCategoryCode::K);
        self.group("ram:ApplicableHeaderTradeDelivery", |c| {
            if intra_eu {
                c.group("ram:ShipToTradeParty", |c| {
                    c.text("ram:Name", &content.buyer.name)?; // BT-70
                    c.address(&content.buyer.address) // BG-15, BT-80
                })?;
            }
            Ok(())
        })
    }

    fn settlement(&mut self) -> io::Result<()> {
        let invoice = self.invoice;
        let content = invoice.content();
        let labels = self.labels;
        let currency = content.currency.code();
        self.group("ram:ApplicableHeaderTradeSettlement", |c| {
            if let Some(notice) = &content.direct_debit {
                c.text(
                    "ram:CreditorReferenceID",
                    notice.creditor_identifier.as_str(),
                )?; // BT-90
            }
            if let Some(reference) = &content.references.payment_reference {
                c.text("ram:PaymentReference", reference)?; // BT-83
            }
            c.text("ram:InvoiceCurrencyCode", currency)?; // BT-5
            let bank = &content.seller.bank_account;
            c.group("ram:SpecifiedTradeSettlementPaymentMeans", |c| {
                c.text("ram:TypeCode", payment_means(invoice).code())?; // BT-81
                // Direct debit: the debited account (BG-19) and no account
                // to pay into (BG-17 only for transfers; BR-DE-25 forbids it
                // beside code 59).
                if let Some(notice) = &content.direct_debit {
                    return c.group("ram:PayerPartyDebtorFinancialAccount", |c| {
                        c.text("ram:IBANID", notice.debited_account.as_str()) // BT-91
                    });
                }
                c.group("ram:PayeePartyCreditorFinancialAccount", |c| {
                    c.text("ram:IBANID", bank.iban.as_str())?; // BT-84
                    if let Some(holder) = &bank.account_holder {
                        c.text("ram:AccountName", holder)?; // BT-85
                    }
                    Ok(())
                })?;
                if let Some(bic) = &bank.bic {
                    c.group("ram:PayeeSpecifiedCreditorFinancialInstitution", |c| {
                        c.text("ram:BICID", bic.as_str()) // BT-86
                    })?;
                }
                Ok(())
            })?;
            for group in &content.tax_breakdown {
                c.tax(group)?;
            }
            if let Some(period) = &content.service_period {
                c.period(period)?; // BG-14
            }
            c.group("ram:SpecifiedTradePaymentTerms", |c| {
                c.text("ram:Description", &text::document_terms(labels, invoice))?; // BT-20
                c.date("ram:DueDateDateTime", content.due_date)?; // BT-9
                if let Some(notice) = &content.direct_debit {
                    c.text(
                        "ram:DirectDebitMandateID",
                        notice.mandate_reference.as_str(),
                    )?; // BT-89
                }
                Ok(())
            })?;
            let totals = &content.totals;
            c.group("ram:SpecifiedTradeSettlementHeaderMonetarySummation", |c| {
                c.text("ram:LineTotalAmount", &amount(totals.net_total))?; // BT-106
                c.text("ram:TaxBasisTotalAmount", &amount(totals.net_total))?; // BT-109
                c.text_with(
                    "ram:TaxTotalAmount",
                    &[("currencyID", currency)],
                    &amount(totals.tax_total),
                )?; // BT-110
                c.text("ram:GrandTotalAmount", &amount(totals.gross_total))?; // BT-112
                c.text("ram:DuePayableAmount", &amount(totals.gross_total)) // BT-115
            })?;
            if let Some(preceding) = &content.references.preceding_invoice {
                c.group("ram:InvoiceReferencedDocument", |c| {
                    c.text("ram:IssuerAssignedID", preceding.as_str())?; // BT-25
                    match content.references.preceding_invoice_date {
                        Some(date) => c.group("ram:FormattedIssueDateTime", |c| {
                            c.text_with(
                                "qdt:DateTimeString",
                                &[("format", "102")],
                                &date.format("%Y%m%d").to_string(),
                            )
                        }), // BT-26
                        None => Ok(()),
                    }
                })?;
            }
            Ok(())
        })
    }

    /// BG-23.
    fn tax(&mut self, group: &TaxBreakdown) -> io::Result<()> {
        self.group("ram:ApplicableTradeTax", |c| {
            c.text("ram:CalculatedAmount", &amount(group.tax_amount))?; // BT-117
            c.text("ram:TypeCode", "VAT")?;
            if let Some(exemption) = &group.exemption {
                c.text("ram:ExemptionReason", &exemption.reason)?; // BT-120
            }
            c.text("ram:BasisAmount", &amount(group.taxable_amount))?; // BT-116
            c.text("ram:CategoryCode", group.category.code())?; // BT-118
            if let Some(code) = group
                .exemption
                .as_ref()
                .and_then(|e| e.reason_code.as_ref())
            {
                c.text("ram:ExemptionReasonCode", code)?; // BT-121
            }
            if group.category == VatCategoryCode::O {
                return Ok(()); // BR-48: no rate when not subject to VAT
            }
            c.text("ram:RateApplicablePercent", &plain(group.rate)) // BT-119
        })
    }
}

/// BR-O-02: an invoice with "not subject to VAT" lines carries no VAT ids.
fn hides_vat_ids(breakdown: &[TaxBreakdown]) -> bool {
    breakdown.iter().any(|g| g.category == VatCategoryCode::O)
}

/// An amount at exactly the currency's minor unit (`12.30`).
fn amount(money: Money) -> String {
    money.round().amount().to_string()
}

/// A unit price: as precise as it was agreed, but never fewer decimals than
/// the currency has (`0.0125`, `12.50`).
fn unit_price(money: Money) -> String {
    text::price_decimals(money).to_string()
}

/// Quantities and rates without trailing zeros (`19`, `7`, `1.5`).
fn plain(value: Decimal) -> String {
    value.normalize().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_domain::money::Currency;
    use rust_decimal_macros::dec;

    #[test]
    fn numbers_are_written_as_cii_expects() {
        assert_eq!(amount(Money::new(dec!(12.3), Currency::EUR)), "12.30");
        assert_eq!(
            unit_price(Money::new(dec!(0.012500), Currency::EUR)),
            "0.0125"
        );
        assert_eq!(unit_price(Money::new(dec!(12.5), Currency::EUR)), "12.50");
        assert_eq!(unit_price(Money::new(dec!(100), Currency::JPY)), "100");
        assert_eq!(plain(dec!(19.00)), "19");
        assert_eq!(plain(dec!(1.50)), "1.5");
    }
}
