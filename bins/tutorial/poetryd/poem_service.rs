//! What the poem-serving plugins share: their options, and the service that holds the poem.

use std::any::type_name;
use std::cell::RefCell;
use std::fs;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use clap::Args;
use common::cli::output::plain_error;
use common::cli::poem::poetry_file;
use common::defer::Failure;
use common::log;
use common::service::{Service, ServiceState};

/// The options both poem-serving plugins share: where to listen and what to serve.
#[derive(Debug, Args)]
pub(crate) struct ListenOptions {
    /// The port number to listen on (0: any free port; the log says which).
    #[arg(short, long, default_value_t = 10000, value_parser = common::cli::address::listen_port)]
    pub(crate) port: u16,

    /// The interface to listen on.
    #[arg(long, default_value = "localhost")]
    pub(crate) iface: String,

    /// The file containing the poem.
    #[arg(long, value_name = "FILE", value_parser = poetry_file)]
    pub(crate) poem: PathBuf,
}

/// The service that holds the poem: it loads the file when started, and any protocol (TCP here,
/// why not UDP tomorrow) asks it for the poem. It knows nothing about connections.
pub(crate) struct PoetryService {
    state: ServiceState,
    path: PathBuf,
    poem: RefCell<Option<Rc<[u8]>>>,
}

impl PoetryService {
    pub(crate) fn new(path: &Path) -> PoetryService {
        PoetryService {
            state: ServiceState::default(),
            path: path.to_path_buf(),
            poem: RefCell::new(None),
        }
    }

    /// The poem, once the service has started.
    pub(crate) fn poem(&self) -> Option<Rc<[u8]>> {
        self.poem.borrow().clone()
    }
}

impl Service for PoetryService {
    fn state(&self) -> &ServiceState {
        &self.state
    }

    fn start_service(&self) -> Result<(), Failure> {
        let poem = fs::read(&self.path).map_err(|error| {
            Failure::exception(format!(
                "cannot read {}: {}",
                self.path.display(),
                plain_error(&error)
            ))
        })?;
        *self.poem.borrow_mut() = Some(poem.into());
        self.state.set_running(true);
        log::msg(format!("loaded a poem from: {}", self.path.display()));
        Ok(())
    }
}

/// A factory's log prefix, as Twisted qualifies a class: `poetryd.fastpoetry.PoetryFactory`.
pub(crate) fn log_system<T>() -> String {
    type_name::<T>().replace("::", ".")
}
