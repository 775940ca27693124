import { execa } from 'execa';
import { REPO } from './drydock-cli.js';

// Integration tests run the real CLI from dist/: make sure it is built from the current source.
// The build is incremental, so this is quick when nothing changed.
export default async function buildOnce(): Promise<void> {
  await execa('npm', ['run', 'build'], { cwd: REPO, stdio: 'inherit' });
}
