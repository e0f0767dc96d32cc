// s3rver ships no types; this is the part the tests use.
declare module 's3rver' {
  interface S3rverOptions {
    port?: number;
    address?: string;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    configureBuckets?: Array<{ name: string; configs: Array<string | Buffer> }>;
  }
  export default class S3rver {
    constructor(options: S3rverOptions);
    /** Its FilesystemStore (untyped JavaScript). */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    store: any;
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }
}
