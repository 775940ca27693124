import type { RunReporter } from '../executor/events.js';
import { escapeControlDeep } from '../shared/escape-control.js';
import type { TextSink } from './run-format.js';
import { createJsonReporter } from './run-json.js';
import { createListrReporter } from './run-listr.js';
import { createSimpleReporter } from './run-simple.js';

/** A stream, or a write function such as `CliIo.stdout`. */
export type OutputTarget = NodeJS.WriteStream | ((text: string) => void);

export interface ReporterOptions {
  stdout: OutputTarget;
  stderr: OutputTarget;
  /** Whether stdout is a terminal; `interactive` falls back to `simple` when it is not. */
  isTTY: boolean;
  verbose?: boolean;
}

/**
 * Every reporter can step aside while a prompt is on screen; only `interactive` draws live, the
 * others' `pause`/`resume` do nothing. The methods need no `this`, so they can be passed along.
 */
export type PausableReporter = RunReporter & { pause(): void; resume(): void; close(): Promise<void> };

/** Reporters by name, as vitest's ReportersMap: `--reporter <name>` picks one. */
export const ReportersMap = {
  interactive: (opts: ReporterOptions): PausableReporter =>
    opts.isTTY
      ? // listr2 needs a real terminal stream (columns, cursor); write functions mean process streams.
        withEscapes(
          createListrReporter({
            stdout: toStream(opts.stdout, process.stdout),
            stderr: toStream(opts.stderr, process.stderr),
          }),
        )
      : ReportersMap.simple(opts),
  simple: (opts: ReporterOptions): PausableReporter =>
    withEscapes(withNoPause(createSimpleReporter({ stdout: toSink(opts.stdout), verbose: opts.verbose }))),
  json: (opts: ReporterOptions): PausableReporter =>
    withNoPause(createJsonReporter({ stdout: toSink(opts.stdout) })),
  silent: (_opts: ReporterOptions): PausableReporter => withNoPause({ onEvent() {} }),
} satisfies Record<string, (opts: ReporterOptions) => PausableReporter>;

export type ReporterName = keyof typeof ReportersMap;
export const REPORTER_NAMES = Object.keys(ReportersMap) as ReporterName[];

export function createReporter(name: ReporterName, opts: ReporterOptions): PausableReporter {
  return ReportersMap[name](opts);
}

/** Sends every event to each reporter (e.g. the terminal display and the journal). */
export function combineReporters(...reporters: RunReporter[]): RunReporter {
  return {
    onEvent(event) {
      for (const reporter of reporters) reporter.onEvent(event);
    },
    async close() {
      for (const reporter of reporters) await reporter.close?.();
    },
  };
}

/** Text for people: control characters from the cluster are shown escaped, never sent raw. */
function withEscapes(reporter: PausableReporter): PausableReporter {
  return { ...reporter, onEvent: (event) => reporter.onEvent(escapeControlDeep(event)) };
}

function withNoPause(reporter: RunReporter): PausableReporter {
  return {
    onEvent: (event) => reporter.onEvent(event),
    pause() {},
    resume() {},
    close: async () => reporter.close?.(),
  };
}

function toSink(target: OutputTarget): TextSink {
  return typeof target === 'function' ? { write: target } : target;
}

function toStream(target: OutputTarget, fallback: NodeJS.WriteStream): NodeJS.WriteStream {
  return typeof target === 'function' ? fallback : target;
}
