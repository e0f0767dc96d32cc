import http from 'node:http';
import type { Socket } from 'node:net';
import type { ConditionalHeaders } from './common.ts';
import { REQUEST_ID_LENGTH, saneRequestId, writeNewRequestId } from './request-id.ts';

/** What the front writes for one request: the status line and the resource's headers, then the body (none for a 304). */
export interface FrontAnswer {
  /**
   * `HTTP/1.1 200 OK\r\n` and `name: value\r\n` lines, without Date, Connection or Keep-Alive, ending with
   * `x-request-id: ` (latin1): the front writes the request id next, then the date and connection lines.
   */
  head: Buffer;
  body: Buffer | undefined;
  /** Called once the answer is written, with `performance.now()` from when the request was recognised (metrics). */
  written(started: number): void;
}

/** What an answer may depend on besides the URL and the validators: who asks, and whether credentials came along. */
export interface HotClient {
  /** The peer's address, as Fastify's `request.ip` is without a trusted proxy. */
  address: string | undefined;
  /** Authorization or Cookie was sent. */
  personal: boolean;
  /** The Host asked for. */
  host: string | undefined;
}

/** Decides whether a plain GET of `target` is answered by the front (and with what), or left to Node's HTTP server. */
export type FrontResponder = (target: string, conditions: ConditionalHeaders, client: HotClient) => FrontAnswer | undefined;

/**
 * A request the front takes: `GET <origin-form target> HTTP/1.1`, then header lines whose names are tokens and whose
 * values hold no control characters; as a regular expression over the head without its final blank line,
 * /^GET (\/[!-~]*) HTTP\/1\.1((?:\r\n[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t -~\x80-\xff]*)*)$/. Anything else (other
 * methods, HTTP/1.0, absolute-form targets, bare LF, obs-fold, a space before the colon) is left to Node's parser,
 * which answers it (or refuses it) as it always does. The front checks this grammar byte by byte on the buffer it
 * read (parsePlainGet below; test/hot-front-grammar.test.ts holds the two to the same answers).
 */
