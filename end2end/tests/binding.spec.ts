import { test, expect, follow, login, unique } from "./fixtures";

test("staff show a binding code and the referrer's scan binds their WeChat", async ({ page }) => {
  await login(page, "e2e-staff");
  await follow(page, "nav-referrers");
  const name = unique("绑定人");
  await page.getByTestId("input-name").fill(name);
  await page.getByTestId("create-referrer").click();
  await page.getByTestId("referrer-search").fill(name);
  await expect(page.getByTestId("referrer-link")).toHaveCount(1);
  await follow(page, "referrer-link");
  await expect(page.getByTestId("notices-empty")).toContainText("未绑定微信");

  await page.getByTestId("bind-create").click();
  const code = page.getByTestId("bind-code");
  await expect(code.locator("svg")).toBeVisible();
  await expect(page.getByTestId("bind-expires")).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d$/);
  const url = await code.getAttribute("data-url");
  expect(url).toBeTruthy();

  // The referrer scans it with their own WeChat (the simulator reads the QR's address).
  const scanned = await page.request.post("/sandbox/simulate/scan", {
    data: { code_url: url, user: unique("me") },
  });
  expect(scanned.ok()).toBeTruthy();
  const reply = (await scanned.json()).reply as string;
  expect(reply).toContain("绑定成功");
  expect(reply).toContain(name);

  await page.reload();
  await expect(page.getByTestId("notices-empty")).toContainText("还没有发过通知");
  await expect(page.getByTestId("input-openid")).toHaveValue(/^oSBX_me/);
});
