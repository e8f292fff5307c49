// Web client of the embedded meeting fabric. The gateway makes every offer; this page answers them,
// sends its camera and microphone on the uplink mids and plays each remote participant's downlink mids.
// It also shows how each participant is connected, and warns about any leg that is not encrypted.

const GATHER_CAP_MS = 3000;
const NOTICE_LIMIT = 50;

const byId = (id) => document.getElementById(id);
const ui = {
  title: byId('meeting-title'),
  error: byId('error'),
  form: byId('join-form'),
  meetingId: byId('meeting-id'),
  name: byId('display-name'),
  pin: byId('pin'),
  joinButton: byId('join-button'),
  meeting: byId('meeting'),
  banner: byId('unencrypted-banner'),
  tiles: byId('tiles'),
  selfTile: byId('self-tile'),
  localVideo: byId('local-video'),
  selfInitial: byId('self-initial'),
  selfMuted: byId('self-muted'),
  count: byId('participant-count'),
  roster: byId('roster'),
  notices: byId('notices'),
  muteAudio: byId('mute-audio'),
  muteVideo: byId('mute-video'),
  leave: byId('leave-button'),
};

/** participantId → MediaStream holding the tracks of the downlink mids that carry that participant. */
const remoteStreams = new Map();
/** participantId → that participant's tile elements. */
const tiles = new Map();
let session = null;
let audioContext;

window.sipgw = {
  get pc() {
    return session?.pc;
  },
  remoteStreams,
  roster: [],
};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  // Names and descriptions come from other participants: only ever set as text, never as markup.
  if (text !== undefined) node.textContent = text;
  return node;
}

function showError(text) {
  ui.error.textContent = text;
  ui.error.hidden = !text;
}

function send(s, message) {
  if (s.ws.readyState === WebSocket.OPEN) s.ws.send(JSON.stringify(message));
}

function join(meetingId, name, pin) {
  if (session) return;
  if (!meetingId || !name) {
    showError('Enter a meeting ID and your name.');
    return;
  }
  showError('');
  ui.joinButton.disabled = true;
  // Created inside the click so that browsers allow the notice sounds later.
  audioContext ??= new AudioContext();
  void audioContext.resume();

  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const s = {
    ws: new WebSocket(`${scheme}://${location.host}/ws`),
    pc: new RTCPeerConnection(),
    local: null,
    media: undefined,
    selfId: undefined,
    joined: false,
    answered: false,
    audioMuted: false,
    videoMuted: false,
    offers: Promise.resolve(),
    serverError: false,
    closed: false,
  };
  session = s;
  s.media = localMedia(s);

  s.ws.addEventListener('open', () => send(s, { type: 'join', meetingId, name, ...(pin ? { pin } : {}) }));
  s.ws.addEventListener('message', (event) => onMessage(s, event.data));
  s.ws.addEventListener('close', () => {
    if (s.closed) return;
    end(s);
    // A server that closes after an error message has already said why.
    if (!s.serverError) showError(s.joined ? 'Connection to the meeting was lost.' : 'Could not connect to the gateway.');
  });
  s.pc.addEventListener('connectionstatechange', () => {
    if (s.pc.connectionState === 'failed') showError('The media connection failed.');
  });
}

function leave() {
  const s = session;
  if (!s) return;
  send(s, { type: 'leave' });
  end(s);
}

function end(s) {
  if (s.closed) return;
  s.closed = true;
  if (session === s) session = null;
  s.ws.close();
  s.pc.close();
  s.local?.getTracks().forEach((track) => track.stop());
  remoteStreams.clear();
  ui.localVideo.srcObject = null;
  ui.title.textContent = '';
  renderRoster(s, []);
  ui.notices.replaceChildren();
  ui.muteAudio.disabled = true;
  ui.muteVideo.disabled = true;
  ui.muteAudio.setAttribute('aria-pressed', 'false');
  ui.muteVideo.setAttribute('aria-pressed', 'false');
  ui.meeting.hidden = true;
  ui.form.hidden = false;
  ui.joinButton.disabled = false;
}

async function localMedia(s) {
  let stream = null;
  if (!navigator.mediaDevices) {
    showError('Camera and microphone need a secure (https) connection; you can only watch and listen.');
  } else {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    } catch {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (error) {
        showError(`No microphone available (${error.message}); you can only watch and listen.`);
      }
    }
  }
  if (s.closed) {
    stream?.getTracks().forEach((track) => track.stop());
    return null;
  }
  s.local = stream;
  s.audioMuted = !stream?.getAudioTracks().length;
  s.videoMuted = !stream?.getVideoTracks().length;
  ui.localVideo.srcObject = stream;
  applyMediaState(s);
  return stream;
}

