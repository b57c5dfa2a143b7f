//! Keeping personal data out of logs when the text is not ours.
//!
//! Our own log lines name invoices, accounts and counts, never people. But
//! the text of an error from another service (SES quoting the sender, a
//! mail server's bounce diagnostic) may contain an e-mail address; such
//! text passes through [`redact_email_addresses`] before it is logged or
//! stored as a reason.

/// `text` with every e-mail address replaced by `<e-mail address>`.
pub fn redact_email_addresses(text: &str) -> String {
    let is_local = |c: char| c.is_alphanumeric() || "._%+-!#$&'*/=?^`{|}~".contains(c);
    let is_domain = |c: char| c.is_alphanumeric() || c == '-' || c == '.';
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, &c) in chars.iter().enumerate() {
        if c != '@' || at < copied {
            continue;
        }
        let mut start = at;
        while start > copied && is_local(chars[start - 1]) {
            start -= 1;
        }
        let mut end = at + 1;
        while end < chars.len() && is_domain(chars[end]) {
            end += 1;
        }
        // Trailing dots end the sentence, not the domain.
        while end > at + 1 && chars[end - 1] == '.' {
            end -= 1;
        }
        let domain: String = chars[at + 1..end].iter().collect();
        let looks_like_domain = domain.contains('.') && !domain.starts_with('.');
        if start == at || !looks_like_domain {
            continue;
        }
        out.extend(&chars[copied..start]);
        out.push_str("<e-mail address>");
        copied = end;
    }
    out.extend(&chars[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_replaced_and_the_rest_kept() {
        assert_eq!(
            redact_email_addresses(
                "Did not have authority to send from email invoices@example.com."
            ),
            "Did not have authority to send from email <e-mail address>."
        );
        assert_eq!(
            redact_email_addresses("smtp; 550 5.1.1 <a.b+c@mx.kunde.de>: unknown, also x@y.org"),
            "smtp; 550 5.1.1 <<e-mail address>>: unknown, also <e-mail address>"
        );
    }

    #[test]
    fn text_without_addresses_is_unchanged() {
        for text in [
            "",
            "user unknown",
            "a @ b",
            "ratio 3@4",
            "@example.com",
            "name@",
        ] {
            assert_eq!(redact_email_addresses(text), text);
        }
    }
}
