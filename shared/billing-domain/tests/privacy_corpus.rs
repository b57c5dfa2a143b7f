//! The masking corpus (issue #25): IBANs of every SEPA country in print,
//! electronic and hyphenated form, with and without the word `IBAN`, glued
//! to or followed by other words, several per text, broken across lines;
//! BICs, account holders and e-mail addresses in text; and texts that must
//! stay exactly as they are.

use billing_domain::privacy::{mask_personal_data, masked_account};

/// Every SEPA country (EPC scheme list) with its IBAN length.
const SEPA: &[(&str, usize)] = &[
    ("AD", 24),
    ("AL", 28),
    ("AT", 20),
    ("BE", 16),
    ("BG", 22),
    ("CH", 21),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("EE", 20),
    ("ES", 24),
    ("FI", 18),
    ("FR", 27),
    ("GB", 22),
    ("GI", 23),
    ("GR", 27),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IS", 26),
    ("IT", 27),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MT", 31),
    ("NL", 18),
    ("NO", 15),
    ("PL", 28),
    ("PT", 25),
    ("RO", 24),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("VA", 22),
];

/// Published example IBANs, letters in the BBAN included.
const REAL: &[&str] = &[
    "DE89370400440532013000",
    "DE02120300000000202051",
    "GB29NWBK60161331926819",
    "NL91ABNA0417164300",
    "MT84MALT011000012345MTLCAST001S",
    "FR1420041010050500013M02606",
    "IT60X0542811101000000123456",
    "CH9300762011623852957",
    "BE68539007547034",
    "AT611904300234573201",
    "ES9121000418450200051332",
    "PL61109010140000071219812874",
    "SE4550000000058398257466",
    "HU42117730161111101800000000",
    "NO9386011117947",
    "LU280019400644750000",
];

fn mod97(text: &str) -> u32 {
    text.chars().fold(0, |r, c| {
        let v = c.to_digit(36).expect("alphanumeric");
        if v < 10 {
            (r * 10 + v) % 97
        } else {
            (r * 100 + v) % 97
        }
    })
}

/// A valid IBAN of `country` and `length`, its BBAN drawn from `seed`.
fn iban(country: &str, length: usize, seed: u64) -> String {
    let mut digits = String::new();
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    while digits.len() < length - 4 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        digits.push(char::from(b'0' + ((x >> 33) % 10) as u8));
    }
    let check = 98 - mod97(&format!("{digits}{country}00"));
    format!("{country}{check:02}{digits}")
}

fn grouped(iban: &str, separator: &str) -> String {
    iban.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect::<Vec<_>>()
        .join(separator)
}

fn last4(iban: &str) -> &str {
    &iban[iban.len() - 4..]
}

fn every_iban() -> Vec<String> {
    let mut all: Vec<String> = REAL.iter().map(|s| (*s).to_owned()).collect();
    for (seed, (country, length)) in SEPA.iter().enumerate() {
        all.push(iban(country, *length, seed as u64));
    }
    all
}

#[test]
fn generated_ibans_are_valid() {
    for iban in every_iban() {
        let (head, tail) = iban.split_at(4);
        assert_eq!(mod97(&format!("{tail}{head}")), 1, "{iban}");
    }
}

#[test]
fn every_sepa_iban_in_every_form_keeps_only_its_last_four() {
    for iban in every_iban() {
        let mask = format!("****{}", last4(&iban));
        let print = grouped(&iban, " ");
        let hyphens = grouped(&iban, "-");
        let broken = {
            let groups: Vec<&str> = print.split(' ').collect();
            format!("{}\n{}", groups[..2].join(" "), groups[2..].join(" "))
        };
        let cases = [
            (iban.clone(), mask.clone()),
            (print.clone(), mask.clone()),
            (hyphens.clone(), mask.clone()),
            (iban.to_lowercase(), mask.clone()),
            (
                format!("IBAN {print} Miete Mai"),
                format!("IBAN {mask} Miete Mai"),
            ),
            (
                format!("IBAN: {iban}, danke"),
                format!("IBAN: {mask}, danke"),
            ),
            (
                format!("IBAN{iban} Rechnung"),
                format!("IBAN{mask} Rechnung"),
            ),
            (
                format!("Konto {hyphens} Rechnung Mai"),
                format!("Konto {mask} Rechnung Mai"),
            ),
            (format!("{iban}Rechnung"), format!("{mask}Rechnung")),
            (
                format!("von\n{broken}\nfür Juni"),
                format!("von\n{mask}\nfür Juni"),
            ),
            (format!("({print})."), format!("({mask}).")),
        ];
        for (text, want) in cases {
            let masked = mask_personal_data(&text);
            assert_eq!(masked, want, "{text:?}");
            // Masking a masked text changes nothing.
            assert_eq!(mask_personal_data(&masked), masked, "{text:?}");
        }
    }
}

