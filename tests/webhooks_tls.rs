//! Webhook deliveries over TLS: a local HTTPS receiver whose certificate is issued by a
//! throwaway CA. Trusted through `AUTHIO_WEBHOOK_CA_FILE`, the delivery arrives; without
//! it, the certificate is refused and the attempt is logged as failed.
mod common;

use common::Server;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A CA and a `localhost` certificate it signed: (CA PEM, leaf DER, leaf key DER).
fn certificates() -> (String, Vec<u8>, Vec<u8>) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf =
        CertificateParams::new(vec!["localhost".to_string()]).unwrap().signed_by(&leaf_key, &ca, &ca_key).unwrap();
    (ca.pem(), leaf.der().to_vec(), leaf_key.serialize_der())
}

/// An HTTPS receiver on 127.0.0.1:0 that answers 200 and records each `webhook-id`.
async fn https_receiver(cert: Vec<u8>, key: Vec<u8>) -> (u16, Arc<Mutex<Vec<String>>>) {
    use tokio_rustls::rustls;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(cert)],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let (acceptor, seen) = (acceptor.clone(), s2.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head and the body (content-length), then answer 200.
                loop {
                    let Ok(n) = tls.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let head = text[..end].to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| {
                                l.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            if let Some(id) = head.lines().find_map(|l| l.strip_prefix("webhook-id:")) {
                                seen.lock().unwrap().push(id.trim().to_string());
                            }
                            let _ = tls
                                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                                .await;
                            let _ = tls.shutdown().await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (port, seen)
}

async fn deliver(trusted: bool) -> (Vec<String>, Vec<Value>) {
    let (ca_pem, cert, key) = certificates();
    let ca_file = std::env::temp_dir().join(format!("authio_ca_{}.pem", ulid::Ulid::new().to_string().to_lowercase()));
    std::fs::write(&ca_file, ca_pem).unwrap();
    let (port, seen) = https_receiver(cert, key).await;
    let url = common::database_url(false).await;
    let srv = Server::start_with(&url, |c| {
        c.webhook_allow_private = true;
        c.webhook_retry_schedule = "1h".into();
        if trusted {
            c.webhook_ca_file = Some(ca_file.clone());
        }
    })
    .await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let (s, hook) = srv
        .post(
            "/v1/webhook-endpoints",
            &sk,
            json!({"url": format!("https://localhost:{port}/hook"), "events": ["user.*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hook}");
    let whep = common::id(&hook);
    srv.user(&sk, "alice@example.com").await;
    let mut log = Vec::new();
    for _ in 0..200 {
        let (_, d) = srv.get(&format!("/v1/webhook-endpoints/{whep}/deliveries"), &sk).await;
        log = d["data"].as_array().cloned().unwrap_or_default();
        if log.first().is_some_and(|e| e["status"] != "pending" || e["try"].as_i64().unwrap_or(0) > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ids = seen.lock().unwrap().clone();
    (ids, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_go_over_tls_to_a_trusted_certificate() {
    let (ids, log) = deliver(true).await;
    assert_eq!(ids.len(), 1, "delivered once over HTTPS: {log:?}");
    assert!(ids[0].starts_with("evt_"));
    assert_eq!(log[0]["status"], "delivered", "{log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_refused() {
    let (ids, log) = deliver(false).await;
    assert!(ids.is_empty(), "nothing reached the receiver");
    assert!(!log.is_empty(), "the failed attempt is logged");
    assert!(log[0]["status_code"].is_null(), "{log:?}");
    assert!(log[0]["last_error"].is_string(), "the TLS failure is recorded: {log:?}");
}
