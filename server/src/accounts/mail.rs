//! Mail: what the portal says (Japanese first, English below) and how it leaves — the outbox table, or SMTP through lettre.

use crate::storage::entity::mail_outbox;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection};

/// User-supplied text (a reviewer's comment) is cut to this many characters in a mail.
pub const COMMENT_MAX_IN_MAIL: usize = 200;

/// One mail ready to go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// A message before it is addressed: both languages of subject and body.
#[derive(Clone, Debug)]
pub struct Letter {
    pub subject_ja: String,
    pub subject_en: String,
    pub body_ja: String,
    pub body_en: String,
}

impl Letter {
    /// `[ENV] 件名 / Subject`, and the Japanese body with the English part under a rule.
    pub fn into_mail(self, to: &str, environment: Option<&str>) -> Mail {
        let prefix = environment.map(|e| format!("[{e}] ")).unwrap_or_default();
        Mail {
            to: to.to_owned(),
            subject: format!("{prefix}{} / {}", self.subject_ja, self.subject_en),
            body: format!(
                "{}\n\n―――――――― English ――――――――\n\n{}\n\n-- \nrenkei 法人データ連携ポータル / renkei corporate data exchange portal\n",
                self.body_ja.trim_end(),
                self.body_en.trim_end()
            ),
        }
    }
}

/// Cuts user text to [`COMMENT_MAX_IN_MAIL`] characters, ending a cut text with `…`.
pub fn clip_comment(text: &str) -> String {
    if text.chars().count() <= COMMENT_MAX_IN_MAIL {
        return text.to_owned();
    }
    let kept: String = text.chars().take(COMMENT_MAX_IN_MAIL).collect();
    format!("{kept}…")
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SMTP configuration: {0}")]
    Config(String),
    #[error("address {0:?}: {1}")]
    Address(String, String),
    #[error("building the message: {0}")]
    Build(String),
    #[error("SMTP: {0}")]
    Smtp(String),
    #[error("outbox: {0}")]
    Outbox(#[from] sea_orm::DbErr),
}

/// Where mails go. The embedded default keeps them in the outbox table.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}

/// Stores every mail in `mail_outbox`; operators read it at the outbox page.
pub struct OutboxMailer {
    pub db: DatabaseConnection,
}

async fn store(db: &DatabaseConnection, mail: &Mail) -> Result<(), MailError> {
    mail_outbox::ActiveModel {
        id: Default::default(),
        created_at: Set(crate::jst::now_rfc3339()),
        to_addr: Set(mail.to.clone()),
        subject: Set(mail.subject.clone()),
        body: Set(mail.body.clone()),
    }
    .insert(db)
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        store(&self.db, mail).await
    }
}

/// SMTP settings: `url` in lettre's form, e.g. `smtps://user:pass@smtp.example.jp:465` or
/// `smtp://relay.internal:25?tls=required`; `from` the sender address.
#[derive(Clone)]
pub struct SmtpConfig {
    pub url: String,
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry the SMTP password.
        f.debug_struct("SmtpConfig")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// Sends through an SMTP relay and keeps a copy in the outbox (operators still see what left).
pub struct SmtpMailer {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    from: lettre::message::Mailbox,
    db: DatabaseConnection,
}

impl SmtpMailer {
    /// Builds the transport without connecting (it connects per send).
    pub fn new(config: &SmtpConfig, db: DatabaseConnection) -> Result<SmtpMailer, MailError> {
        let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&config.url)
            .map_err(|e| MailError::Config(e.to_string()))?
            .build();
        let from = config
            .from
            .parse()
            .map_err(|e: lettre::address::AddressError| {
                MailError::Address(config.from.clone(), e.to_string())
            })?;
        Ok(SmtpMailer {
            transport,
            from,
            db,
        })
    }
}

/// The MIME message for a mail: UTF-8 plain text, subject encoded as RFC 2047 by lettre.
pub fn message(from: &lettre::message::Mailbox, mail: &Mail) -> Result<lettre::Message, MailError> {
    let to: lettre::message::Mailbox =
        mail.to
            .parse()
            .map_err(|e: lettre::address::AddressError| {
                MailError::Address(mail.to.clone(), e.to_string())
            })?;
    lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(mail.body.clone())
        .map_err(|e| MailError::Build(e.to_string()))
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        use lettre::AsyncTransport;
        let message = message(&self.from, mail)?;
        self.transport
            .send(message)
            .await
            .map_err(|e| MailError::Smtp(e.to_string()))?;
        store(&self.db, mail).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter() -> Letter {
        Letter {
            subject_ja: "利用申請が承認されました".into(),
            subject_en: "Your application was approved".into(),
            body_ja: "承認しました。".into(),
            body_en: "Approved.".into(),
        }
    }

    #[test]
    fn subject_carries_the_environment_and_body_both_languages() {
        let mail = letter().into_mail("a@example.jp", Some("外部接続環境"));
        assert_eq!(
            mail.subject,
            "[外部接続環境] 利用申請が承認されました / Your application was approved"
        );
        let ja = mail.body.find("承認しました。").unwrap();
        let en = mail.body.find("Approved.").unwrap();
        assert!(ja < en, "Japanese first: {}", mail.body);
        let production = letter().into_mail("a@example.jp", None);
        assert_eq!(
            production.subject,
            "利用申請が承認されました / Your application was approved"
        );
    }

    #[test]
    fn comments_are_cut_at_200_characters() {
        let short = "あ".repeat(200);
        assert_eq!(clip_comment(&short), short);
        let long = format!("{}い", "あ".repeat(200));
        assert_eq!(clip_comment(&long), format!("{}…", "あ".repeat(200)));
    }

    #[test]
    fn smtp_message_is_built_without_a_network() {
        let db = DatabaseConnection::default();
        let mailer = SmtpMailer::new(
            &SmtpConfig {
                url: "smtps://user:secret@smtp.example.jp:465".into(),
                from: "renkei <noreply@example.jp>".into(),
            },
            db,
        )
        .expect("transport builds without connecting");
        let mail = letter().into_mail("hanako@example.jp", Some("staging"));
        let formatted =
            String::from_utf8(message(&mailer.from, &mail).unwrap().formatted()).unwrap();
        assert!(formatted.contains("To: hanako@example.jp"), "{formatted}");
        assert!(
            formatted.contains("Subject: [staging] =?utf-8?b?"),
            "the Japanese subject is RFC 2047 encoded: {formatted}"
        );
        assert!(
            formatted.contains("Content-Type: text/plain; charset=utf-8"),
            "{formatted}"
        );
        assert!(
            SmtpMailer::new(
                &SmtpConfig {
                    url: "smtps://h".into(),
                    from: "not an address".into()
                },
                DatabaseConnection::default()
            )
            .is_err()
        );
    }
}
