//! The settings of an agent, and how they become reqwest's: the user agent, the redirect policy,
//! the timeout, the body size limit, the certificate authorities.

use std::time::Duration;

use super::{
    Agent, DEFAULT_MAX_BODY_SIZE, InfiniteRedirection, InvalidRequest, MAX_REDIRECTS, USER_AGENT,
};
use crate::defer::Failure;

/// The settings of an [`Agent`]: made with [`AgentBuilder::new`], changed by its methods, turned
/// into an agent by [`build`](AgentBuilder::build).
#[derive(Debug, Clone)]
pub struct AgentBuilder {
    pub(super) timeout: Option<Duration>,
    follow_redirects: bool,
    pub(super) max_body_size: usize,
    /// Extra certificate authorities, PEM, beside the system's.
    roots: Vec<Vec<u8>>,
}

impl Default for AgentBuilder {
    fn default() -> Self {
        AgentBuilder::new()
    }
}

impl AgentBuilder {
    /// getPage's settings: no timeout, redirects followed, bodies up to
    /// [`DEFAULT_MAX_BODY_SIZE`], the system's certificate authorities.
    pub fn new() -> AgentBuilder {
        AgentBuilder {
            timeout: None,
            follow_redirects: true,
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            roots: Vec::new(),
        }
    }

    /// Fails a request that has not completed after `timeout`: connecting, sending, the answer and
    /// (when it is read) its body, all counted together.
    pub fn timeout(mut self, timeout: Duration) -> AgentBuilder {
        self.timeout = Some(timeout);
        self
    }

    /// Whether to follow redirects (the default). When not, a redirect is an answer like any other:
    /// the agent's [`Response`](super::Response) has its 3xx status, and [`Agent::get_page`] fails
    /// with it.
    pub fn follow_redirects(mut self, follow: bool) -> AgentBuilder {
        self.follow_redirects = follow;
        self
    }

    /// The largest body read whole ([`Response::body`](super::Response::body),
    /// [`Agent::get_page`]); a larger one fails with [`BodyTooLarge`](super::BodyTooLarge). Reading
    /// chunk by chunk has no limit: the reader decides.
    pub fn max_body_size(mut self, bytes: usize) -> AgentBuilder {
        self.max_body_size = bytes;
        self
    }

    /// Trusts the certificate authority (or authorities) in `pem` for HTTPS, beside the system's:
    /// what `curl --cacert` does, for a server whose certificate a private authority signed.
    ///
    /// Fails with [`InvalidRequest`] when `pem` holds no certificate that can be read.
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Result<AgentBuilder, Failure> {
        let certificates = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|error| InvalidRequest(format!("not a PEM certificate: {error}")))?;
        if certificates.is_empty() {
            return Err(InvalidRequest("no certificate in the PEM text".to_owned()).into());
        }
        self.roots.push(pem.to_vec());
        Ok(self)
    }

    /// The agent. Fails when the TLS settings cannot be made (a certificate that was given cannot
    /// be used).
    pub fn build(self) -> Result<Agent, Failure> {
        let client = self
            .configure(reqwest::Client::builder(), false)
            .build()
            // No certificate authority on the system at all (a bare container): plain HTTP and the
            // extra authorities must still work.
            .or_else(|_| self.configure(reqwest::Client::builder(), true).build())
            .map_err(|error| InvalidRequest(format!("cannot set up the HTTP client: {error}")))?;
        Ok(Agent {
            client,
            timeout: self.timeout,
            max_body_size: self.max_body_size,
        })
    }

    /// Applies the settings to one of reqwest's client builders (the asynchronous one or the
    /// blocking one). With `only_given_roots`, HTTPS trusts the extra authorities alone, not the
    /// system's.
    pub(super) fn configure<B: ClientSettings>(&self, builder: B, only_given_roots: bool) -> B {
        install_crypto_provider();
        let max_redirects = if self.follow_redirects {
            MAX_REDIRECTS
        } else {
            0
        };
        let builder = builder.settings(USER_AGENT, redirect_policy(max_redirects));
        let roots: Vec<reqwest::Certificate> = self
            .roots
            .iter()
            .filter_map(|pem| reqwest::Certificate::from_pem_bundle(pem).ok())
            .flatten()
            .collect();
        if roots.is_empty() && !only_given_roots {
            return builder;
        }
        builder.trust(roots, only_given_roots)
    }
}

/// What [`AgentBuilder::configure`] sets on reqwest's two client builders, which have the same
/// methods but no trait in common.
pub(super) trait ClientSettings: Sized {
    /// The user agent and the redirect policy, and no proxy.
    fn settings(self, user_agent: &str, redirects: reqwest::redirect::Policy) -> Self;
    /// Trusts `roots`, beside the system's authorities or (`only`) instead of them.
    fn trust(self, roots: Vec<reqwest::Certificate>, only: bool) -> Self;
}

impl ClientSettings for reqwest::ClientBuilder {
    fn settings(self, user_agent: &str, redirects: reqwest::redirect::Policy) -> Self {
        // No proxy from the environment: getPage connects where the URL says.
        self.user_agent(user_agent).redirect(redirects).no_proxy()
    }

    fn trust(self, roots: Vec<reqwest::Certificate>, only: bool) -> Self {
        if only {
            self.tls_certs_only(roots)
        } else {
            self.tls_certs_merge(roots)
        }
    }
}

impl ClientSettings for reqwest::blocking::ClientBuilder {
    fn settings(self, user_agent: &str, redirects: reqwest::redirect::Policy) -> Self {
        // The blocking client has a 30 s timeout of its own by default; ours is set per request.
        self.user_agent(user_agent)
            .redirect(redirects)
            .no_proxy()
            .timeout(None)
    }

    fn trust(self, roots: Vec<reqwest::Certificate>, only: bool) -> Self {
        if only {
            self.tls_certs_only(roots)
        } else {
            self.tls_certs_merge(roots)
        }
    }
}

/// Follow at most `max` redirects; the one after fails with [`InfiniteRedirection`]. With `max`
/// zero, redirects are not followed at all: the redirect is the answer.
fn redirect_policy(max: usize) -> reqwest::redirect::Policy {
    if max == 0 {
        return reqwest::redirect::Policy::none();
    }
    reqwest::redirect::Policy::custom(move |attempt| {
        // `previous` starts with the URL first asked for, which was no redirect.
        if attempt.previous().len() > max {
            let error = InfiniteRedirection {
                status: attempt.status().as_u16(),
                location: attempt.url().to_string(),
            };
            attempt.error(error)
        } else {
            attempt.follow()
        }
    })
}

/// Makes *ring* the crypto provider of rustls for this process, once (reqwest is built without one
/// of its own, see `common/Cargo.toml`).
fn install_crypto_provider() {
    // An error means a provider is installed already (by us, or by the program): fine either way.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
