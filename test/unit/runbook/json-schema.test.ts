import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { JSON_SCHEMA_PATH, renderRunbookJsonSchema } from '../../../src/runbook/json-schema.js';

describe('schema/runbook.schema.json', () => {
  it('matches the zod schema', async () => {
    const committed = await readFile(JSON_SCHEMA_PATH, 'utf8').catch(() => '');
    const fresh = renderRunbookJsonSchema();
    expect(
      committed === fresh,
      'schema/runbook.schema.json is stale: run `npm run build && npm run schema`',
    ).toBe(true);
  });

  it('describes what people write: defaulted fields are optional', () => {
    const schema = JSON.parse(renderRunbookJsonSchema()) as {
      required: string[];
      properties: Record<string, unknown>;
    };
    expect(schema.required.sort()).toEqual(['name', 'stages', 'version']);
    expect(Object.keys(schema.properties)).toContain('checks');
  });
});
