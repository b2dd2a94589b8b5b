// docs/opcode-coverage.md is generated from the emulator's dispatch tables (scripts/opcode-coverage.ts):
// this test fails when an opcode was added or removed without regenerating it, so the document stays true.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { COVERAGE_DOC, renderCoverage } from "../scripts/opcode-coverage.js";

test("docs/opcode-coverage.md matches the emulator's opcode registry (else: npm run coverage)", () => {
  const current = readFileSync(COVERAGE_DOC, "utf8");
  const fresh = renderCoverage();
  if (current !== fresh) {
    const a = current.split("\n");
    const b = fresh.split("\n");
    const at = a.findIndex((line, k) => line !== b[k]);
    assert.fail(
      `docs/opcode-coverage.md is out of date (run npm run coverage); first difference at line ${at + 1}:\n` +
        `  file:     ${a[at]}\n  registry: ${b[at]}`,
    );
  }
});
