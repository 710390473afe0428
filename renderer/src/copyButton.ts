import { h } from './dom.ts';

/** How long "Copied" shows before the button says "Copy" again, in ms. */
const CONFIRM_MS = 1500;

/**
 * A small "Copy" button for an id, a branch or a path: writes `text` to the clipboard (the window
 * may write to it, never read: main/desktop's permission handler) and says "Copied" for a moment.
 * `what` names the thing for screen readers ("Copy branch"). The visible word is drawn by CSS
 * from `data-label`, so selecting a value beside the button copies the value alone.
 */
export function copyButton(text: string, what: string): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'btn btn-copy', title: `Copy ${what}`, 'data-copy': text });
  const show = (label: string, spoken: string): void => {
    button.dataset.label = label;
    button.setAttribute('aria-label', spoken);
  };
  show('Copy', `Copy ${what}`);
  let timer: ReturnType<typeof setTimeout> | undefined;
  button.addEventListener('click', (e) => {
    // Inside a clickable table row: copying must not also open the task.
    e.stopPropagation();
    navigator.clipboard.writeText(text).then(
      () => show('Copied', `Copied ${what}`),
      () => show("Can't copy", `Can't copy ${what}`),
    );
    clearTimeout(timer);
    timer = setTimeout(() => show('Copy', `Copy ${what}`), CONFIRM_MS);
  });
  return button;
}
