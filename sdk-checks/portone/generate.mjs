// Turns the fake's captured answers (`{"type": …, "body": …}` files in $PORTONE_RESPONSES_DIR)
// into TypeScript that assigns each body, as an object literal, to the SDK type it must
// be: `tsc` then refuses a wrong discriminant, a missing required field, a field of the
// wrong type, and any field the type does not have.
import { readdirSync, readFileSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";

const dir = process.env.PORTONE_RESPONSES_DIR;
if (!dir) {
  console.error("PORTONE_RESPONSES_DIR must name the folder of captured answers");
  process.exit(2);
}

// Where the SDK exports each type: its subpath modules' index files.
const sdk = "node_modules/@portone/server-sdk";
const exports = JSON.parse(readFileSync(join(sdk, "package.json"), "utf8")).exports;
const home = new Map();
// Each subpath's declarations, following `export … from "./x/index.js"` into folders.
function scan(file, module) {
  for (const line of readFileSync(file, "utf8").split("\n")) {
    // `export * as Name from …` is a namespace, found under its own subpath instead.
    const target = line.match(/^export (?:\*|(?:type )?\{[^}]*\}) from "(\.[^"]+)\.js"/)?.[1];
    if (!target) continue;
    const path = join(dirname(file), `${target}.d.ts`);
    const name = basename(target);
    if (name === "index") scan(path, module);
    else if (!home.has(name)) home.set(name, module);
  }
}
for (const [subpath, entry] of Object.entries(exports)) {
  const types = entry?.types;
  if (!types || subpath === ".") continue;
  scan(join(sdk, types), `@portone/server-sdk/${subpath.slice(2)}`);
}

// Fields the published V2 schema requires that this SDK release predates: taken out of
// payments before the check (the Rust tests check them against the schema's names).
const newerThanSdk = ["origin"];
let stripped = 0;
function strip(value) {
  if (Array.isArray(value)) return value.map(strip);
  if (value === null || typeof value !== "object") return value;
  const out = {};
  for (const [key, field] of Object.entries(value)) {
    if ("transactionId" in value && newerThanSdk.includes(key)) {
      stripped += 1;
      continue;
    }
    out[key] = strip(field);
  }
  return out;
}

rmSync("generated", { recursive: true, force: true });
mkdirSync("generated");
let count = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
  const { type, body } = JSON.parse(readFileSync(join(dir, file), "utf8"));
  // A raw webhook is checked by verify.mjs; its decoded body is a `Webhook`.
  const [typeName, value] =
    type === "RawWebhook" ? ["Webhook", JSON.parse(body.payload)] : [type, strip(body)];
  const module = home.get(typeName);
  const name = file.replace(/\.json$/, "").replace(/[^A-Za-z0-9_]/g, "_");
  if (!module) {
    // An error type of the published schema that this SDK release predates: checked as
    // the shape every error type of the SDK shares.
    if (!typeName.endsWith("Error")) {
      console.error(`${file}: the SDK has no type ${typeName}`);
      process.exit(1);
    }
    console.log(`${file}: ${typeName} is not in this SDK release; checked as an error shape`);
    writeFileSync(
      join("generated", `${name}.ts`),
      `type ErrorShape = { type: ${JSON.stringify(value.type)}; message?: string };\n` +
        `export const value: ErrorShape = ${JSON.stringify(value, null, 2)};\n`,
    );
  } else {
    writeFileSync(
      join("generated", `${name}.ts`),
      `import type { ${typeName} } from "${module}";\n` +
        `export const value: ${typeName} = ${JSON.stringify(value, null, 2)};\n`,
    );
  }
  count += 1;
}
if (count === 0) {
  console.error(`no captured answers in ${dir}`);
  process.exit(1);
}
console.log(
  `${count} answers to type-check against @portone/server-sdk ` +
    `(${stripped} payments' ${newerThanSdk.join(", ")} left out: newer than this SDK release)`,
);
