import { MissingModelFile, ModelFiles, joinLocation } from './modelFiles';

/**
 * Model files served over HTTP(S) under `baseUrl` (absolute, or relative to the page in a browser), read with
 * `fetch`.
 */
export function urlModelFiles(baseUrl: string, fetchFn: typeof fetch = fetch): ModelFiles {
  const get = async (name: string): Promise<Response> => {
    const url = joinLocation(baseUrl, name);
    let response: Response;
    try {
      response = await fetchFn(url);
    } catch (error) {
      throw new Error(`${url}: could not be fetched (${(error as Error).message})`);
    }
    const failure = `${url}: HTTP ${response.status} ${response.statusText}`.trim();
    if (response.status === 404) throw new MissingModelFile(failure);
    if (!response.ok) throw new Error(failure);
    return response;
  };
  return {
    location: baseUrl,
    at: (name) => urlModelFiles(joinLocation(baseUrl, name), fetchFn),
    readText: async (name) => (await get(name)).text(),
    readBytes: async (name) => (await get(name)).arrayBuffer(),
    has: async (name) => {
      try {
        const response = await fetchFn(joinLocation(baseUrl, name), { method: 'HEAD' });
        return response.ok;
      } catch {
        return false;
      }
    },
  };
}
