//! The custom menu (admin): what is live at WeChat, publishing and clearing it.

use leptos::prelude::*;

use crate::menu::{Menu, MenuPage};
use crate::model::AppError;

/// The live menu (`menu/get`) and the ready items.
#[server(prefix = "/sfn", endpoint = "menu/load", output = crate::api::codec::JsonAnswer)]
pub async fn load_menu() -> Result<MenuPage, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.menu(&user).await
        }
        .await,
    )
}

/// Publishes `menu` (`menu/create`); answers what is live then. The menu travels as JSON: its
/// nesting is deeper than the form encoding reads.
#[server(prefix = "/sfn", endpoint = "menu/publish", input = server_fn::codec::Json, output = crate::api::codec::JsonAnswer)]
pub async fn publish_menu(menu: Menu) -> Result<MenuPage, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.publish_menu(&user, menu).await
        }
        .await,
    )
}

/// Removes the menu (`menu/delete`); answers what is live then.
#[server(prefix = "/sfn", endpoint = "menu/delete", output = crate::api::codec::JsonAnswer)]
pub async fn delete_menu() -> Result<MenuPage, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.delete_menu(&user).await
        }
        .await,
    )
}
