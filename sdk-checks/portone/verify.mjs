// Verifies every captured webhook of the fake with the SDK's own verifier, and checks
// that the verifier refuses it once its body is altered.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Webhook } from "@portone/server-sdk";

const dir = process.env.PORTONE_RESPONSES_DIR;
const files = readdirSync(dir).filter((f) => f.startsWith("RawWebhook."));
if (files.length === 0) {
  console.error(`no captured webhooks in ${dir}`);
  process.exit(1);
}
let verified = 0;
// The SDK checks the signature's timestamp against `Date.now()`. The captures may be older
// than its five-minute tolerance (CI checks what its test run wrote earlier), so while it
// verifies one, the clock reads the real time the test kept it at (`captured_at`).
const realNow = Date.now;
async function verifyAsOf(capturedAt, ...args) {
  Date.now = () => capturedAt * 1000;
  try {
    return await Webhook.verify(...args);
  } finally {
    Date.now = realNow;
  }
}
for (const file of files) {
  const { body } = JSON.parse(readFileSync(join(dir, file), "utf8"));
  const { secret, headers, payload, captured_at: capturedAt } = body;
  if (typeof capturedAt !== "number") throw new Error(`${file}: no captured_at`);
  // The signature's timestamp is the fake's clock, which the capture moved forward; only
  // one signed at the real time of the capture can pass the SDK's clock check.
  let decoded;
  try {
    decoded = await verifyAsOf(capturedAt, secret, payload, headers);
  } catch (error) {
    const away = Math.abs(capturedAt - Number(headers["webhook-timestamp"]));
    const moved = ["TIMESTAMP_TOO_NEW", "TIMESTAMP_TOO_OLD"].includes(error?.reason);
    if (!moved || away < 600) throw error;
    continue;
  }
  if (decoded.type !== JSON.parse(payload).type) {
    throw new Error(`${file}: decoded as ${decoded.type}`);
  }
  const tampered = payload.replace(/"storeId":"/, '"storeId":"x');
  let refused = false;
  try {
    await verifyAsOf(capturedAt, secret, tampered, headers);
  } catch (error) {
    refused = error?.reason === "NO_MATCHING_SIGNATURE" || error?.reason === "INVALID_SIGNATURE";
  }
  if (!refused) throw new Error(`${file}: an altered body was accepted`);
  verified += 1;
}
if (verified === 0) throw new Error("no webhook was verified");
console.log(
  `${verified} of ${files.length} webhooks verified with Webhook.verify ` +
    `(the others were signed at the fake's moved clock)`,
);
