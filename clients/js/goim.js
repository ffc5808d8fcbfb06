// goim-edge-client: a browser client for goim v2's WebSocket protocol
// (goim-edge and goim). One dependency-free ES module.
//
// Frame: 16-byte big-endian header {packLen int32, headerLen int16 = 16,
// ver int16, op int32, seq int32} then the body; one frame per binary
// WebSocket message, except op 9 (a batch: an outer header followed by
// whole inner frames, which are delivered one by one).
//
// Guarantees:
// - A message callback sees every push the server wrote, batches split,
//   in order; a frame that does not parse ends the walk of its message
//   (nothing is read past the bytes received).
// - The client reconnects after any loss with exponential backoff and full
//   jitter, bounded by backoff.max, so the devices of a dead edge spread
//   their reconnects instead of arriving at once; it stops on a refused
//   token (the server closed after the auth frame without an auth reply)
//   instead of looping.
// - Each request (send, room and sub changes) settles exactly once: on its
//   reply, on a timeout, or when the connection ends.
// - With `resume: true` (goim-edge's recovery extension, docs/recovery.md)
//   every connection starts with op 26, right before the auth frame,
//   naming the positions held; what was missed arrives first (oldest
//   first per stream), then a 'resumed' event with the verdicts, then live
//   pushes. Positioned pushes (op 28) are messages with stream, epoch and
//   offset set; one at or before the last offset delivered in its epoch is
//   a duplicate and is dropped. With `autoAck` the user stream is
//   acknowledged (op 29) after the message listeners returned.

/** Operations of goim v2 and goim-edge's room extension. */
export const OP = Object.freeze({
  HEARTBEAT: 2,
  HEARTBEAT_REPLY: 3,
  SEND: 4,
  AUTH: 7,
  AUTH_REPLY: 8,
  RAW: 9,
  CHANGE_ROOM: 12,
  CHANGE_ROOM_REPLY: 13,
  SUB: 14,
  SUB_REPLY: 15,
  UNSUB: 16,
  UNSUB_REPLY: 17,
  JOIN_ROOM: 22,
  JOIN_ROOM_REPLY: 23,
  LEAVE_ROOM: 24,
  LEAVE_ROOM_REPLY: 25,
  RESUME: 26,
  RESUME_REPLY: 27,
  POSITIONED: 28,
  ACK: 29,
  ACK_REPLY: 30,
});

/** Header length of every frame. */
export const HEADER_LEN = 16;
/** Largest body a client may send (goim closes on bigger frames). */
export const MAX_BODY = 4096;

/** Close codes the edge uses and the client reacts to. */
export const CLOSE = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001, // the edge drains: reconnect elsewhere
  TRY_AGAIN_LATER: 1013, // the edge was full: another edge
  HEARTBEAT_TIMEOUT: 4000, // ours: no heartbeat reply in time
});

/** Default options; every one can be overridden in the constructor. */
export const DEFAULTS = Object.freeze({
  heartbeatMs: 30000, // goim's JavaScript client heartbeats every 30 s
  requestTimeoutMs: 10000,
  connectTimeoutMs: 10000,
  platform: 'web',
  path: '/sub',
  backoff: Object.freeze({ baseMs: 2000, maxMs: 60000, factor: 2, stableMs: 10000, maxAttempts: Infinity }),
  stopOnRefused: true,
  resume: false,
  autoAck: false,
  ackIntervalMs: 1000, // an ack waits at most this long after the first unacked message
  ackEvery: 100, // and goes at once after this many
});

/** Stream name prefixes of the recovery extension. */
export const USER_STREAM = 'user:';
export const ROOM_STREAM = 'room:';

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * encodeFrame builds one goim frame.
 * @param {number} op
 * @param {number} seq
 * @param {string|Uint8Array|ArrayBuffer|null|undefined} body
 * @param {number} [ver=1]
 * @returns {Uint8Array}
 */
export function encodeFrame(op, seq, body, ver = 1) {
  const payload = toBytes(body);
  const out = new Uint8Array(HEADER_LEN + payload.length);
  const v = new DataView(out.buffer);
  v.setInt32(0, out.length);
  v.setInt16(4, HEADER_LEN);
  v.setInt16(6, ver);
  v.setInt32(8, op);
  v.setInt32(12, seq);
  out.set(payload, HEADER_LEN);
  return out;
}

