import type { DisplayArea, WindowBounds } from './electronSurface.ts';

/** Less than this much of a window (DIPs, each way) on a display counts as off it: nothing there to grab. */
const MIN_VISIBLE = { width: 64, height: 32 };

function overlap(a: WindowBounds, b: WindowBounds): { width: number; height: number } {
  return {
    width: Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x)),
    height: Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y)),
  };
}

/**
 * Where to reopen the window from the bounds saved last time, given the displays now attached.
 * The display the saved bounds mostly cover keeps the window, moved (and shrunk) just enough to lie
 * wholly in its work area, so the title bar can be grabbed. Bounds off every display — a monitor
 * since unplugged, or Windows' (-32000, -32000) of a minimised window saved before — open centred on
 * the primary display. Sizes are at least `min` and at most the work area. Undefined without saved
 * bounds (the window's defaults apply). Pure: DIPs in, DIPs out.
 */
export function placeWindow(
  saved: WindowBounds | undefined,
  displays: readonly DisplayArea[],
  primary: DisplayArea,
  min: { width: number; height: number },
): WindowBounds | undefined {
  if (!saved || ![saved.x, saved.y, saved.width, saved.height].every(Number.isFinite)) return undefined;
  let best: { area: WindowBounds; covered: number } | undefined;
  for (const { workArea } of displays) {
    const o = overlap(saved, workArea);
    if (o.width < MIN_VISIBLE.width || o.height < MIN_VISIBLE.height) continue;
    if (!best || o.width * o.height > best.covered) best = { area: workArea, covered: o.width * o.height };
  }
  const area = best?.area ?? primary.workArea;
  const width = Math.round(Math.min(Math.max(saved.width, min.width), area.width));
  const height = Math.round(Math.min(Math.max(saved.height, min.height), area.height));
  if (!best) {
    return { x: Math.round(area.x + (area.width - width) / 2), y: Math.round(area.y + (area.height - height) / 2), width, height };
  }
  const clamp = (v: number, lo: number, hi: number): number => Math.round(Math.min(Math.max(v, lo), hi));
  return {
    x: clamp(saved.x, area.x, area.x + area.width - width),
    y: clamp(saved.y, area.y, area.y + area.height - height),
    width,
    height,
  };
}
