// Checks answers captured from the fakes against the schemas of the npm SDKs
// (`toss-payments-server-api`, `iamport-server-api`), which ship them as swagger.json.
//
// Usage: node check.mjs CAPTURES.json…, where each file is a JSON array of
// {fake: "toss" | "iamport", method, path, status, body}, as the fakes' `sdk_captures`
// test writes them. Each body is checked against the SDK's schema for the route it
// matches (by method and path template). Exits non-zero if any body fails its schema,
// or if no answer was checked at all.

import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const packages = {
  toss: "toss-payments-server-api",
  iamport: "iamport-server-api",
};

// The SDKs' schemas follow JSON Schema 2020-12 (OpenAPI 3.1) with typia's own keywords
// beside the standard ones; strict mode would refuse those.
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);

/** Every route of an SDK: its method, a pattern of its path, and its answer's schema. */
function routesOf(fake) {
  const url = new URL(`./node_modules/${packages[fake]}/swagger.json`, import.meta.url);
  const swagger = JSON.parse(readFileSync(url, "utf8"));
  const id = `${fake}.swagger.json`;
  ajv.addSchema({ $id: id, components: swagger.components });
  const routes = [];
  for (const [template, operations] of Object.entries(swagger.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const answer = Object.values(operation.responses ?? {})[0];
      const schema = answer?.content?.["application/json"]?.schema;
      if (!schema) continue;
      // The schema's references point into the document; make them point into ours.
      const rebased = JSON.parse(
        JSON.stringify(schema).replaceAll('"#/components/', `"${id}#/components/`),
      );
      const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
      routes.push({
        method: method.toUpperCase(),
        template,
        pattern,
        // Literal routes first: `/v1/payments/key-in` before `/v1/payments/{paymentKey}`.
        params: (template.match(/\{/g) ?? []).length,
        validate: ajv.compile(rebased),
      });
    }
  }
  return routes.sort((a, b) => a.params - b.params);
}

const routes = { toss: routesOf("toss"), iamport: routesOf("iamport") };
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node check.mjs CAPTURES.json…");
  process.exit(2);
}

let checked = 0;
let failed = 0;
const unmodelled = new Set();

// I'mport's pages of payments (`{total, previous, next, list}`), which the SDK does not
// model: each payment of `list` is checked as the answer of `GET /payments/{imp_uid}`.
const pagesOfPayments = [
  /^\/payments\/findAll\/[^/]+(\/[^/]+)?$/,
  /^\/payments\/status\/[^/]+$/,
  /^\/subscribe\/customers\/[^/]+\/payments$/,
];
const onePayment = routes.iamport.find(
  (r) => r.method === "GET" && r.template === "/payments/{imp_uid}",
);

function check(route, body, label) {
  checked += 1;
  if (!route.validate(body)) {
    failed += 1;
    console.log(`FAIL ${label} (${route.template})`);
    for (const error of route.validate.errors) {
      console.log(`  ${error.instancePath || "/"} ${error.message} ${JSON.stringify(error.params)}`);
    }
  }
}
for (const file of files) {
  for (const capture of JSON.parse(readFileSync(file, "utf8"))) {
    const path = capture.path.split("?")[0];
    const route = routes[capture.fake].find(
      (r) => r.method === capture.method && r.pattern.test(path),
    );
    const label = `${capture.fake} ${capture.method} ${capture.path}`;
    const list = capture.body?.response?.list;
    if (
      !route &&
      capture.fake === "iamport" &&
      capture.method === "GET" &&
      Array.isArray(list) &&
      pagesOfPayments.some((p) => p.test(path))
    ) {
      list.forEach((payment, i) =>
        check(onePayment, { code: 0, message: "success", response: payment }, `${label} list[${i}]`),
      );
      continue;
    }
    if (!route) {
      unmodelled.add(`${capture.fake} ${capture.method} ${path.replace(/[^/]{20,}/g, "…")}`);
      continue;
    }
    check(route, capture.body, label);
  }
}
for (const route of [...unmodelled].sort()) {
  console.log(`not in the SDK: ${route}`);
}
console.log(`sdk checks: ${checked} answers checked, ${failed} failed, ${unmodelled.size} routes the SDKs do not model`);
process.exit(failed > 0 || checked === 0 ? 1 : 0);
