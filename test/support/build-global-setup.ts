import { execa } from 'execa';
import { REPO } from './drydock-cli.js';

// Integration tests run the real CLI from dist/: make sure it is built from the current source.
// The build is incremental, so this is quick when nothing changed.
export default async function buildOnce(): Promise<void> {
  // DRYDOCK_SKIP_BUILD=1: use dist/ as it is (e.g. while iterating on tests only).
  if (process.env.DRYDOCK_SKIP_BUILD === '1') return;
  await execa('npm', ['run', 'build'], { cwd: REPO, stdio: 'inherit' });
}
