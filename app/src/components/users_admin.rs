//! The settings page's users (admin): the account's users with role, standing and last
//! sign-in; changing a role, disabling and enabling (confirmed), resetting a password
//! (confirmed, in a dialog), and adding a user.

use leptos::prelude::*;

use crate::api::settings::add_user;
use crate::api::users::{list_users, reset_user_password, set_user_active, set_user_role};
use crate::components::call::{Call, effect};
use crate::components::confirm::ConfirmDialog;
use crate::components::form::ErrorBanner;
use crate::components::layout::role_label;
use crate::i18n::{Lang, t, use_lang};
use crate::model::{AppError, ManagedUser, Role};

/// The users and what an admin can do to them. The list is this island's own state: each
/// change answers with the changed user, and adding one reads the list again.
#[island]
pub fn UsersAdmin(users: Vec<ManagedUser>) -> impl IntoView {
    let users = RwSignal::new(users);
    // Bumped when a role change is refused, so the rows render again with the stored role.
    let version = RwSignal::new(0_u32);
    let lang = use_lang();
    // A sentence about the last change that worked.
    let notice = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<AppError>);
    let put = move |u: ManagedUser| {
        users.update(|list| {
            if let Some(row) = list.iter_mut().find(|r| r.id == u.id) {
                *row = u;
            }
        })
    };
    let change_role = Call::new(move |(id, role): &(i64, Role)| set_user_role(*id, *role));
    let change_active = Call::new(move |(id, active): &(i64, bool)| set_user_active(*id, *active));
    effect(move || match change_role.value().get() {
        Some(Ok(u)) => {
            notice.set(Some(match lang.get_untracked() {
                Lang::Zh => format!(
                    "已将 {} 的角色改为{}",
                    u.username,
                    role_name(Lang::Zh, u.role)
                ),
                Lang::En => format!("{} is now {}", u.username, role_name(Lang::En, u.role)),
            }));
            error.set(None);
            put(u);
        }
        Some(Err(e)) => {
            notice.set(None);
            error.set(Some(e));
            version.update(|v| *v += 1);
        }
        None => {}
    });
    effect(move || match change_active.value().get() {
        Some(Ok(u)) => {
            notice.set(Some(match (lang.get_untracked(), u.active) {
                (Lang::Zh, true) => format!("已启用 {}", u.username),
                (Lang::Zh, false) => format!("已停用 {}，其会话已结束", u.username),
                (Lang::En, true) => format!("{} is enabled", u.username),
                (Lang::En, false) => format!("{} is disabled; their sessions ended", u.username),
            }));
            error.set(None);
            put(u);
        }
        Some(Err(e)) => {
            notice.set(None);
            error.set(Some(e));
        }
        None => {}
    });

    // The disable confirmation.
    let disabling = RwSignal::new(None::<ManagedUser>);
    let disable_open = RwSignal::new(false);
    let disable_now = Callback::new(move |_: ()| {
        disable_open.set(false);
        if let Some(u) = disabling.get_untracked() {
            change_active.dispatch((u.id, false));
        }
    });
    let disable_message = Signal::derive(move || {
        let name = disabling.get().map(|u| u.username).unwrap_or_default();
        match lang.get() {
            Lang::Zh => format!(
                "停用后 {name} 不能再登录本公众号，已登录的会话立即失效。之后可以重新启用。"
            ),
            Lang::En => format!(
                "{name} will no longer be able to sign in to this account, and their open sessions end now. You can enable them again later."
            ),
        }
    });

    let disable_title = t("停用用户？", "Disable this user?");
    let disable_label = t("停用", "Disable");
    let open_disable = move |u: ManagedUser| {
        disabling.set(Some(u));
        disable_open.set(true);
    };
    let reset = ResetDialog::new(notice);
    let row = move |u: ManagedUser| {
        view! {
            <UserRow
                user=u
                on_role=Callback::new(move |(id, role): (i64, Role)| { change_role.dispatch((id, role)); })
                on_enable=Callback::new(move |id: i64| { change_active.dispatch((id, true)); })
                on_disable=Callback::new(open_disable)
                on_reset=Callback::new(move |u: ManagedUser| reset.open(u))
            />
        }
    };
    let reload = Call::new(|_: &()| list_users());
    effect(move || {
        if let Some(Ok(list)) = reload.value().get() {
            users.set(list);
        }
    });
    let added = Callback::new(move |_: ()| {
        reload.dispatch(());
    });
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="users-table">
                <thead>
                    <tr>
                        <th scope="col">{t("用户名", "Username")}</th>
                        <th scope="col">{t("角色", "Role")}</th>
                        <th scope="col">{t("状态", "Status")}</th>
                        <th scope="col">{t("最近登录（北京时间）", "Last sign-in (Beijing)")}</th>
                        <th scope="col">{t("操作", "Actions")}</th>
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=move || {
                            version.track();
                            users.get()
                        }
                        key=move |u| (u.id, u.role.as_str(), u.active, version.get_untracked())
                        children=row
                    />
                </tbody>
            </table>
        </div>
        {move || notice.get().map(|n| view! { <p class="ok" role="status" data-testid="users-message">{n}</p> })}
        <ErrorBanner error=Signal::derive(move || error.get()) />
        <AddUser added=added />
        <ConfirmDialog
            open=disable_open
            id="disable-user-confirm"
            title=Signal::derive(move || disable_title().to_owned())
            message=disable_message
            confirm_label=Signal::derive(move || disable_label().to_owned())
            on_confirm=disable_now
            busy=change_active.pending()
        />
        {reset.view()}
    }
}

