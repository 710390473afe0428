/** Host capabilities (docker, gpu); replaced by projects/capabilities.ts detection once wired. */
export async function detectCapabilities(): Promise<string[]> {
  return [];
}
