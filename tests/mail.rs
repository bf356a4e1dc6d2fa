//! Email for real (issue 16, point 7): SMTP with authentication over implicit TLS
//! (`smtps://`), a plain relay only when asked for (`?tls=none`), and multipart mails
//! (plain text and HTML) that name the project. The SMTP server is a small one of the
//! test's own on loopback, speaking enough of RFC 5321 and RFC 4954 (AUTH PLAIN) to
//! receive a message, behind rustls with a certificate of a CA made here.
mod common;

use base64::Engine;
use common::Server;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

/// What the server received: (the AUTH PLAIN identity and password, the message).
type Received = Arc<Mutex<Vec<(String, String)>>>;

/// One SMTP conversation: greet, EHLO, AUTH PLAIN (required when `auth`), MAIL, RCPT,
/// DATA, QUIT.
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(stream: S, received: Received, auth_required: bool) {
    let (r, mut w) = tokio::io::split(stream);
    let mut lines = BufReader::new(r).lines();
    let _ = w.write_all(b"220 test.localhost ESMTP\r\n").await;
    let mut auth = None;
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-test.localhost\r\n250 AUTH PLAIN\r\n"
        } else if let Some(creds) = line.strip_prefix("AUTH PLAIN ") {
            let decoded = base64::engine::general_purpose::STANDARD.decode(creds.trim()).unwrap_or_default();
            let parts: Vec<String> =
                decoded.split(|b| *b == 0).map(|p| String::from_utf8_lossy(p).to_string()).collect();
            auth = (parts.len() == 3).then(|| format!("{}:{}", parts[1], parts[2]));
            b"235 2.7.0 Authentication successful\r\n"
        } else if upper.starts_with("MAIL FROM") {
            if auth_required && auth.is_none() {
                b"530 5.7.0 Authentication required\r\n"
            } else {
                b"250 OK\r\n"
            }
        } else if upper.starts_with("RCPT TO") {
            b"250 OK\r\n"
        } else if upper == "DATA" {
            let _ = w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await;
            let mut message = String::new();
            while let Ok(Some(l)) = lines.next_line().await {
                if l == "." {
                    break;
                }
                message.push_str(&l);
                message.push('\n');
            }
            received.lock().unwrap().push((auth.clone().unwrap_or_default(), message));
            b"250 OK: queued\r\n"
        } else if upper == "QUIT" {
            let _ = w.write_all(b"221 Bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        if w.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// An SMTP server on loopback: over TLS from the first byte when `tls` (returns the CA
/// that issued its certificate for `localhost`, PEM), else plain.
async fn smtp_server(tls: bool) -> (u16, Received, Option<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received: Received = Arc::default();
    let acceptor_and_ca = tls.then(|| {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        let der_key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        let config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![cert.der().clone()], der_key)
                .unwrap();
        (tokio_rustls::TlsAcceptor::from(Arc::new(config)), ca.pem())
    });
    let acceptor = acceptor_and_ca.as_ref().map(|(a, _)| a.clone());
    let r2 = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, received) = (acceptor.clone(), r2.clone());
            tokio::spawn(async move {
                match acceptor {
                    Some(a) => {
                        if let Ok(s) = a.accept(stream).await {
                            converse(s, received, true).await;
                        }
                    }
                    None => converse(stream, received, false).await,
                }
            });
        }
    });
    (port, received, acceptor_and_ca.map(|(_, ca)| ca))
}

/// Sign-in mail over `mail_url` (and an extra trusted CA): the messages the server got.
async fn magic_link_through(
    mail_url: String,
    ca_file: Option<std::path::PathBuf>,
    received: &Received,
    expected_auth: &str,
) -> String {
    let db = common::database_url(false).await;
    let srv = Server::start_with(&db, |c| {
        c.mail_url = Some(mail_url);
        c.mail_ca_file = ca_file;
    })
    .await;
    let (cs, tid, _) = srv.project("owner@example.com", "b2b").await;
    let (s, _) = srv.patch(&format!("/v1/session/tenants/{tid}"), &cs, json!({"name": "Acme Portal"})).await;
    assert_eq!(s, StatusCode::OK);
    let pk = srv.publishable_key(&cs, &tid).await;
    let (s, v) = srv.front("/v1/auth/magic-links", &pk, json!({"email": "reader@example.com"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one message");
    let (auth, message) = got.into_iter().next().unwrap();
    assert_eq!(auth, expected_auth);
    message
}

fn assert_multipart(message: &str) {
    let lower = message.to_ascii_lowercase();
    assert!(lower.contains("content-type: multipart/alternative"), "{message}");
    assert!(lower.contains("content-type: text/plain"), "{message}");
    assert!(lower.contains("content-type: text/html"), "{message}");
    let text = message.replace("=\n", "").replace("=3D", "=");
    assert!(text.contains("Acme Portal"), "the project's name: {message}");
    assert!(text.contains("token=ml_"), "the link: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtps_with_authentication_and_a_multipart_message() {
    let (port, received, ca) = smtp_server(true).await;
    let ca_file = std::env::temp_dir().join(format!("authio_ca_{}.pem", ulid::Ulid::new().to_string().to_lowercase()));
    std::fs::write(&ca_file, ca.unwrap()).unwrap();
    // The password has a space: percent-encoded in the URL.
    let url = format!("smtps://mailer%40example.com:s3cret%20pass@localhost:{port}");
    let message = magic_link_through(url, Some(ca_file.clone()), &received, "mailer@example.com:s3cret pass").await;
    assert_multipart(&message);
    let _ = std::fs::remove_file(ca_file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_relay_only_when_asked_for() {
    let (port, received, _) = smtp_server(false).await;
    // No credentials over a connection without TLS: a relay on a trusted network.
    let url = format!("smtp://127.0.0.1:{port}?tls=none");
    let message = magic_link_through(url, None, &received, "").await;
    assert_multipart(&message);
}

#[test]
fn mail_urls_are_checked() {
    use authio_api::mail::Mailer;
    for ok in [
        "smtps://u:p@mail.example.com",
        "smtps://mail.example.com:2465",
        "smtp://u:p@mail.example.com:587",
        "smtp://mail.example.com?tls=required",
        "smtp://relay.internal:25?tls=none",
        "file:///tmp/authio-outbox",
    ] {
        assert!(Mailer::from_url(Some(ok), None).is_ok(), "{ok}");
    }
    for bad in [
        "smtp://",
        "smtps://:465",
        "smtp://mail.example.com?tls=maybe",
        "smtp://u:p@relay.internal?tls=none",
        "imap://mail.example.com",
        "http://x",
    ] {
        assert!(Mailer::from_url(Some(bad), None).is_err(), "{bad}");
    }
}
