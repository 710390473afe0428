import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { inflateSync } from 'node:zlib';
import type { TrayIcon } from '../../main/desktop/trayModel.ts';
import { tempDir } from '../helpers/tmp.ts';

const root = join(import.meta.dirname, '..', '..');
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// A Record so that a new tray state fails to compile here until it has icons.
const TRAY_STATES = Object.keys({ offline: 1, connecting: 1, online: 1, busy: 1, paused: 1, error: 1 } satisfies Record<TrayIcon, 1>);

function expectedFiles(): Map<string, number> {
  const files = new Map<string, number>([['build/icon.png', 512]]);
  for (const s of [16, 32, 48, 64, 128, 256, 512]) files.set(`build/icons/${s}x${s}.png`, s);
  for (const state of TRAY_STATES) {
    files.set(`build/tray/${state}.png`, 16);
    files.set(`build/tray/${state}@2x.png`, 32);
    files.set(`build/tray/${state}Template.png`, 16);
    files.set(`build/tray/${state}Template@2x.png`, 32);
  }
  return files;
}

interface Png {
  width: number;
  height: number;
  /** RGBA rows, unfiltered */
  pixels: Buffer;
}

/** Reads an 8-bit RGBA PNG (the only kind make-icons writes), undoing any row filter. */
function readPng(path: string): Png {
  const buf = readFileSync(path);
  assert.ok(buf.subarray(0, 8).equals(SIGNATURE), `${path}: not a PNG`);
  assert.equal(buf.toString('ascii', 12, 16), 'IHDR', `${path}: IHDR must come first`);
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  assert.deepEqual([...buf.subarray(24, 29)], [8, 6, 0, 0, 0], `${path}: expected 8-bit RGBA, not interlaced`);
  const idat: Buffer[] = [];
  for (let off = 8; off < buf.length;) {
    const len = buf.readUInt32BE(off);
    if (buf.toString('ascii', off + 4, off + 8) === 'IDAT') idat.push(buf.subarray(off + 8, off + 8 + len));
    off += len + 12;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 4;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x] ?? 0;
      const a = x >= 4 ? (pixels[y * stride + x - 4] ?? 0) : 0;
      const b = y > 0 ? (pixels[(y - 1) * stride + x] ?? 0) : 0;
      const c = x >= 4 && y > 0 ? (pixels[(y - 1) * stride + x - 4] ?? 0) : 0;
      let pred: number;
      if (filter === 0) pred = 0;
      else if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else throw new Error(`${path}: bad filter type ${filter} on row ${y}`);
      pixels[y * stride + x] = (v + pred) & 0xff;
    }
  }
  return { width, height, pixels };
}

test('every icon exists as a PNG of the right size', () => {
  for (const [file, size] of expectedFiles()) {
    const path = join(root, file);
    assert.ok(existsSync(path), `${file} is missing; run node scripts/make-icons.mjs`);
    const png = readPng(path);
    assert.deepEqual([png.width, png.height], [size, size], file);
  }
});

test('macOS template images are black with alpha only; colour tray images are not', () => {
  for (const state of TRAY_STATES) {
    for (const variant of ['Template', 'Template@2x', '', '@2x']) {
      const file = `build/tray/${state}${variant}.png`;
      const { pixels } = readPng(join(root, file));
      let coloured = 0;
      let opaque = 0;
      for (let i = 0; i < pixels.length; i += 4) {
        if (pixels[i] || pixels[i + 1] || pixels[i + 2]) coloured++;
        if (pixels[i + 3] === 255) opaque++;
      }
      assert.ok(opaque > 0, `${file} draws nothing`);
      if (variant.startsWith('Template')) assert.equal(coloured, 0, `${file} has ${coloured} non-black pixels`);
      else assert.ok(coloured > 0, `${file} should be in colour`);
    }
  }
});

test('edges are anti-aliased and the corners are transparent', () => {
  const { pixels } = readPng(join(root, 'build/tray/online@2x.png'));
  const alphas = new Set<number>();
  for (let i = 3; i < pixels.length; i += 4) alphas.add(pixels[i] ?? 0);
  assert.ok(alphas.size > 4, 'expected partial alpha along the edges');
  assert.equal(pixels[3], 0);
});

test('the committed PNGs are what scripts/make-icons.mjs draws', () => {
  const out = tempDir('sibyl-icons-');
  execFileSync(process.execPath, [join(root, 'scripts/make-icons.mjs'), out], { stdio: 'pipe' });
  for (const file of expectedFiles().keys()) {
    assert.ok(
      readFileSync(join(out, file)).equals(readFileSync(join(root, file))),
      `${file} is stale; run node scripts/make-icons.mjs and commit`,
    );
  }
});
