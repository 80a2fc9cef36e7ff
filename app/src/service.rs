//! The service interface the dashboard needs. The server implements it and hands it to Leptos
//! through context, so server functions and the REST API share every rule.

use std::sync::Arc;

use crate::model::SystemStatus;

/// Everything the dashboard's server functions may ask of the server.
#[async_trait::async_trait]
pub trait AppService: Send + Sync + 'static {
    /// The running system's mode and health.
    async fn status(&self) -> SystemStatus;
}

/// The shared handle put into Leptos context.
pub type Service = Arc<dyn AppService>;
