//! Talk 002's NetCatChat as a plugin: the chat for `nc` users and its admin API, one state
//! behind two ports, run by poetryd as twistd runs an application (the talk's "What to research
//! next: twistd").
//!
//! The chat's code is `catchat`'s own (`bins/talks/catchat/`), included here unchanged: the
//! plugin only puts its two factories in `TcpServer`s, so the log says `NetCatChatFactory starting
//! on 1400` and `Site starting on 8080` as twistd's would, and every message and API request is
//! logged where poetryd logs.
//!
//! ```text
//! cargo run --bin poetryd -- --nodaemon catchat                 # chat on 1400, API on 8080
//! cargo run --bin poetryd -- catchat --chat tcp:1401 --api tcp:8081 --api-token-file t.txt
//! ```

#[path = "../../talks/catchat/api.rs"]
mod api;
#[path = "../../talks/catchat/chat.rs"]
mod chat;
#[path = "../../talks/catchat/scale.rs"]
mod scale;
#[path = "../../talks/catchat/setup.rs"]
mod setup;
#[path = "../../talks/catchat/text.rs"]
mod text;
// The token's options, shared with the dashboard's plugin (a file is included once).
use crate::token;

use std::rc::Rc;

use clap::Args;
use common::endpoints::ServerEndpoint;
use common::reactor::Reactor;
use common::service::{MultiService, TcpServer};

#[derive(Debug, Args)]
pub struct Options {
    #[command(flatten)]
    chat: setup::ChatOptions,
}

impl Options {
    /// Refuses, before poetryd forks, what `catchat` itself would refuse: a token that cannot be
    /// read; and what a `TcpServer` cannot do: listen on a UNIX socket.
    pub fn check(&self) -> Result<(), String> {
        self.chat.token.token()?;
        if let Some(url) = &self.chat.redis {
            redis::Client::open(url.as_str()).map_err(|error| format!("--redis {url}: {error}"))?;
        }
        for endpoint in [&self.chat.chat, &self.chat.api] {
            tcp_place(endpoint)?;
        }
        Ok(())
    }
}

/// The port and interface of a TCP endpoint.
fn tcp_place(endpoint: &ServerEndpoint) -> Result<(u16, &str), String> {
    match endpoint {
        ServerEndpoint::Tcp {
            port, interface, ..
        } => Ok((*port, interface)),
        ServerEndpoint::Unix { .. } => Err("the catchat plugin listens on TCP only".to_owned()),
    }
}

/// The plugin's tree: a `TcpServer` for the chat, then one for its API.
pub fn make_service(options: &Options, reactor: &Reactor) -> MultiService {
    let top_service = MultiService::new();
    // Checked before forking: neither can fail here.
    let token = options.chat.token.token().unwrap_or_default();
    let places = (tcp_place(&options.chat.chat), tcp_place(&options.chat.api));
    if let (Ok(catchat), (Ok((chat_port, chat_iface)), Ok((api_port, api_iface)))) =
        (setup::build(&options.chat, token, reactor), places)
    {
        let chat = TcpServer::new(reactor, chat_port, catchat.factory, chat_iface);
        let api = TcpServer::new(reactor, api_port, catchat.site, api_iface);
        // Unnamed services never clash, so adding them cannot fail.
        let _ = top_service.add_service(Rc::new(chat));
        let _ = top_service.add_service(Rc::new(api));
    }
    top_service
}