/**
 * decodeFrames returns the frames of one WebSocket message, op-9 batches
 * split into their inner frames. A frame that claims more bytes than
 * remain, or a header length other than 16, ends the walk.
 * @param {ArrayBuffer|Uint8Array} data
 * @returns {{frames: Message[], bad: boolean}}
 */
export function decodeFrames(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const frames = [];
  const bad = walk(bytes, frames, true);
  return { frames, bad };
}

function walk(bytes, out, top) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  while (off < bytes.length) {
    if (off + HEADER_LEN > bytes.length) return true;
    const packLen = v.getInt32(off);
    const headerLen = v.getInt16(off + 4);
    if (headerLen !== HEADER_LEN || packLen < HEADER_LEN || off + packLen > bytes.length) return true;
    const f = new Message(v.getInt16(off + 6), v.getInt32(off + 8), v.getInt32(off + 12),
      bytes.subarray(off + HEADER_LEN, off + packLen));
    if (top && f.op === OP.RAW) {
      if (walk(f.body, out, false)) return true;
    } else {
      out.push(f);
    }
    off += packLen;
  }
  return false;
}

/**
 * parsePositioned decodes the body of an op-28 frame (big-endian: op
 * int32, offset int64, stream length uint16, stream, epoch length uint16,
 * epoch, then the push body). null when it is malformed.
 * @param {Uint8Array} b
 * @returns {{op:number, offset:number, stream:string, epoch:string, body:Uint8Array}|null}
 */
