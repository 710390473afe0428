import type { Handlers, ProjectLink } from '../../../preload/contract.ts';
import type { ProjectLinks } from '../../runner/projects/links.ts';
import type { AppContext } from '../appContext.ts';

async function projectList(links: ProjectLinks): Promise<ProjectLink[]> {
  return (await links.list()).map((p) => ({
    path: p.path,
    projectId: p.projectId,
    source: p.source,
    ok: p.usable,
    problem: p.problem,
    capabilities: p.capabilities,
    remoteUrl: p.remoteUrl,
  }));
}

/** Local clones linked to Sibyl projects (projects.yaml and the Sibyl CLI's config.toml). */
export function projectHandlers(app: Pick<AppContext, 'links'>): Pick<Handlers, 'projects:list' | 'projects:link' | 'projects:unlink'> {
  return {
    'projects:list': async () => projectList(app.links),
    'projects:link': async ({ path, projectId }) => {
      await app.links.link(path, projectId);
      return projectList(app.links);
    },
    'projects:unlink': async ({ projectId }) => {
      await app.links.unlink(projectId);
      return projectList(app.links);
    },
  };
}