/// A role's name in `lang` (for sentences built outside the view).
fn role_name(lang: Lang, role: Role) -> &'static str {
    match (lang, role) {
        (Lang::Zh, Role::Admin) => "管理员",
        (Lang::Zh, Role::Manager) => "经理",
        (Lang::Zh, Role::Staff) => "员工",
        (Lang::En, Role::Admin) => "admin",
        (Lang::En, Role::Manager) => "manager",
        (Lang::En, Role::Staff) => "staff",
    }
}

/// One user: role select, status, last sign-in and actions (none on the admin's own row
/// except what cannot lock them out).
#[component]
fn UserRow(
    user: ManagedUser,
    on_role: Callback<(i64, Role)>,
    on_enable: Callback<i64>,
    on_disable: Callback<ManagedUser>,
    on_reset: Callback<ManagedUser>,
) -> impl IntoView {
    let u = user;
    let id = u.id;
    let current = u.role;
    let label = format!("{} 的角色 / role", u.username);
    let for_disable = u.clone();
    let for_reset = u.clone();
    view! {
        <tr data-testid="user-row" data-username=u.username.clone() class:archived=!u.active>
            <td>
                {u.username.clone()}
                {u.is_self.then(|| view! { <span class="tag">{t("您", "you")}</span> })}
            </td>
            <td>
                <select
                    aria-label=label
                    data-testid="user-role"
                    disabled=u.is_self
                    prop:value=current.as_str()
                    on:change=move |ev| {
                        if let Some(role) = Role::parse(&event_target_value(&ev)) {
                            on_role.run((id, role));
                        }
                    }
                >
                    {[Role::Staff, Role::Manager, Role::Admin].into_iter().map(|r| view! {
                        <option value=r.as_str() selected={r == current}>{role_label(r)}</option>
                    }).collect_view()}
                </select>
            </td>
            <td data-testid="user-status" data-active=u.active.to_string()>
                {if u.active { t("启用", "active") } else { t("已停用", "disabled") }}
            </td>
            <td data-testid="user-last-sign-in">
                {u.last_sign_in_at.as_deref().map_or_else(|| "—".to_owned(), crate::time::shown)}
            </td>
            <td class="actions">
                {if u.active {
                    view! {
                        <button type="button" class="danger" data-testid="user-disable" disabled=u.is_self
                            on:click=move |_| on_disable.run(for_disable.clone())>
                            {t("停用", "Disable")}
                        </button>
                    }.into_any()
                } else {
                    view! {
                        <button type="button" data-testid="user-enable" on:click=move |_| on_enable.run(id)>
                            {t("启用", "Enable")}
                        </button>
                    }.into_any()
                }}
                <button type="button" data-testid="user-reset" disabled=u.is_self
                    on:click=move |_| on_reset.run(for_reset.clone())>
                    {t("重置密码", "Reset password")}
                </button>
            </td>
        </tr>
    }
}

/// The password reset: a dialog with the new password, which stays open on a refusal.
#[derive(Clone, Copy)]
struct ResetDialog {
    target: RwSignal<Option<ManagedUser>>,
    open: RwSignal<bool>,
    password: RwSignal<String>,
    action: Call<(i64, String), Result<(), AppError>>,
    notice: RwSignal<Option<String>>,
}

