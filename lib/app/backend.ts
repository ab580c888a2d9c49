import type { Config } from '../config.js';
import { openEmbedded, type Backend } from './mailroom.js';

/**
 * The adapters the configuration asks for: the embedded default over the data directory,
 * or AWS. The AWS SDK is imported only for the aws backend, so the local CLI and `npm start`
 * never load it.
 */
export async function openBackend(config: Config): Promise<Backend> {
  if (config.backend === 'local') return openEmbedded(config);
  const { openAws } = await import('./aws-backend.js');
  return openAws(config);
}
