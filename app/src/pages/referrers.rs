//! The referrer list: search, sort, paging, and creating a referrer.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::referrers::{create_referrer, list_referrers};
use crate::components::form::{ErrorBanner, Loading, Pager, TextField};
use crate::i18n::t;
use crate::model::{AppError, NewReferrer, Referrer, ReferrerListQuery};

/// Referrers with search, sort and paging, and a form to add one.
#[component]
pub fn ReferrersPage() -> impl IntoView {
    let q = RwSignal::new(String::new());
    let sort = RwSignal::new("newest".to_owned());
    let archived = RwSignal::new(false);
    let page = RwSignal::new(1i64);
    let created = RwSignal::new(0u32);
    let list = Resource::new(
        move || {
            (
                ReferrerListQuery {
                    q: Some(q.get()).filter(|s| !s.trim().is_empty()),
                    page: page.get(),
                    sort: Some(sort.get()),
                    archived: archived.get(),
                },
                created.get(),
            )
        },
        |(query, _)| list_referrers(query),
    );
    let total = Signal::derive(move || {
        list.get()
            .and_then(|r| r.ok())
            .map(|p| p.total)
            .unwrap_or(0)
    });
    view! {
        <h1>{t("推荐人", "Referrers")}</h1>
        <NewReferrerForm on_created=move || created.update(|n| *n += 1) />
        <div class="toolbar">
            <label class="inline">
                {t("搜索", "Search")}
                <input
                    type="search"
                    data-testid="referrer-search"
                    prop:value=move || q.get()
                    on:input=move |ev| {
                        q.set(event_target_value(&ev));
                        page.set(1);
                    }
                />
            </label>
            <label class="inline">
                {t("排序", "Sort")}
                <select data-testid="referrer-sort" on:change=move |ev| sort.set(event_target_value(&ev))>
                    <option value="newest">{t("最新", "Newest")}</option>
                    <option value="oldest">{t("最早", "Oldest")}</option>
                    <option value="name">{t("姓名", "Name")}</option>
                </select>
            </label>
            <label class="inline">
                <input
                    type="checkbox"
                    data-testid="referrer-archived"
                    on:change=move |ev| archived.set(event_target_checked(&ev))
                />
                {t("包含已归档", "Include archived")}
            </label>
        </div>
        <Transition fallback=Loading>
            {move || {
                list.get()
                    .map(|result| match result {
                        Ok(p) if p.items.is_empty() => {
                            view! {
                                <p class="empty" data-testid="referrers-empty">
                                    {t("还没有推荐人。用上面的表单添加第一位。", "No referrers yet. Add the first one with the form above.")}
                                </p>
                            }
                                .into_any()
                        }
                        Ok(p) => view! { <ReferrerTable rows=p.items /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                    })
            }}
        </Transition>
        <Pager page=page total=total per_page=20 />
    }
}

#[component]
fn ReferrerTable(rows: Vec<Referrer>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="referrer-table">
                <thead>
                    <tr>
                        <th>{t("姓名", "Name")}</th>
                        <th>{t("电话", "Phone")}</th>
                        <th>{t("标签", "Tags")}</th>
                        <th>{t("类型", "Kind")}</th>
                        <th>{t("创建时间", "Created")}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|r| {
                            let href = format!("/referrers/{}", r.id);
                            view! {
                                <tr class:archived=r.archived>
                                    <td>
                                        <A href=href attr:data-testid="referrer-link">{r.name.clone()}</A>
                                        {r.archived.then(|| view! { <span class="tag muted">{t("已归档", "archived")}</span> })}
                                    </td>
                                    <td>{r.phone.clone().unwrap_or_default()}</td>
                                    <td>{r.tags.join("、")}</td>
                                    <td>{if r.kind == "member" { t("会员", "Member")() } else { t("员工创建", "Staff-made")() }}</td>
                                    <td>{r.created_at.get(..10).unwrap_or_default().to_owned()}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Name, phone, note, openid and tags, with field-level messages from the server.
#[component]
fn NewReferrerForm(on_created: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let openid = RwSignal::new(String::new());
    let tags = RwSignal::new(String::new());
    let create = Action::new(|input: &NewReferrer| {
        let input = input.clone();
        async move { create_referrer(input).await }
    });
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            for s in [name, phone, note, openid, tags] {
                s.set(String::new());
            }
            on_created();
        }
    });
    let opt = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(NewReferrer {
            name: name.get_untracked(),
            phone: opt(phone),
            note: opt(note),
            openid: opt(openid),
            tags: tags
                .get_untracked()
                .split([',', '，', '、'])
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
        });
    };
    view! {
        <form class="card form-grid" on:submit=submit data-testid="new-referrer-form">
            <h2>{t("新建推荐人", "New referrer")}</h2>
            <TextField label=t("姓名", "Name") field="name" value=name error=error />
            <TextField label=t("电话（可选）", "Phone (optional)") field="phone" value=phone error=error />
            <TextField label=t("备注（可选）", "Note (optional)") field="note" value=note error=error />
            <TextField label=t("绑定 openid（可选）", "Bound openid (optional)") field="openid" value=openid error=error />
            <TextField label=t("标签，用逗号分隔", "Tags, comma separated") field="tags" value=tags error=error />
            <ErrorBanner error=Signal::derive(move || error.get().filter(|e: &AppError| e.fields.is_empty())) />
            <Show when=move || matches!(create.value().get(), Some(Ok(_)))>
                <p class="ok" data-testid="created-ok">{t("已创建。", "Created.")}</p>
            </Show>
            <button type="submit" class="primary" data-testid="create-referrer" disabled=move || create.pending().get()>
                {t("创建", "Create")}
            </button>
        </form>
    }
}
