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
/// (a run of 6 or more digits, spaces and dashes allowed). For messages that quote
/// what we sent, such as Twenty's validation errors, before they reach a log line.
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let digits = word.chars().filter(char::is_ascii_digit).count();
        if word.contains('@') && word.contains('.') {
            let trimmed = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '@' && c != '.');
            out.push_str(&word.replace(trimmed, &mask_email(trimmed)));
        } else if digits >= 6
            && word
                .chars()
                .all(|c| c.is_ascii_digit() || "+-().\"',".contains(c))
        {
            out.push_str(&mask_phone(word));
        } else {
            out.push_str(word);
        }
    }
    out
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
    }

    #[test]
    fn phones_keep_only_two_digits() {
        assert_eq!(mask_phone("8563057016"), "********16");
        assert!(!mask_phone("+1 856 305 7016").contains("305"));
    }
}