export function parsePositioned(b) {
  if (b.length < 16) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const op = v.getInt32(0);
  const big = v.getBigInt64(4);
  if (big < 0n || big > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  let off = 12;
  const sl = v.getUint16(off); off += 2;
  if (off + sl + 2 > b.length) return null;
  const stream = dec.decode(b.subarray(off, off + sl)); off += sl;
  const el = v.getUint16(off); off += 2;
  if (off + el > b.length) return null;
  const epoch = dec.decode(b.subarray(off, off + el)); off += el;
  return { op, offset: Number(big), stream, epoch, body: b.subarray(off) };
}

/** One frame from the server. */
export class Message {
  constructor(ver, op, seq, body) {
    /** @type {number} */ this.ver = ver;
    /** @type {number} */ this.op = op;
    /** @type {number} */ this.seq = seq;
    /** @type {Uint8Array} */ this.body = body;
    /** @type {number} ms since the epoch when it was received */
    this.receivedAt = Date.now();
    /** Position of a positioned push (op 28): its stream, '' otherwise. */
    this.stream = '';
    /** @type {string} the stream's epoch ('' for plain pushes) */
    this.epoch = '';
    /** @type {number} the offset in the stream (0 for plain pushes) */
    this.offset = 0;
  }
  /** The body decoded as UTF-8. */
  text() { return dec.decode(this.body); }
  /** The body parsed as JSON. */
  json() { return JSON.parse(this.text()); }
}

function toBytes(body) {
  if (body == null) return new Uint8Array(0);
  if (typeof body === 'string') return enc.encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('goim: body must be a string, Uint8Array or ArrayBuffer');
}

const INT = /^-?(0|[1-9][0-9]*)$/;

/**
 * goimToken builds goim's JSON auth token. mid is written as a JSON
 * number even when given as a string or bigint, so ids beyond 2^53 stay
 * exact and goim servers (which refuse a string mid) take it.
 * @param {import('./goim.js').TokenFields} t
 * @returns {string}
 */
export function goimToken(t) {
  const mid = t.mid == null ? '0' : String(t.mid);
  if (!INT.test(mid)) throw new TypeError('goim: mid must be an integer');
  const accepts = (t.accepts || []).map((a) => {
    const s = String(a).trim();
    if (!INT.test(s)) throw new TypeError('goim: accepts must be integers');
    return s;
  });
  let s = '{"mid":' + mid +
    ',"key":' + JSON.stringify(t.key || '') +
    ',"room_id":' + JSON.stringify(t.room_id || '') +
    ',"platform":' + JSON.stringify(t.platform || 'web') +
    ',"accepts":[' + accepts.join(',') + ']';
  if (t.rooms && t.rooms.length) s += ',"rooms":' + JSON.stringify(t.rooms);
  return s + '}';
}

/**
 * backoffDelay is the full-jitter delay before reconnect attempt n
 * (0-based): uniform in [0, min(maxMs, baseMs × factor^n)).
 * @param {number} attempt
 * @param {{baseMs:number,maxMs:number,factor:number}} b
 * @param {() => number} [random=Math.random]
 */
export function backoffDelay(attempt, b, random = Math.random) {
  const cap = Math.min(b.maxMs, b.baseMs * Math.pow(b.factor, attempt));
  return Math.floor(random() * cap);
}

/** A request that failed: timeout, refusal or lost connection. */
export class GoimError extends Error {
  constructor(message, code) {
    super(message);
    this.name = 'GoimError';
    /** 'timeout' | 'refused' | 'closed' | 'not_ready' | 'too_large' */
    this.code = code;
  }
}

/**
 * GoimClient keeps one device connected. Create it, register listeners,
 * then call connect().
 */
export class GoimClient {
  /** @param {import('./goim.js').ClientOptions} opts */
  constructor(opts) {
    if (!opts || (!opts.url && !opts.urls && !opts.nodesURL)) {
      throw new TypeError('goim: give url, urls or nodesURL');
    }
    if (opts.token == null) throw new TypeError('goim: token is required');
    /** @type {any} the options with defaults filled in */
    this.opts = Object.assign({}, DEFAULTS, defined(opts));
    this.opts.backoff = Object.assign({}, DEFAULTS.backoff, defined(opts.backoff || {}));
    checkOptions(this.opts);
    /** @type {'idle'|'connecting'|'authenticating'|'ready'|'waiting'|'refused'|'closed'} */
    this.state = 'idle';
    /** Room online count from the last heartbeat reply. */
    this.online = null;
    /** URL of the current (or last) connection. */
    this.url = null;
    /** Reconnect attempts since the last stable connection. */
    this.attempt = 0;
    /** When the next attempt starts (ms since epoch) while waiting. */
    this.nextAttemptAt = 0;
    this._listeners = new Map();
    this._ws = null;
    this._seq = 0;
    this._pending = new Map();
    this._timers = new Set();
    this._hbTimer = null;
    this._hbOutstanding = false;
    this._candidates = [];
    this._lastGood = null;
    this._readyAt = 0;
    this._roomLog = [];
    this._subs = new Map();
    this._generation = 0;
    // Recovery: the last position delivered per stream.
    this._positions = new Map();
    for (const p of opts.positions || []) {
      if (p && p.stream && (p.epoch || p.offset)) this._positions.set(p.stream, { epoch: p.epoch || '', offset: Number(p.offset) || 0 });
    }
    this._userStream = opts.mid != null ? USER_STREAM + String(opts.mid)
      : (opts.token && typeof opts.token === 'object' && !(opts.token instanceof Uint8Array) && opts.token.mid != null && String(opts.token.mid) !== '0')
        ? USER_STREAM + String(opts.token.mid) : '';
    if (!this._userStream) {
      for (const s of this._positions.keys()) if (s.startsWith(USER_STREAM)) this._userStream = s;
    }
    this._stats = { positioned: 0, duplicates: 0, acks: 0 };
    this._ack = { epoch: '', offset: 0, count: 0, timer: null };
    if (typeof opts.onMessage === 'function') this.on('message', opts.onMessage);
  }

  /**
   * positions returns the last position delivered of every stream the
   * client holds one for (after the message listeners returned). Persist
   * them and pass them back as the `positions` option.
   * @returns {{stream:string, epoch:string, offset:number}[]}
   */
  positions() {
    return [...this._positions].map(([stream, p]) => ({ stream, epoch: p.epoch, offset: p.offset }))
      .sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
  }

  /** stats counts positioned pushes delivered, duplicates dropped and acks answered. */
  stats() { return Object.assign({}, this._stats); }

  /**
   * ack acknowledges the user stream up to offset in epoch (op 29) and
   * resolves on the server's reply (op 30).
   */
  ack(epoch, offset) {
    const body = JSON.stringify({ epoch: String(epoch), offset: Number(offset) });
    return this._request(OP.ACK, body, (f) => f.op === OP.ACK_REPLY).then(() => { this._stats.acks++; });
  }

  /**
   * resume sends op 26 now for every stream a position is held for (and
   * the `streams` option), e.g. to retry streams whose verdict was
   * 'unavailable'. The verdicts come as a 'resumed' event. Returns false
   * when not connected.
   */
  resume() {
    return this._sendResume(this._resumeList(null));
  }

  // _resumeList lists the streams to resume: the user stream first, then
  // the others by name; skip leaves some out (rooms joined after auth).
  _resumeList(skip) {
    const list = [];
    const seen = new Set();
    const add = (s) => {
      if (!s || seen.has(s) || (skip && skip.has(s))) return;
      seen.add(s);
      const p = this._positions.get(s);
      list.push(p ? { stream: s, epoch: p.epoch, offset: p.offset } : { stream: s });
    };
    if (this._userStream && (this._positions.has(this._userStream) || this.opts.autoAck)) add(this._userStream);
    for (const s of [...this._positions.keys(), ...(this.opts.streams || [])].sort()) add(s);
    return list;
  }

  _sendResume(list, ws = this._ws) {
    if (!ws || ws.readyState !== 1) return false;
    try {
      ws.send(encodeFrame(OP.RESUME, this._nextSeq(), resumeBody(list)));
      return true;
    } catch (e) {
      return false;
    }
  }

  // _joined resumes a room's stream after the connection joined it (op
  // 12 or 22): before the join the server answers not_followed.
  _joined(room) {
    if (!this.opts.resume || !room) return;
    const s = ROOM_STREAM + room;
    const p = this._positions.get(s);
    if (!p && !(this.opts.streams || []).includes(s)) return;
    this._sendResume([p ? { stream: s, epoch: p.epoch, offset: p.offset } : { stream: s }]);
  }

  _onPositioned(f) {
    const p = parsePositioned(f.body);
    if (!p) {
      this._emit('error', new Error('goim: malformed positioned push from ' + this.url));
      return;
    }
    const cur = this._positions.get(p.stream);
    if (cur && cur.epoch === p.epoch && p.offset <= cur.offset) {
      this._stats.duplicates++;
      return;
    }
    const m = new Message(f.ver, p.op, f.seq, p.body);
    m.stream = p.stream; m.epoch = p.epoch; m.offset = p.offset;
    if (!this._userStream && p.stream.startsWith(USER_STREAM)) this._userStream = p.stream;
    this._stats.positioned++;
    this._emit('message', m);
    this._positions.set(p.stream, { epoch: p.epoch, offset: p.offset });
    if (this.opts.autoAck && p.stream === this._userStream) this._noteAck(p.epoch, p.offset);
  }

  _onResumeReply(f) {
    let r;
    try {
      r = JSON.parse(dec.decode(f.body));
    } catch (e) {
      this._emit('error', new Error('goim: malformed resume reply from ' + this.url));
      return;
    }
    const streams = Array.isArray(r && r.streams) ? r.streams : [];
    for (const v of streams) {
      if (!v || !v.stream || !v.epoch) continue;
      const cur = this._positions.get(v.stream);
      const offset = Number(v.offset) || 0;
      if (!cur || cur.epoch !== v.epoch || cur.offset < offset) this._positions.set(v.stream, { epoch: v.epoch, offset });
    }
    this._emit('resumed', { streams, url: this.url });
  }

  _noteAck(epoch, offset) {
    const a = this._ack;
    a.epoch = epoch; a.offset = offset; a.count++;
    if (a.count >= this.opts.ackEvery) this._flushAck();
    else if (!a.timer) a.timer = this._timer(() => { a.timer = null; this._flushAck(); }, this.opts.ackIntervalMs);
  }

  _flushAck() {
    const a = this._ack;
    if (a.timer) { this._clearTimer(a.timer); a.timer = null; }
    if (a.count === 0) return;
    const { epoch, offset, count } = a;
    a.count = 0;
    const gen = this._generation;
    this.ack(epoch, offset).catch(() => {
      // Not connected or no reply: keep it for the next try.
      if (gen !== this._generation) return;
      if (a.count === 0) { a.epoch = epoch; a.offset = offset; }
      a.count += count;
      if (!a.timer) a.timer = this._timer(() => { a.timer = null; this._flushAck(); }, this.opts.ackIntervalMs);
    });
  }

  /**
   * on registers fn for an event: 'message' (Message), 'state'
   * ({state, prev, url, attempt, delayMs, code, reason}), 'online'
   * (number), 'error' (Error). It returns a function that removes it.
   */
  on(event, fn) {
    if (!this._listeners.has(event)) this._listeners.set(event, new Set());
    this._listeners.get(event).add(fn);
    return () => this._listeners.get(event).delete(fn);
  }

  _emit(event, arg) {
    const fns = this._listeners.get(event);
    if (!fns) return;
    for (const fn of [...fns]) {
      try { fn(arg); } catch (e) { if (event !== 'error') this._emit('error', e); }
    }
  }

  _setState(state, extra) {
    const prev = this.state;
    this.state = state;
    this._emit('state', Object.assign({ state, prev, url: this.url, attempt: this.attempt }, extra || {}));
  }

  /** connect starts (or restarts after close/refusal) the connection loop. */
  connect() {
    if (this.state !== 'idle' && this.state !== 'closed' && this.state !== 'refused') return;
    this.attempt = 0;
    this._candidates = [];
    this._generation++;
    this._dial(this._generation);
  }

  /** close ends the connection and stops reconnecting. */
  close() {
    this._generation++;
    this._clearTimers();
    this._ack.timer = null;
    this._teardown(new GoimError('goim: client closed', 'closed'));
    if (this._ws) {
      const ws = this._ws;
      this._ws = null;
      try { ws.close(CLOSE.NORMAL, 'client closed'); } catch (e) { /* already closed */ }
    }
    this._setState('closed');
  }

  /**
   * send sends an upstream message (op 4 by default; 18–21 or ≥ 1000
   * also) and resolves when the edge acknowledges it (same seq).
   * @returns {Promise<Message>}
   */
  send(body, op = OP.SEND) {
    return this._request(op, body, (f) => f.op === op);
  }

  /**
   * changeRoom leaves every room and joins room ("" leaves all). Resolves
   * with the room; rejects with code 'refused' on an empty reply.
   */
  changeRoom(room) {
    room = String(room);
    return this._request(OP.CHANGE_ROOM, room, (f) => f.op === OP.CHANGE_ROOM_REPLY).then((f) => {
      if (room !== '' && f.body.length === 0) throw new GoimError('goim: change room to ' + room + ' refused', 'refused');
      this._roomLog = [{ op: OP.CHANGE_ROOM, room }];
      for (const s of [...this._positions.keys()]) {
        if (s.startsWith(ROOM_STREAM) && s !== ROOM_STREAM + room) this._positions.delete(s);
      }
      this._joined(room);
      return room;
    });
  }

  /** joinRoom joins room without leaving the others (op 22). */
  joinRoom(room) {
    room = String(room);
    return this._request(OP.JOIN_ROOM, room, (f) => f.op === OP.JOIN_ROOM_REPLY).then((f) => {
      if (f.body.length === 0) throw new GoimError('goim: join room ' + room + ' refused', 'refused');
      this._logRoom(OP.JOIN_ROOM, room);
      this._joined(room);
      return room;
    });
  }

  /** leaveRoom leaves room (op 24). */
  leaveRoom(room) {
    room = String(room);
    return this._request(OP.LEAVE_ROOM, room, (f) => f.op === OP.LEAVE_ROOM_REPLY).then(() => {
      this._logRoom(OP.LEAVE_ROOM, room);
      this._positions.delete(ROOM_STREAM + room);
      return room;
    });
  }

  /** sub adds ops to the connection's accept set (op 14). */
  sub(ops) {
    const list = opList(ops);
    return this._request(OP.SUB, list.join(','), (f) => f.op === OP.SUB_REPLY).then(() => {
      for (const o of list) this._subs.set(o, OP.SUB);
      return list;
    });
  }

  /** unsub removes ops from the connection's accept set (op 16). */
  unsub(ops) {
    const list = opList(ops);
    return this._request(OP.UNSUB, list.join(','), (f) => f.op === OP.UNSUB_REPLY).then(() => {
      for (const o of list) this._subs.set(o, OP.UNSUB);
      return list;
    });
  }

  _logRoom(op, room) {
    this._roomLog = this._roomLog.filter((e) => e.op === OP.CHANGE_ROOM || e.room !== room);
    this._roomLog.push({ op, room });
  }

  _request(op, body, match) {
    if (this.state !== 'ready' || !this._ws) {
      return Promise.reject(new GoimError('goim: not connected', 'not_ready'));
    }
    const bytes = toBytes(body);
    if (bytes.length > MAX_BODY) {
      return Promise.reject(new GoimError('goim: body over ' + MAX_BODY + ' bytes', 'too_large'));
    }
    const seq = this._nextSeq();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(seq);
        reject(new GoimError('goim: no reply to op ' + op + ' within ' + this.opts.requestTimeoutMs + ' ms', 'timeout'));
      }, this.opts.requestTimeoutMs);
      this._pending.set(seq, { match, resolve, reject, timer });
      try {
        this._ws.send(encodeFrame(op, seq, bytes));
      } catch (e) {
        // The socket started closing under us; onclose follows.
        clearTimeout(timer);
        this._pending.delete(seq);
        reject(new GoimError('goim: not connected', 'not_ready'));
      }
    });
  }

  _nextSeq() {
    this._seq = this._seq >= 0x7fffffff ? 1 : this._seq + 1;
    return this._seq;
  }

  async _token() {
    const t = this.opts.token;
    const v = typeof t === 'function' ? await t() : t;
    return typeof v === 'string' || v instanceof Uint8Array ? v : goimToken(Object.assign({ platform: this.opts.platform }, v));
  }

  // _nextURL returns the next address to try, fetching the node list when
  // the candidates ran out. null: nothing to try in this round.
  async _nextURL() {
    if (this._candidates.length === 0) this._candidates = await this._candidateList();
    return this._candidates.shift() || null;
  }

  async _candidateList() {
    let list = [];
    if (this.opts.nodesURL) {
      try {
        list = await this._fetchNodes();
      } catch (e) {
        this._emit('error', e);
      }
    }
    // Configured URLs follow the node list: the fallback when the list
    // is unreachable or names nothing dialable.
    for (const u of [].concat(this.opts.urls || [], this.opts.url ? [this.opts.url] : [])) {
      if (!list.includes(u)) list.push(u);
    }
    // The edge we just lost goes last: it is draining or dead.
    if (this._lastGood && list.length > 1) {
      const i = list.indexOf(this._lastGood);
      if (i >= 0) list.push(list.splice(i, 1)[0]);
    }
    return list;
  }

  async _fetchNodes() {
    const u = new URL(this.opts.nodesURL, typeof location !== 'undefined' ? location.href : undefined);
    if (!u.searchParams.has('platform')) u.searchParams.set('platform', this.opts.platform);
    const ctl = typeof AbortController !== 'undefined' ? new AbortController() : null;
    const timer = ctl && setTimeout(() => ctl.abort(), this.opts.connectTimeoutMs);
    try {
      const resp = await fetch(u.toString(), ctl ? { signal: ctl.signal } : undefined);
      if (!resp.ok) throw new Error('goim: ' + u + ': HTTP ' + resp.status);
      const env = await resp.json();
      const d = env && env.data;
      if (!d || !Array.isArray(d.nodes)) throw new Error('goim: ' + u + ': no node list');
      const secure = this.opts.secure != null ? this.opts.secure
        : (typeof location !== 'undefined' && location.protocol === 'https:');
      const port = secure ? d.wss_port : d.ws_port;
      return d.nodes.filter(Boolean).map((n) => nodeURL(n, port, secure, this.opts.path));
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  async _dial(gen) {
    this._setState('connecting');
    let url;
    try {
      url = await this._nextURL();
    } catch (e) {
      this._emit('error', e);
    }
    if (gen !== this._generation) return;
    if (!url) { this._scheduleRetry(gen, {}); return; }
    let token;
    try {
      token = await this._token();
    } catch (e) {
      this._emit('error', e);
      if (gen === this._generation) this._scheduleRetry(gen, {});
      return;
    }
    if (gen !== this._generation) return;
    this.url = url;
    this._setState('connecting', { url });
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      this._emit('error', e);
      this._afterClose(gen, { opened: false, authed: false, code: 0, reason: String(e) });
      return;
    }
    ws.binaryType = 'arraybuffer';
    this._ws = ws;
    let opened = false;
    let authed = false;
    let done = false;
    const authSeq = this._nextSeq();
    const connectTimer = this._timer(() => {
      // No auth reply in time: treat it as a lost connection, not a refusal.
      if (!authed) { done = true; this._dropSocket(ws); this._afterClose(gen, { opened, authed, code: 0, reason: 'connect timeout', timeout: true }); }
    }, this.opts.connectTimeoutMs);
    ws.onopen = () => {
      opened = true;
      this._setState('authenticating', { url });
      if (this.opts.resume) {
        // Op 26 goes right before op 7; rooms the replay joins are not
        // followed yet and are resumed after their join.
        const joined = new Set();
        for (const e of this._roomLog) if (e.op !== OP.LEAVE_ROOM && e.room) joined.add(ROOM_STREAM + e.room);
        ws.send(encodeFrame(OP.RESUME, this._nextSeq(), resumeBody(this._resumeList(joined))));
      }
      ws.send(encodeFrame(OP.AUTH, authSeq, token));
    };
    ws.onmessage = (ev) => {
      if (gen !== this._generation || ws !== this._ws) return;
      let data = ev.data;
      if (typeof data === 'string') data = enc.encode(data);
      const { frames, bad } = decodeFrames(data);
      for (const f of frames) {
        if (!authed) {
          if (f.op !== OP.AUTH_REPLY) continue; // nothing precedes the auth reply
          authed = true;
          this._clearTimer(connectTimer);
          this._onReady(gen, ws);
          continue;
        }
        this._onFrame(f);
      }
      if (bad) this._emit('error', new Error('goim: a frame from ' + url + ' did not parse'));
    };
    ws.onclose = (ev) => {
      if (done) return;
      done = true;
      this._clearTimer(connectTimer);
      if (ws === this._ws) this._ws = null;
      if (gen !== this._generation) return;
      this._afterClose(gen, { opened, authed, code: ev.code, reason: ev.reason });
    };
    ws.onerror = () => { /* onclose follows with the code */ };
  }

  _dropSocket(ws) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try { ws.close(); } catch (e) { /* already closed */ }
    if (ws === this._ws) this._ws = null;
  }

  _onReady(gen, ws) {
    this._readyAt = Date.now();
    this._lastGood = this.url;
    this._candidates = [];
    this._setState('ready', { url: this.url });
    this._hbOutstanding = false;
    this._heartbeat(ws);
    this._hbTimer = setInterval(() => this._heartbeat(ws), this.opts.heartbeatMs);
    this._replay().catch((e) => {
      // A connection lost during the replay replays again on the next one.
      if (!(e instanceof GoimError) || (e.code !== 'closed' && e.code !== 'not_ready')) this._emit('error', e);
    });
  }

  // _replay restores the rooms and subscriptions changed on the previous
  // connection: the server starts every connection from its token.
  async _replay() {
    const rooms = this._roomLog.slice();
    for (const e of rooms) {
      const body = e.room;
      const f = await this._request(e.op, body, (f) => f.op === e.op + 1);
      if (e.op !== OP.LEAVE_ROOM && f.body.length > 0) this._joined(e.room);
    }
    const sub = [], unsub = [];
    for (const [o, kind] of this._subs) (kind === OP.SUB ? sub : unsub).push(o);
    if (sub.length) await this._request(OP.SUB, sub.join(','), (f) => f.op === OP.SUB_REPLY);
    if (unsub.length) await this._request(OP.UNSUB, unsub.join(','), (f) => f.op === OP.UNSUB_REPLY);
  }

  _heartbeat(ws) {
    if (ws !== this._ws || ws.readyState !== 1) return;
    if (this._hbOutstanding) {
      // The last heartbeat got no reply within a whole interval: the
      // connection is dead even if the browser has not noticed.
      ws.close(CLOSE.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
      return;
    }
    this._hbOutstanding = true;
    ws.send(encodeFrame(OP.HEARTBEAT, this._nextSeq(), null));
  }

  _onFrame(f) {
    if (f.op === OP.POSITIONED) { this._onPositioned(f); return; }
    if (f.op === OP.RESUME_REPLY) { this._onResumeReply(f); return; }
    if (f.op === OP.HEARTBEAT_REPLY) {
      this._hbOutstanding = false;
      if (f.body.length >= 4) {
        this.online = new DataView(f.body.buffer, f.body.byteOffset, 4).getInt32(0);
        this._emit('online', this.online);
      }
      return;
    }
    if (f.seq !== 0) {
      const p = this._pending.get(f.seq);
      if (p && p.match(f)) {
        this._pending.delete(f.seq);
        clearTimeout(p.timer);
        p.resolve(f);
        return;
      }
      if (f.op < 1000) return; // a late reply whose request timed out
    }
    this._emit('message', f);
  }

  // _afterClose decides what a lost connection means: a refused token
  // stops, anything else reconnects (at once to the next candidate when
  // this one never worked, after a backoff delay otherwise).
  _afterClose(gen, c) {
    const wasReady = c.authed;
    this._teardown(new GoimError('goim: connection closed (' + c.code + ')', 'closed'));
    if (c.opened && !c.authed && !c.timeout && c.code !== CLOSE.GOING_AWAY && c.code !== CLOSE.TRY_AGAIN_LATER) {
      // The edge read our auth frame and closed without op 8: goim's
      // only way to refuse a token.
      if (this.opts.stopOnRefused) {
        this._candidates = [];
        this._setState('refused', { code: c.code, reason: c.reason });
        return;
      }
    }
    if (wasReady) {
      if (Date.now() - this._readyAt >= this.opts.backoff.stableMs) this.attempt = 0;
      this._candidates = []; // fresh node list: the edge may be gone
      this._scheduleRetry(gen, c);
      return;
    }
    if (this._candidates.length > 0) {
      // Fall through to the next node of this round at once.
      this._dial(gen);
      return;
    }
    this._scheduleRetry(gen, c);
  }

  _scheduleRetry(gen, c) {
    const b = this.opts.backoff;
    if (this.attempt >= b.maxAttempts) {
      this._setState('closed', { code: c.code, reason: 'gave up after ' + this.attempt + ' attempts' });
      return;
    }
    const delayMs = backoffDelay(this.attempt, b);
    this.attempt++;
    this.nextAttemptAt = Date.now() + delayMs;
    this._setState('waiting', { delayMs, code: c.code, reason: c.reason });
    this._timer(() => { if (gen === this._generation) this._dial(gen); }, delayMs);
  }

  _teardown(err) {
    if (this._hbTimer) { clearInterval(this._hbTimer); this._hbTimer = null; }
    for (const [seq, p] of this._pending) {
      clearTimeout(p.timer);
      this._pending.delete(seq);
      p.reject(err);
    }
  }

  _timer(fn, ms) {
    const id = setTimeout(() => { this._timers.delete(id); fn(); }, ms);
    this._timers.add(id);
    return id;
  }

  _clearTimer(id) {
    clearTimeout(id);
    this._timers.delete(id);
  }

  _clearTimers() {
    for (const id of this._timers) clearTimeout(id);
    this._timers.clear();
  }
}

