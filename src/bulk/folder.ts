/**
 * A folder of scans: each image named by its ISBN (`9780385472579.jpg`, `0-385-47257-9.png`, `0385472579_back.jpg`)
 * or by an OLID, or mapped to its identifiers by a CSV (`file,isbn[,…]`). Each file becomes a cover; a file whose
 * image is already a cover with its identifiers is left alone, so running the import again adds nothing.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Services } from '../services.ts';
import type { Category, IdentifierInput, NewCover } from '../catalogue/covers.ts';
import { refreshStatistics } from '../catalogue/db.ts';
import { checkedTitleEdit, type TitleEdit } from '../catalogue/titles.ts';
import { JacketError } from '../errors.ts';
import { CATEGORY_OLID_KIND, cleanIsbn, EDITION_SCHEMES, isEditionScheme, isValidIsbn10, isValidIsbn13, normaliseIdentifier, parseOlid, type EditionScheme } from '../identifiers/index.ts';
import type { InspectedImage } from '../images/inspect.ts';
import { originalKey } from '../storage/blobstore.ts';
import { mapLimited } from '../concurrency.ts';
import { noProgress, Problems, UsageError, type ProgressFactory } from './report.ts';
import { ImageProblem, quickInspect, storedOriginal } from './validate.ts';

/** Files read, checked and committed together: one transaction, a bounded amount of memory. */
const BATCH_FILES = 200;
const READ_CONCURRENCY = 8;

export interface FolderImportOptions {
  csv?: string;
  category?: Extract<Category, 'b' | 'a'>;
  /** Check and report everything, store nothing. */
  dryRun?: boolean;
  progress?: ProgressFactory;
}

export interface FolderImportSummary {
  files: number;
  /** Covers added (with `dryRun`, that would be added). */
  imported: number;
  /** Files whose image is already a cover with their identifiers (an earlier run). */
  unchanged: number;
  problems: Problems;
}

/** What a file is a cover of: identifiers, an Open Library entity, a title. */
export interface FileTarget {
  identifiers: IdentifierInput[];
  olid?: string;
  title?: TitleEdit;
}

type Named = { ok: true; target: FileTarget } | { ok: false; code: string; message: string };

/** An ISBN as a file name may spell it; the `bad_check_digit` problem when it has ISBN shape but a wrong check digit. */
function isbnOf(raw: string): Named | undefined {
  const isbn = cleanIsbn(raw);
  if (!/^\d{9}[\dX]$/.test(isbn) && !/^\d{13}$/.test(isbn)) return undefined;
  if (!isValidIsbn10(isbn) && !isValidIsbn13(isbn)) return { ok: false, code: 'bad_check_digit', message: `${raw} has the shape of an ISBN but a wrong check digit` };
  return { ok: true, target: { identifiers: [{ scheme: 'isbn', value: normaliseIdentifier('isbn', isbn)! }] } };
}

/**
 * What a file's name says it is: the part before the extension and before any `_` (`0385472579_back.jpg`) is an
 * ISBN of either length (hyphens and spaces allowed), or for author photos (`category` a) an author's OLID. A book
 * cover may be named by its edition's OLID too.
 */
export function targetOfName(name: string, category: 'b' | 'a'): Named {
  const stem = path.basename(name).replace(/\.[^.]*$/, '').split('_')[0]!.trim();
  const olid = parseOlid(stem);
  if (olid && olid.kind === CATEGORY_OLID_KIND[category]) return { ok: true, target: { identifiers: [], olid: olid.olid } };
  if (category === 'b') {
    const isbn = isbnOf(stem);
    if (isbn) return isbn.ok ? isbn : { ...isbn, message: `${name}: ${isbn.message}` };
  }
  const expected = category === 'b' ? 'an ISBN (9780385472579.jpg, 0-385-47257-9.png) or an edition OLID' : 'an author OLID (OL26320A.jpg)';
  return { ok: false, code: 'unknown_name', message: `${name}: the name is not ${expected}, and no CSV row maps it` };
}

/** The CSV's columns besides `file`: identifier kinds, `olid`, `title`, `author`. */
const CSV_EXTRA_COLUMNS = ['olid', 'title', 'author'];

/**
 * A CSV of `file,isbn[,…]`: a header naming `file` and any identifier kinds (`isbn`, `oclc`, `lccn`, `goodreads`,
 * `librarything`), `olid`, `title` or `author`; a cell may hold several values separated by `;`. Rows map a file
 * (relative to the folder) to what it is a cover of; a row that cannot be used is a problem, and its file is skipped.
 */
