//! Start-up and CLI failures (issue 16, point 8): each is a clear message and a non-zero
//! exit, never a hang, a panic or a new empty database.
mod common;

use std::time::Duration;

/// Run `authio ARGS` with `env`: (exit success, stdout, stderr). A hang fails the test.
async fn authio(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_authio"));
    cmd.args(args).env_remove("DATABASE_URL").env("RUST_LOG", "warn").kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("authio answered within a minute")
        .expect("run authio");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test]
async fn an_unreachable_postgres_is_named_with_its_cause_and_no_password() {
    // Port 1 on loopback: nothing listens, the connect is refused at once.
    let url = "postgres://app:hunter2@127.0.0.1:1/authio";
    for args in [vec!["migrate", "--database-url", url], vec!["keys", "rotate", "--database-url", url]] {
        let (ok, _, err) = authio(&args, &[]).await;
        assert!(!ok, "{args:?} must fail");
        assert!(err.contains("cannot connect to PostgreSQL at 127.0.0.1:1/authio"), "{args:?}: {err}");
        assert!(err.to_lowercase().contains("refused"), "the cause: {err}");
        assert!(!err.contains("hunter2"), "no password in the message: {err}");
    }
    // `serve` the same way, from the environment.
    let (ok, _, err) = authio(&["serve"], &[("DATABASE_URL", url), ("AUTHIO_ADDR", "127.0.0.1:0")]).await;
    assert!(!ok);
    assert!(err.contains("cannot connect to PostgreSQL at 127.0.0.1:1/authio"), "{err}");
}

#[tokio::test]
async fn a_sqlite_file_in_a_missing_directory_is_an_error() {
    let dir = std::env::temp_dir().join(format!("authio_test_{}", ulid::Ulid::new().to_string().to_lowercase()));
    let url = format!("sqlite://{}/no/such/dir/authio.db", dir.display());
    let (ok, _, err) = authio(&["migrate", "--database-url", &url], &[]).await;
    assert!(!ok);
    assert!(err.contains("does not exist"), "{err}");
    assert!(!dir.exists(), "nothing was created");
}

#[tokio::test]
async fn audit_replay_of_an_unknown_project_fails() {
    let url = common::database_url(false).await;
    let (ok, out, err) = authio(&["audit", "replay", "--project", "proj_nope", "--database-url", &url], &[]).await;
    assert!(!ok, "{out}");
    assert!(err.contains("no project proj_nope"), "{err}");
    assert!(out.is_empty());
}

#[tokio::test]
async fn every_command_has_help_with_an_example() {
    for args in [
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["operators", "token", "--help"],
        vec!["keys", "rotate", "--help"],
        vec!["keys", "list", "--help"],
        vec!["keys", "retire", "--help"],
        vec!["audit", "replay", "--help"],
        vec!["projections", "rebuild", "--help"],
        vec!["redirect-urls", "list", "--help"],
        vec!["redirect-urls", "set", "--help"],
    ] {
        let (ok, out, err) = authio(&args, &[]).await;
        assert!(ok, "{args:?}: {err}");
        assert!(out.contains("Example: "), "{args:?} shows an example:\n{out}");
    }
}

/// `authio keys list|rotate|retire`: a retired key stops verifying its tokens and leaves
/// the JWKS; the last key cannot be retired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_listed_rotated_and_retired() {
    use reqwest::StatusCode;
    let srv = common::Server::start(false).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let u = srv.user(&sk, "k@example.com").await;
    let old_token = srv.sign_in(&sk, &pk, &u).await["access_token"].as_str().unwrap().to_string();
    let listed = srv.cli(&["keys", "list"]).await;
    let first: Vec<&str> = listed.lines().collect();
    assert_eq!(first.len(), 1, "{listed}");
    assert!(first[0].ends_with("\tsigning"), "{listed}");
    let old_kid = first[0].split('\t').next().unwrap().to_string();

    // The only key cannot be retired.
    let (ok, _, err) = authio(&["keys", "retire", "--kid", &old_kid, "--database-url", &srv.database_url], &[]).await;
    assert!(!ok);
    assert!(err.contains("only EdDSA key"), "{err}");

    let new_kid = srv.cli(&["keys", "rotate"]).await;
    let listed = srv.cli(&["keys", "list"]).await;
    assert!(listed.contains(&format!("{old_kid}\tEdDSA")) && listed.contains("\tverifying"), "{listed}");
    assert!(listed.lines().last().unwrap().starts_with(&new_kid) && listed.ends_with("\tsigning"), "{listed}");
    assert_eq!(srv.get("/v1/me", &old_token).await.0, StatusCode::OK, "the old key still verifies");

    assert_eq!(srv.cli(&["keys", "retire", "--kid", &old_kid]).await, old_kid);
    assert!(srv.cli(&["keys", "list"]).await.contains(&format!("{old_kid}\tEdDSA")));
    // The server notices within its reload interval (2 s): bounded poll.
    let mut refused = false;
    for _ in 0..60 {
        if srv.get("/v1/me", &old_token).await.0 == StatusCode::UNAUTHORIZED {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "a token of a retired key is refused");
    let (_, jwks) = srv.call(reqwest::Method::GET, "/.well-known/jwks.json", None, None).await;
    let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, [new_kid.as_str()]);
    let fresh = srv.sign_in(&sk, &pk, &u).await["access_token"].as_str().unwrap().to_string();
    assert_eq!(srv.get("/v1/me", &fresh).await.0, StatusCode::OK);
    let (ok, _, err) = authio(&["keys", "retire", "--kid", &old_kid, "--database-url", &srv.database_url], &[]).await;
    assert!(!ok && err.contains("retired already"), "{err}");
}