impl ResetDialog {
    fn new(notice: RwSignal<Option<String>>) -> Self {
        let d = ResetDialog {
            target: RwSignal::new(None),
            open: RwSignal::new(false),
            password: RwSignal::new(String::new()),
            action: Call::new(move |(id, p): &(i64, String)| reset_user_password(*id, p.clone())),
            notice,
        };
        let lang = use_lang();
        effect(move || {
            if let Some(Ok(())) = d.action.value().get() {
                let name = d
                    .target
                    .get_untracked()
                    .map(|u| u.username)
                    .unwrap_or_default();
                d.notice.set(Some(match lang.get_untracked() {
                    Lang::Zh => format!("已重置 {name} 的密码，其会话已结束"),
                    Lang::En => format!("{name}'s password is reset; their sessions ended"),
                }));
                d.password.set(String::new());
                d.open.set(false);
            }
        });
        d
    }

    fn open(self, user: ManagedUser) {
        self.action.value().set(None);
        self.password.set(String::new());
        self.target.set(Some(user));
        self.open.set(true);
    }

    fn view(self) -> impl IntoView {
        let lang = use_lang();
        let d = self;
        let message = Signal::derive(move || {
            let name = d.target.get().map(|u| u.username).unwrap_or_default();
            match lang.get() {
                Lang::Zh => format!(
                    "为 {name} 设置新密码（至少 8 个字符）。{name} 的所有会话将立即结束，需用新密码重新登录。"
                ),
                Lang::En => format!(
                    "Set a new password for {name} (at least 8 characters). All of {name}'s sessions end now; they sign in again with the new password."
                ),
            }
        });
        let error = Signal::derive(move || d.action.value().get().and_then(Result::err));
        let field = move || error.get().and_then(|e| e.field("password"));
        let general = Signal::derive(move || error.get().filter(|e| e.fields.is_empty()));
        let reset_title = t("重置密码？", "Reset the password?");
        let reset_label = t("重置密码", "Reset password");
        let confirm = Callback::new(move |_: ()| {
            if let Some(u) = d.target.get_untracked() {
                d.action.dispatch((u.id, d.password.get_untracked()));
            }
        });
        view! {
            <ConfirmDialog
                open=d.open
                id="reset-password-confirm"
                title=Signal::derive(move || reset_title().to_owned())
                message=message
                confirm_label=Signal::derive(move || reset_label().to_owned())
                on_confirm=confirm
                busy=d.action.pending()
            >
                <div class="field" class:invalid=move || field().is_some()>
                    <label for="f-reset-password">{t("新密码", "New password")}</label>
                    <input
                        id="f-reset-password"
                        type="password"
                        autocomplete="new-password"
                        data-testid="reset-password-input"
                        aria-invalid=move || field().is_some().to_string()
                        aria-describedby="reset-password-error"
                        prop:value=move || d.password.get()
                        on:input=move |ev| d.password.set(event_target_value(&ev))
                    />
                    {move || field().map(|m| view! {
                        <p class="field-error" role="alert" id="reset-password-error" data-testid="error-reset-password">{m}</p>
                    })}
                </div>
                <ErrorBanner error=general />
            </ConfirmDialog>
        }
    }
}

/// Adds a dashboard user (or gives an existing one a new password and role); the list above
/// is read again.
#[component]
fn AddUser(added: Callback<()>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new("staff".to_owned());
    let add = Call::new(move |(n, p, r): &(String, String, String)| {
        let (n, p, r) = (n.clone(), p.clone(), Role::parse(r).unwrap_or(Role::Staff));
        async move { add_user(n, p, r).await }
    });
    effect(move || {
        if let Some(Ok(())) = add.value().get() {
            name.set(String::new());
            password.set(String::new());
            added.run(());
            crate::browser::refresh();
        }
    });
    let error = Signal::derive(move || add.value().get().and_then(Result::err));
    view! {
        <div class="actions">
            <input aria-label="username" placeholder="username" data-testid="new-user-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
            <input aria-label="password" type="password" placeholder="password" autocomplete="new-password" data-testid="new-user-password" prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) />
            <select aria-label="role" data-testid="new-user-role" on:change=move |ev| role.set(event_target_value(&ev))>
                <option value="staff">{t("员工", "Staff")}</option>
                <option value="manager">{t("经理", "Manager")}</option>
                <option value="admin">{t("管理员", "Admin")}</option>
            </select>
            <button type="button" data-testid="add-user" disabled=move || add.pending().get() on:click=move |_| { add.dispatch((name.get_untracked(), password.get_untracked(), role.get_untracked())); }>{t("添加用户", "Add user")}</button>
            {move || matches!(add.value().get(), Some(Ok(()))).then(|| view! {
                <span class="ok" data-testid="user-added">{t("已添加", "Added")}</span>
            })}
        </div>
        <ErrorBanner error=Signal::derive(move || error.get().map(|e: AppError| AppError {
            message: e.fields.first().map(|f| f.message.clone()).unwrap_or(e.message),
            ..e
        })) />
    }
}
