//! Masking of personal data before it reaches a log line.

/// `ada@example.org` → `a***@example.org`; anything without an `@` is masked whole.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        _ => "***".to_string(),
    }
}

/// Keeps the last two digits only: `8563057016` → `********16`.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() <= 2 {
        return "*".repeat(digits.len());
    }
    let tail: String = digits[digits.len() - 2..].iter().collect();
    format!("{}{tail}", "*".repeat(digits.len() - 2))
}

/// Masks anything in free text that looks like an e-mail address or a phone number
/// (7 or more digits, possibly spread over groups joined by spaces, dashes, dots or
/// brackets). For messages that quote what we sent, such as Twenty's validation
/// errors, before they reach a log line or the table.
pub fn scrub(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let is_number_part = |w: &str| {
        w.chars().any(|c| c.is_ascii_digit())
            && w.chars()
                .all(|c| c.is_ascii_digit() || "+-().\"',;".contains(c))
    };
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        if word.contains('@') && word.contains('.') {
            let trimmed = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '@' && c != '.');
            out.push(word.replace(trimmed, &mask_email(trimmed)));
            i += 1;
            continue;
        }
        // A run of number-like words: "+1 856 305 7016" is one phone number.
        let mut j = i;
        while j < words.len() && is_number_part(words[j]) {
            j += 1;
        }
        let digits: usize = words[i..j]
            .iter()
            .map(|w| w.chars().filter(char::is_ascii_digit).count())
            .sum();
        if j > i && digits >= 7 {
            out.push(mask_phone(&words[i..j].concat()));
            i = j;
        } else {
            out.push(word.to_string());
            i += 1;
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_keep_only_the_first_letter_and_domain() {
        assert_eq!(mask_email("ada@example.org"), "a***@example.org");
        assert_eq!(mask_email("not-an-email"), "***");
    }

    #[test]
    fn free_text_loses_emails_and_phone_numbers_but_keeps_the_rest() {
        let text = scrub(
            "Invalid value \"ada@example.org\" for field \"email\"; phone 8563057016 rejected (code 400)",
        );
        assert!(
            !text.contains("ada@example.org") && !text.contains("8563057016"),
            "{text}"
        );
        assert!(
            text.contains("a***@example.org") && text.contains("code 400"),
            "{text}"
        );
        let spaced = scrub("call +1 856 305 7016 today");
        assert_eq!(spaced, "call *********16 today");
    }

    #[test]
    fn phones_keep_only_two_digits() {
        assert_eq!(mask_phone("8563057016"), "********16");
        assert!(!mask_phone("+1 856 305 7016").contains("305"));
    }
}
