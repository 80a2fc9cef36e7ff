//! A printable poster: the QR code, the referrer's name and the account's name.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::referrers::get_referrer_detail;
use crate::i18n::t;

/// `/referrers/:id/poster/:code`
#[component]
pub fn PosterPage() -> impl IntoView {
    let params = use_params_map();
    let (id, code_id) = {
        let p = params.read_untracked();
        let num = |k: &str| p.get(k).and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
        (num("id"), num("code"))
    };
    let detail = Resource::new(|| (), move |_| get_referrer_detail(id, 1));
    view! {
        <Suspense>
            {move || {
                detail.get().map(|result| match result {
                    Ok(d) => {
                        let code = d.codes.into_iter().find(|c| c.code.id == code_id);
                        match code {
                            Some(c) => view! {
                                <section class="poster" data-testid="poster">
                                    <h1>{d.account_name.clone()}</h1>
                                    <div class="qr big" inner_html=c.svg></div>
                                    <p class="poster-name">{t("推荐人：", "Referred by: ")} {d.referrer.name.clone()}</p>
                                    <p class="muted">{t("微信扫码关注", "Scan with WeChat to follow")}</p>
                                    <PrintButton />
                                </section>
                            }.into_any(),
                            None => view! { <p class="error">{t("找不到该二维码。", "QR code not found.")}</p> }.into_any(),
                        }
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                })
            }}
        </Suspense>
    }
}

/// Opens the browser's print dialog.
#[island]
fn PrintButton() -> impl IntoView {
    view! {
        <button class="no-print" on:click=move |_| {
            #[cfg(feature = "hydrate")]
            {
                let _ = window().print();
            }
        }>{t("打印", "Print")}</button>
    }
}
