//! Windows-1252, the character set DATEV reads (research note §4).
//!
//! Text is made representable first ([`representable`]) and encoded after
//! ([`encode`]), so encoding itself never has to replace anything. The
//! replacement rule, documented once here:
//! - control characters (CR, LF, TAB and the C0/C1 controls) become a space,
//!   since DATEV allows none inside a text field;
//! - Unicode spaces become a space, zero-width characters are left out,
//!   Unicode hyphens and the minus sign become `-`;
//! - Latin letters with diacritics that Windows-1252 lacks (Polish,
//!   Czech, Hungarian, Romanian, Baltic: Latin Extended-A and `Ș ș Ț ț`)
//!   become their base letter (`Łódź` becomes `Lódz`), so names stay
//!   readable and searchable in DATEV;
//! - everything else becomes `?`.
//!
//! Identifiers (document numbers, accounts, VAT IDs) never go through this
//! replacement: their fields allow ASCII only, and a value outside that is
//! an error naming the field, never a silently changed number.

use encoding_rs::WINDOWS_1252;

/// Base letters of Latin Extended-A (U+0100..=U+017F), one entry per code
/// point; `Ĳ ĳ` become two letters. Entries whose character Windows-1252
/// has (`Œ œ Š š Ÿ Ž ž`) are never looked up.
const LATIN_EXTENDED_A: [&str; 128] = [
    "A", "a", "A", "a", "A", "a", "C", "c", "C", "c", "C", "c", "C", "c", "D", "d", // 0100
    "D", "d", "E", "e", "E", "e", "E", "e", "E", "e", "E", "e", "G", "g", "G", "g", // 0110
    "G", "g", "G", "g", "H", "h", "H", "h", "I", "i", "I", "i", "I", "i", "I", "i", // 0120
    "I", "i", "IJ", "ij", "J", "j", "K", "k", "k", "L", "l", "L", "l", "L", "l", "L", // 0130
    "l", "L", "l", "N", "n", "N", "n", "N", "n", "n", "N", "n", "O", "o", "O", "o", // 0140
    "O", "o", "OE", "oe", "R", "r", "R", "r", "R", "r", "S", "s", "S", "s", "S", "s", // 0150
    "S", "s", "T", "t", "T", "t", "T", "t", "U", "u", "U", "u", "U", "u", "U", "u", // 0160
    "U", "u", "U", "u", "W", "w", "Y", "y", "Y", "Z", "z", "Z", "z", "Z", "z", "s", // 0170
];

/// Whether Windows-1252 has `c` as a printable character.
pub(crate) fn has(c: char) -> bool {
    let code = u32::from(c);
    match code {
        0x20..=0x7E | 0xA0..=0xFF => true,
        // C0/C1 controls and DEL: the WHATWG mapping would pass the C1
        // ones through as the bytes 0x80..0x9F Windows-1252 leaves undefined.
        0..=0x1F | 0x7F..=0x9F => false,
        _ => {
            let mut buffer = [0u8; 4];
            let (bytes, _, unmappable) = WINDOWS_1252.encode(c.encode_utf8(&mut buffer));
            !unmappable && bytes.len() == 1
        }
    }
}

/// `text` with every character Windows-1252 lacks replaced as the module
/// documentation says; characters it has are kept as they are.
pub(crate) fn representable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if has(c) {
            out.push(c);
            continue;
        }
        match u32::from(c) {
            0..=0x1F | 0x7F..=0x9F => out.push(' '),
            0x2000..=0x200A | 0x202F | 0x205F | 0x3000 => out.push(' '),
            0x200B..=0x200D | 0x2060 | 0xFEFF => {}
            0x2010..=0x2012 | 0x2212 => out.push('-'),
            code @ 0x100..=0x17F => out.push_str(LATIN_EXTENDED_A[(code - 0x100) as usize]),
            0x218 => out.push('S'),
            0x219 => out.push('s'),
            0x21A => out.push('T'),
            0x21B => out.push('t'),
            _ => out.push('?'),
        }
    }
    out
}

/// The Windows-1252 bytes of `text`, which must already be
/// [`representable`]; no byte-order mark (DATEV reads none).
pub(crate) fn encode(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = WINDOWS_1252.encode(text);
    debug_assert!(!unmappable, "text was not made representable first");
    bytes.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_letters_and_the_euro_sign_are_single_bytes() {
        assert_eq!(
            encode("äöüßÄÖÜ€–„“"),
            b"\xe4\xf6\xfc\xdf\xc4\xd6\xdc\x80\x96\x84\x93"
        );
    }

    #[test]
    fn letters_windows_1252_lacks_become_their_base_letter() {
        assert_eq!(
            representable("Łódź Kraków, Dvořák, Ștefan, Őrs"),
            "Lódz Kraków, Dvorák, Stefan, Ors"
        );
        assert_eq!(representable("Ĳssel"), "IJssel");
    }

    #[test]
    fn controls_become_spaces_and_other_scripts_question_marks() {
        assert_eq!(representable("a\tb\r\nc\u{85}d"), "a b  c d");
        assert_eq!(representable("Ωmega 北京"), "?mega ??");
        assert_eq!(representable("a\u{200b}b\u{2011}c\u{202f}d"), "ab-c d");
    }

    #[test]
    fn every_replacement_is_representable() {
        for code in 0..=0x3000u32 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let replaced = representable(&c.to_string());
            assert!(
                replaced.chars().all(has),
                "U+{code:04X} became {replaced:?}"
            );
        }
    }
}