#[test]
fn lengths_that_are_a_multiple_of_four_do_not_swallow_the_next_word() {
    for iban in [
        "AT611904300234573201",
        "ES9121000418450200051332",
        "PL61109010140000071219812874",
        "BE68539007547034",
        "SE4550000000058398257466",
        "HU42117730161111101800000000",
    ] {
        let text = format!("Zahlung von {} Miete Juni 2026", grouped(iban, " "));
        assert_eq!(
            mask_personal_data(&text),
            format!("Zahlung von ****{} Miete Juni 2026", last4(iban))
        );
    }
}

#[test]
fn several_ibans_in_one_text_are_each_masked() {
    let all = every_iban();
    let text = all
        .iter()
        .enumerate()
        .map(|(i, iban)| match i % 3 {
            0 => format!("IBAN {iban}"),
            1 => grouped(iban, " "),
            _ => grouped(iban, "-"),
        })
        .collect::<Vec<_>>()
        .join(" / ");
    let want = all
        .iter()
        .enumerate()
        .map(|(i, iban)| {
            let mask = format!("****{}", last4(iban));
            if i % 3 == 0 {
                format!("IBAN {mask}")
            } else {
                mask
            }
        })
        .collect::<Vec<_>>()
        .join(" / ");
    assert_eq!(mask_personal_data(&text), want);
}

#[test]
fn bics_in_text_are_masked() {
    for (text, want) in [
        ("BIC: COBADEFFXXX", "BIC: ****"),
        ("BIC DEUTDEFF", "BIC ****"),
        ("SWIFT-BIC: BYLADEM1001", "SWIFT-BIC: ****"),
        ("swift: ingddeff", "swift: ****"),
        ("BICGENODEF1S04 Rechnung", "BIC**** Rechnung"),
        ("von GENODEF1S04 erhalten", "von **** erhalten"),
        ("Bank MARKDEF1100", "Bank ****"),
        (
            "IBAN DE89 3704 0044 0532 0130 00 DEUTDEFF",
            "IBAN ****3000 ****",
        ),
        (
            "DE89370400440532013000 COBADEFFXXX RE-2026-000017",
            "****3000 **** RE-2026-000017",
        ),
    ] {
        assert_eq!(mask_personal_data(text), want, "{text:?}");
    }
}

#[test]
fn account_holders_after_a_label_are_masked() {
    for (text, want) in [
        (
            "Kontoinhaber: Erika Mustermann, Rechnung RE-2026-000017",
            "Kontoinhaber: ****, Rechnung RE-2026-000017",
        ),
        (
            "Account holder: John Smith IBAN GB29 NWBK 6016 1331 9268 19",
            "Account holder: **** IBAN ****6819",
        ),
        (
            "Kontoinhaberin Jana Nováková\nMiete",
            "Kontoinhaberin ****\nMiete",
        ),
        (
            "Auftraggeber: Müller & Söhne OHG; RE-2026-000017",
            "Auftraggeber: ****; RE-2026-000017",
        ),
        (
            "Name: Max Muster RE-2026-000003",
            "Name: **** RE-2026-000003",
        ),
    ] {
        assert_eq!(mask_personal_data(text), want, "{text:?}");
        assert_eq!(mask_personal_data(want), want, "masking twice: {want:?}");
    }
}

#[test]
fn e_mail_addresses_in_text_are_masked() {
    assert_eq!(
        mask_personal_data("Rückfragen an erika.muster@kunde-gmbh.de bitte"),
        "Rückfragen an <e-mail address> bitte"
    );
    assert_eq!(
        mask_personal_data("payer jo@example.org, IBAN BE68539007547034"),
        "payer jo@example.org, IBAN ****7034".replace("jo@example.org", "<e-mail address>")
    );
}

#[test]
fn texts_without_personal_data_stay_unchanged() {
    for text in [
        "",
        "Rechnung Mai",
        "RE-2026-000017",
        "RE-2026-000017 und RE-2026-000018, danke",
        "RF18 5390 0754 7034",
        "RF18539007547034",
        "Betrag 1.234,56 EUR vom 2026-05-04",
        "EUR 79228162514264337593543950335",
        "USt-IdNr. DE123456789",
        "Steuernummer 123/456/78901",
        "RECHNUNG NR 2026 0042 FEBRUARY",
        "Kundennummer 10023, Vertrag 2026-0007",
        "Leitweg-ID 04011000-1234512345-06",
        "EREF+RE-2026-000017 SVWZ+Rechnung Mai",
        "Name der Rechnung unbekannt",
        "one hour billed twice",
        "account.vat_id: reverse charge needs the customer's VAT ID",
        "permanent bounce (General): smtp; 550 5.1.1 user unknown",
        "DE89 3704 0044 0532 0130 01 (check digits wrong)",
    ] {
        assert_eq!(mask_personal_data(text), text, "{text:?}");
    }
}

#[test]
fn masked_accounts_keep_the_last_four_of_the_iban_itself() {
    assert_eq!(masked_account("AT61 1904 3002 3457 3201"), "****3201");
    assert_eq!(
        mask_personal_data("AT61 1904 3002 3457 3201 Miete"),
        "****3201 Miete"
    );
}
