//! The built dashboard and hosted pages are embedded in the binary and served at
//! `/dashboard/` and `/hosted/` (no other server needed): each page with a same-origin
//! content security policy, hashed assets cached for good, app paths answered with the
//! page, missing files a 404.
mod common;

use common::Server;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_is_served_by_the_binary() {
    let srv = Server::start(false).await;
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = no_redirects.get(format!("{}/dashboard", srv.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.headers()["location"], "/dashboard/");

    let res = srv.http.get(format!("{}/dashboard/", srv.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = res.text().await.unwrap();
    let script =
        html.split("src=\"").nth(1).and_then(|s| s.split('"').next()).expect("the page loads a script").to_string();
    assert!(script.starts_with("/dashboard/assets/"), "{script}");

    let res = srv.http.get(format!("{}{script}", srv.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/javascript; charset=utf-8");
    assert!(res.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    assert!(res.bytes().await.unwrap().len() > 1000);

    // An app path is the app; a missing file is not.
    let res = srv.http.get(format!("{}/dashboard/settings", srv.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), html);
    let res = srv.http.get(format!("{}/dashboard/assets/nope.js", srv.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

/// The hosted end-user pages are served the same way at `/hosted/`: the page with the
/// same-origin policy, its hashed assets, any app path answered with the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosted_pages_are_served_by_the_binary() {
    let srv = Server::start(false).await;
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = no_redirects.get(format!("{}/hosted", srv.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.headers()["location"], "/hosted/");

    let res = srv.http.get(format!("{}/hosted/sign-in?pk=pk_test_x", srv.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = res.text().await.unwrap();
    let script =
        html.split("src=\"").nth(1).and_then(|s| s.split('"').next()).expect("the page loads a script").to_string();
    assert!(script.starts_with("/hosted/assets/"), "{script}");
    let res = srv.http.get(format!("{}{script}", srv.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/javascript; charset=utf-8");
    for page in ["/hosted/", "/hosted/magic-link", "/hosted/invitation", "/hosted/org-admin"] {
        let res = srv.http.get(format!("{}{page}", srv.url)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{page}");
        assert_eq!(res.text().await.unwrap(), html, "{page}");
    }
    let res = srv.http.get(format!("{}/hosted/assets/nope.js", srv.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
