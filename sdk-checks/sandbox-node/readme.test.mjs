// Every README snippet marked `sandbox-check` runs, as written, against a live sandbox: a
// snippet that stops working fails CI.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";

import { startSandbox } from "./sandbox.mjs";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const snippets = [...readme.matchAll(/^```(\w+) sandbox-check\n([\s\S]*?)^```$/gm)].map(([, language, code]) => ({ language, code }));
const run = promisify(execFile);
const runners = {
  js: (code) => ["node", ["--input-type=module", "--eval", code]],
  python: (code) => ["python3", ["-c", code]],
  // Java runs a single source file as it is; Jackson comes from Debian's packages.
  java: (code) => {
    const file = join(mkdtempSync(join(tmpdir(), "snippet-")), "Snippet.java");
    writeFileSync(file, code);
    const jars = ["jackson-databind", "jackson-core", "jackson-annotations"].map((jar) => `/usr/share/java/${jar}.jar`);
    return ["java", ["-cp", jars.join(":"), file]];
  },
  go: (code) => {
    const file = join(mkdtempSync(join(tmpdir(), "snippet-")), "snippet.go");
    writeFileSync(file, code);
    return ["go", ["run", file]];
  },
};

let sandbox;
before(async () => {
  sandbox = await startSandbox();
});
after(async () => {
  await sandbox?.close();
});

test("the README has a Node, a Python, a Java and a Go snippet", () => {
  assert.deepEqual(snippets.map((s) => s.language).sort(), ["go", "java", "js", "python"]);
});

for (const { language, code } of snippets) {
  test(`the README's ${language} snippet runs`, async () => {
    const [command, args] = runners[language](code);
    const { stdout } = await run(command, args, {
      env: { ...process.env, PAYMENTS_SANDBOX_ADMIN_URL: sandbox.admin },
      timeout: 60_000,
    });
    assert.match(stdout, /^history [0-9a-f-]{36} paid at \d{4}-/);
  });
}
