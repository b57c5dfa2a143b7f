//! Sixty simulated days against the local AWS: an invoice to a business
//! (no agreed payment date, receipt of the invoice not recorded) falls due,
//! gets a payment reminder and a first notice that puts it in default
//! (§286(1) BGB) and so claim nothing beyond the invoice, a partial payment
//! arrives by bank statement and lowers the open amount and, from its value
//! date, the interest basis of the second notice, which claims the flat
//! fee and interest from the day after the first notice's receipt. Then
//! the 690.00 of the principal arrive: a payment settles the letter's costs
//! and interest first (§367(1) BGB), so 42.94 of the principal stay open,
//! the invoice is not paid and stays in the dunning index, and the aging and
//! the journal show the same 42.94; the 42.94 that follow settle it, it
//! leaves the index, and no letter follows. Every letter is e-mailed. Every
//! amount is computed by hand below.

use billing_domain::dunning::DunningStage;
use billing_domain::ids::{BillingEntityId, InvoiceId};
use billing_domain::money::{Currency, Money};
use billing_domain::party::CustomerKind;
use billing_domain::payment::ClaimHead;
use billing_domain::payment::{Claims, PaymentStatus};
use billing_domain::receivables::{aging, receivables_as_of};
use billing_store::{BillingStore, DeliveryStatus};
use billing_tests::billing::{customer, invoice, stored_seller};
use billing_tests::delivery::deliver_dunning_letter;
use billing_tests::webhook::{local_store, repo_path};
use billing_tests::{local_clients, resource};
use chrono::{Days, NaiveDate, Utc};
use dunning_sweep::service::{SweepDay, SweepService};
use payment_import::service::ImportService;
use rust_decimal::Decimal;

