// A client backend's test suite against a running sandbox, over HTTP only.
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { randomUUID } from "node:crypto";

import { decrypt, startSandbox, verifySignature } from "./sandbox.mjs";

let sandbox;
before(async () => {
  sandbox = await startSandbox();
});
after(async () => {
  await sandbox?.close();
});
// One sandbox for the whole suite, fresh for each test.
beforeEach(async () => {
  const reset = await sandbox.call("POST", "/reset");
  assert.equal(reset.status, 204);
});

const order = () => `order-${randomUUID()}`;

function history(code, uid, id, price) {
  return {
    vendor: { code, store_id: "shop", uid },
    source: { schema: "shop", table: "orders", id },
    webhook_url: sandbox.doc.inbox.url,
    price,
    password: "secret",
  };
}

async function storedVirtualAccount() {
  const id = order();
  const issued = await sandbox.toss("POST", "/v1/virtual-accounts", {
    orderId: id,
    orderName: "order",
    bank: "신한",
    customerName: "홍길동",
    amount: 5000,
  });
  assert.equal(issued.status, 200, JSON.stringify(issued.body));
  const stored = await sandbox.payments("POST", "/payments/histories", history("toss.payments", issued.body.paymentKey, id, 5000));
  assert.equal(stored.status, 201, JSON.stringify(stored.body));
  assert.equal(stored.body.paid_at, null);
  return { id, paymentKey: issued.body.paymentKey };
}

async function deposit(paymentKey) {
  const answer = await sandbox.toss("PUT", `/internal/${paymentKey}/deposit`);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
}

test("a card payment is stored and read back with its password", async () => {
  const id = order();
  const paid = await sandbox.toss("POST", "/internal/payments", { orderId: id, amount: 15000 });
  assert.equal(paid.status, 200, JSON.stringify(paid.body));
  const stored = await sandbox.payments("POST", "/payments/histories", history("toss.payments", paid.body.paymentKey, id, 15000));
  assert.equal(stored.status, 201, JSON.stringify(stored.body));
  assert.ok(stored.body.paid_at);
  const read = await sandbox.payments("PATCH", `/payments/histories/${stored.body.id}`, { password: "secret" });
  assert.deepEqual(read.body, stored.body);
  const wrong = await sandbox.payments("PATCH", `/payments/histories/${stored.body.id}`, { password: "guess" });
  assert.equal(wrong.status, 403);
});

test("a virtual-account deposit reaches the client, signed, read through the admin API", async () => {
  const { id, paymentKey } = await storedVirtualAccount();
  await deposit(paymentKey);
  const waited = await sandbox.call("GET", `/inbox/wait?source_id=${id}&timeout_ms=10000`);
  assert.equal(waited.status, 200, JSON.stringify(waited.body));
  const delivery = waited.body;
  assert.equal(delivery.accepted, true);
  assert.equal(delivery.signature_valid, true);
  assert.ok(delivery.event.current.paid_at);
  assert.equal(delivery.event.previous.paid_at, null);
  // What the admin API decrypted and verified, the client checks on its own too.
  assert.ok(verifySignature(sandbox.doc.payments.webhook_secret, delivery));
  assert.ok(!verifySignature("whsec_" + Buffer.from("another secret").toString("base64"), delivery));
  assert.deepEqual(decrypt(delivery.body, sandbox.encryption), delivery.event);
});

// Either order of this test and the down-client test works: a new event to an endpoint that
// failed a moment ago goes out at once as a probe, whatever that endpoint's backoff.
test("a reset forgets the records, the fakes' payments, the inbox and the clocks", async () => {
  const { id, paymentKey } = await storedVirtualAccount();
  await deposit(paymentKey);
  assert.equal((await sandbox.call("GET", `/inbox/wait?source_id=${id}`)).status, 200);
  await sandbox.call("POST", "/clock", { days: 1 });

  assert.equal((await sandbox.call("POST", "/reset")).status, 204);
  const record = await sandbox.payments("PATCH", "/payments/histories/get", {
    schema: "shop",
    table: "orders",
    id,
    password: "secret",
  });
  assert.equal(record.status, 404, JSON.stringify(record.body));
  assert.equal((await sandbox.toss("GET", `/v1/payments/${paymentKey}`)).status, 404);
  assert.deepEqual((await sandbox.call("GET", "/inbox")).body.deliveries, []);
  assert.equal((await sandbox.call("GET", "/clock")).body.server.offset_seconds, 0);
});

test("a client that is down gets the event once back, after the clocks move", async () => {
  assert.equal((await sandbox.call("PUT", "/inbox/status", { status: 503 })).status, 200);
  const { id, paymentKey } = await storedVirtualAccount();
  await deposit(paymentKey);
  const refused = await sandbox.call("GET", `/inbox/wait?source_id=${id}&accepted=false`);
  assert.equal(refused.status, 200, JSON.stringify(refused.body));
  assert.equal(refused.body.answered, 503);
  assert.equal((await sandbox.call("DELETE", "/inbox/status")).body.status, 200);
  const clocks = await sandbox.call("POST", "/clock", { minutes: 5 });
  assert.equal(clocks.status, 200);
  assert.equal(clocks.body.server.offset_seconds, 300);
  assert.equal(clocks.body.fakes.toss.offset_seconds, 300);
  const event = await sandbox.call("GET", `/inbox/wait?source_id=${id}&after=${refused.body.seq}`);
  assert.equal(event.status, 200, JSON.stringify(event.body));
  assert.equal(event.body.id, refused.body.id);
  assert.equal(event.body.accepted, true);
});

test("bad input to the admin API answers a JSON error", async () => {
  for (const [method, path, body, status, code] of [
    ["GET", "/nothing", undefined, 404, "not_found"],
    ["POST", "/clock", { days: -1 }, 400, "invalid_request"],
    ["GET", "/inbox/events/evt_unknown", undefined, 404, "unknown_event"],
    ["GET", "/reset", undefined, 405, "method_not_allowed"],
  ]) {
    const answer = await sandbox.call(method, path, body);
    assert.equal(answer.status, status, `${method} ${path}`);
    assert.equal(answer.body.code, code);
    assert.ok(answer.body.message);
  }
});
