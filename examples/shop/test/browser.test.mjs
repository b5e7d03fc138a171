// The shop's front end and back end together in headless Chromium, against `harness serve`:
// for each PG a card payment, a declined card, a cancelled window, a virtual account issued
// then deposited, and a billing key, through the iframe, popup and redirect windows; and
// Toss's easy pay.
//
// HARNESS_BIN names the harness binary (default: the workspace's target/debug/harness),
// CHROMIUM the browser (default /usr/bin/chromium), SCREENSHOT_DIR where each window step's
// screenshot goes (default target/browser-screenshots).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

import { PRICES, startShop } from "../shop.mjs";

const workspace = fileURLToPath(new URL("../../../", import.meta.url));
const screenshots = process.env.SCREENSHOT_DIR ?? join(workspace, "target", "browser-screenshots");
mkdirSync(screenshots, { recursive: true });

let sandbox;
let doc;
let shop;
let browser;

before(async () => {
  const bin = process.env.HARNESS_BIN ?? join(workspace, "target", "debug", "harness");
  sandbox = spawn(
    bin,
    ["serve", "--json", "--payments-port", "0", "--iamport-port", "0", "--toss-port", "0", "--portone-port", "0", "--inbox-port", "0"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: sandbox.stdout });
  doc = JSON.parse(
    await new Promise((resolve, reject) => {
      lines.once("line", resolve);
      sandbox.once("exit", (code) => reject(new Error(`harness serve exited with ${code}`)));
      sandbox.once("error", reject);
    }),
  );
  lines.on("line", () => {});
  shop = await startShop(doc);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox"],
  });
});

after(async () => {
  await browser?.close();
  await shop?.close();
  if (sandbox && sandbox.exitCode === null) {
    const exited = new Promise((resolve) => sandbox.once("exit", resolve));
    sandbox.kill("SIGINT");
    await exited;
  }
});

/** A fresh page of the shop's `pg` page, showing its windows as `mode` says. */
async function shopPage(pg, mode) {
  const context = await browser.newContext({ viewport: { width: 900, height: 760 } });
  const page = await context.newPage();
  await page.goto(`${shop.url}/${pg}.html?mode=${mode}`);
  return page;
}

/** Clicks `button` and finds the payment window: an iframe, a popup, or the page itself. */
async function openWindow(page, button, mode) {
  if (mode === "popup") {
    const [popup] = await Promise.all([page.waitForEvent("popup"), page.click(button)]);
    await popup.locator("#order-name").waitFor();
    return { window: popup, view: popup };
  }
  await page.click(button);
  if (mode === "redirect") {
    await page.waitForURL(/\/checkout\?/);
    await page.locator("#order-name").waitFor();
    return { window: page, view: page };
  }
  const frame = page.frameLocator('iframe[title="Payment window"]');
  await frame.locator("#order-name").waitFor();
  return { window: frame, view: page };
}

async function snap(view, name) {
  await view.screenshot({ path: join(screenshots, `${name}.png`) });
}

/** The outcome the shop shows once the window is done (after any redirect). */
async function outcome(page) {
  const result = page.locator("#result:not(:empty)");
  await result.waitFor({ timeout: 15000 });
  return JSON.parse(await result.textContent());
}

/** Goes through a payment window: the card number or bank, then Pay (or Cancel). */
async function payIn(page, { pg, button, mode, card, bank, cancel, name }) {
  const { window, view } = await openWindow(page, button, mode);
  await snap(view, `${name}-1-window`);
  if (card !== undefined) await window.getByLabel("Card number").fill(card);
  if (bank !== undefined) await window.getByLabel("Bank").selectOption(bank);
  await snap(view, `${name}-2-filled`);
  if (cancel) {
    await window.getByRole("button", { name: /Cancel/ }).click();
  } else {
    await window.getByRole("button", { name: /Pay|Register card/ }).click();
  }
  const result = await outcome(page);
  await snap(page, `${name}-3-${pg}-shop`);
  return result;
}

/** The inbox's delivery of the client event for `sourceId`, waited for. */
async function delivery(sourceId) {
  const response = await fetch(`${doc.admin.url}/inbox/wait?source_id=${encodeURIComponent(sourceId)}&timeout_ms=15000`);
  assert.equal(response.status, 200, `no event for ${sourceId}`);
  return response.json();
}

