import { afterAll, afterEach } from 'vitest';

/**
 * Setup file of every suite: a Node warning (MaxListenersExceeded, a deprecation, …) or an
 * unhandled rejection fails the test it happened in, as execa's suite does, instead of
 * scrolling past in stderr. Vitest reports rejections on its own but not against a test.
 */
const problems: string[] = [];

const onWarning = (warning: Error): void => {
  problems.push(`Node warning: ${warning.name}: ${warning.message}`);
};
const onRejection = (reason: unknown): void => {
  problems.push(
    `unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`,
  );
};

process.on('warning', onWarning);
process.on('unhandledRejection', onRejection);

function throwProblems(when: string): void {
  if (problems.length === 0) return;
  const found = problems.splice(0);
  throw new Error(`${when}:\n${found.join('\n')}`);
}

afterEach(() => throwProblems('during this test'));

afterAll(async () => {
  // Warnings are emitted on the next tick: let one from the last hook arrive before looking.
  await new Promise<void>((resolve) => setImmediate(resolve));
  process.off('warning', onWarning);
  process.off('unhandledRejection', onRejection);
  throwProblems('in this file outside any test');
});
