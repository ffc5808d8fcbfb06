// goim-edge demo console, built on the JavaScript SDK (/demo/goim.js, the
// same file as clients/js/goim.js). No build step: an ES module.
import { GoimClient, goimToken } from '/demo/goim.js';

const $ = (id) => document.getElementById(id);
const CLUSTER_EVERY_MS = 5000;

let client = null;
let retryTimer = null;
let apiKey = '';

// --- log -------------------------------------------------------------

function stamp(li, at) {
  const t = document.createElement('time');
  const d = new Date(at);
  t.dateTime = d.toISOString();
  t.textContent = d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
  li.append(t);
}

function logEvent(text, cls) {
  const li = document.createElement('li');
  li.className = cls || 'event';
  stamp(li, Date.now());
  li.append(document.createTextNode(text));
  $('messages').prepend(li);
}

function logMessage(m) {
  const li = document.createElement('li');
  li.className = 'msg';
  li.dataset.op = String(m.op);
  stamp(li, m.receivedAt);
  const op = document.createElement('span');
  op.className = 'op';
  op.textContent = 'op ' + m.op;
  const body = document.createElement('span');
  body.className = 'body';
  body.textContent = m.text();
  li.append(op, body);
  $('messages').prepend(li);
}

// --- device ----------------------------------------------------------

// newKey makes a connection key. The edge answers auth with an empty
// body, so a key the server made would never be known to the page; the
// page makes it and sends it in the token, which is what makes pushes by
// key possible. getRandomValues works on plain http too.
function newKey() {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return 'demo-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function setStatus(text, state) {
  const s = $('status');
  s.textContent = text;
  s.dataset.state = state;
}

function showRetry() {
  clearInterval(retryTimer);
  const tick = () => {
    if (!client || client.state !== 'waiting') { $('retry').textContent = ''; clearInterval(retryTimer); return; }
    const left = Math.max(0, client.nextAttemptAt - Date.now());
    $('retry').textContent = 'attempt ' + client.attempt + ', next in ' + (left / 1000).toFixed(1) + ' s';
  };
  tick();
  retryTimer = setInterval(tick, 100);
}

function connect(ev) {
  ev.preventDefault();
  disconnect();
  let key = $('key').value.trim();
  const generated = !key;
  if (generated) key = newKey();
  let token;
  try {
    token = goimToken({
      mid: $('mid').value.trim(),
      key,
      room_id: $('room').value.trim(),
      platform: 'web',
      accepts: $('accepts').value.split(',').map((s) => s.trim()).filter(Boolean),
    });
  } catch (e) {
    setStatus(e.message, 'error');
    return;
  }
  $('device-key').textContent = key;
  $('key-note').textContent = generated ? '(made by this page and sent in the token)' : '(from the form)';
  const url = $('ws-url').value.trim();
  const opts = { token };
  if (url) opts.url = url;
  else opts.nodesURL = '/goim/nodes/weighted';
  client = new GoimClient(opts);
  client.on('state', (e) => {
    const labels = {
      connecting: 'connecting' + (e.url ? ' to ' + e.url : ''),
      authenticating: 'authenticating',
      ready: 'connected',
      waiting: 'reconnecting',
      refused: 'token refused (no auth reply); not retrying',
      closed: 'closed',
    };
    setStatus(labels[e.state] || e.state, e.state);
    if (e.state === 'ready') $('edge-url').textContent = e.url;
    if (e.state === 'waiting') {
      showRetry();
      logEvent('connection lost' + (e.code ? ' (close ' + e.code + ')' : '') + '; retry in ' + (e.delayMs / 1000).toFixed(1) + ' s');
    } else if (e.state === 'ready' || e.state === 'refused') {
      logEvent(labels[e.state] + (e.url ? ' · ' + e.url : ''));
    }
  });
  client.on('online', (n) => { $('online').textContent = String(n); });
  client.on('message', logMessage);
  client.on('error', (e) => logEvent(String(e.message || e), 'error'));
  client.connect();
  $('connect').disabled = true;
  $('disconnect').disabled = false;
}

function disconnect() {
  clearInterval(retryTimer);
  $('retry').textContent = '';
  if (client) { client.close(); client = null; }
  setStatus('not connected', 'idle');
  $('connect').disabled = false;
  $('disconnect').disabled = true;
}

async function roomOp(fn, what) {
  const room = $('room-target').value.trim();
  if (!client) { logEvent('connect first', 'error'); return; }
  try {
    await client[fn](room);
    logEvent(what + ' ' + room + ': ok');
  } catch (e) {
    logEvent(what + ' ' + room + ': ' + e.message, 'error');
  }
}

async function sendUp(ev) {
  ev.preventDefault();
  if (!client) { logEvent('connect first', 'error'); return; }
  const body = $('up-body').value;
  try {
    await client.send(body);
    logEvent('sent "' + body + '": acknowledged');
  } catch (e) {
    logEvent('send: ' + e.message, 'error');
  }
}

// --- HTTP API --------------------------------------------------------

