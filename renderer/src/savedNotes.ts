import { h, setText } from './dom.ts';
import type { Disposer } from './screen.ts';

/** How long "Saved" stays before it fades, and how long the fade takes (the CSS transition's length). */
export const SAVED_SHOWN_MS = 2000;
const FADE_MS = 400;

/**
 * Settings' save confirmations: one note per section, beside its heading, so the confirmation is
 * where the change was made, and one shown at a time, fading out, so they never pile up.
 * Each note is a live region: "Saved" is announced once, its removal is not.
 */
export class SavedNotes {
  readonly #notes: HTMLElement[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(d: Disposer) {
    d.add(() => clearTimeout(this.#timer));
  }

  /** A new, empty note for one section's heading. */
  note(): HTMLElement {
    const el = h('span', { class: 'saved small', role: 'status', 'data-testid': 'saved' });
    this.#notes.push(el);
    return el;
  }

  saving(note: HTMLElement): void {
    this.#show(note, 'Saving…', 'saving');
  }

  /** "Saved" on `note` (any other note is cleared); it fades after SAVED_SHOWN_MS. */
  saved(note: HTMLElement): void {
    this.#show(note, 'Saved', 'saved');
    this.#timer = setTimeout(() => {
      note.dataset.state = 'fading';
      this.#timer = setTimeout(() => this.clear(note), FADE_MS);
    }, SAVED_SHOWN_MS);
  }

  /** The save failed: the field's own error says why, so the note says nothing. */
  clear(note: HTMLElement): void {
    clearTimeout(this.#timer);
    setText(note, '');
    delete note.dataset.state;
  }

  #show(note: HTMLElement, text: string, state: string): void {
    for (const other of this.#notes) if (other !== note) this.clear(other);
    clearTimeout(this.#timer);
    note.dataset.state = state;
    setText(note, text);
  }
}