function applyMediaState(s) {
  const audio = s.local?.getAudioTracks() ?? [];
  const video = s.local?.getVideoTracks() ?? [];
  audio.forEach((track) => (track.enabled = !s.audioMuted));
  video.forEach((track) => (track.enabled = !s.videoMuted));
  ui.muteAudio.disabled = audio.length === 0;
  ui.muteVideo.disabled = video.length === 0;
  ui.muteAudio.setAttribute('aria-pressed', String(s.audioMuted));
  ui.muteVideo.setAttribute('aria-pressed', String(s.videoMuted));
  ui.selfTile.classList.toggle('no-video', s.videoMuted);
  ui.selfMuted.hidden = !s.audioMuted;
}

function sendMediaState(s) {
  send(s, { type: 'media-state', audioMuted: s.audioMuted, videoMuted: s.videoMuted });
}

function toggle(kind) {
  const s = session;
  if (!s?.local) return;
  if (kind === 'audio') s.audioMuted = !s.audioMuted;
  else s.videoMuted = !s.videoMuted;
  applyMediaState(s);
  sendMediaState(s);
}

function onMessage(s, data) {
  if (s.closed) return;
  let message;
  try {
    message = JSON.parse(data);
  } catch {
    return;
  }
  switch (message.type) {
    case 'joined':
      s.joined = true;
      s.selfId = message.self.id;
      // The PIN has done its job; it should not wait in the page for the next visitor of this screen.
      ui.pin.value = '';
      ui.selfInitial.textContent = initial(message.self.name);
      ui.title.textContent = message.meeting.name || message.meeting.id;
      history.replaceState(null, '', `?meeting=${encodeURIComponent(message.meeting.id)}`);
      ui.form.hidden = true;
      ui.meeting.hidden = false;
      break;
    case 'offer':
      // Each answer must match the latest offer: never let two negotiations overlap.
      s.offers = s.offers
        .then(() => answer(s, message))
        .catch((error) => {
          if (s.closed) return;
          showError(`Could not set up the media connection: ${error.message}`);
          end(s);
        });
      break;
    case 'roster':
      renderRoster(s, message.participants);
      break;
    case 'notice':
      onNotice(s, message);
      break;
    case 'error':
      s.serverError = true;
      showError(message.message || `Error: ${message.code}`);
      if (!s.joined || message.code === 'meeting-ended' || message.code === 'encryption-required') end(s);
      break;
  }
}

async function answer(s, { sdp, uplink, downlink }) {
  const local = await s.media;
  if (s.closed) return;
  await s.pc.setRemoteDescription({ type: 'offer', sdp });
  const tracks = new Map([
    [uplink.audio, local?.getAudioTracks()[0] ?? null],
    [uplink.video, local?.getVideoTracks()[0] ?? null],
  ]);
  for (const transceiver of s.pc.getTransceivers()) {
    if (!tracks.has(transceiver.mid)) continue;
    const track = tracks.get(transceiver.mid);
    transceiver.direction = track ? 'sendonly' : 'inactive';
    await transceiver.sender.replaceTrack(track);
  }
  bindDownlinks(s, downlink);
  await s.pc.setLocalDescription();
  await iceGathered(s.pc);
  if (s.closed) return;
  send(s, { type: 'answer', sdp: s.pc.localDescription.sdp });
  // The server assumes an unmuted participant until told otherwise (e.g. no camera here).
  if (!s.answered && (s.audioMuted || s.videoMuted)) sendMediaState(s);
  s.answered = true;
}

function iceGathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, GATHER_CAP_MS);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

// Walks every transceiver rather than relying on 'track' events: those fire only the first time a mid
// appears, while the server may hand a mid to another participant in any later offer.
function bindDownlinks(s, downlink) {
  const owner = new Map(downlink.map((entry) => [entry.mid, entry.participantId]));
  const wanted = new Map();
  for (const transceiver of s.pc.getTransceivers()) {
    const id = owner.get(transceiver.mid);
    if (id === undefined) continue;
    wanted.set(id, [...(wanted.get(id) ?? []), transceiver.receiver.track]);
  }
  for (const id of remoteStreams.keys()) {
    if (!wanted.has(id)) remoteStreams.delete(id);
  }
  for (const [id, tracks] of wanted) {
    let stream = remoteStreams.get(id);
    if (!stream) {
      stream = new MediaStream();
      remoteStreams.set(id, stream);
    }
    for (const track of stream.getTracks()) {
      if (!tracks.includes(track)) stream.removeTrack(track);
    }
    for (const track of tracks) stream.addTrack(track);
  }
  renderTiles(s);
}

function renderTiles(s) {
  const roster = window.sipgw.roster;
  const ids = new Set([...roster.filter((p) => p.id !== s.selfId).map((p) => p.id), ...remoteStreams.keys()]);
  for (const [id, tile] of tiles) {
    if (ids.has(id)) continue;
    tile.figure.remove();
    tiles.delete(id);
  }
  for (const id of ids) {
    const tile = tiles.get(id) ?? addTile(id);
    const entry = roster.find((p) => p.id === id);
    const stream = remoteStreams.get(id) ?? null;
    tile.name.textContent = entry?.name ?? '…';
    tile.letter.textContent = initial(entry?.name ?? '');
    tile.micOff.hidden = entry?.audioMuted !== true;
    tile.warning.hidden = entry === undefined || entry.encrypted === true;
    if (tile.video.srcObject !== stream) tile.video.srcObject = stream;
    if (tile.audio.srcObject !== stream) tile.audio.srcObject = stream;
    const hasVideo = (stream?.getVideoTracks().length ?? 0) > 0 && entry?.videoMuted !== true;
    tile.figure.classList.toggle('no-video', !hasVideo);
  }
}

