//! Webhook deliveries per second: a local receiver (answers 204, counts `webhook-id`s),
//! an endpoint for `*` pointing at it, and a burst of membership role changes.
use crate::ops::{change_role, Api, Tenant};
use crate::Res;
use axum::http::{HeaderMap, StatusCode};
use reqwest::Method;
use serde_json::json;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Received {
    ids: HashSet<String>,
    total: usize,
    first: Option<Instant>,
    last: Option<Instant>,
}

/// What the webhook measurement found.
#[derive(Clone, Debug)]
pub struct WebhookFigures {
    /// Role changes that answered 200 (each is one event, so one delivery expected).
    pub events: usize,
    pub generation_secs: f64,
    pub distinct: usize,
    pub total: usize,
    /// From the first to the last delivery received.
    pub delivery_secs: f64,
    /// From the first role change sent to the last delivery received.
    pub end_to_end_secs: f64,
    pub complete: bool,
}

impl WebhookFigures {
    pub fn rate(&self) -> f64 {
        self.distinct as f64 / self.delivery_secs.max(0.001)
    }
}

pub async fn run(api: &Api, t: Arc<Tenant>, events: usize, concurrency: usize) -> Res<WebhookFigures> {
    let state = Arc::new(Mutex::new(Received::default()));
    let s = state.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap| {
            let s = s.clone();
            async move {
                let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let now = Instant::now();
                let mut r = s.lock().unwrap_or_else(|e| e.into_inner());
                r.total += 1;
                r.ids.insert(id);
                r.first.get_or_insert(now);
                r.last = Some(now);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("receiver: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let _stop = AbortOnDrop(server);

    // Each worker toggles the role of one of its user's member memberships; first it
    // is set to `member` (not counted, before the endpoint exists): the change-role
    // operation may have left it admin, and a change to the current role records nothing.
    let workers = concurrency.max(1);
    let n = t.users.len();
    let mine: Vec<String> = (0..workers)
        .map(|w| {
            (0..n)
                .map(|k| (w + k) % n)
                .find(|&u| t.memberships[u].len() >= 2)
                .map(|u| t.memberships[u][1].1.clone())
                .ok_or_else(|| "webhooks: no user with 2 memberships (raise --memberships-per-user)".to_string())
        })
        .collect::<Res<_>>()?;
    for m in &mine {
        change_role(api, &t, m, false).await?;
    }

    let ep = api
        .expect(
            StatusCode::CREATED,
            Method::POST,
            "/v1/webhook-endpoints",
            Some(&t.sk),
            None,
            Some(json!({"url": format!("http://127.0.0.1:{port}/hook"), "events": ["*"]})),
        )
        .await
        .map_err(|e| {
            let hint = if e.contains("webhook_url_not_allowed") {
                " (the receiver is on 127.0.0.1: run the server with AUTHIO_WEBHOOK_ALLOW_PRIVATE=true)"
            } else {
                ""
            };
            format!("creating the webhook endpoint: {e}{hint}")
        })?;
    let ep_id = crate::ops::id(&ep)?;

    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let handles: Vec<_> = mine
        .into_iter()
        .map(|m| {
            let (api, t, next, ok) = (api.clone(), t.clone(), next.clone(), ok.clone());
            tokio::spawn(async move {
                let mut admin = false;
                while next.fetch_add(1, Ordering::Relaxed) < events {
                    admin = !admin;
                    if change_role(&api, &t, &m, admin).await.is_ok() {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        // Unknown outcome: back to a known state.
                        admin = !admin;
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.await.map_err(|e| format!("webhook worker panicked: {e}"))?;
    }
    let generation_secs = started.elapsed().as_secs_f64();
    let expected = ok.load(Ordering::Relaxed);
    eprintln!("webhooks: {expected} role changes in {generation_secs:.1} s; waiting for the deliveries");

    // Wait for every delivery, or until none arrived for 30 s.
    let mut seen = 0;
    let mut progress_at = Instant::now();
    let complete = loop {
        let distinct = state.lock().unwrap_or_else(|e| e.into_inner()).ids.len();
        if distinct >= expected {
            break true;
        }
        if distinct > seen {
            seen = distinct;
            progress_at = Instant::now();
        } else if progress_at.elapsed() > Duration::from_secs(30) {
            eprintln!("webhooks: no delivery for 30 s; {distinct} of {expected} received");
            break false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let figures = {
        let r = state.lock().unwrap_or_else(|e| e.into_inner());
        WebhookFigures {
            events: expected,
            generation_secs,
            distinct: r.ids.len(),
            total: r.total,
            delivery_secs: match (r.first, r.last) {
                (Some(a), Some(b)) => (b - a).as_secs_f64(),
                _ => 0.0,
            },
            end_to_end_secs: r.last.map(|l| (l - started).as_secs_f64()).unwrap_or(0.0),
            complete,
        }
    };
    // Later events must not queue deliveries to a receiver that is gone.
    api.expect(
        StatusCode::NO_CONTENT,
        Method::DELETE,
        &format!("/v1/webhook-endpoints/{ep_id}"),
        Some(&t.sk),
        None,
        None,
    )
    .await
    .map_err(|e| format!("deleting the webhook endpoint: {e}"))?;
    Ok(figures)
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
