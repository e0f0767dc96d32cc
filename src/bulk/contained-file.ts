/**
 * Reading a file of a folder someone else made (a bulk import's input) without letting the folder reach further:
 * a symbolic link is not followed, anything but a regular file (a FIFO that would block, a device that never ends)
 * is not read, and a file over its limit is refused from its size before a byte of it is read.
 */
import fs from 'node:fs/promises';

export class FileProblem extends Error {
  /** symbolic_link, not_a_file or too_large: the kind a bulk report counts it under. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export const SYMBOLIC_LINK_MESSAGE = 'a symbolic link, not followed';

export async function readContainedFile(file: string, maxBytes: number): Promise<Buffer> {
  let handle: fs.FileHandle;
  try {
    // O_NOFOLLOW: the check and the open are one step, so a link swapped in between is refused too. O_NONBLOCK:
    // opening a FIFO returns at once instead of waiting for a writer.
    handle = await fs.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    if ((error as { code?: string }).code === 'ELOOP') throw new FileProblem('symbolic_link', SYMBOLIC_LINK_MESSAGE);
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new FileProblem('not_a_file', 'not a regular file');
    if (info.size > maxBytes) throw new FileProblem('too_large', `${info.size} bytes; the limit is ${maxBytes}`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
