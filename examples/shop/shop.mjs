// A minimal shop that sells one item through each PG of the payments sandbox: its pages load
// the PG's browser SDK (the sandbox's stand-in), and its backend confirms each payment and
// stores each billing key through the payments server. Node's standard library only.
//
//   node shop.mjs            # against `harness serve` on its default ports; prints its URL
//
// PAYMENTS_SANDBOX_ADMIN_URL names another sandbox (its admin API), SHOP_PORT the port.
import { createCipheriv, createDecipheriv, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";

const here = new URL("./public/", import.meta.url);

/** What the shop charges, by PG: the backend checks payments against its own prices. */
export const PRICES = { toss: 15000, iamport: 1000, portone: 8000 };

/** Bodies of the payments API: Base64(AES-CBC(UTF-8 JSON)), key and IV taken as UTF-8. */
function encrypt(json, { key, iv }) {
  const cipher = createCipheriv(`aes-${key.length * 8}-cbc`, Buffer.from(key), Buffer.from(iv));
  return Buffer.concat([cipher.update(JSON.stringify(json), "utf8"), cipher.final()]).toString("base64");
}

function decrypt(text, { key, iv }) {
  const decipher = createDecipheriv(`aes-${key.length * 8}-cbc`, Buffer.from(key), Buffer.from(iv));
  return JSON.parse(Buffer.concat([decipher.update(text, "base64"), decipher.final()]).toString("utf8"));
}

/** The shop's backend: what it does with the sandbox's discovery document. */
class Backend {
  constructor(doc) {
    this.doc = doc;
  }

  /** Calls the payments API; answers `{ok, status, body}`. */
  async payments(method, path, body) {
    const encryption = this.doc.payments.encryption;
    const response = await fetch(`${this.doc.payments.url}${path}`, {
      method,
      headers: { "content-type": "text/plain" },
      body: encrypt(body, encryption),
    });
    const text = await response.text();
    const parsed = response.ok ? decrypt(text, encryption) : JSON.parse(text || "null");
    return { ok: response.ok, status: response.status, body: parsed };
  }

  /** Verifies a payment at the PG through the payments server and keeps it. */
  async storePayment(code, uid, orderId, price) {
    return this.payments("POST", "/payments/histories", {
      vendor: { code, store_id: "shop", uid },
      source: { schema: "shop", table: "orders", id: orderId },
      webhook_url: this.doc.inbox.url,
      price,
      password: "shop-secret",
    });
  }

  /** Verifies a billing key at the PG through the payments server and keeps it. */
  async storeBillingKey(code, uid, customerId) {
    return this.payments("POST", "/payments/reservations", {
      vendor: { code, store_id: "shop", uid },
      source: { schema: "shop", table: "customers", id: customerId },
      title: "the shop's subscription",
      password: "shop-secret",
    });
  }

  /** Toss hands the page an authKey; the backend exchanges it for the billing key. */
  async tossBillingKey(authKey, customerKey) {
    const toss = this.doc.fakes.toss;
    const response = await fetch(`${toss.url}/v1/billing/authorizations/issue`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${toss.credentials.secret_key}:`).toString("base64")}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ authKey, customerKey }),
    });
    return { ok: response.ok, status: response.status, body: await response.json() };
  }
}

/** What a shop page shows as the outcome: the stored record, or why there is none. */
function outcome(answer) {
  return answer.ok ? { ok: true, record: answer.body } : { ok: false, status: answer.status, ...answer.body };
}

function failure(code, message) {
  return { ok: false, code, message };
}

/** The handlers of the backend's routes, by `METHOD path`; each answers an outcome. */
function routes(backend) {
  const iamport = async ({ imp_uid, merchant_uid, customer_uid, success, error_code, error_msg }) => {
    if (success === false || success === "false") return failure(error_code, error_msg);
    if (customer_uid) return outcome(await backend.storeBillingKey("iamport", customer_uid, customer_uid));
    return outcome(await backend.storePayment("iamport", imp_uid, merchant_uid, PRICES.iamport));
  };
  const portone = async ({ paymentId, billingKey, code, message }) => {
    if (code) return failure(code, message);
    if (billingKey) return outcome(await backend.storeBillingKey("portone", billingKey, `customer-${randomUUID()}`));
    return outcome(await backend.storePayment("portone", paymentId, paymentId, PRICES.portone));
  };
  return {
    // Toss: the window always ends at successUrl or failUrl.
    "GET /toss/success": async ({ paymentKey, orderId, amount }) => {
      if (Number(amount) !== PRICES.toss) return failure("AMOUNT_MISMATCH", `paid ${amount}, the order is ${PRICES.toss}`);
      return outcome(await backend.storePayment("toss.payments", paymentKey, orderId, PRICES.toss));
    },
    "GET /toss/billing": async ({ authKey, customerKey }) => {
      const issued = await backend.tossBillingKey(authKey, customerKey);
      if (!issued.ok) return failure(issued.body.code, issued.body.message);
      return outcome(await backend.storeBillingKey("toss.payments", issued.body.billingKey, customerKey));
    },
    "GET /toss/fail": async ({ code, message }) => failure(code, message),
    // I'mport and PortOne: the page posts the SDK's answer, or the window redirects.
    "POST /api/iamport": iamport,
    "GET /iamport/done": (q) => iamport({ ...q, success: q.imp_success }),
    "POST /api/portone": portone,
    "GET /portone/done": portone,
  };
}

async function page(name, doc) {
  const html = await readFile(new URL(name, here), "utf8");
  const values = {
    IAMPORT_SCRIPT: doc.fakes.iamport.browser.scripts["iamport.js"],
    IAMPORT_CODE: doc.fakes.iamport.browser.merchant_code,
    TOSS_SCRIPT_V1: doc.fakes.toss.browser.scripts.v1,
    TOSS_SCRIPT_V2: doc.fakes.toss.browser.scripts.v2,
    TOSS_CLIENT_KEY: doc.fakes.toss.browser.client_key,
    PORTONE_SCRIPT: doc.fakes.portone.browser.scripts["browser-sdk"],
    PORTONE_STORE_ID: doc.fakes.portone.browser.store_id,
    PORTONE_CHANNEL_KEY: doc.fakes.portone.browser.channel_key,
    PRICES: JSON.stringify(PRICES),
  };
  return html.replace(/\{\{(\w+)\}\}/g, (_, key) => values[key] ?? "");
}

function escape(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page a redirect ends on: the outcome, as the shop's pages show it. */
function resultPage(result) {
  const heading = result.ok ? "Thank you for your order" : "The payment did not go through";
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${heading}</title></head>
<body><h1>${heading}</h1><pre id="result">${escape(JSON.stringify(result, null, 2))}</pre>
<p><a href="/">Back to the shop</a></p></body></html>`;
}

/** Starts the shop for the sandbox of `doc` on `port` (0: a free one); `{url, close}`. */
export async function startShop(doc, port = 0) {
  const backend = new Backend(doc);
  const handlers = routes(backend);
  const server = createServer(async (request, response) => {
    const url = new URL(request.url, "http://shop");
    const send = (status, type, body) => {
      response.writeHead(status, { "content-type": type });
      response.end(body);
    };
    try {
      const handler = handlers[`${request.method} ${url.pathname}`];
      if (handler && request.method === "GET") {
        send(200, "text/html; charset=utf-8", resultPage(await handler(Object.fromEntries(url.searchParams))));
      } else if (handler) {
        let body = "";
        for await (const chunk of request) body += chunk;
        send(200, "application/json", JSON.stringify(await handler(JSON.parse(body || "{}"))));
      } else if (request.method === "GET" && /^\/(index|toss|toss-v2|iamport|portone)?(\.html)?$/.test(url.pathname)) {
        const name = url.pathname === "/" ? "index.html" : url.pathname.slice(1).replace(/(\.html)?$/, ".html");
        send(200, "text/html; charset=utf-8", await page(name, doc));
      } else {
        send(404, "application/json", JSON.stringify({ code: "not_found", message: `no page ${url.pathname}` }));
      }
    } catch (error) {
      send(500, "application/json", JSON.stringify({ code: "shop_error", message: String(error) }));
    }
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, close: () => new Promise((resolve) => server.close(resolve)) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const admin = process.env.PAYMENTS_SANDBOX_ADMIN_URL ?? "http://127.0.0.1:37822/admin";
  const doc = await (await fetch(admin)).json();
  const shop = await startShop(doc, Number(process.env.SHOP_PORT ?? 8080));
  console.log(`the shop is open at ${shop.url}`);
}
