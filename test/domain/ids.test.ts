import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { newId } from "../../src/domain/ids.js";

describe("ids", () => {
  it("are 18-digit decimal strings, unique and ordered by creation even within one tick", () => {
    const now = Date.now();
    const ids = Array.from({ length: 5000 }, () => newId(now));
    assert.ok(ids.every((id) => /^\d{18}$/.test(id)));
    assert.equal(new Set(ids).size, ids.length);
    const sorted = [...ids].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    assert.deepEqual(sorted, ids);
  });

  it("never go back in time when the clock does", () => {
    const later = newId(Date.now() + 60_000);
    const earlier = newId(Date.now());
    assert.ok(BigInt(earlier) > BigInt(later));
  });
});
