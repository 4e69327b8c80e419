//! Input rules for accounts: email addresses, the password policy, names and comments.

use super::AccountError;

pub const PASSWORD_MIN: usize = 12;
pub const PASSWORD_MAX: usize = 128;

/// A syntactically valid email address (lettre's parser), trimmed and lower-cased.
pub fn email(field: &'static str, input: &str) -> Result<String, AccountError> {
    let trimmed = input.trim().to_lowercase();
    if trimmed.is_empty() || trimmed.len() > 254 || trimmed.parse::<lettre::Address>().is_err() {
        return Err(AccountError::field(
            "invalid_email",
            format!("{field}: メールアドレスの形式が正しくありません / Not a valid email address."),
        ));
    }
    Ok(trimmed)
}

/// At least 12 characters, at most 128, from at least two of lower case, upper case, digits and
/// other characters, and not the account's own email address (or its local part).
pub fn password(input: &str, email: &str) -> Result<(), AccountError> {
    let weak = |why: &str| {
        Err(AccountError::field(
            "weak_password",
            format!("password: {why}"),
        ))
    };
    let count = input.chars().count();
    if count < PASSWORD_MIN {
        return weak(&format!(
            "{PASSWORD_MIN} 文字以上にしてください / Use at least {PASSWORD_MIN} characters."
        ));
    }
    if count > PASSWORD_MAX {
        return weak(&format!(
            "{PASSWORD_MAX} 文字以下にしてください / Use at most {PASSWORD_MAX} characters."
        ));
    }
    let classes = [
        input.chars().any(|c| c.is_lowercase()),
        input.chars().any(|c| c.is_uppercase()),
        input.chars().any(|c| c.is_ascii_digit()),
        input
            .chars()
            .any(|c| !c.is_lowercase() && !c.is_uppercase() && !c.is_ascii_digit()),
    ];
    if classes.iter().filter(|present| **present).count() < 2 {
        return weak(
            "英小文字・英大文字・数字・記号のうち 2 種類以上を使ってください / Mix at least two of lower case, upper case, digits and symbols.",
        );
    }
    let lowered = input.to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if lowered.contains(email) || (local.len() >= 4 && lowered == local) {
        return weak(
            "メールアドレスをパスワードにしないでください / Do not use your email address as the password.",
        );
    }
    Ok(())
}

/// A required single-line text field of at most `max` characters, trimmed.
pub fn text(field: &'static str, input: &str, max: usize) -> Result<String, AccountError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(AccountError::field(
            "missing_field",
            format!("{field}: 入力してください / Required."),
        ));
    }
    if trimmed.chars().count() > max || trimmed.chars().any(char::is_control) {
        return Err(AccountError::field(
            "invalid_field",
            format!(
                "{field}: {max} 文字以内の 1 行で入力してください / At most {max} characters on one line."
            ),
        ));
    }
    Ok(trimmed.to_owned())
}

/// An optional multi-line comment of at most `max` characters.
pub fn comment(
    field: &'static str,
    input: Option<&str>,
    max: usize,
) -> Result<String, AccountError> {
    let trimmed = input.unwrap_or_default().trim();
    if trimmed.chars().count() > max {
        return Err(AccountError::field(
            "invalid_field",
            format!("{field}: {max} 文字以内にしてください / At most {max} characters."),
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<(), AccountError>) -> &'static str {
        match r {
            Ok(()) => "ok",
            Err(AccountError::Field { code, .. }) => code,
            Err(_) => "other",
        }
    }

    #[test]
    fn password_policy() {
        let email = "hanako@example.jp";
        assert_eq!(code(password("Short1", email)), "weak_password");
        assert_eq!(
            code(password("alllowercaseletters", email)),
            "weak_password"
        );
        assert_eq!(code(password("123456789012", email)), "weak_password");
        assert_eq!(code(password("Hanako@Example.jp", email)), "weak_password");
        assert_eq!(code(password("correct horse battery", email)), "ok");
        assert_eq!(code(password("Tr0ub4dor&3x", email)), "ok");
        assert_eq!(code(password(&"aA".repeat(70), email)), "weak_password");
    }

    #[test]
    fn emails_are_normalised_or_refused() {
        assert_eq!(
            email("email", " Hanako@Example.JP ").unwrap(),
            "hanako@example.jp"
        );
        for bad in ["", "hanako", "hanako@", "@example.jp", "a b@example.jp"] {
            assert!(email("email", bad).is_err(), "{bad:?} accepted");
        }
    }
}
