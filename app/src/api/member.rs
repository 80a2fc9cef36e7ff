//! The member's personal page (`/m/<key>`): no staff login; the unguessable key in the URL is
//! the only credential, so nobody reaches another member's page.

use leptos::prelude::*;

use crate::model::{AppError, MemberPage};

#[server(prefix = "/sfn", endpoint = "member/page", output = crate::api::codec::JsonAnswer)]
pub async fn load_member_page(token: String) -> Result<MemberPage, AppError> {
    crate::api::guard::finish(
        async {
            crate::api::guard::same_origin()?;
            crate::api::guard::service()?.member_page(token).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "member/name", output = crate::api::codec::JsonAnswer)]
pub async fn save_member_name(token: String, name: String) -> Result<String, AppError> {
    crate::api::guard::finish(
        async {
            crate::api::guard::same_origin()?;
            crate::api::guard::service()?
                .member_set_name(token, name)
                .await
        }
        .await,
    )
}
