//! `cargo run -p school-backend`: the example backend, configured from the environment.

use school_backend::{Config, serve};

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

fn config() -> Result<Config, String> {
    let engine_url = var("ENGINE_URL")?.trim_end_matches('/').to_owned();
    Ok(Config {
        issuer: var("AUTH_ISSUER").unwrap_or_else(|_| engine_url.clone()),
        app_id: var("APP_ID")?,
        app_secret: var("APP_SECRET")?,
        app_slug: var("APP_SLUG")?,
        cookie_secure: var("COOKIE_SECURE").map_or(true, |v| v != "false"),
        engine_url,
    })
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let config = config().map_err(std::io::Error::other)?;
    let listen = var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = std::net::TcpListener::bind(&listen)?;
    eprintln!("school-backend listening on http://{listen}");
    serve(listener, config)?.await
}
