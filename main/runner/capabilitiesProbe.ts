import { ProjectLinks } from './projects/links.ts';
import { detectedCapabilities } from './projects/capabilities.ts';

/** Capabilities to register with: host probes (docker, gpu) ∪ linked projects' markers. */
export async function detectCapabilities(opts: { homeDir: string; configDir: string }): Promise<string[]> {
  return detectedCapabilities({ links: new ProjectLinks({ homeDir: opts.homeDir, configDir: opts.configDir }) });
}