// api calls logic's HTTP API with the API key once one was asked for; a
// 401 reveals the key field (logic.http.api_key guards push and online).
async function api(method, url, body) {
  const headers = {};
  if (apiKey) headers.Authorization = 'Bearer ' + apiKey;
  const resp = await fetch(url, { method, body, headers });
  if (resp.status === 401) askForKey();
  return resp;
}

function askForKey() {
  $('api-key-row').hidden = false;
  $('api-key-note').hidden = false;
}

// pushURL maps the form to goim's HTTP push routes; list targets become
// repeated parameters as goim expects (mids=1&mids=2).
function pushURL() {
  const kind = $('push-kind').value;
  const target = $('push-target').value.trim();
  const q = new URLSearchParams({ operation: $('push-op').value.trim() });
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
  apiKey = $('api-key').value.trim();
  const out = $('push-result');
  let url;
  try { url = pushURL(); } catch (e) { out.textContent = e.message; return; }
  try {
    const resp = await api('POST', url, $('push-body').value);
    out.textContent = 'POST ' + url + '\n' + resp.status + ' ' + await resp.text();
  } catch (e) {
    out.textContent = 'POST ' + url + '\nfailed: ' + e.message;
  }
}

function targetFor(kind) {
  if (kind === 'mids') return $('mid').value;
  if (kind === 'keys') return $('device-key').textContent !== '–' ? $('device-key').textContent : $('key').value;
  if (kind === 'room') return $('room').value;
  return '';
}

// --- cluster ---------------------------------------------------------

async function getData(url) {
  const resp = await api('GET', url);
  const env = await resp.json().catch(() => null);
  if (!resp.ok || !env || env.code !== 0) throw new Error(url + ': ' + resp.status + ' ' + (env ? env.message : ''));
  return env.data;
}

async function refreshCluster() {
  apiKey = $('api-key').value.trim();
  const errors = [];
  const [total, top, edges] = await Promise.all([
    getData('/goim/online/total').catch((e) => { errors.push(e.message); return null; }),
    getData('/goim/online/top?type=' + encodeURIComponent($('top-type').value.trim() || 'live') + '&limit=10').catch((e) => { errors.push(e.message); return null; }),
    getData('/goim/nodes/instances').catch((e) => { errors.push(e.message); return null; }),
  ]);
  if (total) {
    $('total-conns').textContent = String(total.conn_count);
    $('total-ips').textContent = String(total.ip_count);
  }
  if (top) {
    const ol = $('top-rooms');
    ol.replaceChildren(...top.map((r) => {
      const li = document.createElement('li');
      li.textContent = r.room_id + ': ' + r.count;
      return li;
    }));
    if (top.length === 0) ol.replaceChildren(Object.assign(document.createElement('li'), { textContent: 'no rooms' }));
  }
  if (edges) {
    $('edges').tBodies[0].replaceChildren(...edges.map((e) => {
      const tr = document.createElement('tr');
      if (e.draining) tr.className = 'draining';
      for (const v of [e.node, (e.addrs && e.addrs.ws) || '', e.conn_count, e.ip_count, e.weight || 10,
        e.draining ? 'draining' : 'serving', e.start_time ? new Date(e.start_time).toLocaleString() : '']) {
        const td = document.createElement('td');
        td.textContent = String(v);
        tr.append(td);
      }
      return tr;
    }));
  }
  $('cluster-error').textContent = errors.join(' · ');
  $('cluster-at').textContent = 'at ' + new Date().toLocaleTimeString([], { hour12: false });
}

// --- start -----------------------------------------------------------

// defaultWSURL asks the server where devices connect: the demo config in
// standalone mode; empty means "use the node list".
async function defaultWSURL() {
  const fromQuery = new URLSearchParams(location.search).get('ws');
  if (fromQuery) return fromQuery;
  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  try {
    const cfg = await (await fetch('/demo/config.json')).json();
    if (cfg.ws_url) return cfg.ws_url;
    if (cfg.ws_port) return scheme + location.hostname + ':' + cfg.ws_port + '/sub';
  } catch (e) { /* the node list then */ }
  return '';
}

$('connect-form').addEventListener('submit', connect);
$('disconnect').addEventListener('click', disconnect);
$('change-room').addEventListener('click', () => roomOp('changeRoom', 'change room'));
$('join-room').addEventListener('click', () => roomOp('joinRoom', 'join room'));
$('leave-room').addEventListener('click', () => roomOp('leaveRoom', 'leave room'));
$('send-form').addEventListener('submit', sendUp);
$('clear-log').addEventListener('click', () => $('messages').replaceChildren());
$('push-form').addEventListener('submit', push);
$('push-kind').addEventListener('change', () => { $('push-target').value = targetFor($('push-kind').value); });
$('refresh').addEventListener('click', refreshCluster);
$('top-type').addEventListener('change', refreshCluster);
setInterval(refreshCluster, CLUSTER_EVERY_MS);
refreshCluster();
defaultWSURL().then((u) => {
  if (!$('ws-url').value) $('ws-url').value = u;
  document.body.dataset.ready = '1';
});