function addTile(id) {
  const figure = el('figure', 'tile remote');
  figure.dataset.participantId = id;
  const video = el('video');
  video.autoplay = true;
  video.muted = true;
  video.playsInline = true;
  // Sound goes through its own element so that it keeps playing whatever happens to the video.
  const audio = el('audio');
  audio.autoplay = true;
  const letter = el('span', 'initial');
  letter.setAttribute('aria-hidden', 'true');
  const name = el('span', 'name');
  const micOff = el('span', 'badge', 'muted');
  const warning = el('span', 'badge warning', '⚠');
  warning.setAttribute('role', 'img');
  warning.setAttribute('aria-label', 'not encrypted');
  warning.title = 'Not encrypted';
  const caption = el('figcaption');
  caption.append(name, warning, micOff);
  figure.append(video, audio, letter, caption);
  ui.tiles.append(figure);
  const tile = { figure, video, audio, letter, name, micOff, warning };
  tiles.set(id, tile);
  return tile;
}

/** What a tile shows without video: the first letter or digit of the name. */
function initial(name) {
  return (name.match(/[\p{L}\p{N}]/u)?.[0] ?? '?').toUpperCase();
}

function warningIcon() {
  const icon = el('span', 'icon', '⚠');
  icon.setAttribute('aria-hidden', 'true');
  return icon;
}

function unencryptedMarker() {
  const marker = el('span', 'unencrypted-marker');
  marker.title = 'This participant’s connection is not encrypted';
  marker.append(warningIcon(), ' not encrypted');
  return marker;
}

function renderRoster(s, participants) {
  window.sipgw.roster = participants;
  ui.roster.replaceChildren(...participants.map(rosterItem));
  ui.count.textContent = String(participants.length);
  // Anything short of an explicit `encrypted: true` is treated as unencrypted.
  ui.banner.hidden = participants.every((p) => p.encrypted === true);
  renderTiles(s);
}

function rosterItem(p) {
  const encrypted = p.encrypted === true;
  const li = el('li', encrypted ? 'participant' : 'participant unencrypted');
  li.dataset.participantId = p.id;
  li.dataset.origin = p.origin;
  li.dataset.encrypted = String(encrypted);
  if (p.self) li.dataset.self = 'true';
  const head = el('div', 'head');
  head.append(el('span', 'name', p.name));
  if (p.self) head.append(el('span', 'you', '(you)'));
  const states = [p.audioMuted && 'muted', p.videoMuted && 'camera off'].filter(Boolean);
  if (states.length) head.append(el('span', 'state', states.join(' · ')));
  li.append(head, el('div', 'description', p.description));
  if (!encrypted) li.append(unencryptedMarker());
  return li;
}

function onNotice(s, { event, text, participant }) {
  if ((event !== 'joined' && event !== 'left') || participant.id === s.selfId) return;
  const li = el('li', 'notice');
  li.dataset.event = event;
  // Only arrivals warn: the server's text already says why (e.g. "… joined by phone — this leg is not encrypted").
  if (event === 'joined' && participant.encrypted !== true) {
    li.dataset.unencrypted = 'true';
    li.append(warningIcon(), ' ');
  }
  li.append(el('span', 'text', text));
  ui.notices.append(li);
  while (ui.notices.children.length > NOTICE_LIMIT) ui.notices.firstElementChild.remove();
  ui.notices.scrollTop = ui.notices.scrollHeight;
  chime(event === 'joined');
}

/** Two short sine tones: rising for a join, falling for a leave. */
function chime(rising) {
  if (!audioContext) return;
  const tones = rising ? [660, 880] : [880, 660];
  const start = audioContext.currentTime;
  tones.forEach((hz, index) => {
    const at = start + index * 0.14;
    const oscillator = audioContext.createOscillator();
    const gain = audioContext.createGain();
    oscillator.frequency.value = hz;
    // Ramp in and out: a hard start or stop clicks.
    gain.gain.setValueAtTime(0, at);
    gain.gain.linearRampToValueAtTime(0.15, at + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.001, at + 0.12);
    oscillator.connect(gain).connect(audioContext.destination);
    oscillator.start(at);
    oscillator.stop(at + 0.13);
  });
}

ui.meetingId.value = new URLSearchParams(location.search).get('meeting') || 'demo';
ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  join(ui.meetingId.value.trim(), ui.name.value.trim(), ui.pin.value);
});
ui.muteAudio.addEventListener('click', () => toggle('audio'));
ui.muteVideo.addEventListener('click', () => toggle('video'));
ui.leave.addEventListener('click', leave);
window.addEventListener('pagehide', leave);
