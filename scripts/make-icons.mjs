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
/** A stroke with round ends: the points within `r` of the segment (x0, y0)–(x1, y1). */
const segment = (x0, y0, x1, y1, r) => (x, y) => {
  const [dx, dy] = [x1 - x0, y1 - y0];
  const t = Math.max(0, Math.min(1, ((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy)));
  return (x - x0 - t * dx) ** 2 + (y - y0 - t * dy) ** 2 <= r * r;
};
/** A filled triangle (any winding). */
const triangle = (ax, ay, bx, by, cx, cy) => (x, y) => {
  const s1 = (bx - ax) * (y - ay) - (by - ay) * (x - ax);
  const s2 = (cx - bx) * (y - by) - (cy - by) * (x - bx);
  const s3 = (ax - cx) * (y - cy) - (ay - cy) * (x - cx);
  return (s1 >= 0 && s2 >= 0 && s3 >= 0) || (s1 <= 0 && s2 <= 0 && s3 <= 0);
};
/**
 * An almond (the outline of an eye): the lens between two equal circles through its corners
 * (cx ± halfW, cy), `halfH` above and below the centre. `inset` shrinks it evenly, for an outline.
 */
const almond = (cx, cy, halfW, halfH, inset = 0) => {
  const r = (halfW * halfW + halfH * halfH) / (2 * halfH);
  const below = cy + r - halfH; // centre of the circle whose arc is the upper lid
  const above = cy - r + halfH; // … and of the lower lid
  const ri = r - inset;
  return (x, y) => (x - cx) ** 2 + (y - below) ** 2 <= ri * ri && (x - cx) ** 2 + (y - above) ** 2 <= ri * ri;
};
const minus = (a, b) => (x, y) => a(x, y) && !b(x, y);

// --- Drawings: layers painted in order; `erase` cuts through what is below ------------------

const GREY = [142, 142, 147];
const AMBER = [255, 159, 10];
const GREEN = [48, 209, 88];
const BLUE = [10, 132, 255];
const RED = [255, 69, 58];

/**
 * Sibyl's eye on the 16-unit tray grid: an almond lid line and an iris, raised a little so a
 * state badge fits in the lower right corner. Every state draws the same eye, so the icon is
 * recognisably Sibyl's in every state; the state is the badge (its shape tells the states apart
 * in the monochrome macOS set, its colour in the colour set).
 */
const EYE = { cx: 8, cy: 6.5, halfW: 7.25, halfH: 4.75, lid: 1.5, iris: 2.25 };
const BADGE = { cx: 12.25, cy: 12.25, r: 3.75, clear: 1.1 };

function eye(color, { pupil = true } = {}) {
  const { cx, cy, halfW, halfH, lid, iris } = EYE;
  return [
    { shape: minus(almond(cx, cy, halfW, halfH), almond(cx, cy, halfW, halfH, lid)), color },
    ...(pupil ? [{ shape: disc(cx, cy, iris), color }] : []),
  ];
}

/** A badge: the eye is cleared around it first, so the two read as separate shapes at 16 px. */
function badge(color, ...shapes) {
  const { cx, cy, r, clear } = BADGE;
  return [{ shape: disc(cx, cy, r + clear), erase: true }, ...shapes.map((s) => (s.erase ? s : { shape: s, color }))];
}

const { cx: bx, cy: by, r: br } = BADGE;

/** Tray icons on a 16-unit grid. */
const TRAY = {
  // Not registered, not running, stopped: the eye struck through (closed to the world).
  offline: [
    ...eye(GREY, { pupil: false }),
    { shape: segment(2, 1.5, 14.5, 14, 2.1), erase: true },
    { shape: segment(2, 1.5, 14.5, 14, 0.85), color: GREY },
  ],
  // Dialling: an open arc, the usual "in progress" ring.
  connecting: [...eye(AMBER), ...badge(AMBER, withGap(ring(bx, by, br - 1.45, br), bx, by, 45, 100))],
  // Connected and idle: the eye alone.
  online: eye(GREEN),
  // Running tasks: a play mark.
  busy: [...eye(BLUE), ...badge(BLUE, triangle(bx - 2.6, by - br + 0.2, bx - 2.6, by + br - 0.2, bx + br, by))],
  // Not taking new tasks: the pause bars.
  paused: [
    ...eye(GREY),
    ...badge(GREY, box(bx - 2.9, by - 3.4, bx - 0.8, by + 3.4, 0.45), box(bx + 0.8, by - 3.4, bx + 2.9, by + 3.4, 0.45)),
  ],
  // Something to fix: the warning sign, an exclamation mark knocked out of a triangle (not a
  // disc: a disc with a bar cut out looks like the pause bars at 16 px).
  error: [
    ...eye(RED),
    ...badge(
      RED,
      triangle(bx, by - br - 0.35, bx - br - 0.35, by + br, bx + br + 0.35, by + br),
      { shape: box(bx - 0.75, by - 1.9, bx + 0.75, by + 1.2, 0.5), erase: true },
      { shape: disc(bx, by + 2.45, 0.75), erase: true },
    ),
  ],
};

/** The app icon on a 512-unit grid: the macOS rounded square with the same eye in white. */
const APP = [
  {
    shape: box(48, 48, 464, 464, 92),
    color: (x, y) => {
      const t = (y - 48) / 416;
      return [Math.round(79 + (30 - 79) * t), Math.round(70 + (27 - 70) * t), Math.round(229 + (75 - 229) * t)];
    },
  },
  { shape: minus(almond(256, 256, 168, 110), almond(256, 256, 168, 110, 30)), color: [255, 255, 255] },
  { shape: disc(256, 256, 62), color: [255, 255, 255] },
  { shape: disc(256 + 22, 256 - 22, 17), color: [79, 70, 229] },
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
