// Draws the app icon and the tray icons into build/ as PNGs: `node scripts/make-icons.mjs [outDir]`
// (outDir defaults to the repository root; the tests draw into a temp folder and compare).
// Pure Node (zlib + a CRC32 table), no dependencies, same bytes on every run; the PNGs are
// committed, so this only runs when the drawings change. Shapes are tested per sub-pixel sample
// (8×8 per pixel for small sizes) to anti-alias the edges.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));

// --- PNG -----------------------------------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}

/** RGBA, 8 bits per channel, every row with filter type 0. */
function encodePng(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// --- Shapes: (x, y) => inside?, in design units ----------------------------------------------

const disc = (cx, cy, r) => (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
const ring = (cx, cy, inner, outer) => (x, y) => {
  const d = (x - cx) ** 2 + (y - cy) ** 2;
  return d >= inner * inner && d <= outer * outer;
};
const box =
  (x0, y0, x1, y1, r = 0) =>
  (x, y) => {
    // Rounded rectangle: distance from the inner rectangle shrunk by r.
    const dx = Math.max(x0 + r - x, 0, x - (x1 - r));
    const dy = Math.max(y0 + r - y, 0, y - (y1 - r));
    return x >= x0 && x <= x1 && y >= y0 && y <= y1 && dx * dx + dy * dy <= r * r;
  };
/** Removes the wedge of `shape` around `centerDeg` (0° = 3 o'clock, counter-clockwise, as on a dial). */
const withGap = (shape, cx, cy, centerDeg, widthDeg) => (x, y) => {
  const deg = (Math.atan2(cy - y, x - cx) * 180) / Math.PI;
  const off = Math.abs(((deg - centerDeg + 540) % 360) - 180);
  return off > widthDeg / 2 && shape(x, y);
};

// --- Drawings: layers painted in order; `erase` cuts through what is below ------------------

const GREY = [142, 142, 147];
const AMBER = [255, 159, 10];
const GREEN = [48, 209, 88];
const BLUE = [10, 132, 255];
const RED = [255, 69, 58];

/** Tray icons on a 16-unit grid, centre (8, 8). */
const TRAY = {
  offline: [{ shape: ring(8, 8, 4.25, 6.25), color: GREY }],
  connecting: [{ shape: withGap(ring(8, 8, 4.25, 6.25), 8, 8, 45, 80), color: AMBER }],
  online: [{ shape: disc(8, 8, 5.5), color: GREEN }],
  busy: [
    { shape: disc(8, 8, 3), color: BLUE },
    { shape: ring(8, 8, 5.25, 7), color: BLUE },
  ],
  paused: [
    { shape: disc(8, 8, 6.75), color: AMBER },
    { shape: box(5.1, 4.6, 7.1, 11.4, 0.5), erase: true },
    { shape: box(8.9, 4.6, 10.9, 11.4, 0.5), erase: true },
  ],
  error: [
    { shape: disc(8, 8, 6.75), color: RED },
    { shape: box(7, 3.6, 9, 9.1, 1), erase: true },
    { shape: disc(8, 11.2, 1.1), erase: true },
  ],
};

/** The app icon on a 512-unit grid: the macOS rounded square, an "online" ring with a green spark in its gap. */
const APP = [
  {
    shape: box(48, 48, 464, 464, 92),
    color: (x, y) => {
      const t = (y - 48) / 416;
      return [Math.round(79 + (30 - 79) * t), Math.round(70 + (27 - 70) * t), Math.round(229 + (75 - 229) * t)];
    },
  },
  { shape: withGap(ring(256, 256, 106, 146), 256, 256, 45, 70), color: [255, 255, 255] },
  { shape: disc(256, 256, 54), color: [255, 255, 255] },
  { shape: disc(256 + 126 * Math.SQRT1_2, 256 - 126 * Math.SQRT1_2, 28), color: GREEN },
];

/**
 * Renders `layers` (drawn on a `grid`-unit square) at `size` pixels. `template` keeps only the
 * alpha, in black, which is what macOS expects of a menu-bar template image.
 */
function render(layers, grid, size, { template = false } = {}) {
  const n = size <= 64 ? 8 : 4;
  const scale = grid / size;
  const out = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0,
        g = 0,
        b = 0,
        a = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const x = (px + (sx + 0.5) / n) * scale;
          const y = (py + (sy + 0.5) / n) * scale;
          // Premultiplied "over" per sample; erase is "destination out".
          let sr = 0,
            sg = 0,
            sb = 0,
            sa = 0;
          for (const layer of layers) {
            if (!layer.shape(x, y)) continue;
            if (layer.erase) {
              sr = sg = sb = sa = 0;
              continue;
            }
            const [cr, cg, cb] = typeof layer.color === 'function' ? layer.color(x, y) : layer.color;
            sr = cr;
            sg = cg;
            sb = cb;
            sa = 1;
          }
          r += sr;
          g += sg;
          b += sb;
          a += sa;
        }
      }
      const i = (py * size + px) * 4;
      if (a === 0 || template) {
        out[i + 3] = Math.round((a / (n * n)) * 255);
        continue;
      }
      out[i] = Math.round(r / a);
      out[i + 1] = Math.round(g / a);
      out[i + 2] = Math.round(b / a);
      out[i + 3] = Math.round((a / (n * n)) * 255);
    }
  }
  return encodePng(size, out);
}

function write(relPath, png) {
  const path = join(root, relPath);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, png);
  return relPath;
}

const written = [write('build/icon.png', render(APP, 512, 512))];
for (const size of [16, 32, 48, 64, 128, 256, 512]) written.push(write(`build/icons/${size}x${size}.png`, render(APP, 512, size)));
for (const [state, layers] of Object.entries(TRAY)) {
  written.push(
    write(`build/tray/${state}.png`, render(layers, 16, 16)),
    write(`build/tray/${state}@2x.png`, render(layers, 16, 32)),
    write(`build/tray/${state}Template.png`, render(layers, 16, 16, { template: true })),
    write(`build/tray/${state}Template@2x.png`, render(layers, 16, 32, { template: true })),
  );
}
console.log(`wrote ${written.length} PNGs under build/`);
