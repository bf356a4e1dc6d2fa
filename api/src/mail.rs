//! Outgoing email: SMTP by URL (via lettre, TLS by rustls), a file outbox (`file://DIR`,
//! one `.eml` file per message), or the log (the default, for development only: the
//! message, link included, goes to the server log).
//!
//! SMTP URLs: `smtps://[user:pass@]host[:port]` (TLS from the first byte, port 465 by
//! default), `smtp://[user:pass@]host[:port]` (STARTTLS required, port 587 by default),
//! and `smtp://host[:port]?tls=none` (no TLS at all, port 25: a relay on a trusted
//! network, or tests; credentials are refused there). User name and password are
//! percent-encoded in the URL. Certificates verify against the bundled Mozilla roots plus
//! the PEM file `AUTHIO_MAIL_CA_FILE`.
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::{Path, PathBuf};

#[derive(Clone)]
pub enum Mailer {
    Log,
    File(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("AUTHIO_MAIL_URL must be smtps://[user:pass@]host[:port], smtp://[user:pass@]host[:port][?tls=none], file://DIR or unset: {0}")]
    BadUrl(String),
    #[error("AUTHIO_MAIL_CA_FILE: {0}")]
    CaFile(String),
    #[error("the recipient address cannot be delivered to: {0}")]
    Recipient(String),
    #[error("building the message: {0}")]
    Build(String),
    #[error("sending: {0}")]
    Send(String),
}

/// A message in both forms: plain text and HTML.
pub struct Mail<'a> {
    pub subject: &'a str,
    pub text: String,
    pub html: String,
}

impl Mailer {
    /// The mailer for `AUTHIO_MAIL_URL`, trusting the extra CAs of `ca_file` for SMTP.
    pub fn from_url(url: Option<&str>, ca_file: Option<&Path>) -> Result<Mailer, MailError> {
        match url {
            None | Some("") | Some("log") => Ok(Mailer::Log),
            Some(u) if u.starts_with("file://") => {
                let dir = PathBuf::from(&u["file://".len()..]);
                std::fs::create_dir_all(&dir).map_err(|e| MailError::Build(e.to_string()))?;
                Ok(Mailer::File(dir))
            }
            Some(u) if u.starts_with("smtp://") || u.starts_with("smtps://") => smtp(u, ca_file).map(Mailer::Smtp),
            Some(u) => Err(MailError::BadUrl(format!("unknown scheme in {}", redacted(u)))),
        }
    }

    pub async fn send(&self, from: &str, to: &str, mail: Mail<'_>) -> Result<(), MailError> {
        let from: Mailbox = from.parse().map_err(|e: lettre::address::AddressError| MailError::Build(e.to_string()))?;
        let to_box: Mailbox =
            to.parse().map_err(|e: lettre::address::AddressError| MailError::Recipient(e.to_string()))?;
        let msg = Message::builder()
            .from(from)
            .to(to_box)
            .subject(mail.subject)
            .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html))
            .map_err(|e| MailError::Build(e.to_string()))?;
        match self {
            Mailer::Log => {
                tracing::info!(to, subject = mail.subject, body = mail.text, "mail (log transport, development only)");
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

/// `url` without its password, for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "an unparsable URL".into(),
    }
}

/// The SMTP transport a `smtp://` or `smtps://` URL names.
fn smtp(raw: &str, ca_file: Option<&Path>) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let bad = |why: &str| MailError::BadUrl(format!("{why} in {}", redacted(raw)));
    let url = url::Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad("no host"))?.to_string();
    let mut mode = if url.scheme() == "smtps" { "wrapper" } else { "required" };
    for (k, v) in url.query_pairs() {
        match (k.as_ref(), v.as_ref(), url.scheme()) {
            ("tls", "none", "smtp") => mode = "none",
            ("tls", "required", "smtp") => mode = "required",
            _ => return Err(bad(&format!("unknown parameter {k}={v}"))),
        }
    }
    let port = url.port().unwrap_or(match mode {
        "wrapper" => 465,
        "required" => 587,
        _ => 25,
    });
    let decode = |s: &str| {
        let text = percent_encoding::percent_decode_str(s).decode_utf8();
        text.map(|t| t.into_owned()).map_err(|_| bad("a credential that is not UTF-8"))
    };
    let credentials = match (url.username(), url.password()) {
        ("", None) => None,
        (_, _) if mode == "none" => return Err(bad("credentials over a connection without TLS")),
        (user, pass) => Some(Credentials::new(decode(user)?, decode(pass.unwrap_or(""))?)),
    };
    let tls = match mode {
        "none" => Tls::None,
        _ => {
            let mut params = TlsParameters::builder(host.clone());
            if let Some(path) = ca_file {
                let pem = std::fs::read(path).map_err(|e| MailError::CaFile(format!("{}: {e}", path.display())))?;
                let cert = Certificate::from_pem(&pem).map_err(|e| MailError::CaFile(e.to_string()))?;
                params = params.add_root_certificate(cert);
            }
            let params = params.build_rustls().map_err(|e| MailError::CaFile(e.to_string()))?;
            if mode == "wrapper" {
                Tls::Wrapper(params)
            } else {
                Tls::Required(params)
            }
        }
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(port).tls(tls);
    if let Some(c) = credentials {
        builder = builder.credentials(c);
    }
    Ok(builder.build())
}

/// HTML-escape `s` for text and attribute values.
/// The name of project `project` (a tenant), as its mail names it.
pub async fn project_name(db: &authio_eventstore::Db, project: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1").bind(project).fetch_optional(&db.pool).await
}

pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}
