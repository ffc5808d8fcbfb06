// goim-edge demo client: goim v2's WebSocket protocol in plain JavaScript.
// Frame: 16-byte big-endian header {packLen int32, headerLen int16 = 16,
// ver int16, op int32, seq int32} followed by the body. One frame per binary
// WebSocket message, except op 9 (raw batch): an outer header followed by
// whole inner frames, which we iterate.
'use strict';

const HEADER = 16;
const OP = { HEARTBEAT: 2, HEARTBEAT_REPLY: 3, SEND_REPLY: 5, AUTH: 7, AUTH_REPLY: 8, RAW: 9, CHANGE_ROOM_REPLY: 13 };
const HEARTBEAT_MS = 30000; // goim's JavaScript client heartbeats every 30 s

const $ = (id) => document.getElementById(id);
const enc = new TextEncoder();
const dec = new TextDecoder();

let ws = null;
let seq = 0;
let heartbeatTimer = null;

function encodeFrame(op, body) {
  const payload = typeof body === 'string' ? enc.encode(body) : (body || new Uint8Array(0));
  const buf = new ArrayBuffer(HEADER + payload.length);
  const v = new DataView(buf);
  v.setInt32(0, HEADER + payload.length);
  v.setInt16(4, HEADER);
  v.setInt16(6, 1);
  v.setInt32(8, op);
  v.setInt32(12, ++seq);
  new Uint8Array(buf, HEADER).set(payload);
  return buf;
}

// decodeFrames yields every frame in buf starting at offset; a frame that
// claims more bytes than remain ends the walk (never read past the data).
function* decodeFrames(buf, offset) {
  const v = new DataView(buf);
  while (offset + HEADER <= buf.byteLength) {
    const packLen = v.getInt32(offset);
    const headerLen = v.getInt16(offset + 4);
    if (headerLen !== HEADER || packLen < HEADER || offset + packLen > buf.byteLength) {
      log('bad frame: pack ' + packLen + ' header ' + headerLen, 'error');
      return;
    }
    yield {
      ver: v.getInt16(offset + 6),
      op: v.getInt32(offset + 8),
      seq: v.getInt32(offset + 12),
      body: new Uint8Array(buf, offset + HEADER, packLen - HEADER),
    };
    offset += packLen;
  }
}

function setStatus(text, state) {
  const s = $('status');
  s.textContent = text;
  s.dataset.state = state;
}

function log(text, cls) {
  const li = document.createElement('li');
  if (cls) li.className = cls;
  li.textContent = text;
  $('messages').prepend(li);
}

function showMessage(f) {
  const li = document.createElement('li');
  li.className = 'msg';
  li.dataset.op = String(f.op);
  const op = document.createElement('span');
  op.className = 'op';
  op.textContent = 'op ' + f.op;
  const body = document.createElement('span');
  body.className = 'body';
  body.textContent = dec.decode(f.body);
  li.append(op, body);
  $('messages').prepend(li);
}

function handleFrame(f) {
  switch (f.op) {
    case OP.AUTH_REPLY:
      setStatus('authenticated', 'ready');
      sendHeartbeat();
      heartbeatTimer = setInterval(sendHeartbeat, HEARTBEAT_MS);
      break;
    case OP.HEARTBEAT_REPLY:
      if (f.body.length >= 4) {
        $('online').textContent = String(new DataView(f.body.buffer, f.body.byteOffset, 4).getInt32(0));
      }
      break;
    case OP.RAW:
      // A batch: the body is whole frames back to back.
      for (const inner of decodeFrames(f.body.buffer.slice(f.body.byteOffset, f.body.byteOffset + f.body.length), 0)) {
        handleFrame(inner);
      }
      break;
    case OP.SEND_REPLY:
    case OP.CHANGE_ROOM_REPLY:
      break;
    default:
      showMessage(f);
  }
}

function sendHeartbeat() {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(encodeFrame(OP.HEARTBEAT));
}

// authToken builds goim's JSON token by hand so a large mid stays an exact
// JSON number (JavaScript numbers lose int64 precision).
function authToken() {
  const mid = $('mid').value.trim();
  if (!/^-?\d+$/.test(mid)) throw new Error('mid must be an integer');
  const accepts = $('accepts').value.split(',').map((s) => s.trim()).filter(Boolean);
  if (accepts.some((a) => !/^-?\d+$/.test(a))) throw new Error('accepts must be integers, comma-separated');
  return '{"mid":' + mid +
    ',"key":' + JSON.stringify($('key').value.trim()) +
    ',"room_id":' + JSON.stringify($('room').value.trim()) +
    ',"platform":"web","accepts":[' + accepts.join(',') + ']}';
}

