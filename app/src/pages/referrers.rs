//! The referrer list: search, sort, paging, and creating a referrer.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::auth::whoami;
use crate::api::referrers::{create_referrer, list_referrers};
use crate::components::bulk::ListActions;
use crate::components::call::{Call, effect};
use crate::components::form::{ErrorBanner, Pager, TextField, choice, page_param, query_param};
use crate::components::live::LiveFilter;
use crate::i18n::t;
use crate::model::{AppError, BULK_ROLE, NewReferrer, Referrer, ReferrerKind, ReferrerListQuery};

/// Referrers with search, sort and paging (in the address: `?q=…&sort=…&archived=true&page=2`),
/// a form to add one, restore buttons on archived rows and, for managers and admins,
/// checkboxes and bulk actions.
#[component]
pub fn ReferrersPage() -> impl IntoView {
    let query = ReferrerListQuery {
        q: query_param("q"),
        page: page_param(),
        sort: query_param("sort"),
        archived: query_param("archived").is_some_and(|v| v == "true"),
    };
    let list = Resource::new(move || (), {
        let query = query.clone();
        move |_| list_referrers(query.clone())
    });
    // Whether the signed-in user may use the bulk actions (the server checks again).
    let me = Resource::new(|| (), |_| whoami());
    let bulk = move || {
        me.get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|u| u.role.allows(BULK_ROLE))
    };
    let sort = query.sort.clone().unwrap_or_else(|| "newest".into());
    let href = {
        let query = query.clone();
        move |page: i64| list_href(&query, page)
    };
    view! {
        <h1>{t("推荐人", "Referrers")}</h1>
        <NewReferrerForm />
        <LiveFilter>
            <form method="get" action="/referrers" class="toolbar" data-testid="referrer-filter">
                <label class="inline">
                    {t("搜索", "Search")}
                    <input
                        type="search"
                        name="q"
                        autocomplete="off"
                        data-testid="referrer-search"
                        value=query.q.clone().unwrap_or_default()
                    />
                </label>
                <label class="inline">
                    {t("排序", "Sort")}
                    <select name="sort" data-testid="referrer-sort">
                        {choice(&sort, "newest", t("最新", "Newest"))}
                        {choice(&sort, "oldest", t("最早", "Oldest"))}
                        {choice(&sort, "name", t("姓名", "Name"))}
                    </select>
                </label>
                <label class="inline">
                    <input
                        type="checkbox"
                        name="archived"
                        value="true"
                        data-testid="referrer-archived"
                        checked=query.archived
                    />
                    {t("包含已归档", "Include archived")}
                </label>
            </form>
        </LiveFilter>
        <Suspense>{move || me.get().map(|_| view! { <ListActions bulk=bulk() /> })}</Suspense>
        <div data-live="referrers">
            <Suspense>
                {move || {
                    let href = href.clone();
                    let bulk = bulk();
                    list.get()
                        .map(|result| match result {
                            Ok(p) if p.items.is_empty() && p.total > 0 => {
                                view! {
                                    <p class="empty" data-testid="referrers-empty">
                                        {t("这一页没有推荐人。", "This page has no referrers.")}
                                        " "
                                        <a href=href(1)>{t("回到第一页", "Back to the first page")}</a>
                                    </p>
                                }
                                    .into_any()
                            }
                            Ok(p) if p.items.is_empty() => {
                                view! {
                                    <p class="empty" data-testid="referrers-empty">
                                        {t("没有符合条件的推荐人。用上面的表单添加一位，或换个搜索条件。", "No referrers match. Add one with the form above, or change the search.")}
                                    </p>
                                }
                                    .into_any()
                            }
                            Ok(p) => {
                                view! {
                                    <ReferrerTable rows=p.items bulk=bulk />
                                    <Pager page=p.page total=p.total per_page=p.per_page href=href />
                                }
                                    .into_any()
                            }
                            Err(e) => view! { <p class="error" role="alert">{e.full_message()}</p> }.into_any(),
                        })
                }}
            </Suspense>
        </div>
    }
}

