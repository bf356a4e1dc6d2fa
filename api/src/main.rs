use clap::Parser;

/// mimalloc rather than the system allocator: glibc malloc took about half of the CPU
/// of a projection rebuild (`malloc_consolidate`, `unlink_chunk` on the large argument
/// buffers of multi-row INSERTs; see BENCHMARKS.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let cli = authio_api::cli::Cli::parse();
    let json = std::env::var("AUTHIO_LOG_FORMAT").is_ok_and(|v| v == "json");
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
    if let Err(e) = authio_api::cli::run(cli).await {
        // The chain of causes, each once (some errors repeat their source's text).
        let mut text = String::new();
        for cause in e.chain().map(|c| c.to_string()) {
            if !text.contains(&cause) {
                text = if text.is_empty() { cause } else { format!("{text}: {cause}") };
            }
        }
        eprintln!("error: {text}");
        std::process::exit(1);
    }
}
