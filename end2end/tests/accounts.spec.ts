import { test, expect, follow, hydrated, login, unique } from "./fixtures";

// Refused input answers 422, which the browser reports on the console.
test.use({ expectedConsoleErrors: [/status of 4\d\d/] });

test("an admin adds an account, works in it, and its referrers stay in it", async ({ page }) => {
  test.slow();
  await login(page);
  // A login opens the user's first account.
  const first = ((await page.getByTestId("account-name").textContent()) ?? "").trim();
  expect(first).not.toBe("");

  await follow(page, "nav-settings");
  await expect(page.getByTestId("accounts")).toBeVisible();
  // The first account's WeChat settings come from the server's environment: only its name.
  await expect(page.getByTestId("account-env-note")).toBeVisible();
  await expect(page.getByTestId("account-form-appid")).toHaveCount(0);

  // A bad EncodingAESKey: the field's message, nothing created.
  const name = unique("分店");
  await page.getByTestId("account-new-name").fill(name);
  await page.getByTestId("account-new-mode").selectOption("sandbox");
  await page.getByTestId("account-new-encoding_aes_key").fill("short");
  await page.getByTestId("account-create").click();
  await expect(page.getByTestId("account-new-encoding_aes_key-error")).toBeVisible();
  await expect(page.getByTestId("account-created")).toHaveCount(0);

  // Without the key it is created, with its own callback path.
  await page.getByTestId("account-new-encoding_aes_key").fill("");
  await page.getByTestId("account-create").click();
  const created = page.getByTestId("account-created");
  await expect(created).toContainText(name);
  await expect(created).toContainText(/\/wechat\/callback\/\d+/);
  const id = /\/wechat\/callback\/(\d+)/.exec((await created.textContent()) ?? "")?.[1];
  expect(id).toBeTruthy();
  await expect(page.getByTestId("account-new-encoding_aes_key-error")).toHaveCount(0);
  // The list refreshed in place: one row of that name (the refused attempt made none).
  const row = page.getByTestId("account-row").filter({ hasText: name });
  await expect(row).toHaveCount(1);
  await expect(row.locator("td").first()).toHaveText(id!);
  await expect(row.getByTestId("account-callback")).toHaveText(new RegExp(`/wechat/callback/${id}$`));
  await expect(row).toContainText("沙盒");

  // The header's switcher lists it after a reload; choosing it opens the overview there.
  await page.reload();
  await hydrated(page);
  const switcher = page.getByTestId("account-switch");
  // The select is labelled, and the current account is the one chosen.
  await expect(page.getByLabel("公众号", { exact: true })).toHaveValue(await switcher.inputValue());
  await expect(switcher.locator("option:checked")).toHaveText(first);
  await switcher.selectOption({ label: name });
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
  await expect(page.getByTestId("account-name")).toHaveText(name);

  // Its own settings can be edited (it is not configured by the environment).
  await follow(page, "nav-settings");
  await expect(page.getByTestId("account-form-name")).toHaveValue(name);
  await expect(page.getByTestId("account-form-appid")).toBeVisible();
  await expect(page.getByTestId("account-form-appsecret")).toHaveAttribute("type", "password");
  await page.getByTestId("account-form-original_id").fill("gh_bad!");
  await page.getByTestId("account-save").click();
  await expect(page.getByTestId("account-form-original_id-error")).toBeVisible();
  await page.getByTestId("account-form-original_id").fill("");
  await page.getByTestId("account-save").click();
  await expect(page.getByTestId("account-saved")).toBeVisible();

  // A referrer made here is listed here…
  await follow(page, "nav-referrers");
  const referrer = unique("分店推荐人");
  await page.getByTestId("input-name").fill(referrer);
  await page.getByTestId("create-referrer").click();
  await expect(page.getByTestId("created-ok")).toBeVisible();
  await page.getByTestId("referrer-search").fill(referrer);
  await expect(page.getByTestId("referrer-link")).toHaveCount(1);
  await expect(page.getByTestId("referrer-link")).toHaveText(referrer);

  // …and not in the first account.
  await page.getByTestId("account-switch").selectOption({ label: first });
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
  await expect(page.getByTestId("account-name")).toHaveText(first);
  await page.goto(`/referrers?q=${encodeURIComponent(referrer)}`);
  await hydrated(page);
  await expect(page.getByTestId("referrer-search")).toHaveValue(referrer);
  await expect(page.getByTestId("referrers-empty")).toBeVisible();
  await expect(page.getByTestId("referrer-link")).toHaveCount(0);
});

test("someone who works in one account sees its name and no switcher", async ({ page }) => {
  await login(page, "e2e-staff");
  await expect(page.getByTestId("account-name")).toBeVisible();
  await expect(page.getByTestId("account-name")).toHaveText(/\S/);
  await expect(page.getByTestId("account-switch")).toHaveCount(0);
});
