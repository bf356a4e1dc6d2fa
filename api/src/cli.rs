//! The `authio` command line.
use crate::config::{Config, DbArgs};
use crate::crypto::{hash_secret, new_id, new_secret};
use authio_domain::ids::OperatorId;
use authio_domain::operator::{Operator, OperatorCommand};
use authio_domain::reservation::{operator_email_key, Reservation, ReservationCommand};
use authio_domain::Actor;
use authio_eventstore::{time_text, Changes, Db, Metadata, SqlArg, StoreError};
use chrono::{Duration, Utc};
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "authio", version, about = "Authio: identity for B2B SaaS (one user, many organizations)")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server (migrates and catches up read models first).
    ///
    /// Example: DATABASE_URL=postgres://postgres@127.0.0.1:5432/authio authio serve
    Serve(Box<Config>),
    /// Apply database migrations and exit.
    ///
    /// Example: authio migrate --database-url sqlite://authio-data/authio.db
    Migrate(DbArgs),
    /// Operators (tenant owners of the console).
    Operators {
        #[command(subcommand)]
        command: OperatorsCommand,
    },
    /// Access-token signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Read models.
    Projections {
        #[command(subcommand)]
        command: ProjectionsCommand,
    },
    /// A project's allowed redirect URLs (where sign-in links may point).
    RedirectUrls {
        #[command(subcommand)]
        command: RedirectUrlsCommand,
    },
    /// A project's allowed browser origins (CORS on its end-user routes).
    AllowedOrigins {
        #[command(subcommand)]
        command: RedirectUrlsCommand,
    },
    /// A project's OAuth clients (the applications its OpenID Connect provider serves).
    OauthClients {
        #[command(subcommand)]
        command: OAuthClientsCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum OAuthClientsCommand {
    /// Print the project's clients: id, type, name, redirect URIs (comma-separated).
    ///
    /// Example: authio oauth-clients list --project proj_01…
    List {
        #[arg(long)]
        project: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Register a client (actor: system, via cli). Prints its id and, for a confidential
    /// client, its secret (shown this once) on a second line.
    ///
    /// Example: authio oauth-clients create --project proj_01… --name "Acme web" --type confidential --redirect-uri https://app.example.com/callback
    Create {
        #[arg(long)]
        project: String,
        #[arg(long)]
        name: String,
        /// `confidential` or `public`.
        #[arg(long = "type", value_parser = clap::builder::PossibleValuesParser::new(["confidential", "public"]))]
        client_type: String,
        /// Repeat for several.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Repeat for several; default: openid email profile offline_access organization.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Delete a client (actor: system, via cli).
    ///
    /// Example: authio oauth-clients delete --project proj_01… --id oc_01…
    Delete {
        #[arg(long)]
        project: String,
        #[arg(long)]
        id: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum RedirectUrlsCommand {
    /// Print the project's list, one entry a line.
    ///
    /// Example: authio redirect-urls list --project proj_01…
    List {
        #[arg(long)]
        project: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Replace the project's list with URL… (none: clear it), recorded as an event
    /// (actor: system, via cli). Redirect URLs: an origin allows every path under it, any
    /// other URL only itself. Allowed origins: `scheme://host[:port]` only.
    ///
    /// Example: authio allowed-origins set --project proj_01… https://app.example.com
    Set {
        #[arg(long)]
        project: String,
        #[arg(value_name = "URL")]
        urls: Vec<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum OperatorsCommand {
    /// Print a console session token (`cs_…`) for EMAIL, creating the operator if needed.
    ///
    /// Example: TOKEN=$(authio operators token --email owner@example.com)
    Token {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Write a project's audit trail straight from the event store as JSON lines (oldest
    /// first), entry for entry what `GET /v1/audit-events` returns; exits non-zero for a
    /// project the event store does not know.
    ///
    /// Example: authio audit replay --project proj_01… --organization org_01… > trail.jsonl
    Replay {
        #[arg(long)]
        project: String,
        #[arg(long)]
        organization: Option<String>,
        /// Only entries after this position.
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Add a new signing key: it signs new tokens from now on; tokens signed by older
    /// keys keep verifying until they expire. Prints the new key id.
    ///
    /// Example: DATABASE_URL=postgres://authio@db/authio authio keys rotate --algorithm ES256
    Rotate {
        /// `EdDSA` (the default) or `ES256`: the algorithm whose signing key is replaced.
        #[arg(long, default_value = "EdDSA", value_parser = clap::builder::PossibleValuesParser::new(["EdDSA", "ES256"]))]
        algorithm: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List the signing keys: kid, algorithm, created, and `signing` (the newest of its
    /// algorithm), `verifying` or `retired <time>`.
    ///
    /// Example: authio keys list
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Retire a signing key: it stops signing and verifying and leaves the JWKS (running
    /// servers notice within 2 s), so every token it signed is refused. Rotate first:
    /// the last key cannot be retired.
    ///
    /// Example: authio keys retire --kid kid_01…
    Retire {
        #[arg(long)]
        kid: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProjectionsCommand {
    /// Rebuild read models from the event store into new tables and swap them in (reads
    /// keep answering from the old tables until the swap).
    ///
    /// Example: authio projections rebuild --projection memberships
    Rebuild {
        /// Only this read model (default: all of them).
        #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(
            authio_projections::PROJECTIONS.iter().map(|p| p.name)
        ))]
        projection: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub const CONSOLE_SESSION_DAYS: i64 = 30;

/// Open a console session for the operator with `email` (created if new) and return its
/// token. Only the token's hash is stored; the event records the session id.
pub async fn issue_console_token(db: &Db, email: &str, method: &str, meta: &Metadata) -> anyhow::Result<String> {
    if !authio_domain::is_valid_email(email) {
        anyhow::bail!("{email:?} is not a valid email address");
    }
    let token = new_secret("cs_");
    let session_id = new_id("cons_");
    for _ in 0..5 {
        let mut c = Changes::new();
        let key = operator_email_key(email);
        let mut r = db.load::<Reservation>(&key).await?;
        let operator_id = match r.state.owner.clone() {
            Some(o) => o,
            None => {
                let id = new_id("op_");
                r.exec(ReservationCommand::Claim { owner: id.clone() }).await?;
                c.add(r)?;
                id
            }
        };
        let mut op = db.load::<Operator>(&operator_id).await?;
        let now = Utc::now();
        if !op.state.created {
            op.exec(OperatorCommand::Create {
                operator_id: OperatorId::new(&operator_id),
                email: email.into(),
                at: now,
            })
            .await?;
        }
        op.exec(OperatorCommand::OpenConsoleSession { session_id: session_id.clone(), method: method.into(), at: now })
            .await?;
        c.add(op)?;
        c.side_write(
            "INSERT INTO console_sessions (token_hash, session_id, operator_id, active_tenant_id, created_at, expires_at) \
             VALUES ($1, $2, $3, NULL, $4, $5)",
            vec![
                SqlArg::Text(hash_secret(&token)),
                SqlArg::Text(session_id.clone()),
                SqlArg::Text(operator_id.clone()),
                SqlArg::Text(time_text(now)),
                SqlArg::Text(time_text(now + Duration::days(CONSOLE_SESSION_DAYS))),
            ],
        );
        match db.commit_with(c, meta, Some(&authio_projections::Inline)).await {
            Ok(_) => return Ok(token),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("could not open a console session: concurrent modification, try again")
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(config) => crate::serve(*config).await,
        Command::Migrate(args) => {
            let db = Db::connect(&args.database_url, 2).await?;
            let applied = db.migrate().await?;
            eprintln!(
                "migrations applied: {}",
                if applied.is_empty() { "none".to_string() } else { applied.join(", ") }
            );
            Ok(())
        }
        Command::Operators { command: OperatorsCommand::Token { email, db } } => {
            let db = Db::connect(&db.database_url, 2).await?;
            db.migrate().await?;
            let meta = cli_metadata();
            let token = issue_console_token(&db, email.trim(), "cli", &meta).await?;
            db.stamp().await?;
            authio_projections::catch_up(&db, |_| {}).await?;
            println!("{token}");
            Ok(())
        }
        Command::OauthClients { command } => oauth_clients(command).await,
        Command::RedirectUrls { command } => url_list(command, crate::redirects::List::RedirectUrls).await,
        Command::AllowedOrigins { command } => url_list(command, crate::redirects::List::AllowedOrigins).await,
        Command::Audit { command: AuditCommand::Replay { project, organization, after, db } } => {
            use std::io::Write;
            let db = Db::connect(&db.database_url, 2).await?;
            db.migrate().await?;
            db.stamp().await?;
            // The project's stream, from the event store (not a read model).
            let tenant = db.load::<authio_domain::tenant::Tenant>(&project).await?;
            if !tenant.state.created {
                anyhow::bail!("no project {project} in this event store");
            }
            let total = db.last_position().await?;
            // Progress on stderr, only for a person watching (stdout is the JSON lines).
            let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                indicatif::ProgressBar::new(total.max(0) as u64)
            } else {
                indicatif::ProgressBar::hidden()
            };
            let mut owners = std::collections::HashMap::new();
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let mut cursor = 0;
            loop {
                let batch = db.read_after(cursor, 1000).await?;
                let Some(last) = batch.last().map(|e| e.position) else { break };
                bar.set_position(last.max(0) as u64);
                for e in &batch {
                    let p = authio_projections::audit::replay_project(e, &mut owners);
                    if p.as_deref() != Some(project.as_str())
                        || e.position <= after
                        || !authio_projections::audit::audited(&e.event_type)
                    {
                        continue;
                    }
                    let env = authio_projections::audit::to_envelope(e, p);
                    if organization.is_some() && env.organization_id != organization {
                        continue;
                    }
                    writeln!(out, "{}", serde_json::to_string(&env)?)?;
                }
                cursor = last;
            }
            bar.finish_and_clear();
            out.flush()?;
            Ok(())
        }
        Command::Keys { command: KeysCommand::List { db } } => {
            let db = Db::connect(&db.database_url, 2).await?;
            db.migrate().await?;
            let keys = crate::tokens::list(&db).await?;
            // The newest live key of each algorithm signs.
            let signing = |alg: &str| keys.iter().rev().find(|k| k.retired_at.is_none() && k.algorithm == alg);
            for k in &keys {
                let state = match (&k.retired_at, signing(&k.algorithm).is_some_and(|s| s.kid == k.kid)) {
                    (Some(at), _) => format!("retired {at}"),
                    (None, true) => "signing".into(),
                    (None, false) => "verifying".into(),
                };
                println!("{}\t{}\t{}\t{state}", k.kid, k.algorithm, k.created_at);
            }
            Ok(())
        }
        Command::Keys { command: KeysCommand::Retire { kid, db } } => {
            let db = Db::connect(&db.database_url, 2).await?;
            db.migrate().await?;
            crate::tokens::retire(&db, &kid).await?;
            println!("{kid}");
            Ok(())
        }
        Command::Keys { command: KeysCommand::Rotate { algorithm, db } } => {
            let db = Db::connect(&db.database_url, 2).await?;
            db.migrate().await?;
            let algorithm = authio_domain::tenant::TokenAlgorithm::parse(&algorithm).unwrap_or_default();
            println!("{}", crate::tokens::rotate_algorithm(&db, algorithm).await?);
            Ok(())
        }
        Command::Projections { command: ProjectionsCommand::Rebuild { projection, db } } => {
            let db = Db::connect(&db.database_url, 4).await?;
            db.migrate().await?;
            db.stamp().await?;
            let total = db.last_position().await?;
            let bar = indicatif::ProgressBar::new(total.max(0) as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} events ({per_sec}, eta {eta})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let progress = |p: i64| {
                bar.set_length(bar.length().unwrap_or(0).max(p.max(0) as u64));
                bar.set_position(p.max(0) as u64);
            };
            let (last, what) = match &projection {
                Some(name) => {
                    (authio_projections::rebuild_projection(&db, name, progress).await?, format!("read model {name}"))
                }
                None => (authio_projections::rebuild(&db, progress).await?, "every read model".to_string()),
            };
            bar.finish();
            eprintln!("rebuilt {what} from {last} events and swapped it in");
            Ok(())
        }
    }
}

/// `authio redirect-urls list|set` and `authio allowed-origins list|set`.
/// What the CLI records as the actor of its changes: the system, via the CLI.
fn cli_metadata() -> Metadata {
    let mut meta = Metadata::new();
    meta.insert("actor_type".into(), Actor::System.kind().into());
    meta.insert("via".into(), "cli".into());
    meta
}

/// The project `id` from the event store, or an error naming it.
async fn load_project(db: &Db, id: &str) -> anyhow::Result<authio_eventstore::Loaded<authio_domain::tenant::Tenant>> {
    let t = db.load::<authio_domain::tenant::Tenant>(id).await?;
    if !t.state.created {
        anyhow::bail!("no project {id}");
    }
    Ok(t)
}

/// The OAuth-client commands, through the application layer the REST routes use (a
/// server's state on the database, without its listener or background work).
async fn oauth_clients(command: OAuthClientsCommand) -> anyhow::Result<()> {
    let args = match &command {
        OAuthClientsCommand::List { db, .. }
        | OAuthClientsCommand::Create { db, .. }
        | OAuthClientsCommand::Delete { db, .. } => db.clone(),
    };
    let (st, _pipeline) = crate::command_state(&Config::for_database(&args.database_url)).await?;
    let meta = cli_metadata();
    let fail = |e: crate::error::ApiError| anyhow::anyhow!("{}: {}", e.code, e.message);
    match command {
        OAuthClientsCommand::List { project, .. } => {
            load_project(&st.db, &project).await?;
            let mut page = crate::views::Page { limit: Some(100), after: None };
            loop {
                let (items, next) = crate::oauth_clients::list(&st, &project, &page).await.map_err(fail)?;
                for c in items {
                    println!("{}\t{}\t{}\t{}", c.id, c.client_type, c.name, c.redirect_uris.join(","));
                }
                match next {
                    Some(n) => page.after = Some(n),
                    None => break,
                }
            }
        }
        OAuthClientsCommand::Create { project, name, client_type, redirect_uris, scopes, .. } => {
            load_project(&st.db, &project).await?;
            let scopes = (!scopes.is_empty()).then_some(scopes);
            let (client, secret) = crate::oauth_clients::register(
                &st,
                &project,
                crate::oauth_clients::NewClient {
                    name,
                    client_type,
                    redirect_uris,
                    scopes,
                    backchannel_logout_uri: None,
                },
                &meta,
            )
            .await
            .map_err(fail)?;
            println!("{}", client.id);
            if let Some(secret) = secret {
                println!("{secret}");
            }
        }
        OAuthClientsCommand::Delete { project, id, .. } => {
            crate::oauth_clients::delete(&st, &project, &id, &meta).await.map_err(fail)?;
            println!("{id}");
        }
    }
    Ok(())
}

async fn url_list(command: RedirectUrlsCommand, which: crate::redirects::List) -> anyhow::Result<()> {
    use authio_domain::tenant::Tenant;
    let (project, urls, args) = match command {
        RedirectUrlsCommand::List { project, db } => (project, None, db),
        RedirectUrlsCommand::Set { project, urls, db } => (project, Some(urls), db),
    };
    let db = Db::connect(&args.database_url, 2).await?;
    db.migrate().await?;
    let tenant = load_project(&db, &project).await?;
    let Some(urls) = urls else {
        for u in which.of(&tenant.state) {
            println!("{u}");
        }
        return Ok(());
    };
    let urls = crate::redirects::normalize_all(which, &urls).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let meta = cli_metadata();
    for _ in 0..5 {
        let mut t = db.load::<Tenant>(&project).await?;
        t.exec(which.command(urls.clone())).await?;
        let mut c = Changes::new();
        c.add(t)?;
        match db.commit_with(c, &meta, Some(&authio_projections::Inline)).await {
            Ok(_) => {
                db.stamp().await?;
                authio_projections::catch_up(&db, |_| {}).await?;
                for u in &urls {
                    println!("{u}");
                }
                return Ok(());
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("could not change the list: concurrent modification, try again")
}
