import { test, expect, follow, hydrated, login, unique, PASSWORD } from "./fixtures";

// Refused input and refused sign-ins answer 4xx, which the browser reports on the console.
test.use({ expectedConsoleErrors: [/status of 4\d\d/] });

/** Creates a referrer through the list's form. */
async function createReferrer(page, name: string) {
  await page.getByTestId("input-name").fill(name);
  await page.getByTestId("create-referrer").click();
  await expect(page.getByTestId("input-name")).toHaveValue("");
}

test("an archived referrer is restored from its page and from the list", async ({ page }) => {
  await login(page);
  await follow(page, "nav-referrers");
  const name = unique("恢复");
  await createReferrer(page, name);
  await page.getByTestId("referrer-search").fill(name);
  await expect(page.getByTestId("referrer-link")).toHaveCount(1);
  await follow(page, "referrer-link");

  // Archiving asks first: a labelled alert dialog takes the focus; Escape cancels and gives
  // the focus back.
  const archive = page.getByTestId("archive-referrer");
  await archive.click();
  const dialog = page.getByRole("alertdialog", { name: "归档推荐人？" });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText(name);
  await expect(page.getByTestId("confirm-cancel")).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(archive).toBeFocused();
  await expect(page.getByTestId("referrer-name")).not.toContainText("已归档");

  await archive.click();
  await dialog.getByTestId("confirm-ok").click();
  await expect(page.getByTestId("referrer-name")).toContainText("已归档");
  await hydrated(page);
  await page.getByTestId("restore-referrer").click();
  await expect(page.getByTestId("archive-referrer")).toBeVisible();
  await expect(page.getByTestId("referrer-name")).not.toContainText("已归档");
  await hydrated(page);

  // Archived again, then restored from the list with archived referrers shown.
  await page.getByTestId("archive-referrer").click();
  await page.getByTestId("confirm-ok").click();
  await expect(page.getByTestId("referrer-name")).toContainText("已归档");
  await page.goto(`/referrers?q=${encodeURIComponent(name)}`);
  await hydrated(page);
  await expect(page.getByTestId("referrers-empty")).toBeVisible();
  await page.getByTestId("referrer-archived").check();
  await expect(page.getByTestId("referrer-row")).toHaveCount(1);
  await page.getByTestId("row-restore").click();
  await expect(page.getByTestId("restore-ok")).toContainText(name);
  await expect(page.getByTestId("row-restore")).toHaveCount(0);
  await expect(page.getByTestId("referrer-row")).not.toContainText("已归档");
});

test("two referrers are tagged, then archived after a confirmation", async ({ page }) => {
  await login(page);
  await follow(page, "nav-referrers");
  const group = unique("批量");
  await createReferrer(page, `${group}甲`);
  await createReferrer(page, `${group}乙`);
  await page.getByTestId("referrer-search").fill(group);
  await expect(page.getByTestId("referrer-row")).toHaveCount(2);
  const count = page.getByTestId("bulk-count");
  await expect(count).toContainText("未选择");
  await expect(page.getByTestId("bulk-archive")).toBeDisabled();

  await page.getByTestId("row-select").nth(0).check();
  await expect(count).toHaveText("已选 1 位");
  await page.getByTestId("select-all").check();
  await expect(count).toHaveText("已选 2 位");

  // An invalid tag is refused at the field; nothing changes.
  await page.getByTestId("bulk-tag-input").fill("标".repeat(21));
  await page.getByTestId("bulk-tag").click();
  await expect(page.getByTestId("bulk-tag-error")).toBeVisible();
  await expect(page.getByTestId("bulk-tag-input")).toHaveAttribute("aria-invalid", "true");

  const tag = unique("金牌").slice(0, 12);
  await page.getByTestId("bulk-tag-input").fill(tag);
  await page.getByTestId("bulk-tag").click();
  await expect(page.getByTestId("bulk-result")).toHaveText(`已为 2 位添加标签「${tag}」`);
  for (const row of await page.getByTestId("referrer-row").all()) {
    await expect(row).toContainText(tag);
  }
  // The refreshed rows are still picked.
  await expect(count).toHaveText("已选 2 位");
  await expect(page.getByTestId("row-select").nth(1)).toBeChecked();

  await page.getByTestId("bulk-archive").click();
  const dialog = page.getByRole("alertdialog", { name: "归档推荐人？" });
  await expect(dialog).toContainText("2 位");
  await expect(page.getByTestId("confirm-cancel")).toBeFocused();
  await dialog.getByTestId("confirm-ok").click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId("bulk-result")).toHaveText("已归档 2 位");
  await expect(page.getByTestId("referrers-empty")).toBeVisible();
  await expect(count).toContainText("未选择");

  // Shown again with the archived ones: both can be restored together.
  await page.getByTestId("referrer-archived").check();
  await expect(page.getByTestId("referrer-row")).toHaveCount(2);
  await page.getByTestId("select-all").check();
  await page.getByTestId("bulk-restore").click();
  await expect(page.getByTestId("bulk-result")).toHaveText("已恢复 2 位");
  await expect(page.getByTestId("row-restore")).toHaveCount(0);
});

