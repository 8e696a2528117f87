//! `stampede login URL`: signs in with a user name and password, creates an
//! API token for this CLI and stores it (mode 0600) for `submit` and `runs`.
//!
//! The password comes from `STAMPEDE_PASSWORD` or standard input (one
//! line), never from the command line, where other users could see it.

use std::io::{BufRead, IsTerminal, Write};

use clap::Args;
use http::Method;
use serde_json::json;

use crate::client::{runtime, save, Api, Credentials};

/// Arguments of `stampede login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The server's URL, e.g. http://127.0.0.1:8080.
    pub url: String,
    /// The user name.
    #[arg(short = 'u', long, default_value = "admin")]
    pub username: String,
}

fn read_password() -> Result<String, String> {
    if let Ok(p) = std::env::var("STAMPEDE_PASSWORD") {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        eprint!("Password: ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Runs the command; returns the exit code.
pub fn run(args: LoginArgs) -> i32 {
    match login(&args) {
        Ok(path) => {
            println!(
                "Logged in to {} as {}; token saved in {}",
                args.url,
                args.username,
                path.display()
            );
            0
        }
        Err(e) => {
            eprintln!("login failed: {e}");
            1
        }
    }
}

fn login(args: &LoginArgs) -> Result<std::path::PathBuf, String> {
    let password = read_password()?;
    let rt = runtime()?;
    rt.block_on(async {
        let anon = Api::new(&args.url, None)?;
        let session = anon
            .call(
                Method::POST,
                "/api/v1/auth/login",
                Some(&json!({"username": args.username, "password": password})),
            )
            .await?;
        let jwt = session["token"]
            .as_str()
            .ok_or("the server sent no token")?;
        let api = Api::new(&args.url, Some(jwt.to_string()))?;
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "cli".into());
        let created = api
            .call(
                Method::POST,
                "/api/v1/tokens",
                Some(&json!({"name": format!("stampede login ({host})")})),
            )
            .await?;
        let token = created["token"]
            .as_str()
            .ok_or("the server sent no API token")?;
        save(&Credentials {
            url: args.url.trim_end_matches('/').to_string(),
            token: token.to_string(),
        })
    })
}