export async function readMapping(csvFile: string, category: 'b' | 'a', problems: Problems): Promise<Map<string, Named>> {
  let records: string[][];
  try {
    records = parse(await fs.readFile(csvFile), { bom: true, skip_empty_lines: true, relax_column_count: true, trim: true }) as string[][];
  } catch (error) {
    throw new UsageError(`${csvFile} cannot be read as CSV: ${(error as Error).message}`);
  }
  const header = (records[0] ?? []).map((column) => column.toLowerCase());
  if (header[0] !== 'file') throw new UsageError(`${csvFile}: the first row must name the columns, starting with file (e.g. file,isbn)`);
  const unknown = header.slice(1).filter((column) => !isEditionScheme(column) && !CSV_EXTRA_COLUMNS.includes(column));
  if (unknown.length > 0) throw new UsageError(`${csvFile}: unknown column ${unknown[0]}; columns are file, ${[...EDITION_SCHEMES, ...CSV_EXTRA_COLUMNS].join(', ')}`);
  if (category === 'a' && header.some((column) => isEditionScheme(column))) throw new UsageError(`${csvFile}: author photos are found by OLID; give an olid column, not identifiers`);
  const mapping = new Map<string, Named>();
  for (const [index, record] of records.slice(1).entries()) {
    const line = index + 2;
    const file = path.normalize(record[0] ?? '');
    if (!record[0]) {
      problems.add('bad_row', `${path.basename(csvFile)} line ${line}: no file named`);
      continue;
    }
    if (mapping.has(file)) {
      problems.add('bad_row', `${path.basename(csvFile)} line ${line}: ${file} is mapped by an earlier row, which counts`);
      continue;
    }
    mapping.set(file, rowTarget(header, record, category, `${path.basename(csvFile)} line ${line}`));
  }
  return mapping;
}

function rowTarget(header: string[], record: string[], category: 'b' | 'a', where: string): Named {
  const target: FileTarget = { identifiers: [] };
  const authors: string[] = [];
  let title: string | undefined;
  for (const [column, cell] of header.map((name, i) => [name, record[i] ?? ''] as const).slice(1)) {
    for (const raw of cell.split(';').map((value) => value.trim()).filter(Boolean)) {
      if (column === 'olid') {
        const olid = parseOlid(raw);
        if (!olid || olid.kind !== CATEGORY_OLID_KIND[category]) return { ok: false, code: 'bad_identifier', message: `${where}: "${raw.slice(0, 40)}" is not an Open Library ${CATEGORY_OLID_KIND[category]} id` };
        target.olid = olid.olid;
      } else if (column === 'title') title = raw;
      else if (column === 'author') authors.push(raw);
      else {
        const scheme = column as EditionScheme;
        if (scheme === 'isbn') {
          const isbn = isbnOf(raw);
          if (isbn && !isbn.ok) return { ...isbn, message: `${where}: ${isbn.message}` };
        }
        const value = normaliseIdentifier(scheme, raw);
        if (value === undefined) return { ok: false, code: 'bad_identifier', message: `${where}: "${raw.slice(0, 40)}" is not a valid ${scheme}` };
        target.identifiers.push({ scheme, value });
      }
    }
  }
  if (target.identifiers.length === 0 && !target.olid) return { ok: false, code: 'no_identifier', message: `${where}: the row gives no identifier or olid` };
  if (title !== undefined || authors.length > 0) {
    try {
      target.title = checkedTitleEdit({ title, authors: authors.length > 0 ? authors : undefined });
    } catch (error) {
      if (!(error instanceof JacketError)) throw error;
      return { ok: false, code: error.code, message: `${where}: ${error.message}` };
    }
  }
  return { ok: true, target };
}

/** Every regular file under the folder, as paths relative to it; hidden files and folders (`.DS_Store`) left out. */
async function listFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (relative: string) => {
    for (const entry of await fs.readdir(path.join(dir, relative), { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const file = path.join(relative, entry.name);
      if (entry.isDirectory()) await walk(file);
      else if (entry.isFile()) found.push(file);
    }
  };
  await walk('');
  return found;
}

/**
 * Files in import order: by the name's stem (the part before `_`), a plain `9780385472579.jpg` after its
 * `9780385472579_back.jpg`, so the front is the newest cover of its ISBN, the one lookups show.
 */
function inImportOrder(files: string[]): string[] {
  const key = (file: string) => {
    const base = path.basename(file).replace(/\.[^.]*$/, '');
    const underscore = base.indexOf('_');
    return { stem: path.join(path.dirname(file), underscore === -1 ? base : base.slice(0, underscore)), plain: underscore === -1 ? 1 : 0 };
  };
  return files
    .map((file) => ({ file, ...key(file) }))
    .sort((a, b) => (a.stem < b.stem ? -1 : a.stem > b.stem ? 1 : a.plain - b.plain || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)))
    .map((item) => item.file);
}

interface ReadyFile {
  file: string;
  target: FileTarget;
  image: InspectedImage;
  bytes: Buffer;
}

