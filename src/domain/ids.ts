import { randomInt } from "node:crypto";

// Time-ordered 18-digit decimal ids like ZITADEL's: 10 ms ticks since 2019-01-01 shifted left by
// 22 bits, a per-process sequence (10 bits) and random low bits (12), so ids sort by creation.
const EPOCH = Date.UTC(2019, 0, 1);
let lastTick = 0;
let sequence = 0;

export function newId(now = Date.now()): string {
  let tick = Math.floor((now - EPOCH) / 10);
  if (tick <= lastTick) {
    tick = lastTick;
    sequence += 1;
    if (sequence > 0x3ff) {
      tick += 1;
      sequence = 0;
    }
  } else {
    sequence = 0;
  }
  lastTick = tick;
  return ((BigInt(tick) << 22n) | (BigInt(sequence) << 12n) | BigInt(randomInt(0, 0x1000))).toString();
}
