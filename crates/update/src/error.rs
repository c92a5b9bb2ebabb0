//! What can stop the updater.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum UpdateError {
    #[error("the updater's files: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Dpkg(String),
    #[error("cannot restart the kiosk: {0}")]
    Restart(String),
    #[error("the kiosk package {0} is not installed (dpkg does not list it as installed); install it by hand first")]
    NotInstalled(String),
}
