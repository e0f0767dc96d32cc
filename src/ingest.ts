import type { Config } from './config.ts';
import type { IntakePolicy } from './intake.ts';
import type { Metrics } from './metrics.ts';
import type { Category, Cover, CoverCatalogue, IdentifierInput } from './catalogue/covers.ts';
import type { TitleEdit } from './catalogue/titles.ts';
import { JacketError } from './errors.ts';
import { safeFetch } from './fetch/safe-fetch.ts';
import { inspectImage, type InspectedImage } from './images/inspect.ts';
import { CATEGORY_OLID_KIND, parseOlid } from './identifiers/index.ts';
import { originalKey, type BlobStore } from './storage/blobstore.ts';

export interface CoverUpload {
  category: Category;
  olid?: string;
  /** The image bytes, or a URL to download them from. */
  bytes?: Buffer;
  sourceUrl?: string;
  author?: string;
  identifiers?: IdentifierInput[];
  title?: TitleEdit;
  id?: number;
  status?: Cover['status'];
}

/**
 * Turning bytes into a catalogued cover: validate the image, store the original (atomically, content-addressed),
 * then one database transaction for the metadata. A crash between the two leaves an orphan blob (garbage for fsck),
 * never a row pointing at nothing.
 */
export class Ingest {
  private readonly config: Config;
  private readonly blobs: BlobStore;
  private readonly catalogue: CoverCatalogue;
  private readonly metrics: Metrics;
  private readonly intake: IntakePolicy;

  constructor(config: Config, intake: IntakePolicy, blobs: BlobStore, catalogue: CoverCatalogue, metrics: Metrics) {
    this.config = config;
    this.intake = intake;
    this.blobs = blobs;
    this.catalogue = catalogue;
    this.metrics = metrics;
  }

  /** Validate and store an original; returns what the catalogue needs to refer to it. */
  async storeOriginal(bytes: Buffer): Promise<InspectedImage & { blobKey: string }> {
    if (bytes.length > this.intake.maxImageBytes) throw this.intake.tooLarge(bytes.length);
    const image = await inspectImage(bytes, { maxPixels: this.intake.maxPixels });
    const blobKey = originalKey(image.sha256);
    // Re-using a blob (the same bytes again) refreshes its age: it may be an old orphan that `jacket fsck --repair`
    // beside this server is about to collect, and the row about to point at it would then point at nothing.
    const existing = await this.blobs.stat(blobKey);
    const reused = existing !== undefined && existing.size === bytes.length && this.blobs.touch !== undefined && (await this.blobs.touch(blobKey));
    if (!reused) await this.blobs.put(blobKey, bytes);
    return { ...image, blobKey };
  }

  /** The image at a `source_url`, within the limits (hosts, addresses, time, bytes); timed as an upstream call. */
  download(sourceUrl: string): Promise<Buffer> {
    return this.metrics.observeUpstream('source_url', () => this.fetchSource(sourceUrl));
  }

  private async fetchSource(sourceUrl: string): Promise<Buffer> {
    const response = await safeFetch(sourceUrl, {
      allowHosts: this.config.sourceUrlHosts,
      allowPrivate: this.config.sourceUrlAllowPrivate,
      timeoutMs: this.config.sourceUrlTimeoutMs,
      maxBytes: this.intake.maxImageBytes,
    });
    if (response.status !== 200) {
      throw new JacketError(400, 'source_url_failed', `The source URL answered ${response.status}, not 200.`);
    }
    return response.body;
  }

  async addCover(upload: CoverUpload): Promise<Cover> {
    let olid: string | undefined;
    if (upload.olid !== undefined) {
      const parsed = parseOlid(upload.olid);
      if (!parsed || parsed.kind !== CATEGORY_OLID_KIND[upload.category]) {
        throw new JacketError(400, 'invalid_olid', `"${upload.olid.slice(0, 40)}" is not an Open Library ${CATEGORY_OLID_KIND[upload.category]} id.`);
      }
      olid = parsed.olid;
    }
    let bytes = upload.bytes;
    if ((!bytes || bytes.length === 0) && upload.sourceUrl) bytes = await this.download(upload.sourceUrl);
    if (!bytes || bytes.length === 0) throw new JacketError(400, 'no_image', 'No image was sent: give a file (`data`) or a `source_url`.');
    const image = await this.storeOriginal(bytes);
    return this.catalogue.addCover({
      category: upload.category,
      olid,
      olidKind: olid ? CATEGORY_OLID_KIND[upload.category] : undefined,
      // The stored original's key, hash, type and upright size.
      ...image,
      sourceUrl: upload.sourceUrl,
      author: upload.author,
      identifiers: upload.identifiers,
      title: upload.title,
      id: upload.id,
      status: upload.status,
    });
  }
}