/** Import a folder of scans (see the module comment); the summary counts what was imported and reports the rest. */
export async function importFolder(services: Services, dir: string, options: FolderImportOptions = {}): Promise<FolderImportSummary> {
  const { catalogue, intake, blobs } = services;
  const category = options.category ?? 'b';
  const summary: FolderImportSummary = { files: 0, imported: 0, unchanged: 0, problems: new Problems() };
  const { problems } = summary;
  const mapping = options.csv ? await readMapping(options.csv, category, problems) : new Map<string, Named>();
  const csvInside = options.csv ? path.relative(dir, path.resolve(options.csv)) : undefined;
  const files = inImportOrder((await listFiles(dir)).filter((file) => file !== csvInside));
  const present = new Set(files);
  for (const file of mapping.keys()) if (!present.has(file)) problems.add('missing_file', `${file}: named in the CSV, not in ${dir}`);
  summary.files = files.length;
  const bar = (options.progress ?? noProgress)({ label: 'import folder', unit: 'files', total: files.length });
  /** Images of this run, by SHA-256: the file that brought each (a later file with the same bytes is a duplicate). */
  const seen = new Map<string, string>();
  try {
    for (let start = 0; start < files.length; start += BATCH_FILES) {
      const batch = files.slice(start, start + BATCH_FILES);
      const read = await mapLimited(batch, READ_CONCURRENCY, (file) => readOne(dir, file, mapping.get(file) ?? targetOfName(file, category)));
      const ready = read.filter((item): item is ReadyFile => item !== undefined);
      const stored = await catalogue.coversByImage(ready.map((item) => item.image.sha256));
      const toAdd: ReadyFile[] = [];
      const sameRun: ReadyFile[] = [];
      for (const item of ready) {
        const existing = stored.get(item.image.sha256);
        if (existing !== undefined) await reportStored(item, existing);
        else if (seen.has(item.image.sha256)) sameRun.push(item);
        else {
          seen.set(item.image.sha256, item.file);
          toAdd.push(item);
        }
      }
      if (!options.dryRun && toAdd.length > 0) {
        // Blobs first, rows after: an interruption leaves at worst an unreferenced blob, and the file is imported on
        // the next run. Content-addressed, so a blob written again is the same blob.
        await mapLimited(toAdd, READ_CONCURRENCY, (item) => blobs.put(originalKey(item.image.sha256), item.bytes));
        await catalogue.addCovers(toAdd.map((item) => coverInput(item, category)));
      }
      summary.imported += toAdd.length;
      const runIds = options.dryRun ? new Map<string, number>() : await catalogue.coversByImage(sameRun.map((item) => item.image.sha256));
      for (const item of sameRun) {
        const id = runIds.get(item.image.sha256);
        problems.add('duplicate', `${item.file}: the same image (SHA-256) as ${seen.get(item.image.sha256)}${id === undefined ? '' : `, cover ${id}`}; not imported again`);
      }
      bar.update(start + batch.length, start + batch.length);
    }
  } finally {
    bar.stop();
  }
  if (summary.imported > 0 && !options.dryRun) await refreshStatistics(catalogue.db, ['covers', 'entities', 'identifiers', 'titles']);
  return summary;

  /** The file, checked: its target and its image, or undefined when it is reported instead. */
  async function readOne(root: string, file: string, named: Named): Promise<ReadyFile | undefined> {
    if (!named.ok) {
      problems.add(named.code, named.message);
      return undefined;
    }
    const full = path.join(root, file);
    const size = (await fs.stat(full)).size;
    if (size > intake.maxImageBytes) {
      problems.add('too_large', `${file}: ${size} bytes; the limit is ${intake.maxImageBytes}`);
      return undefined;
    }
    const bytes = await fs.readFile(full);
    try {
      return { file, target: named.target, image: await quickInspect(bytes, intake), bytes };
    } catch (error) {
      if (!(error instanceof ImageProblem)) throw error;
      // Over a limit is said so; anything else the image library could not read is one kind.
      problems.add(error.code === 'too_many_pixels' ? error.code : 'unreadable_image', `${file}: ${error.message}`);
      return undefined;
    }
  }

  /** A file whose image is already cover `id`: unchanged when that cover has the file's identifiers, else a duplicate. */
  async function reportStored(item: ReadyFile, id: number): Promise<void> {
    const cover = await catalogue.getCover(id);
    const has = new Set((cover ? await catalogue.identifiersOf(cover) : []).map((identifier) => `${identifier.scheme}:${identifier.value}`));
    const sameEntity = !item.target.olid || cover?.olid === item.target.olid;
    if (sameEntity && item.target.identifiers.every((identifier) => has.has(`${identifier.scheme}:${identifier.value}`))) summary.unchanged++;
    else problems.add('duplicate', `${item.file}: the same image (SHA-256) as cover ${id}, which has other identifiers; not imported again`);
  }
}

function coverInput(item: ReadyFile, category: 'b' | 'a'): NewCover {
  const { image, target } = item;
  return {
    category,
    ...storedOriginal(image),
    olid: target.olid,
    olidKind: target.olid ? CATEGORY_OLID_KIND[category] : undefined,
    identifiers: target.identifiers,
    title: target.title,
  };
}
