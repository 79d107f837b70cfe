// The typed client's types are generated from the committed OpenAPI document (`make web-api`):
// regenerating them must give the committed schema.d.ts. (tests/web/test_api_schema_drift.py checks
// that the committed document is the live server's.)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";

it("schema.d.ts is what openapi-typescript makes of openapi.json", () => {
  const dir = mkdtempSync(join(tmpdir(), "reefline-schema-"));
  try {
    const out = join(dir, "schema.d.ts");
    execFileSync(process.execPath, ["node_modules/openapi-typescript/bin/cli.js", "src/api/openapi.json", "-o", out], { stdio: "pipe" });
    const fresh = readFileSync(out, "utf8");
    const committed = readFileSync("src/api/schema.d.ts", "utf8");
    expect(committed === fresh, "web/src/api/schema.d.ts is stale: run `make web-api` and commit it").toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
