import { test, expect, follow, login, unique } from "./fixtures";

// Refused requests (no such follower: 404; a retention out of range: 422) are reported by the
// browser on the console.
test.use({ expectedConsoleErrors: [/status of (404|422)/] });

test("an admin erases a follower on request, after confirming", async ({ page }) => {
  const user = unique("forget");
  const followed = await page.request.post("/sandbox/simulate/follow", { data: { user } });
  expect(followed.ok()).toBeTruthy();
  await login(page, "e2e-admin");
  await follow(page, "nav-privacy");
  const before = Number(await page.getByTestId("privacy-erased").textContent());

  await page.getByTestId("input-openid").fill(`oSBX_${user}`);
  await page.getByTestId("input-reason").fill("用户来电要求删除");
  await page.getByTestId("erase-submit").click();
  const dialog = page.getByTestId("confirm-dialog");
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText(`oSBX_${user}`);
  // Escape cancels: nothing is erased.
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await page.getByTestId("erase-submit").click();
  await page.getByTestId("confirm-ok").click();
  await expect(page.getByTestId("erase-done")).toContainText("已删除");
  await expect(page.getByTestId("input-openid")).toHaveValue("");
  await page.reload();
  await expect(page.getByTestId("privacy-erased")).toHaveText(String(before + 1));

  // The same openid again: nobody is found, and the form says so.
  await page.getByTestId("input-openid").fill(`oSBX_${user}`);
  await page.getByTestId("input-reason").fill("again");
  await page.getByTestId("erase-submit").click();
  await page.getByTestId("confirm-ok").click();
  await expect(page.getByRole("alert")).toContainText("未找到");
});

test("the retention period is checked and saved", async ({ page }) => {
  await login(page, "e2e-admin");
  await follow(page, "nav-privacy");
  await page.getByTestId("input-retention_days").fill("3");
  await page.getByTestId("retention-save").click();
  await expect(page.getByTestId("error-retention_days")).toContainText("7 到 3650");
  await page.getByTestId("input-retention_days").fill("90");
  await page.getByTestId("retention-save").click();
  await expect(page.getByTestId("retention-saved")).toBeVisible();
  await page.reload();
  await expect(page.getByTestId("input-retention_days")).toHaveValue("90");
});

test("managers do not see the privacy page", async ({ page }) => {
  await login(page, "e2e-manager");
  await expect(page.getByTestId("nav-privacy")).toHaveCount(0);
});
