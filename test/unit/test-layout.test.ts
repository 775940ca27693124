import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// test/unit mirrors src/: a unit test lives in the folder of the module it covers.
function folders(root: string, prefix = ''): string[] {
  return readdirSync(join(root, prefix))
    .filter((name) => name !== 'fixtures' && statSync(join(root, prefix, name)).isDirectory())
    .flatMap((name) => [join(prefix, name), ...folders(root, join(prefix, name))]);
}

describe('test layout', () => {
  it('every folder under test/unit has a twin under src/', () => {
    const strays = folders('test/unit').filter((folder) => !existsSync(join('src', folder)));
    expect(strays).toEqual([]);
  });
});
