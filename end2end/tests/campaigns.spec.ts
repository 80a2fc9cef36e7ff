import type { Page } from "@playwright/test";
import { test, expect, follow, hydrated, login, unique } from "./fixtures";

// A refused form is answered 422 and staff opening the page 403; the browser reports both.
test.use({ expectedConsoleErrors: [/status of (403|422)/] });

/** Plays a WeChat user in the sandbox; the simulator's reply. */
async function simulate(page: Page, what: "follow" | "text" | "scan", data: object) {
  const res = await page.request.post(`/sandbox/simulate/${what}`, { data });
  expect(res.ok(), `${what}: ${await res.text()}`).toBeTruthy();
  return res.json();
}

test("a manager starts a campaign, lays out its poster, stocks coupons, and a member's two friends earn one", async ({ page }) => {
  test.setTimeout(90_000);
  await login(page, "e2e-manager");
  await follow(page, "nav-campaigns");
  const name = unique("助力");
  const keyword = unique("kw");

  // The form: one milestone; a second one added and removed again.
  await page.getByTestId("input-name").fill(name);
  await page.getByTestId("input-keyword").fill(keyword);
  const rows = page.getByTestId("milestone-row");
  await expect(rows).toHaveCount(1);
  await rows.getByTestId("milestone-goal").fill("2");
  await rows.getByTestId("milestone-kind").selectOption("coupon");
  await rows.getByTestId("milestone-reward-name").fill("10 元代金券");
  await page.getByTestId("milestone-add").click();
  await expect(rows).toHaveCount(2);
  await rows.nth(1).getByTestId("milestone-kind").selectOption("link");
  await expect(rows.nth(1).getByTestId("milestone-link")).toBeVisible();
  await rows.nth(1).getByTestId("milestone-remove").click();
  await expect(rows).toHaveCount(1);
  await page.screenshot({ path: "test-results/campaigns-form.png", fullPage: true });
  await page.getByTestId("campaign-create").click();

  // Its page: running, nobody yet.
  await page.waitForURL(/\/campaigns\/\d+$/);
  await hydrated(page);
  const url = new URL(page.url()).pathname;
  const id = url.split("/").pop();
  await expect(page.getByTestId("campaign-name")).toContainText(name);
  await expect(page.getByTestId("campaign-status")).toHaveAttribute("data-status", "running");
  await expect(page.getByTestId("board-participants")).toHaveText("0");
  await expect(page.getByTestId("rewards-empty")).toBeVisible();

  // The editor: the preview's QR code follows its x (750 px drawn at 300: 215 → 86, 100 → 40).
  const qr = page.getByTestId("preview-qr");
  await expect(qr).toHaveAttribute("style", /left: 86\.0px/);
  await page.getByTestId("input-layout-qr-x").fill("100");
  await expect(qr).toHaveAttribute("style", /left: 40\.0px/);
  await expect(page.getByTestId("preview-text")).toHaveText("小王 邀请你扫码关注");
  await page.getByTestId("editor-save").click();
  await expect(page.getByTestId("editor-saved")).toBeVisible();
  const poster = await page.request.get(`/api/v1/campaigns/${id}/poster-preview.png`);
  expect(poster.status()).toBe(200);
  expect(poster.headers()["content-type"]).toContain("image/png");
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("input-layout-qr-x")).toHaveValue("100");

  // Two coupon codes, uploaded by the plain form.
  await page.getByTestId("coupons-file").setInputFiles({
    name: "codes.csv",
    mimeType: "text/csv",
    buffer: Buffer.from("code\nE2E-1\nE2E-2\n"),
  });
  await page.getByTestId("coupons-upload").click();
  await page.waitForURL(/uploaded=coupons/);
  await hydrated(page);
  await expect(page.getByTestId("upload-status")).toHaveAttribute("data-added", "2");
  await expect(page.getByTestId("upload-status")).toContainText("已添加 2");
  await expect(page.getByTestId("standing-remaining")).toHaveText("2");

  // A follower names themselves and joins by the keyword; two friends follow through their code.
  const member = unique("cm");
  const memberName = unique("小王");
  await simulate(page, "follow", { user: member });
  await simulate(page, "text", { user: member, content: `我叫 ${memberName}` });
  await simulate(page, "text", { user: member, content: keyword });
  let code: number | undefined;
  await expect
    .poll(
      async () => {
        const codes = (await (await page.request.post("/sfn/sandbox/codes")).json()) as {
          id: number;
          referrer_name: string;
        }[];
        code = codes.find((c) => c.referrer_name === memberName)?.id;
        return code;
      },
      { timeout: 15_000 },
    )
    .toBeTruthy();
  for (const friend of [unique("fa"), unique("fb")]) {
    await simulate(page, "scan", { qrcode_id: code, user: friend });
  }

  // Counted after the replies, by the worker: the board shows it once done.
  await expect(async () => {
    await page.goto(url);
    await expect(page.getByTestId("board-participants")).toHaveText("1", { timeout: 1000 });
    await expect(page.getByTestId("board-credited")).toHaveText("2", { timeout: 1000 });
    await expect(page.getByTestId("reward-row")).toHaveCount(1, { timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  await hydrated(page);
  const reward = page.getByTestId("reward-row");
  await expect(reward).toHaveAttribute("data-status", "issued");
  await expect(reward.getByTestId("reward-code")).toHaveText("E2E-1");
  await expect(reward).toContainText(memberName);
  await expect(page.getByTestId("top-link")).toHaveText(memberName);
  await expect(page.getByTestId("standing-issued")).toHaveText("1");
  await expect(page.getByTestId("standing-remaining")).toHaveText("1");
  await page.screenshot({ path: "test-results/campaign-page.png", fullPage: true });

  // Stopping asks first; then the campaign has ended.
  await page.getByTestId("campaign-stop").click();
  await expect(page.getByTestId("confirm-dialog")).toContainText(name);
  await page.getByTestId("confirm-ok").click();
  await expect(page.getByTestId("campaign-status")).toHaveAttribute("data-status", "ended");
  await hydrated(page);
  await expect(page.getByTestId("campaign-stop")).toHaveCount(0);
  await follow(page, "campaigns-back");
  const listed = page.getByTestId("campaign-row").filter({ hasText: name });
  await expect(listed).toHaveAttribute("data-status", "ended");
  await expect(listed.getByTestId("campaign-status")).toContainText("已手动结束");
});

test("a campaign without a name is refused next to the field and not created", async ({ page }) => {
  await login(page, "e2e-manager");
  await follow(page, "nav-campaigns");
  const keyword = unique("kw");
  await page.getByTestId("input-keyword").fill(keyword);
  await page.getByTestId("milestone-reward-name").fill("到店礼品");
  await page.getByTestId("campaign-create").click();
  await expect(page.getByTestId("error-name")).toBeVisible();
  await expect(page.getByTestId("campaign-invalid")).toBeVisible();
  await expect(page.getByTestId("error-keyword")).toHaveCount(0);
  await expect(page).toHaveURL(/\/campaigns$/);
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("campaign-row").filter({ hasText: keyword })).toHaveCount(0);
});

test("staff are refused the campaigns", async ({ page }) => {
  await login(page, "e2e-staff");
  await expect(page.getByTestId("nav-campaigns")).toHaveCount(0);
  await page.goto("/campaigns");
  await hydrated(page);
  await expect(page.getByTestId("campaigns-forbidden")).toBeVisible();
  await expect(page.getByTestId("campaign-form")).toHaveCount(0);
});