/** The customer pays into a virtual account: the fakes' deposit control, as the bank. */
const deposit = {
  async toss(paymentKey) {
    const toss = doc.fakes.toss;
    const auth = Buffer.from(`${toss.credentials.secret_key}:`).toString("base64");
    return fetch(`${toss.url}/internal/${paymentKey}/deposit`, { method: "PUT", headers: { authorization: `Basic ${auth}` } });
  },
  async iamport(impUid) {
    const iamport = doc.fakes.iamport;
    const token = await (
      await fetch(`${iamport.url}/users/getToken`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(iamport.credentials),
      })
    ).json();
    return fetch(`${iamport.url}/internal/deposit/${impUid}`, {
      method: "PUT",
      headers: { authorization: token.response.access_token },
    });
  },
  async portone(paymentId) {
    const portone = doc.fakes.portone;
    return fetch(`${portone.url}/internal/payments/${paymentId}/deposit`, {
      method: "POST",
      headers: { authorization: `PortOne ${portone.credentials.api_secret}` },
    });
  },
};

const GOOD_CARD = "4330 1234 1234 1234";
const DECLINED_CARD = "4000 0000 0000 0002";
const BANKS = { toss: "국민", iamport: "004", portone: "KOOKMIN" };
// Each PG's windows are tried in each form the real SDK offers.
const MODES = {
  toss: { card: "iframe", declined: "redirect", cancel: "popup", vbank: "iframe", billing: "redirect" },
  iamport: { card: "popup", declined: "iframe", cancel: "redirect", vbank: "iframe", billing: "iframe" },
  portone: { card: "redirect", declined: "popup", cancel: "iframe", vbank: "iframe", billing: "iframe" },
};

for (const pg of ["toss", "iamport", "portone"]) {
  test(`${pg}: a card payment is confirmed by the backend and stored`, async () => {
    const mode = MODES[pg].card;
    const page = await shopPage(pg, mode);
    const result = await payIn(page, { pg, button: "#pay-card", mode, card: GOOD_CARD, name: `${pg}-card-${mode}` });
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(result.record.price, PRICES[pg]);
    assert.ok(result.record.paid_at, "the payment is not paid");
    if (pg === "toss") assert.match(page.url(), /\/toss\/success\?/);
    await page.context().close();
  });

  test(`${pg}: a declined card fails with the card's code and stores nothing`, async () => {
    const mode = MODES[pg].declined;
    const page = await shopPage(pg, mode);
    const result = await payIn(page, { pg, button: "#pay-card", mode, card: DECLINED_CARD, name: `${pg}-declined-${mode}` });
    assert.equal(result.ok, false, JSON.stringify(result));
    if (pg === "toss") {
      // The wrong card leads to failUrl, with the code the fake documents for it.
      assert.match(page.url(), /\/toss\/fail\?/);
      assert.equal(result.code, "REJECT_CARD_COMPANY");
    } else if (pg === "iamport") {
      assert.equal(result.code, "PAYMENT_FAILED");
      assert.match(result.message, /카드 승인에 실패/);
    } else {
      assert.ok(result.code, JSON.stringify(result));
    }
    await page.context().close();
  });

  test(`${pg}: a cancelled window reports the PG's cancel code`, async () => {
    const mode = MODES[pg].cancel;
    const page = await shopPage(pg, mode);
    const result = await payIn(page, { pg, button: "#pay-card", mode, cancel: true, name: `${pg}-cancel-${mode}` });
    assert.equal(result.ok, false, JSON.stringify(result));
    const expected = { toss: "PAY_PROCESS_CANCELED", iamport: "USER_CANCEL", portone: "FAILURE_TYPE_PG" }[pg];
    assert.equal(result.code, expected);
    if (pg === "portone") assert.match(result.message, /PAY_PROCESS_CANCELED/);
    await page.context().close();
  });

  test(`${pg}: a virtual account is issued, then the deposit reaches the shop's webhook`, async () => {
    const mode = MODES[pg].vbank;
    const page = await shopPage(pg, mode);
    const result = await payIn(page, { pg, button: "#pay-vbank", mode, bank: BANKS[pg], name: `${pg}-vbank-${mode}` });
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(result.record.paid_at, null, "a virtual account is paid before the deposit");
    const paid = await deposit[pg](result.record.vendor.uid);
    assert.equal(paid.status, 200, await paid.text());
    const event = await delivery(result.record.source.id);
    assert.equal(event.signature_valid, true);
    assert.ok(event.event.current.paid_at, JSON.stringify(event.event));
    await page.context().close();
  });

  test(`${pg}: a card registered in the window is stored as a billing key`, async () => {
    const mode = MODES[pg].billing;
    const page = await shopPage(pg, mode);
    const result = await payIn(page, { pg, button: "#register-card", mode, card: GOOD_CARD, name: `${pg}-billing-${mode}` });
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.ok(result.record.id, JSON.stringify(result.record));
    await page.context().close();
  });
}