const TOKEN = new Uint8Array(256);
for (const c of Buffer.from("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 'latin1')) TOKEN[c] = 1;
const FIELD_VALUE = new Uint8Array(256);
FIELD_VALUE[0x09] = 1;
for (let c = 0x20; c <= 0xff; c++) if (c !== 0x7f) FIELD_VALUE[c] = 1;
const latin1 = (text: string) => Buffer.from(text, 'latin1');
const GET_PREFIX = latin1('GET /');
const HTTP_1_1 = latin1(' HTTP/1.1');
const HEAD_END = latin1('\r\n\r\n');
/** Header names the front looks at, in lower case. */
const HOST = latin1('host');
const EXPECT = latin1('expect');
const UPGRADE = latin1('upgrade');
const CONNECTION = latin1('connection');
const PROXY_CONNECTION = latin1('proxy-connection');
const X_REQUEST_ID = latin1('x-request-id');
const IF_NONE_MATCH = latin1('if-none-match');
const CONTENT_LENGTH = latin1('content-length');
const IF_MODIFIED_SINCE = latin1('if-modified-since');
const TRANSFER_ENCODING = latin1('transfer-encoding');
const KEEP_ALIVE = latin1('keep-alive');
const RANGE = latin1('range');
const IF_RANGE = latin1('if-range');
const COOKIE = latin1('cookie');
const AUTHORIZATION = latin1('authorization');

/**
 * Whether `buffer` holds `expected` at `at`, for the first `length` bytes of it. (A loop: Buffer#compare checks its
 * arguments at a cost larger than the comparison.)
 */
function holds(buffer: Buffer, at: number, expected: Buffer, length = expected.length): boolean {
  for (let k = 0; k < length; k++) if (buffer[at + k] !== expected[k]) return false;
  return true;
}

/**
 * A header's value, from just after its colon to the end of its line, without the spaces and tabs around it: exactly
 * what llhttp strips (String#trim would also strip U+00A0, which Node keeps).
 */
function fieldValue(buffer: Buffer, from: number, to: number): string {
  return withoutSpaceOrTab(buffer.toString('latin1', from, to));
}

const SURROUNDING_SPACE_OR_TAB = /^[ \t]+|[ \t]+$/g;
function withoutSpaceOrTab(text: string): string {
  return text.replace(SURROUNDING_SPACE_OR_TAB, '');
}

/** Whether a LF not preceded by CR stands in `buffer` from `from` on. */
function hasBareLineFeed(buffer: Buffer, from: number): boolean {
  for (let k = buffer.indexOf(0x0a, from); k !== -1; k = buffer.indexOf(0x0a, k + 1)) if (k === from || buffer[k - 1] !== 0x0d) return true;
  return false;
}

/** Whether the bytes from `from` to `to` hold any outside ASCII (obs-text): Node's reading of such a value is Node's. */
function hasObsText(buffer: Buffer, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (buffer[k]! >= 0x80) return true;
  return false;
}

/** Whether the value from `from` to `to`, without surrounding spaces and tabs, is `word` (lower case, letters and hyphens) in any case. */
function valueIs(buffer: Buffer, from: number, to: number, word: Buffer): boolean {
  while (from < to && (buffer[from] === 0x20 || buffer[from] === 0x09)) from++;
  while (to > from && (buffer[to - 1] === 0x20 || buffer[to - 1] === 0x09)) to--;
  return to - from === word.length && isName(buffer, from, word);
}

/** Whether the header name at `at` is `name` (given in lower case; every name here is letters and hyphens). */
function isName(buffer: Buffer, at: number, name: Buffer): boolean {
  for (let k = 0; k < name.length; k++) if ((buffer[at + k]! | 0x20) !== name[k]) return false;
  return true;
}

/** Past this many bytes of response waiting for a slow reader, stop reading its requests until it drains. */
const MAX_UNREAD_OUTPUT = 1024 * 1024;
/** The front's reusable output buffer: at least this big, bigger when an answer needs it. */
const SCRATCH_BYTES = 64 * 1024;
const NO_SCRATCH = Buffer.alloc(0);
/** How often idle connections held by the front are looked for and closed. */
const SWEEP_MS = 250;

let tailSecond = -1;
let tailKeepAlive = -1;
let keepAliveTail = Buffer.alloc(0);
let closeTail = Buffer.alloc(0);
/**
 * What follows the request id in every answer: the end of its line, `Date`, `Connection` (and `Keep-Alive`), the
 * blank line. Encoded once per second (Node's own server caches its Date line the same way).
 */
function responseTail(close: boolean, keepAliveSeconds: number): Buffer {
  const second = Math.floor(Date.now() / 1000);
  if (second !== tailSecond || keepAliveSeconds !== tailKeepAlive) {
    tailSecond = second;
    tailKeepAlive = keepAliveSeconds;
    const date = `\r\nDate: ${new Date(second * 1000).toUTCString()}\r\n`;
    keepAliveTail = Buffer.from(`${date}Connection: keep-alive\r\nKeep-Alive: timeout=${keepAliveSeconds}\r\n\r\n`, 'latin1');
    closeTail = Buffer.from(`${date}Connection: close\r\n\r\n`, 'latin1');
  }
  return close ? closeTail : keepAliveTail;
}

/** A connection the front holds: when it was last active (a read, or output going out), for the idle sweep. */
interface Held {
  /**
   * `Date.now()` of the last read or of output seen moving. (`performance.now()` is monotonic, but measured at about
   * a thousand instructions more per hit; a clock step at worst closes idle-looking connections early.)
   */
  lastActive: number;
  lastUnwritten: number;
}

/**
 * Bytes the socket has not handed to the kernel yet: those queued in the stream, plus what libuv still holds of the
 * write in progress. The second part moves while one large answer trickles out to a slow reader (the stream's count
 * only drops when a whole write completes); Node's own socket timeout watches the same figure (`writeQueueSize`).
 */
function unwritten(socket: Socket): number {
  const handle = (socket as unknown as { _handle?: { writeQueueSize?: number } | null })._handle;
  return socket.writableLength + (handle?.writeQueueSize ?? 0);
}

/** A request head in the grammar the front takes (see TOKEN above), with what the front needs of it. */
export interface PlainGet {
  target: string;
  /** Host lines seen: HTTP/1.1 requires exactly one. */
  hosts: number;
  /** A body, Expect, Upgrade or a repeated validator or request id: the front leaves such a request to Node. */
  leaveToNode: boolean;
  close: boolean;
  requestId: string | undefined;
  conditions: ConditionalHeaders;
  /** Authorization or Cookie came along. */
  personal: boolean;
  host: string | undefined;
}

/**
 * Read the request head in `buffer` from `start` to `end` (without its final blank line), or undefined when it is
 * not in the front's grammar. Byte by byte on the buffer as read: the regular expression above, on a string made of
 * the head, measured as a tenth of a hit's own work.
 */
export function parsePlainGet(buffer: Buffer, start: number, end: number): PlainGet | undefined {
  if (end - start < GET_PREFIX.length || !holds(buffer, start, GET_PREFIX)) return undefined;
  let i = start + 4;
  while (i < end && buffer[i]! >= 0x21 && buffer[i]! <= 0x7e) i++;
  const targetEnd = i;
  if (end - i < HTTP_1_1.length || !holds(buffer, i, HTTP_1_1)) return undefined;
  i += HTTP_1_1.length;
  let hosts = 0;
  let leaveToNode = false;
  let close = false;
  let requestId: string | undefined;
  let personal = false;
  let host: string | undefined;
  const conditions: ConditionalHeaders = {};
  while (i < end) {
    // A line: CR LF, a token, a colon, a value without control characters (so it stops at the next CR or at the end).
    if (buffer[i] !== 0x0d || buffer[i + 1] !== 0x0a) return undefined;
    const name = i + 2;
    i = name;
    while (i < end && TOKEN[buffer[i]!] === 1) i++;
    if (i === name || i === end || buffer[i] !== 0x3a) return undefined;
    const nameLength = i - name;
    const value = ++i;
    while (i < end && FIELD_VALUE[buffer[i]!] === 1) i++;
    if (i < end && buffer[i] !== 0x0d) return undefined;
    // Only a few names matter; most headers (User-Agent, Accept, …) are passed over on their name's length alone.
    switch (nameLength) {
      case 4:
        if (isName(buffer, name, HOST)) {
          hosts++;
          host = fieldValue(buffer, value, i);
        }
        break;
      // A byte range is Node's to answer (206, 416, If-Range).
      case 5:
        if (isName(buffer, name, RANGE)) leaveToNode = true;
        break;
      case 6:
        if (isName(buffer, name, EXPECT)) leaveToNode = true;
        else if (isName(buffer, name, COOKIE)) personal = true;
        break;
      case 8:
        if (isName(buffer, name, IF_RANGE)) leaveToNode = true;
        break;
      case 7:
        if (isName(buffer, name, UPGRADE)) leaveToNode = true;
        break;
      case 10:
        // Browsers send `Connection: keep-alive` with every request: that value is recognised without a string.
        if (isName(buffer, name, CONNECTION) && !valueIs(buffer, value, i, KEEP_ALIVE)) {
          if (hasObsText(buffer, value, i)) leaveToNode = true;
          const tokens = fieldValue(buffer, value, i).toLowerCase().split(',').map(withoutSpaceOrTab);
          if (tokens.includes('upgrade')) leaveToNode = true;
          if (tokens.includes('close')) close = true;
        }
        break;
      // X-Request-Id and the validators may come once: Node joins repeats, so it gets to answer those.
      case 12:
        if (isName(buffer, name, X_REQUEST_ID)) {
          leaveToNode ||= requestId !== undefined || hasObsText(buffer, value, i);
          requestId = fieldValue(buffer, value, i);
        }
        break;
      case 13:
        if (isName(buffer, name, IF_NONE_MATCH)) {
          leaveToNode ||= conditions['if-none-match'] !== undefined;
          conditions['if-none-match'] = fieldValue(buffer, value, i);
        } else if (isName(buffer, name, AUTHORIZATION)) {
          personal = true;
        }
        break;
      case 14:
        if (isName(buffer, name, CONTENT_LENGTH)) leaveToNode = true;
        break;
      case 16:
        // Node's server takes `Proxy-Connection` as it takes `Connection` (close, keep-alive): its to answer.
        if (isName(buffer, name, PROXY_CONNECTION)) leaveToNode = true;
        break;
      case 17:
        if (isName(buffer, name, IF_MODIFIED_SINCE)) {
          leaveToNode ||= conditions['if-modified-since'] !== undefined;
          conditions['if-modified-since'] = fieldValue(buffer, value, i);
        } else if (isName(buffer, name, TRANSFER_ENCODING)) {
          leaveToNode = true;
        }
        break;
    }
  }
  return { target: buffer.toString('latin1', start + 4, targetEnd), hosts, leaveToNode, close, requestId, conditions, personal, host };
}

/**
 * The hot path's front door. Node's `http` stack (a parser callback, an IncomingMessage and a ServerResponse per
 * request, header objects, stream machinery) costs about as much CPU as everything else a hit does; nginx needs less
 * than half of it. For the one request shape that dominates a cover server, a browser or proxy asking `GET` for an
 * image URL that is already hot, this front reads the socket itself, recognises the request byte by byte in a strict
 * grammar (parsePlainGet), and writes the prepared response with a single write.
 *
 * Every connection starts here. The first request the front does not answer itself (any method but GET, a URL not in
 * the hot table, a body, `Expect`, `Upgrade`, a missing or repeated Host, a header it does not parse strictly, an
 * over-long head) hands the connection to Node's HTTP server, bytes and all, exactly as if Node had accepted it: from
 * then on Node parses, answers, times out and closes it. Responses already written stay in order, because the front
 * answers synchronously and hands over before anything is read past the first request it does not take.
 *
 * The server keeps its usual lifecycle: `listen`, `close`, `closeIdleConnections` and `closeAllConnections` cover the
 * connections still held here.
 */
export class HotFront {
  readonly stats = { answered: 0, handedOff: 0, pausedForSlowReaders: 0, headTimeouts: 0, idleClosed: 0 };
  private readonly server: http.Server;
  private readonly respond: FrontResponder;
  private readonly nodeConnectionListener: (socket: Socket) => void;
  private readonly held = new Map<Socket, Held>();
  private sweep: NodeJS.Timeout | undefined;
  /** Where answers are assembled before their one write (see answer()). */
  private scratch = NO_SCRATCH;

  constructor(server: http.Server, respond: FrontResponder) {
    this.server = server;
    this.respond = respond;
    const [listener] = server.listeners('connection') as Array<(socket: Socket) => void>;
    if (!listener) throw new Error('the HTTP server has no connection listener to hand connections to');
    this.nodeConnectionListener = listener;
    server.removeListener('connection', listener);
    server.on('connection', (socket: Socket) => this.accept(socket));
    // Idle connections are closed by one sweep (running while the front holds any) rather than a timer per socket:
    // every read and write, which measured as a few per cent of a hit.
    const closeIdle = server.closeIdleConnections.bind(server);
    server.closeIdleConnections = () => {
      closeIdle();
      // Between requests by construction (answers are written synchronously): let written bytes out, then close.
      for (const socket of this.held.keys()) socket.destroySoon();
    };
    const closeAll = server.closeAllConnections.bind(server);
    server.closeAllConnections = () => {
      closeAll();
      for (const socket of this.held.keys()) socket.destroy();
    };
  }

  /**
   * Close connections idle for longer than the server's keepAliveTimeout, as a socket timeout would: no request bytes
   * read and no output written out in that time. Node's server does the same for the connections it holds.
   */
  private closeIdle(): void {
    if (this.held.size === 0) {
      clearInterval(this.sweep);
      this.sweep = undefined;
      return;
    }
    const now = Date.now();
    const limit = this.server.keepAliveTimeout || 5000;
    for (const [socket, state] of this.held) {
      const left = unwritten(socket);
      if (left !== state.lastUnwritten) {
        state.lastUnwritten = left;
        state.lastActive = now;
      } else if (now - state.lastActive > limit) {
        this.stats.idleClosed++;
        socket.destroy();
      }
    }
  }

  private accept(socket: Socket): void {
    const held = this.held;
    const state: Held = { lastActive: Date.now(), lastUnwritten: 0 };
    held.set(socket, state);
    // No timer while no connection is held, so a server never closed (or never listening) keeps nothing alive.
    this.sweep ??= setInterval(() => this.closeIdle(), SWEEP_MS).unref();
    let pending: Buffer | undefined;
    let handedOff = false;
    let waitingForDrain = false;
    let clientEnded = false;
    const maxHead = (this.server as { maxHeaderSize?: number }).maxHeaderSize || http.maxHeaderSize;

    const handOff = (rest: Buffer | undefined) => {
      handedOff = true;
      this.stats.handedOff++;
      held.delete(socket);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('drain', onDrain);
      socket.removeListener('error', onError);
      socket.pause();
      if (rest && rest.length > 0) socket.unshift(rest);
      this.nodeConnectionListener.call(this.server, socket);
      // The unshifted bytes are delivered to Node's parser on the next tick, before anything read later.
      socket.resume();
    };

    /** Answer every complete request in `buffer`; keep a partial one; hand off at the first one not answered here. */
    const work = (buffer: Buffer) => {
      let offset = 0;
      while (offset < buffer.length) {
        if (socket.writableLength > MAX_UNREAD_OUTPUT) {
          // A client pipelining faster than it reads: wait for it (Node's server pauses the same way).
          pending = buffer.subarray(offset);
          this.stats.pausedForSlowReaders++;
          waitingForDrain = true;
          socket.pause();
          return;
        }
        if (!holds(buffer, offset, GET_PREFIX, Math.min(GET_PREFIX.length, buffer.length - offset))) return handOff(buffer.subarray(offset));
        const end = buffer.indexOf(HEAD_END, offset);
        if (end === -1) {
          // A line ended by a bare LF can never end the head the front waits for; Node's parser refuses it at once.
          if (buffer.length - offset > maxHead || hasBareLineFeed(buffer, offset)) return handOff(buffer.subarray(offset));
          pending = buffer.subarray(offset);
          return;
        }
        if (end - offset > maxHead) return handOff(buffer.subarray(offset));
        const outcome = this.answer(socket, buffer, offset, end);
        if (outcome === 'not-mine') return handOff(buffer.subarray(offset));
        this.stats.answered++;
        offset = end + HEAD_END.length;
        if (outcome === 'close') {
          pending = undefined;
          socket.removeListener('data', onData);
          socket.end();
          return;
        }
      }
      pending = undefined;
    };

    let headStarted = 0;
    const onData = (chunk: Buffer) => {
      if (handedOff) return;
      const now = Date.now();
      state.lastActive = now;
      if (!pending) {
        headStarted = now;
        return work(chunk);
      }
      // A head trickling in byte by byte gets the time Node's server gives it (headersTimeout), no more.
      if (now - headStarted > this.server.headersTimeout) {
        this.stats.headTimeouts++;
        pending = undefined;
        socket.removeListener('data', onData);
        socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', 'latin1');
        return;
      }
      work(Buffer.concat([pending, chunk]));
    };
    const onDrain = () => {
      state.lastActive = Date.now();
      if (handedOff || !waitingForDrain || socket.writableLength > MAX_UNREAD_OUTPUT) return;
      waitingForDrain = false;
      const buffer = pending!;
      pending = undefined;
      socket.resume();
      work(buffer);
      if (clientEnded && !waitingForDrain && !handedOff) socket.end();
    };
    // The client is done sending: answer what it sent in full, then close; half a request never will be one.
    const onEnd = () => {
      clientEnded = true;
      if (!waitingForDrain) socket.end();
    };
    const onError = () => socket.destroy();
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('drain', onDrain);
    socket.on('error', onError);
    socket.once('close', () => held.delete(socket));
  }

  /**
   * Write the answer to the request head in `buffer` from `start` to `end` (without its final blank line), or say it
   * is Node's to answer.
   */
  private answer(socket: Socket, buffer: Buffer, start: number, end: number): 'kept' | 'close' | 'not-mine' {
    const started = performance.now();
    const request = parsePlainGet(buffer, start, end);
    // HTTP/1.1 requires exactly one Host; Node's server refuses the rest with 400, so it gets to see them.
    if (!request || request.leaveToNode || request.hosts !== 1) return 'not-mine';
    const { close, requestId } = request;
    // Bytes after a `Connection: close` request: Node answers them with 400 rather than dropping them, so it gets them.
    if (close && end + HEAD_END.length < buffer.length) return 'not-mine';
    const answer = this.respond(request.target, request.conditions, { address: socket.remoteAddress, personal: request.personal, host: request.host });
    if (!answer) return 'not-mine';
    const offered = saneRequestId(requestId);
    const idLength = offered === undefined ? REQUEST_ID_LENGTH : offered.length;
    const tail = responseTail(close, Math.floor((this.server.keepAliveTimeout || 5000) / 1000));
    // One buffer, one write: the prepared head, the request id, the date and connection lines, the body. (A string
    // and a buffer cost a corked writev and a string conversion, which measured dearer than these copies.)
    const prepared = answer.head;
    const body = answer.body;
    const size = prepared.length + idLength + tail.length + (body ? body.length : 0);
    let out = this.scratch;
    if (out.length < size) out = this.scratch = Buffer.allocUnsafeSlow(Math.max(size, SCRATCH_BYTES));
    // (Uint8Array#set rather than Buffer#copy: copy makes a view of its source per call.)
    out.set(prepared, 0);
    let at = prepared.length;
    if (offered === undefined) writeNewRequestId(out, at);
    else out.write(offered, at, 'latin1');
    at += idLength;
    out.set(tail, at);
    if (body) out.set(body, at + tail.length);
    socket.write(out.subarray(0, size));
    // Nothing left unwritten means the kernel took every byte and the socket holds no reference: the scratch buffer
    // is free for the next answer. Otherwise the socket keeps it until it drains, and the next answer gets a new one.
    // (A new buffer per answer is an ArrayBuffer per hit, whose external memory drives V8 into major collections.)
    if (socket.writableLength !== 0) this.scratch = NO_SCRATCH;
    answer.written(started);
    return close ? 'close' : 'kept';
  }
}
