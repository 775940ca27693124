import { z } from 'zod';
import { rawRunbook } from './schema.js';

/**
 * The JSON Schema published for editors (yaml-language-server), generated from the zod schema
 * so the two cannot drift. `io: 'input'` describes what people write: fields with defaults are
 * optional. A snapshot test keeps `schema/runbook.schema.json` equal to this.
 */

/** Where the schema is published, relative to the package root. */
export const JSON_SCHEMA_PATH = 'schema/runbook.schema.json';

export function generateRunbookJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(rawRunbook, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return { ...schema, title: 'drydock runbook' };
}

/** The file content: stable key order from the schema, two-space indent, trailing newline. */
export function renderRunbookJsonSchema(): string {
  return `${JSON.stringify(generateRunbookJsonSchema(), null, 2)}\n`;
}
