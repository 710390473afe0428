import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cost, tokens } from '../../main/runner/vocabulary.ts';

test('cost: dollars and cents, "<$0.01" below a cent, "—" when unknown', () => {
  assert.equal(cost(0.4213), '$0.42');
  assert.equal(cost(0.005), '$0.01');
  assert.equal(cost(0.0042), '<$0.01');
  assert.equal(cost(0), '$0.00');
  assert.equal(cost(12), '$12.00');
  assert.equal(cost(1204.1), '$1,204.10');
  for (const unknown of [null, undefined, Number.NaN, Infinity, -1]) assert.equal(cost(unknown), '—', String(unknown));
});

test('tokens: short counts, one decimal below 10 of a unit, "—" when unknown', () => {
  assert.equal(tokens(0), '0');
  assert.equal(tokens(950), '950');
  assert.equal(tokens(999.6), '1k');
  assert.equal(tokens(1234), '1.2k');
  assert.equal(tokens(9960), '10k');
  assert.equal(tokens(48_123), '48k');
  assert.equal(tokens(999_600), '1M');
  assert.equal(tokens(3_400_000), '3.4M');
  assert.equal(tokens(250_000_000), '250M');
  assert.equal(tokens(7_000_000_000_000), '7000B');
  for (const unknown of [null, undefined, Number.NaN, -5]) assert.equal(tokens(unknown), '—', String(unknown));
});