fn eur(cents: i64) -> Money {
    Money::from_minor(cents, Currency::EUR)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn statement(msg: &str, on: NaiveDate, amount: &str, reference: &str) -> Vec<u8> {
    let template =
        std::fs::read_to_string(repo_path("tests/fixtures/camt/scenario-transfer.xml")).unwrap();
    let opening = Decimal::new(1_000_000, 2);
    let closing = opening + amount.parse::<Decimal>().unwrap();
    template
        .replace("{{MSG_ID}}", msg)
        .replace("{{DATE}}", &on.to_string())
        .replace("{{AMOUNT}}", amount)
        .replace("{{REFERENCE}}", reference)
        .replace("{{OPENING}}", &opening.to_string())
        .replace("{{CLOSING}}", &closing.to_string())
        .into_bytes()
}

/// The aging's total at the end of `day` (what the staff API's aging
/// reads), and the invoice's open claims per head as the booking journal
/// replays them from its inputs.
async fn aging_and_journal(
    store: &BillingStore,
    entity: &BillingEntityId,
    invoice: &InvoiceId,
    day: NaiveDate,
) -> (Money, Claims) {
    let histories = store
        .entity_receivable_histories(entity, Currency::EUR, day)
        .await
        .unwrap();
    let total = aging(
        &receivables_as_of(&histories, day).unwrap(),
        Currency::EUR,
        day,
    )
    .unwrap()
    .total;
    let inputs = store.journal_inputs(entity, day, day).await.unwrap();
    let document = inputs
        .documents
        .iter()
        .find(|d| &d.overview.invoice_id == invoice)
        .expect("the journal reads the invoice");
    let state = document
        .receivable_history(&[])
        .state_as_of(day)
        .unwrap()
        .unwrap();
    (total, state.open)
}

#[tokio::test]
async fn sixty_days_from_due_date_to_paid() {
    let store = local_store().await;
    let entity = stored_seller(&store).await;
    let account = customer(&entity.id, CustomerKind::Business);
    // 1,000.00 net + 19 % = 1,190.00, issued 1 December 2025, due 15 December.
    let invoice = invoice(
        &store,
        &entity,
        &account,
        date(2025, 12, 1),
        Decimal::new(100_000, 2),
    )
    .await;
    assert_eq!(invoice.amount_due(), eur(119_000));
    assert_eq!(invoice.content().due_date, date(2025, 12, 15));
    let reference = invoice
        .content()
        .references
        .payment_reference
        .clone()
        .unwrap();
    let aws = local_clients().await;
    let bucket = resource("DOCUMENTS_BUCKET");
    let sweep = SweepService::new(store.clone(), entity.id.clone());
    let import = ImportService::new(store.clone(), local_clients().await.s3, entity.id.clone());

    let mut letters = Vec::new();
    let start = date(2025, 12, 15);
    for offset in 0..60u64 {
        let today = start + Days::new(offset);
        // The transfers: part, the principal's rest, the letter's charges.
        let transfer = [
            (
                date(2026, 1, 10),
                "SCENARIO-PARTIAL",
                "500.00",
                "scenario/partial.xml",
            ),
            (
                date(2026, 1, 25),
                "SCENARIO-REST",
                "690.00",
                "scenario/rest.xml",
            ),
            (
                date(2026, 1, 28),
                "SCENARIO-CHARGES",
                "42.94",
                "scenario/charges.xml",
            ),
        ]
        .into_iter()
        .find(|(day, ..)| *day == today);
        if let Some((_, message, amount, source)) = transfer {
            let file = statement(message, today, amount, &reference);
            let report = import.import(source, &file, Utc::now()).await.unwrap();
            assert_eq!(report.imported, 1, "{amount} on {today}");
        }
        // Each day twice: the second run never sends anything.
        let report = sweep
            .sweep(SweepDay::Date(today), Utc::now())
            .await
            .unwrap();
        let again = sweep
            .sweep(SweepDay::Date(today), Utc::now())
            .await
            .unwrap();
        assert!(
            again.letters.is_empty(),
            "a second sweep on {today} sent a letter"
        );
        if today == date(2026, 1, 25) {
            // The 690.00 settled the second notice's 40.00 flat fee and
            // 2.94 interest first, then 647.06 of the principal: 42.94 of
            // it stay open, so the invoice is not paid and stays in the
            // dunning index (its next look is after the deadline).
            let state = store
                .dunning_state(&invoice.content().id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(state.payments.summary.status, PaymentStatus::PartiallyPaid);
            assert_eq!(state.payments.summary.open, eur(4294));
            assert_eq!(state.payments.paid_in_full_on, None);
            assert_eq!(state.payments.owed().unwrap(), eur(4294));
            assert!(
                state.indexed,
                "a principal remainder keeps it in the dunning index"
            );
            let (total, journal) =
                aging_and_journal(&store, &entity.id, &invoice.content().id, today).await;
            assert_eq!(total, eur(4294), "the aging shows the same remainder");
            assert_eq!(
                (journal.costs, journal.interest, journal.principal),
                (eur(0), eur(0), eur(4294)),
                "the journal shows it as principal"
            );
        }
        for letter in report.letters {
            assert_eq!(letter.account_id, account.id);
            // The stream pipe's part: render, archive and e-mail it.
            let delivered = deliver_dunning_letter(&aws, &store, &letter.letter_id).await;
            letters.push((letter, delivered));
        }
    }
    let (letters, delivered): (Vec<_>, Vec<_>) = letters.into_iter().unzip();
    let days: Vec<NaiveDate> = letters.iter().map(|l| l.date).collect();
    assert_eq!(
        days,
        [date(2025, 12, 22), date(2026, 1, 5), date(2026, 1, 19)],
        "reminder, first notice, second notice; nothing after the rest was paid"
    );
    let line = |i: usize| &letters[i].lines[0];

    // Reminder on 22 December (due + 7): the due date was only printed on
    // the invoice, so there is no default yet (§286(2) no. 1 BGB needs an
    // agreed date): no fee, no interest. (The old rule claimed 2.34.)
    let reminder = line(0);
    assert_eq!(reminder.stage, DunningStage::PaymentReminder);
    assert_eq!((reminder.fee, reminder.flat_fee), (eur(0), eur(0)));
    assert!(reminder.interest.periods.is_empty());
    assert_eq!(reminder.total, eur(119_000));
    assert_eq!(letters[0].payment_deadline, date(2026, 1, 1));

    // First notice on 5 January (due + 21, after the reminder's deadline):
    // it creates the default, so it claims neither interest nor the flat
    // fee (the old rule claimed 40.00 + 7.03). §286(3) BGB would put the
    // business in default 30 days after due date and receipt, but receipt
    // of this invoice is not recorded, so only the notice counts.
    let first = line(1);
    assert_eq!(first.stage, DunningStage::FirstNotice);
    assert_eq!((first.fee, first.flat_fee), (eur(0), eur(0)));
    assert!(first.interest.periods.is_empty());
    assert_eq!(first.total, eur(119_000));
    assert_eq!(letters[1].total_due, eur(119_000));

    // The first notice is received the day after sending (6 January), so
    // default and interest run from 7 January. 500.00 arrive on 10 January:
    // 690.00 open. Second notice on 19 January (due + 35): interest on what
    // was open each day, at 1.27 + 9 = 10.27 %, and the EUR 40 flat fee
    // (the first letter sent in default; it replaces the level fee):
    //   7–9 Jan:   3 days on 1,190.00: 1,190.00 × 10.27 % ×  3 / 365 = 1.0044… → 1.00
    //   10–19 Jan: 10 days on  690.00:   690.00 × 10.27 % × 10 / 365 = 1.9414… → 1.94
    //   interest 2.94; total 690.00 + 40.00 + 2.94 = 732.94
    let second = line(2);
    assert_eq!(second.stage, DunningStage::SecondNotice);
    assert_eq!(second.open_amount, eur(69_000));
    assert_eq!(second.interest.principal, eur(69_000));
    let periods: Vec<(NaiveDate, NaiveDate, i64, Decimal, Money, Money)> = second
        .interest
        .periods
        .iter()
        .map(|p| {
            (
                p.period.start,
                p.period.end,
                p.days,
                p.rate_percent,
                p.principal,
                p.amount,
            )
        })
        .collect();
    assert_eq!(
        periods,
        [
            (
                date(2026, 1, 7),
                date(2026, 1, 9),
                3,
                Decimal::new(1027, 2),
                eur(119_000),
                eur(100)
            ),
            (
                date(2026, 1, 10),
                date(2026, 1, 19),
                10,
                Decimal::new(1027, 2),
                eur(69_000),
                eur(194)
            ),
        ]
    );
    assert_eq!(second.interest.total, eur(294));
    assert_eq!((second.fee, second.flat_fee), (eur(0), eur(4000)));
    assert_eq!(second.earlier_fees, eur(0));
    assert_eq!(second.total, eur(73_294));

    // Every letter is archived as a PDF in the documents bucket and was
    // e-mailed to the invoice address, with the PDF attached and the
    // figures of the recorded letter in the text.
    let subjects = ["Zahlungserinnerung", "1. Mahnung", "2. Mahnung"];
    for ((letter, (stored, mail)), subject) in letters.iter().zip(&delivered).zip(subjects) {
        let document = stored.document.as_ref().expect("the PDF is recorded");
        let object = aws
            .s3
            .get_object()
            .bucket(&bucket)
            .key(&document.key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("letter {} is not archived: {e}", letter.letter_id));
        assert_eq!(object.content_type(), Some("application/pdf"));
        let bytes = object.body.collect().await.unwrap().into_bytes();
        assert!(bytes.starts_with(b"%PDF-"));
        assert_eq!(
            stored.letter, *letter,
            "the stored letter is the one recorded"
        );
        assert_eq!(
            stored.delivery.as_ref().map(|d| d.status),
            Some(DeliveryStatus::Sent)
        );
        assert_eq!(mail.destinations.len(), account.invoice_emails.len());
        for (destination, address) in mail.destinations.iter().zip(&account.invoice_emails) {
            assert!(destination.contains(address.as_str()), "{destination}");
        }
        let message = mail_parser::MessageParser::default()
            .parse(mail.raw_data.as_bytes())
            .expect("the recorded e-mail parses");
        let title = message.subject().unwrap_or_default();
        assert!(title.starts_with(subject), "{title}");
        let text = message.body_text(0).unwrap_or_default().into_owned();
        let total = billing_documents::text::money(
            billing_documents::text::labels(letter.language),
            letter.total_due,
        );
        assert!(text.contains(&total), "the mail names {total}: {text}");
        assert!(
            text.contains(&reference),
            "the mail names the RF reference: {text}"
        );
        let attachment = message.attachment(0).expect("the PDF is attached");
        assert_eq!(
            attachment.contents(),
            &bytes[..],
            "the archived PDF is attached"
        );
    }

    // The 42.94 on 28 January: paid, out of the index, the day recorded;
    // nothing open in the aging or the journal.
    let state = store
        .dunning_state(&invoice.content().id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.payments.summary.status, PaymentStatus::Paid);
    assert_eq!(state.payments.paid_in_full_on, Some(date(2026, 1, 28)));
    assert!(!state.indexed);
    let (total, journal) =
        aging_and_journal(&store, &entity.id, &invoice.content().id, date(2026, 1, 28)).await;
    assert_eq!(total, eur(0));
    assert_eq!(journal, Claims::zero(Currency::EUR));
    assert_eq!(state.level, 3);
    // What the letters claimed, dated, as the sweep's facts see it: a
    // payment settles these before the principal (§367 BGB), the same
    // charges the aging and the journal allocate against.
    let claimed: Vec<(NaiveDate, ClaimHead, Money)> = state
        .charges
        .iter()
        .map(|c| (c.claimed_on, c.head, c.amount))
        .collect();
    assert_eq!(
        claimed,
        [
            (date(2026, 1, 19), ClaimHead::Costs, eur(4000)),
            (date(2026, 1, 19), ClaimHead::Interest, eur(294)),
        ]
    );
    assert_eq!(
        state.facts(&chrono_tz::Europe::Berlin).charges.len(),
        2,
        "the dunning policy decides with them"
    );

    // SES reports the last letter's e-mail bounced: recorded on the letter,
    // and the letter is on the needs-attention list beside its invoice.
    let (last, _) = &delivered[2];
    let message_id = last.delivery.as_ref().unwrap().message_id.clone().unwrap();
    let path = repo_path("tests/fixtures/ses-events/bounce-permanent.json");
    let mut envelope: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut event: serde_json::Value =
        serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    event["mail"]["tags"] = serde_json::json!({ "letter_id": [last.letter.letter_id] });
    event["mail"]["messageId"] = message_id.clone().into();
    envelope["Message"] = event.to_string().into();
    let event = delivery_events::event::parse_notification(Some(&envelope.to_string())).unwrap();
    delivery_events::service::DeliveryEventService::new(store.clone())
        .apply(&event)
        .await
        .unwrap();
    let bounced = store
        .dunning_letter(&last.letter.letter_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        bounced.delivery.map(|d| d.status),
        Some(DeliveryStatus::Bounced)
    );
    let entry = store
        .needs_attention(&entity.id)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.letter_id.as_deref() == Some(last.letter.letter_id.as_str()))
        .expect("the bounced letter needs attention");
    assert_eq!(entry.invoice_id, invoice.content().id.as_str());
    assert_eq!(entry.invoice_number, invoice.number().as_str());
    assert_eq!(entry.status, DeliveryStatus::Bounced);
}
