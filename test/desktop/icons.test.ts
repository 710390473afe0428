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

const png16 = (state: string, variant: '' | 'Template'): Buffer => readPng(join(root, `build/tray/${state}${variant}.png`)).pixels;

test('at 16 px the monochrome (macOS template) icons differ pairwise in shape', () => {
  // Template images keep only alpha, so shape is all a state has there. "Strong" pixels differ by
  // at least half their opacity: a badge swapped for a look-alike (a disc with an "!" cut out next
  // to the pause bars) changes only a handful of them.
  for (const [i, a] of TRAY_STATES.entries()) {
    for (const b of TRAY_STATES.slice(i + 1)) {
      const [pa, pb] = [png16(a, 'Template'), png16(b, 'Template')];
      let total = 0;
      let strong = 0;
      for (let k = 3; k < pa.length; k += 4) {
        const d = Math.abs((pa[k] ?? 0) - (pb[k] ?? 0));
        total += d / 255;
        if (d >= 128) strong++;
      }
      assert.ok(strong >= 10 && total >= 15, `${a} and ${b} look alike at 16 px: ${strong} strong pixels, ${total.toFixed(1)} in all`);
    }
  }
});

test("every state shows the same mark, Sibyl's eye, beside its badge", () => {
  // The badge sits in the lower right corner; the left half is the eye alone. Offline strikes it through.
  const leftHalf = (px: Buffer): number[] => Array.from({ length: 16 * 7 }, (_, k) => px[((k / 7) | 0) * 64 + (k % 7) * 4 + 3] ?? 0);
  const eye = leftHalf(png16('online', 'Template'));
  assert.ok(eye.filter((a) => a >= 192).length >= 12, `the eye has ink: ${eye.filter((a) => a >= 192).length} pixels`);
  for (const state of TRAY_STATES.filter((s) => s !== 'offline')) assert.deepEqual(leftHalf(png16(state, 'Template')), eye, state);
  assert.notDeepEqual(leftHalf(png16('offline', 'Template')), eye, 'offline is struck through');
});

/** Alpha-weighted mean colour of an icon, as hue (degrees) and HSL saturation (0–1). */
function hueOf(px: Buffer): { hue: number; saturation: number } {
  let [r, g, b, w] = [0, 0, 0, 0];
  for (let k = 0; k < px.length; k += 4) {
    const a = (px[k + 3] ?? 0) / 255;
    r += (px[k] ?? 0) * a;
    g += (px[k + 1] ?? 0) * a;
    b += (px[k + 2] ?? 0) * a;
    w += a * 255;
  }
  [r, g, b] = [r / w, g / w, b / w];
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const l = (max + min) / 2;
  const saturation = max === min ? 0 : (max - min) / (1 - Math.abs(2 * l - 1));
  let hue = 0;
  if (max !== min) {
    if (max === r) hue = 60 * (((g - b) / (max - min) + 6) % 6);
    else if (max === g) hue = 60 * ((b - r) / (max - min) + 2);
    else hue = 60 * ((r - g) / (max - min) + 4);
  }
  return { hue, saturation };
}

test('in the colour set the states have distinct hues: online green, busy blue, connecting amber, error red, paused neutral', () => {
  const hue = Object.fromEntries(TRAY_STATES.map((s) => [s, hueOf(png16(s, ''))]));
  const within = (state: string, from: number, to: number): void =>
    assert.ok(hue[state]!.hue >= from && hue[state]!.hue <= to && hue[state]!.saturation > 0.5, `${state}: ${JSON.stringify(hue[state])}`);
  within('online', 90, 160);
  within('busy', 195, 250);
  within('connecting', 25, 50);
  assert.ok(
    (hue['error']!.hue < 12 || hue['error']!.hue > 345) && hue['error']!.saturation > 0.5,
    `error: ${JSON.stringify(hue['error'])}`,
  );
  // Paused is not a fault: neutral grey, not the amber of a connection being made.
  for (const state of ['paused', 'offline']) assert.ok(hue[state]!.saturation < 0.1, `${state} is neutral: ${JSON.stringify(hue[state])}`);
  const chromatic = ['online', 'busy', 'connecting', 'error'];
  for (const [i, a] of chromatic.entries())
    for (const b of chromatic.slice(i + 1)) {
      const d = Math.abs(hue[a]!.hue - hue[b]!.hue);
      assert.ok(Math.min(d, 360 - d) >= 30, `${a} and ${b} hues are ${Math.min(d, 360 - d).toFixed(0)}° apart`);
    }
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
