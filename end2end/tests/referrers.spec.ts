import { test, expect, follow, hydrated, login, unique } from "./fixtures";

// Refused logins, roles and invalid input answer 4xx, which the browser reports on the console.
test.use({ expectedConsoleErrors: [/status of 4\d\d/] });

test("create a referrer, then a QR code, download its PNG and open the poster", async ({ page, context }) => {
  await login(page);
  await follow(page, "nav-referrers");
  await expect(page.getByTestId("new-referrer-form")).toBeVisible();

  // Invalid input: field-level messages, nothing created.
  await page.getByTestId("input-phone").fill("call me");
  await page.getByTestId("create-referrer").click();
  await expect(page.getByTestId("error-name")).toBeVisible();
  await expect(page.getByTestId("error-phone")).toBeVisible();

  const name = unique("李雷");
  await page.getByTestId("input-name").fill(name);
  await page.getByTestId("input-phone").fill("13800138000");
  await page.getByTestId("input-tags").fill("门店A, 金牌");
  await page.getByTestId("create-referrer").click();
  await expect(page.getByTestId("created-ok")).toBeVisible();
  await page.getByTestId("referrer-search").fill(name);
  // Other specs' referrers are in the list until the search applies.
  await expect(page.getByTestId("referrer-link")).toHaveCount(1);
  await expect(page.getByTestId("referrer-link")).toHaveText(name);
  // The list was refreshed in place (the form's message is still there), and the search is in
  // the address, so a reload shows the same list.
  await expect(page.getByTestId("created-ok")).toBeVisible();
  await expect(page).toHaveURL(/\/referrers\?q=/);
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("referrer-search")).toHaveValue(name);
  await expect(page.getByTestId("referrer-link")).toHaveCount(1);
  await follow(page, "referrer-link");
  await expect(page.getByTestId("referrer-name")).toContainText(name);
  await expect(page.getByTestId("codes-empty")).toBeVisible();

  await page.getByTestId("input-label").fill("门店海报");
  await page.getByTestId("create-code").click();
  await expect(page.getByTestId("code-card")).toHaveCount(1);
  await expect(page.getByTestId("code-card").locator("svg")).toBeVisible();
  await page.screenshot({ path: "test-results/referrer-detail.png", fullPage: true });

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByTestId("download-png").click(),
  ]);
  const path = await download.path();
  expect(path).toBeTruthy();
  const fs = await import("node:fs");
  const bytes = fs.readFileSync(path!);
  expect(bytes.subarray(1, 4).toString()).toBe("PNG");

  const [poster] = await Promise.all([
    context.waitForEvent("page"),
    page.getByTestId("poster-link").click(),
  ]);
  await expect(poster.getByTestId("poster")).toContainText(name);
  await poster.screenshot({ path: "test-results/poster.png", fullPage: true });
});

test("batch creation shows progress", async ({ page }) => {
  await login(page);
  await follow(page, "nav-referrers");
  for (const n of [unique("批量甲"), unique("批量乙")]) {
    await page.getByTestId("input-name").fill(n);
    await page.getByTestId("create-referrer").click();
    await expect(page.getByTestId("input-name")).toHaveValue("");
  }
  await follow(page, "nav-qrcodes");
  const before = Number(await page.getByTestId("quota-used").textContent());
  const listed = await page.getByTestId("zip-check").count();
  const boxes = page.getByTestId("batch-check");
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  await page.getByTestId("batch-create").click();
  await expect(page.getByTestId("batch-status")).toHaveText("2 / 2");
  await expect(page.getByTestId("quota-used")).toHaveText(String(before + 2));
  // The ZIP list below lists the new codes without a reload (up to its 500).
  await expect(page.getByTestId("zip-check")).toHaveCount(Math.min(listed + 2, 500));
  await page.screenshot({ path: "test-results/batch.png", fullPage: true });
});

test("the search waits for an input method to finish composing", async ({ page }) => {
  await login(page);
  await follow(page, "nav-referrers");
  const name = unique("拼音");
  await page.getByTestId("input-name").fill(name);
  await page.getByTestId("create-referrer").click();
  await expect(page.getByTestId("created-ok")).toBeVisible();
  const search = page.getByTestId("referrer-search");
  // Mid-composition the box holds pinyin: nothing applies, even after the typing pause (300 ms;
  // the wait below is that pause with room to spare, not a timing measurement).
  await search.evaluate((el: HTMLInputElement) => {
    el.value = "pin";
    el.dispatchEvent(new InputEvent("input", { bubbles: true, isComposing: true, data: "pin" }));
  });
  await page.waitForTimeout(1000);
  await expect(page).toHaveURL(/\/referrers$/);
  // The composition ends with the characters: the search applies.
  await search.evaluate((el: HTMLInputElement, value: string) => {
    el.value = value;
    el.dispatchEvent(new InputEvent("input", { bubbles: true, isComposing: true, data: value }));
    el.dispatchEvent(new CompositionEvent("compositionend", { bubbles: true, data: value }));
  }, name);
  await expect(page).toHaveURL(/\/referrers\?q=/);
  await expect(page.getByTestId("referrer-link")).toHaveCount(1);
  await expect(page.getByTestId("referrer-link")).toHaveText(name);
});