function connect(ev) {
  ev.preventDefault();
  disconnect();
  let token;
  try { token = authToken(); } catch (e) { setStatus(e.message, 'error'); return; }
  const url = $('ws-url').value.trim();
  setStatus('connecting to ' + url, 'connecting');
  ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => { setStatus('authenticating', 'connecting'); ws.send(encodeFrame(OP.AUTH, token)); };
  ws.onmessage = (m) => {
    if (!(m.data instanceof ArrayBuffer)) return;
    // The outer header of a batch is skipped by handleFrame(OP.RAW).
    for (const f of decodeFrames(m.data, 0)) handleFrame(f);
  };
  ws.onclose = (e) => {
    clearInterval(heartbeatTimer);
    setStatus('closed (' + e.code + ')', 'error');
    $('connect').disabled = false;
    $('disconnect').disabled = true;
  };
  ws.onerror = () => setStatus('connection error', 'error');
  $('connect').disabled = true;
  $('disconnect').disabled = false;
}

function disconnect() {
  clearInterval(heartbeatTimer);
  if (ws) { ws.onclose = null; ws.close(); ws = null; }
  setStatus('not connected', 'idle');
  $('connect').disabled = false;
  $('disconnect').disabled = true;
}

// pushURL maps the form to goim's HTTP push routes; list targets become
// repeated parameters as goim expects (mids=1&mids=2).
function pushURL() {
  const kind = $('push-kind').value;
  const op = $('push-op').value.trim();
  const target = $('push-target').value.trim();
  const q = new URLSearchParams({ operation: op });
  const list = target.split(',').map((s) => s.trim()).filter(Boolean);
  switch (kind) {
    case 'mids': list.forEach((m) => q.append('mids', m)); break;
    case 'keys': list.forEach((k) => q.append('keys', k)); break;
    case 'room': {
      const i = target.indexOf('://');
      if (i < 0) throw new Error('room must look like type://id');
      q.set('type', target.slice(0, i));
      q.set('room', target.slice(i + 3));
      break;
    }
    case 'all': break;
  }
  return '/goim/push/' + kind + '?' + q.toString();
}

async function push(ev) {
  ev.preventDefault();
  const out = $('push-result');
  let url;
  try { url = pushURL(); } catch (e) { out.textContent = e.message; return; }
  try {
    const headers = {};
    const key = $('push-key').value.trim();
    if (key) headers.Authorization = 'Bearer ' + key; // logic.http.api_key
    const resp = await fetch(url, { method: 'POST', body: $('push-body').value, headers });
    out.textContent = 'POST ' + url + '\n' + resp.status + ' ' + await resp.text();
  } catch (e) {
    out.textContent = 'POST ' + url + '\nfailed: ' + e.message;
  }
}

// defaultWSURL asks the server where devices connect: the demo config in
// standalone mode, else goim's node list.
async function defaultWSURL() {
  const fromQuery = new URLSearchParams(location.search).get('ws');
  if (fromQuery) return fromQuery;
  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  try {
    const cfg = await (await fetch('/demo/config.json')).json();
    if (cfg.ws_url) return cfg.ws_url;
    if (cfg.ws_port) return scheme + location.hostname + ':' + cfg.ws_port + '/sub';
  } catch (e) { /* fall through to the node list */ }
  try {
    const nodes = await (await fetch('/goim/nodes/weighted?platform=web')).json();
    const d = nodes.data || {};
    const host = (d.nodes && d.nodes[0]) || d.domain || location.hostname;
    if (d.ws_port) return scheme + host + ':' + d.ws_port + '/sub';
  } catch (e) { /* keep goim's default */ }
  return scheme + location.hostname + ':3102/sub';
}

$('connect-form').addEventListener('submit', connect);
$('disconnect').addEventListener('click', disconnect);
$('push-form').addEventListener('submit', push);
$('push-kind').addEventListener('change', () => {
  const kind = $('push-kind').value;
  $('push-target').value = kind === 'mids' ? $('mid').value
    : kind === 'keys' ? $('key').value
    : kind === 'room' ? $('room').value : '';
});
defaultWSURL().then((u) => { if (!$('ws-url').value) $('ws-url').value = u; document.body.dataset.ready = '1'; });