test("a popup the customer closes counts as a cancelled window", async () => {
  for (const [pg, code] of [["toss", "PAY_PROCESS_CANCELED"], ["iamport", "USER_CANCEL"], ["portone", "FAILURE_TYPE_PG"]]) {
    const page = await shopPage(pg, "popup");
    const { window } = await openWindow(page, "#pay-card", "popup");
    await window.close();
    const result = await outcome(page);
    assert.equal(result.ok, false, JSON.stringify(result));
    assert.equal(result.code, code, pg);
    await page.context().close();
  }
});

/** A payment as the fake Toss has it, read with the merchant's secret key. */
async function tossPayment(paymentKey) {
  const toss = doc.fakes.toss;
  const auth = Buffer.from(`${toss.credentials.secret_key}:`).toString("base64");
  const response = await fetch(`${toss.url}/v1/payments/${paymentKey}`, { headers: { authorization: `Basic ${auth}` } });
  assert.equal(response.status, 200);
  return response.json();
}

// Toss's Payment object (docs.tosspayments.com/reference, its `method` and `easyPay`
// fields): a payment through a provider's wallet is `method: "간편결제"` with
// `easyPay: {provider, amount, discountAmount}`; paid by the wallet's balance rather than a
// card registered there, `easyPay.amount` is what it paid and `card` is null. The v1 SDK
// opens the window on one provider with `flowMode: "DIRECT"` and `easyPay`.
test("toss: an easy pay in the window (토스페이, the wallet's balance) is confirmed by the backend", async () => {
  const page = await shopPage("toss", "iframe");
  const name = "toss-easy-pay-iframe";
  const { window, view } = await openWindow(page, "#pay-easy", "iframe");
  await snap(view, `${name}-1-window`);
  // The SDK asked for a provider: the window opens on easy pay, already chosen, and names
  // the provider as the provider's own window does.
  assert.equal(await window.getByLabel(/간편결제 · 토스페이/).isChecked(), true);
  // No card registered in the wallet: its balance pays.
  await window.getByLabel("Card number").fill("");
  await snap(view, `${name}-2-filled`);
  await window.getByRole("button", { name: /Pay/ }).click();
  const result = await outcome(page);
  await snap(page, `${name}-3-toss-shop`);
  assert.equal(result.ok, true, JSON.stringify(result));
  assert.equal(result.record.price, PRICES.toss);
  assert.ok(result.record.paid_at, "the payment is not paid");
  assert.match(page.url(), /\/toss\/success\?/);
  const payment = await tossPayment(result.record.vendor.uid);
  assert.equal(payment.status, "DONE");
  assert.equal(payment.method, "간편결제");
  assert.deepEqual(payment.easyPay, { provider: "토스페이", amount: PRICES.toss, discountAmount: 0 });
  assert.equal(payment.card, null);
  await page.context().close();
});

test("toss, SDK v2: a card payment and a billing key, each confirmed by the backend", async () => {
  const page = await shopPage("toss-v2", "popup");
  const paid = await payIn(page, { pg: "toss", button: "#pay-card", mode: "popup", card: GOOD_CARD, name: "toss-v2-card-popup" });
  assert.equal(paid.ok, true, JSON.stringify(paid));
  assert.ok(paid.record.paid_at);
  await page.goto(`${shop.url}/toss-v2.html?mode=iframe`);
  const registered = await payIn(page, { pg: "toss", button: "#register-card", mode: "iframe", card: GOOD_CARD, name: "toss-v2-billing-iframe" });
  assert.equal(registered.ok, true, JSON.stringify(registered));
  await page.context().close();
});

test("the checkout pages, as the README shows them", async () => {
  // Toss's shows its easy pay, the method only its window has.
  for (const [pg, button] of [["iamport", "#pay-card"], ["toss", "#pay-easy"], ["portone", "#pay-card"]]) {
    const page = await shopPage(pg, "iframe");
    await openWindow(page, button, "iframe");
    // The README's images are these files, copied to docs/images.
    await page.locator('iframe[title="Payment window"]').screenshot({ path: join(screenshots, `checkout-${pg}.png`) });
    await page.frameLocator('iframe[title="Payment window"]').getByRole("button", { name: /Cancel/ }).click();
    const result = await outcome(page);
    assert.equal(result.ok, false, JSON.stringify(result));
    await page.context().close();
  }
});