// defined drops undefined values, so { heartbeatMs: undefined } keeps the
// default instead of becoming a zero-delay interval.
function defined(o) {
  const out = {};
  for (const k of Object.keys(o)) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

// checkOptions refuses settings that would flood the edge or never wait:
// the edge closes a connection that heartbeats more than once a second.
function checkOptions(o) {
  const pos = (name, v, min) => {
    if (typeof v !== 'number' || !(v >= min)) throw new RangeError('goim: ' + name + ' must be a number >= ' + min);
  };
  pos('heartbeatMs', o.heartbeatMs, 1000);
  pos('requestTimeoutMs', o.requestTimeoutMs, 1);
  pos('connectTimeoutMs', o.connectTimeoutMs, 1);
  pos('backoff.baseMs', o.backoff.baseMs, 1);
  pos('backoff.maxMs', o.backoff.maxMs, o.backoff.baseMs);
  pos('backoff.factor', o.backoff.factor, 1);
  pos('backoff.stableMs', o.backoff.stableMs, 0);
  pos('backoff.maxAttempts', o.backoff.maxAttempts, 0);
  pos('ackIntervalMs', o.ackIntervalMs, 1);
  pos('ackEvery', o.ackEvery, 1);
}

// resumeBody encodes an op-26 body with the streams that fit one frame.
function resumeBody(list) {
  let body = '{"streams":[';
  let n = 0;
  for (const p of list) {
    const e = JSON.stringify(p);
    if (enc.encode(body + e).length + 3 > MAX_BODY) break;
    body += (n++ ? ',' : '') + e;
  }
  return body + ']}';
}

function opList(ops) {
  const list = (Array.isArray(ops) ? ops : String(ops).split(',')).map((o) => String(o).trim()).filter(Boolean);
  for (const o of list) if (!INT.test(o)) throw new TypeError('goim: ops must be integers');
  return list;
}

// nodeURL turns a node list entry (host, IP, host:port or [v6]:port) into
// a WebSocket URL.
function nodeURL(node, port, secure, path) {
  if (/^wss?:\/\//.test(node)) return node;
  let host = node;
  const bare6 = node.indexOf(':') !== node.lastIndexOf(':') && node[0] !== '[';
  if (bare6) host = '[' + node + ']';
  const hasPort = /^\[.*\]:\d+$/.test(host) || /^[^:[\]]+:\d+$/.test(host);
  if (!hasPort && port) host += ':' + port;
  return (secure ? 'wss://' : 'ws://') + host + (path || '/sub');
}
