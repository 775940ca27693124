import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { JSON_SCHEMA_PATH, renderRunbookJsonSchema } from './json-schema.js';

/**
 * `npm run schema`: regenerates schema/runbook.schema.json. Runs as plain node from
 * dist/runbook/ after `npm run build`; both src/runbook and dist/runbook sit two levels below
 * the package root.
 */

/** The package root, found from this module's location. */
export function findPackageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** Writes the schema file and returns its absolute path. */
export async function writeRunbookJsonSchema(root: string = findPackageRoot()): Promise<string> {
  const target = resolve(root, JSON_SCHEMA_PATH);
  await writeFile(target, renderRunbookJsonSchema());
  return target;
}

// Why: only write when run as a script, not when a test imports the module.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const target = await writeRunbookJsonSchema();
  process.stdout.write(`wrote ${target}\n`);
}