/// The list's address for another page, keeping the search and sort.
fn list_href(query: &ReferrerListQuery, page: i64) -> String {
    let mut params = form_urlencoded::Serializer::new(String::new());
    if let Some(q) = &query.q {
        params.append_pair("q", q);
    }
    if let Some(sort) = &query.sort {
        params.append_pair("sort", sort);
    }
    if query.archived {
        params.append_pair("archived", "true");
    }
    params.append_pair("page", &page.to_string());
    format!("/referrers?{}", params.finish())
}

/// The rows; with `bulk`, a checkbox on each and one for all of them (plain HTML: the
/// `ListActions` island follows them, see `components::bulk`).
#[component]
fn ReferrerTable(rows: Vec<Referrer>, bulk: bool) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="referrer-table">
                <thead>
                    <tr>
                        {bulk.then(|| view! {
                            <th class="pick">
                                <input type="checkbox" data-bulk-all="" data-testid="select-all"
                                    aria-label=t("选择本页全部", "Select all on this page") />
                            </th>
                        })}
                        <th>{t("姓名", "Name")}</th>
                        <th>{t("电话", "Phone")}</th>
                        <th>{t("标签", "Tags")}</th>
                        <th>{t("类型", "Kind")}</th>
                        <th>{t("创建日期（北京时间）", "Created (Beijing date)")}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|r| {
                            let href = format!("/referrers/{}", r.id);
                            let id = r.id;
                            let pick_label = {
                                let name = r.name.clone();
                                let choose = t("选择", "Select");
                                move || format!("{} {name}", choose())
                            };
                            view! {
                                <tr class:archived=r.archived data-testid="referrer-row">
                                    {bulk.then(|| view! {
                                        <td class="pick">
                                            <input type="checkbox" data-bulk-id=id.to_string()
                                                data-archived=r.archived.to_string()
                                                data-testid="row-select" aria-label=pick_label />
                                        </td>
                                    })}
                                    <td>
                                        <A href=href attr:data-testid="referrer-link">{r.name.clone()}</A>
                                        {r.archived.then(|| view! {
                                            <span class="tag muted">{t("已归档", "archived")}</span>
                                            " "
                                            <button type="button" class="link" data-restore-id=id.to_string() data-testid="row-restore">
                                                {t("恢复", "Restore")}
                                            </button>
                                        })}
                                    </td>
                                    <td>{r.phone.clone().unwrap_or_default()}</td>
                                    <td>{r.tags.join("、")}</td>
                                    <td>{if r.kind == ReferrerKind::Member { t("会员", "Member")() } else { t("员工创建", "Staff-made")() }}</td>
                                    <td>{crate::time::shown_date(&r.created_at)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Name, phone, note, openid and tags, with field-level messages from the server; a new
/// referrer shows up in the list below at once.
#[island]
fn NewReferrerForm() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let openid = RwSignal::new(String::new());
    let tags = RwSignal::new(String::new());
    let wechat_tag = RwSignal::new(String::new());
    let create = Call::new(|input: &NewReferrer| {
        let input = input.clone();
        async move { create_referrer(input).await }
    });
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    effect(move || {
        if let Some(Ok(_)) = create.value().get() {
            for s in [name, phone, note, openid, tags, wechat_tag] {
                s.set(String::new());
            }
            crate::browser::refresh();
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
            wechat_tag: opt(wechat_tag),
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
            <TextField label=t("微信用户标签（可选，给带来的粉丝打上）", "WeChat user tag (optional, put on the followers they bring)") field="wechat_tag" value=wechat_tag error=error />
            <ErrorBanner error=Signal::derive(move || error.get().filter(|e: &AppError| e.fields.is_empty())) />
            {move || matches!(create.value().get(), Some(Ok(_))).then(|| view! {
                <p class="ok" data-testid="created-ok">
                    {t("已创建：", "Created: ")}
                    {move || create.value().get().and_then(Result::ok).map(|r| view! {
                        <a href=format!("/referrers/{}", r.id)>{r.name}</a>
                    })}
                </p>
            })}
            <button type="submit" class="primary" data-testid="create-referrer" disabled=move || create.pending().get()>
                {t("创建", "Create")}
            </button>
        </form>
    }
}
