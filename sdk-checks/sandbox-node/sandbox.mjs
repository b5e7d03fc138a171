// A client of the payments sandbox with nothing but Node's fetch and crypto: how a test
// suite in JavaScript talks to `harness serve`.
import { spawn } from "node:child_process";
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from "node:crypto";
import { createInterface } from "node:readline";

/** Bodies of the payments API: Base64(AES-CBC(UTF-8 JSON)), key and IV taken as UTF-8. */
export function encrypt(json, { key, iv }) {
  const cipher = createCipheriv(`aes-${key.length * 8}-cbc`, Buffer.from(key), Buffer.from(iv));
  return Buffer.concat([cipher.update(JSON.stringify(json), "utf8"), cipher.final()]).toString("base64");
}

export function decrypt(text, { key, iv }) {
  const decipher = createDecipheriv(`aes-${key.length * 8}-cbc`, Buffer.from(key), Buffer.from(iv));
  return JSON.parse(Buffer.concat([decipher.update(text, "base64"), decipher.final()]).toString("utf8"));
}

/** A relayed event's Standard Webhooks signature: HMAC-SHA256 over `id.timestamp.body`. */
export function verifySignature(secret, { id, timestamp, signature, body }) {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest();
  return signature.split(" ").some((candidate) => {
    const [version, value] = candidate.split(",");
    const given = Buffer.from(value ?? "", "base64");
    return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/**
 * A sandbox to test against: the one at PAYMENTS_SANDBOX_ADMIN_URL if set, else a fresh
 * `harness serve` (the binary at HARNESS_BIN) on free ports, stopped by `close()`.
 */
export async function startSandbox() {
  if (process.env.PAYMENTS_SANDBOX_ADMIN_URL) {
    const doc = await (await fetch(process.env.PAYMENTS_SANDBOX_ADMIN_URL)).json();
    return new Sandbox(doc, null);
  }
  const bin = process.env.HARNESS_BIN ?? "harness";
  const child = spawn(
    bin,
    ["serve", "--json", "--payments-port", "0", "--iamport-port", "0", "--toss-port", "0", "--portone-port", "0", "--inbox-port", "0"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`harness serve exited with ${code}`)));
    child.once("error", reject);
  });
  // Later lines are the sandbox's log of events; a test reads them through the admin API.
  lines.on("line", () => {});
  return new Sandbox(JSON.parse(ready), child);
}

export class Sandbox {
  constructor(doc, child) {
    this.doc = doc;
    this.child = child;
    this.encryption = doc.payments.encryption;
    this.admin = doc.admin.url;
  }

  async close() {
    if (!this.child) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGINT");
    await exited;
  }

  /** Calls the payments API: the body encrypted, the answer decrypted (errors are JSON). */
  async payments(method, path, body) {
    const response = await fetch(`${this.doc.payments.url}${path}`, {
      method,
      headers: { "content-type": "text/plain" },
      body: body === undefined ? undefined : encrypt(body, this.encryption),
    });
    const text = await response.text();
    if (!response.ok) return { status: response.status, body: JSON.parse(text) };
    return { status: response.status, body: text ? decrypt(text, this.encryption) : null };
  }

  /** Calls the fake Toss as the server's merchant. */
  async toss(method, path, body) {
    const toss = this.doc.fakes.toss;
    const auth = Buffer.from(`${toss.credentials.secret_key}:`).toString("base64");
    return json(
      await fetch(`${toss.url}${path}`, {
        method,
        headers: { authorization: `Basic ${auth}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
  }

  /** Calls the admin API (`path` under `/admin`). */
  async call(method, path, body) {
    return json(
      await fetch(`${this.admin}${path}`, {
        method,
        headers: { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
  }
}

async function json(response) {
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}
