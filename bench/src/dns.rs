//! A tiny authoritative DNS server on 127.0.0.1 (UDP) for the server the harness starts
//! (`AUTHIO_DNS_RESOLVER`): it answers TXT queries from [`zone`], so the `saml-sign-in`
//! row can verify its organizations' domains as a customer would. Everything else is
//! NXDOMAIN.
use crate::Res;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

static ZONE: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();

/// TXT values by name (lower case, no trailing dot).
pub fn zone() -> &'static Mutex<HashMap<String, String>> {
    ZONE.get_or_init(Default::default)
}

/// Start the server; its address (`ip:port`).
pub async fn start() -> Res<String> {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.map_err(|e| format!("dns stub: {e}"))?;
    let addr = socket.local_addr().map_err(|e| e.to_string())?.to_string();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else { return };
            if let Some(answer) = answer(&buf[..n]) {
                let _ = socket.send_to(&answer, peer).await;
            }
        }
    });
    Ok(addr)
}

/// The answer to one query: its question echoed, and the TXT record when the zone has it.
fn answer(q: &[u8]) -> Option<Vec<u8>> {
    if q.len() < 12 || u16::from_be_bytes([q[4], q[5]]) != 1 {
        return None;
    }
    // The question: labels up to the root, then type and class.
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = *q.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(q.get(i..i + len)?).to_lowercase());
        i += len;
    }
    let question_end = i + 4;
    let qtype = u16::from_be_bytes([*q.get(i)?, *q.get(i + 1)?]);
    let name = labels.join(".");
    let found = if qtype == 16 { zone().lock().ok()?.get(&name).cloned() } else { None };
    let mut out = Vec::with_capacity(question_end + 64);
    out.extend_from_slice(&q[0..2]);
    let rcode: u16 = if found.is_some() { 0 } else { 3 };
    out.extend_from_slice(&(0x8400 | (u16::from(q[2] & 1) << 8) | rcode).to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&u16::from(found.is_some()).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(q.get(12..question_end)?);
    if let Some(text) = found {
        let text = &text.as_bytes()[..text.len().min(255)];
        out.extend_from_slice(&[0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 0]);
        out.extend_from_slice(&((text.len() + 1) as u16).to_be_bytes());
        out.push(text.len() as u8);
        out.extend_from_slice(text);
    }
    Some(out)
}
