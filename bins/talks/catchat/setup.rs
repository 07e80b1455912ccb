//! The command line of the chat server and what it builds from it: the talk's `runner.py`, minus
//! the listening (which `catchat` and poetryd's plugin each do their own way).
//!
//! Shared by `catchat` and poetryd's `catchat` plugin.

use std::rc::Rc;
use std::time::Duration;

use clap::Args;
use common::cli::duration::parse_duration;
use common::cli::poem::parse_size;
use common::endpoints::ServerEndpoint;
use common::reactor::Reactor;
use common::web::Site;
use common::web::site::{DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_HEAD};

use super::api::{ApiSettings, api_root};
use super::chat::{Chat, Limits, NetCatChatFactory};
use super::scale::share;
use super::token::TokenOptions;

/// Where the chat and its API listen, who may use the API, and what a user may cost.
#[derive(Debug, Clone, Args)]
pub struct ChatOptions {
    /// Where the chat listens (tcp:PORT[:interface=ADDR] or unix:PATH); `nc 127.0.0.1 1400`
    /// to join.
    #[arg(long, value_name = "ENDPOINT", default_value = "tcp:1400")]
    pub chat: ServerEndpoint,

    /// Where the admin API listens (HTTP).
    #[arg(long, value_name = "ENDPOINT", default_value = "tcp:8080")]
    pub api: ServerEndpoint,

    #[command(flatten)]
    pub token: TokenOptions,

    /// Disconnect a user who lets more than this wait unread (500KB, 1MiB...).
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = parse_size)]
    pub max_unsent: usize,

    /// Disconnect a user who sends a line longer than this.
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = parse_size)]
    pub max_line: usize,

    /// Refuse API requests whose body is larger than this (413).
    #[arg(long, value_name = "SIZE", default_value = "64KiB", value_parser = parse_size)]
    pub max_body: usize,

    /// Share one chat between several servers through the Redis at URL (redis://HOST:PORT):
    /// messages, the banner and the user count.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,

    /// How long after a POST /banner/ the banner changes (the talk's deferLater: 0.1 s).
    #[arg(long, value_name = "DURATION", default_value = "0.1", value_parser = parse_duration)]
    pub banner_delay: Duration,
}

/// The chat's two factories, sharing one [`Chat`]: the chat's own, and the API's site.
pub struct CatChat {
    pub factory: Rc<NetCatChatFactory>,
    pub site: Rc<Site>,
}

/// Builds the chat, its factory and its API's site: one state behind both, shared through Redis
/// if asked. Fails, with one line, when the Redis URL is not one.
pub fn build(
    options: &ChatOptions,
    token: Option<String>,
    reactor: &Reactor,
) -> Result<CatChat, String> {
    let chat = Chat::new(Limits {
        max_unsent: options.max_unsent,
        max_line: options.max_line,
    });
    if let Some(url) = &options.redis {
        share(&chat, url, reactor)?;
    }
    let settings = ApiSettings {
        token,
        banner_delay: options.banner_delay,
    };
    let root = api_root(Rc::clone(&chat), reactor, settings);
    let site = Site::with_limits(
        root,
        options.max_body,
        DEFAULT_MAX_HEAD,
        DEFAULT_HEADER_TIMEOUT,
    );
    Ok(CatChat {
        factory: Rc::new(NetCatChatFactory { chat }),
        site: Rc::new(site),
    })
}
