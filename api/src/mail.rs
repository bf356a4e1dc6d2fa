//! Outgoing email: SMTP (`smtp://host:port`, via lettre), a file outbox (`file://DIR`,
//! one `.eml` file per message), or the log (the default, for development only: the
//! message, link included, goes to the server log).
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

#[derive(Clone)]
pub enum Mailer {
    Log,
    File(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("AUTHIO_MAIL_URL must be smtp://host[:port], file://DIR or unset, got {0:?}")]
    BadUrl(String),
    #[error("the recipient address cannot be delivered to: {0}")]
    Recipient(String),
    #[error("building the message: {0}")]
    Build(String),
    #[error("sending: {0}")]
    Send(String),
}

impl Mailer {
    pub fn from_url(url: Option<&str>) -> Result<Mailer, MailError> {
        match url {
            None | Some("") | Some("log") => Ok(Mailer::Log),
            Some(u) if u.starts_with("file://") => {
                let dir = PathBuf::from(&u["file://".len()..]);
                std::fs::create_dir_all(&dir).map_err(|e| MailError::Build(e.to_string()))?;
                Ok(Mailer::File(dir))
            }
            Some(u) if u.starts_with("smtp://") => {
                let rest = &u["smtp://".len()..];
                let (host, port) = match rest.trim_end_matches('/').rsplit_once(':') {
                    Some((h, p)) => (h.to_string(), p.parse::<u16>().map_err(|_| MailError::BadUrl(u.into()))?),
                    None => (rest.trim_end_matches('/').to_string(), 25),
                };
                if host.is_empty() {
                    return Err(MailError::BadUrl(u.into()));
                }
                Ok(Mailer::Smtp(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(port).build()))
            }
            Some(u) => Err(MailError::BadUrl(u.into())),
        }
    }

    pub async fn send(&self, from: &str, to: &str, subject: &str, body: &str) -> Result<(), MailError> {
        let from: Mailbox = from.parse().map_err(|e: lettre::address::AddressError| MailError::Build(e.to_string()))?;
        let to_box: Mailbox =
            to.parse().map_err(|e: lettre::address::AddressError| MailError::Recipient(e.to_string()))?;
        let msg = Message::builder()
            .from(from)
            .to(to_box)
            .subject(subject)
            .body(body.to_string())
            .map_err(|e| MailError::Build(e.to_string()))?;
        match self {
            Mailer::Log => {
                tracing::info!(to, subject, body, "mail (log transport, development only)");
                Ok(())
            }
            Mailer::File(dir) => {
                let name = format!("{}.eml", crate::crypto::new_id("mail_"));
                let tmp = dir.join(format!(".{name}.tmp"));
                tokio::fs::write(&tmp, msg.formatted()).await.map_err(|e| MailError::Send(e.to_string()))?;
                tokio::fs::rename(&tmp, dir.join(name)).await.map_err(|e| MailError::Send(e.to_string()))?;
                Ok(())
            }
            Mailer::Smtp(t) => t.send(msg).await.map(|_| ()).map_err(|e| MailError::Send(e.to_string())),
        }
    }
}
