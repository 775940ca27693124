import { readFile, stat } from 'node:fs/promises';
import { type Problem, UsageError } from '../errors.js';
import { createFileProblem } from './source-problem.js';

/**
 * Positioned YAML loading, shared by runbooks and inventories, in three steps: bytes → text
 * (here), text → YAML document with positions (`parse-yaml.ts`), document → schema-checked data
 * with friendly, located messages (`validate-yaml.ts`). Each step reports every problem it finds;
 * a later step only runs when the earlier one passed, because its messages would be noise on a
 * broken input.
 *
 * Pure apart from `readSourceFile`.
 */

/** A runbook or inventory this big is a mistake (or an attack); refuse before parsing. */
export const MAX_SOURCE_BYTES = 1024 * 1024;

export interface DecodeOptions {
  maxBytes?: number;
}

/** Reads a file for parsing, refusing missing files (usage error) and oversized ones (problem). */
export async function readSourceFile(
  path: string,
  options: DecodeOptions = {},
): Promise<{ bytes?: Buffer; problems: Problem[] }> {
  const maxBytes = options.maxBytes ?? MAX_SOURCE_BYTES;
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UsageError(`${path} is not a file`);
    size = info.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read ${path}: ${describeFsError(error)}`, { cause: error });
  }
  // Why: don't even read a 10 MB "runbook" into memory.
  if (size > maxBytes) return { problems: [createTooLargeProblem(path, size, maxBytes)] };
  try {
    return { bytes: await readFile(path), problems: [] };
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${describeFsError(error)}`, { cause: error });
  }
}

function describeFsError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return error instanceof Error ? error.message : String(error);
}

function createTooLargeProblem(file: string, size: number, maxBytes: number): Problem {
  return createFileProblem(
    file,
    `file is too large (${formatBytes(size)}; the limit is ${formatBytes(maxBytes)}); not parsed`,
    { hint: 'a runbook or inventory is a few kilobytes of YAML; is this the right file?' },
  );
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1).replace(/\.0$/, '')} KiB`;
  return `${bytes} bytes`;
}

/**
 * Turns file bytes into text: refuses oversized input, binary data (NUL bytes), invalid UTF-8
 * (pointing at the first bad byte) and empty files. A UTF-8 BOM is dropped.
 */
export function decodeSource(
  input: string | Buffer,
  file: string,
  options: DecodeOptions = {},
): { text?: string; problems: Problem[] } {
  const maxBytes = options.maxBytes ?? MAX_SOURCE_BYTES;
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (bytes.length > maxBytes) return { problems: [createTooLargeProblem(file, bytes.length, maxBytes)] };

  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    return {
      problems: [
        createByteProblem(
          file,
          bytes,
          nul,
          `this looks like a binary file, not YAML (NUL byte at offset ${nul})`,
          {
            hint: 'expected a YAML text file; check the path',
          },
        ),
      ],
    };
  }

  const invalid = findInvalidUtf8(bytes);
  if (invalid !== -1) {
    const byte = (bytes[invalid] ?? 0).toString(16).padStart(2, '0');
    return {
      problems: [
        createByteProblem(
          file,
          bytes,
          invalid,
          `file is not valid UTF-8: byte 0x${byte} at offset ${invalid}`,
          {
            hint: 'save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)',
          },
        ),
      ],
    };
  }

  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') return { problems: [createFileProblem(file, 'file is empty')] };
  return { text, problems: [] };
}

/** A problem about the file's bytes, located at the line and column of `offset`. */
function createByteProblem(
  file: string,
  bytes: Buffer,
  offset: number,
  message: string,
  extra: { hint: string },
): Problem {
  const { line, column } = locateByte(bytes, offset);
  return { file, line, column, path: '', message, ...extra };
}

/** Line and column (1-based, in characters) of a byte offset, counting only the valid prefix. */
function locateByte(bytes: Buffer, offset: number): { line: number; column: number } {
  const before = bytes.subarray(0, offset);
  const lastNewline = before.lastIndexOf(0x0a);
  let line = 1;
  for (const byte of before) if (byte === 0x0a) line++;
  const lineBytes = before.subarray(lastNewline + 1);
  // Why: the prefix may end mid-character; count code points, not bytes, for the column.
  const column = [...lineBytes.toString('utf8')].length + 1;
  return { line, column };
}

/** Offset of the first byte that breaks UTF-8 (RFC 3629), or -1 when the buffer is valid. */
export function findInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b0 = bytes[i] ?? 0;
    if (b0 < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    let cp: number;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      need = 1;
      min = 0x80;
      cp = b0 & 0x1f;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      min = 0x800;
      cp = b0 & 0x0f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      min = 0x10000;
      cp = b0 & 0x07;
    } else {
      return i;
    }
    for (let k = 1; k <= need; k++) {
      const b = bytes[i + k];
      if (b === undefined || (b & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (b & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are invalid.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i;
    i += need + 1;
  }
  return -1;
}
