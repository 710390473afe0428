import type { TaskObserver } from './taskEvents.ts';

/** Several observers as one, called in order (journal first: it must be on disk before anything acts). */
export function composeObservers(...list: (TaskObserver | undefined)[]): TaskObserver {
  const all = list.filter((o): o is TaskObserver => o !== undefined);
  return {
    assigned: async (...a) => {
      for (const o of all) await o.assigned?.(...a);
    },
    rejected: async (...a) => {
      for (const o of all) await o.rejected?.(...a);
    },
    workspaceReady: async (...a) => {
      for (const o of all) await o.workspaceReady?.(...a);
    },
    launching: async (...a) => {
      for (const o of all) await o.launching?.(...a);
    },
    started: async (...a) => {
      for (const o of all) await o.started?.(...a);
    },
    line: (...a) => {
      for (const o of all) o.line?.(...a);
    },
    activity: (...a) => {
      for (const o of all) o.activity?.(...a);
    },
    finished: async (...a) => {
      for (const o of all) await o.finished?.(...a);
    },
  };
}
