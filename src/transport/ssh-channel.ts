import type { Client, ClientChannel } from 'ssh2';
import type { RemoteRun, RunEnd } from './ssh-exec.js';

/**
 * Plain exec channels, all started under `/bin/sh` whatever the user's login shell is.
 *
 * sshd hands an exec request to the login shell (`$SHELL -c <request>`), and csh or fish read
 * quotes, `$`, `!`, backslashes and newlines differently from sh. So the request itself is a fixed
 * line made only of characters every shell reads alike inside single quotes; it starts `/bin/sh`,
 * which reads the real script as exactly N bytes from stdin (`dd`, POSIX) and evaluates it.
 */
export function wrapForSh(script: string): { request: string; stdin: Buffer } {
  const stdin = Buffer.from(script, 'utf8');
  return {
    request: `exec /bin/sh -c 'c=$(dd bs=1 count=${stdin.length} 2>/dev/null) || exit 127; eval "$c"'`,
    stdin,
  };
}

/**
 * Open an exec channel running `script` under `/bin/sh`. `keepStdin` leaves the channel's stdin
 * open after the script (the persistent shell reads its requests from it); otherwise the
 * command sees end of input, as under `ssh -n`.
 */
export function execUnderSh(
  client: Client,
  script: string,
  keepStdin: boolean,
  callback: (error: Error | undefined, channel: ClientChannel | undefined) => void,
): void {
  const { request, stdin } = wrapForSh(script);
  client.exec(request, (error, channel) => {
    if (error) {
      callback(error, undefined);
      return;
    }
    if (keepStdin) channel.write(stdin);
    else channel.end(stdin);
    callback(undefined, channel);
  });
}

/** `kill` of a process group under sh; through sudo when the command ran under sudo. */
export function formatGroupKill(name: 'TERM' | 'KILL', pgid: number, sudo: boolean): string {
  // dash's builtin kill rejects `--`; procps kill (under sudo) needs it before a negative PID.
  return sudo ? `sudo -n kill -${name} -- -${pgid} 2>/dev/null` : `kill -${name} -${pgid} 2>/dev/null`;
}

/** A side command whose output does not matter; resolves once it ended (or could not start). */
export function runSideCommand(client: Client, script: string): Promise<void> {
  return new Promise((resolve) => {
    try {
      execUnderSh(client, script, false, (error, channel) => {
        if (error || !channel) {
          resolve();
          return;
        }
        channel.on('close', () => resolve());
        channel.resume();
        channel.stderr.resume();
      });
    } catch {
      // The connection is gone; the command dies with it.
      resolve();
    }
  });
}

/**
 * A command on its own exec channel. sshd ignores the `signal` channel request for root
 * sessions ("session signalling requires privilege separation"), so the process group is also
 * signalled with kill(1) on a side channel once its PID is known.
 */
export function createChannelRun(input: {
  client: Client;
  node: string;
  script: string;
  sudo: boolean;
  isConnected: () => boolean;
}): RemoteRun {
  const { client, node, script, sudo, isConnected } = input;
  let channel: ClientChannel | undefined;
  let abandoned = false;
  return {
    start(sinks) {
      return new Promise<RunEnd>((resolve) => {
        let exitCode: number | null = null;
        let exitSignal: string | null = null;
        try {
          execUnderSh(client, script, false, (error, ch) => {
            if (error || !ch) {
              const note = `drydock: could not open a channel on ${node}: ${error?.message}\n`;
              resolve(
                isConnected()
                  ? { kind: 'exited', exitCode: null, signal: null, note }
                  : { kind: 'lost', note },
              );
              return;
            }
            channel = ch;
            if (abandoned) ch.close();
            ch.on('data', (chunk: Buffer) => sinks.stdout(chunk));
            ch.stderr.on('data', (chunk: Buffer) => sinks.stderr(chunk));
            ch.on('exit', (code: number | null, signalName?: string) => {
              if (typeof code === 'number') exitCode = code;
              if (signalName) exitSignal = signalName.replace(/^SIG/, '');
            });
            ch.on('close', () => resolve({ kind: 'exited', exitCode, signal: exitSignal }));
          });
        } catch (error) {
          // ssh2 throws synchronously when the socket is already gone.
          resolve({ kind: 'lost', note: `drydock: ${(error as Error).message}\n` });
        }
      });
    },
    signal(name, pgid) {
      try {
        channel?.signal(name);
      } catch {
        // The channel is already closed.
      }
      if (pgid === undefined) return Promise.resolve();
      return runSideCommand(client, formatGroupKill(name, pgid, sudo));
    },
    abandon() {
      abandoned = true;
      channel?.close();
    },
  };
}
