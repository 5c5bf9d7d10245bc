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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_keep_only_the_first_letter_and_domain() {
        assert_eq!(mask_email("ada@example.org"), "a***@example.org");
        assert_eq!(mask_email("not-an-email"), "***");
    }

    #[test]
    fn phones_keep_only_two_digits() {
        assert_eq!(mask_phone("8563057016"), "********16");
        assert!(!mask_phone("+1 856 305 7016").contains("305"));
    }
}