test("staff see no bulk actions", async ({ page }) => {
  await login(page, "e2e-staff");
  await follow(page, "nav-referrers");
  await expect(page.getByTestId("new-referrer-form")).toBeVisible();
  await expect(page.getByTestId("bulk-bar")).toHaveCount(0);
  await expect(page.getByTestId("row-select")).toHaveCount(0);
});

test("an admin changes a fresh user's role, resets their password and disables them", async ({ page, browser }) => {
  await login(page);
  await follow(page, "nav-settings");
  const name = unique("e2e-u");
  await page.getByTestId("new-user-name").fill(name);
  await page.getByTestId("new-user-password").fill(PASSWORD);
  await page.getByTestId("add-user").click();
  const row = page.locator(`[data-testid="user-row"][data-username="${name}"]`);
  await expect(row).toBeVisible();
  await expect(row.getByTestId("user-role")).toHaveValue("staff");
  await expect(row.getByTestId("user-last-sign-in")).toHaveText("—");
  // The admin's own row cannot lock them out.
  const own = page.locator('[data-testid="user-row"][data-username="e2e-admin"]');
  await expect(own.getByTestId("user-disable")).toBeDisabled();
  await expect(own.getByTestId("user-role")).toBeDisabled();

  await row.getByTestId("user-role").selectOption("manager");
  await expect(page.getByTestId("users-message")).toContainText(name);
  await page.reload();
  await hydrated(page);
  await expect(row.getByTestId("user-role")).toHaveValue("manager");

  // The new user signs in elsewhere; a password reset ends that session.
  const other = await browser.newContext();
  const theirs = await other.newPage();
  await theirs.goto("/login");
  await hydrated(theirs);
  await theirs.getByTestId("input-username").fill(name);
  await theirs.getByTestId("input-password").fill(PASSWORD);
  await theirs.getByTestId("login-submit").click();
  await expect(theirs.getByTestId("user-name")).toContainText(name);

  await row.getByTestId("user-reset").click();
  const reset = page.getByRole("alertdialog", { name: "重置密码？" });
  await expect(reset).toBeVisible();
  await expect(page.getByTestId("reset-password-input")).toBeFocused();
  await page.getByTestId("reset-password-input").fill("short");
  await reset.getByTestId("confirm-ok").click();
  await expect(page.getByTestId("error-reset-password")).toBeVisible();
  await expect(reset).toBeVisible();
  await page.getByTestId("reset-password-input").fill("e2e-password-2");
  await reset.getByTestId("confirm-ok").click();
  await expect(reset).toBeHidden();
  await expect(page.getByTestId("users-message")).toContainText("已重置");
  await theirs.reload();
  await expect(theirs).toHaveURL(/\/login/);

  // Disabling asks first, then the user cannot sign in.
  await row.getByTestId("user-disable").click();
  const disable = page.getByRole("alertdialog", { name: "停用用户？" });
  await expect(disable).toContainText(name);
  await disable.getByTestId("confirm-ok").click();
  await expect(row.getByTestId("user-status")).toHaveText("已停用");
  await expect(row.getByTestId("user-enable")).toBeVisible();
  await hydrated(theirs);
  await theirs.getByTestId("input-username").fill(name);
  await theirs.getByTestId("input-password").fill("e2e-password-2");
  await theirs.getByTestId("login-submit").click();
  await expect(theirs.getByTestId("error-banner")).toContainText("停用");
  await other.close();
});
