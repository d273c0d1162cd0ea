// Background blur or a plain background, computed on this device. Camera
// frames go through a person-segmentation model that our own server serves
// (web/vendor/selfie-segmentation); only the composed picture leaves the
// device, as the outgoing video. Nothing is fetched until a person chooses
// an effect.

const BASE = '/static/background/';
// The model's input size (the "landscape" model, made for video calls).
const MODEL_W = 256;
const MODEL_H = 144;
// Segmenting more often than this buys nothing a person can see and costs
// a phone its battery; frames in between reuse the last mask.
const SEGMENT_EVERY_MS = 66;
// Slower than this (median of the first frames), the cut-out trails behind
// the person: better plain video and a word saying why.
const TOO_SLOW_MS = 250;
const PROBE_FRAMES = 8;
// Blur by shrinking the frame to a few dozen pixels and stretching it back:
// smooth, cheap everywhere, and no `ctx.filter`, which Safari lacks.
const BLUR_W = 40;
const BLUR_H = 23;
const PLAIN_COLOUR = '#5b6770';
// Loading the model and its first frames; a browser without the WebGL the
// model needs may never finish, and must not leave the person waiting.
const PREPARE_MS = 20000;

export class TooSlow extends Error {
  constructor(ms) {
    super(`segmentation takes ${Math.round(ms)} ms a frame`);
    this.ms = ms;
  }
}

// The browser has no WebGL 2, which the model needs (it would show an
// alert of its own otherwise).
export class Unsupported extends Error {}

function hasWebGl2() {
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return false;
    const lose = gl.getExtension('WEBGL_lose_context');
    if (lose) lose.loseContext();
    return true;
  } catch {
    return false;
  }
}

let segmentationScript = null;

function loadSegmentation() {
  if (!segmentationScript) {
    segmentationScript = new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = `${BASE}selfie_segmentation.js`;
      script.onload = () => (window.SelfieSegmentation
        ? resolve(window.SelfieSegmentation)
        : reject(new Error('segmentation script without its class')));
      script.onerror = () => {
        segmentationScript = null;
        reject(new Error('segmentation script did not load'));
      };
      document.head.append(script);
    });
  }
  return segmentationScript;
}

function canvas(width, height) {
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  return c;
}

// One effect ('blur' or 'plain') on one camera track; `track` is the
// composed picture to send and to preview.
export class BackgroundEffect {
  static async start(camera, mode) {
    if (!hasWebGl2()) throw new Unsupported('no WebGL 2');
    const effect = new BackgroundEffect(camera, mode);
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('the background took too long to prepare')), PREPARE_MS);
    });
    try {
      await Promise.race([effect.prepare(), late]);
      clearTimeout(timer);
    } catch (err) {
      clearTimeout(timer);
      effect.stop();
      throw err;
    }
    return effect;
  }

  constructor(camera, mode) {
    this.camera = camera;
    this.mode = mode;
    this.running = false;
    // Set by stop(): a preparation still under way gives up at its next step.
    this.stopped = false;
    this.lastSegment = 0;
    this.lastMs = 0;
    this.segmenting = false;
    this.ticker = null;
    this.segmenter = null;
    this.track = null;
  }

  async prepare() {
    const step = async (promise) => {
      const value = await promise;
      if (this.stopped) throw new Error('the background was turned off while it was prepared');
      return value;
    };
    const Segmentation = await step(loadSegmentation());
    const { width = 640, height = 360, frameRate = 24 } = this.camera.getSettings();
    this.video = document.createElement('video');
    this.video.muted = true;
    this.video.playsInline = true;
    this.video.srcObject = new MediaStream([this.camera]);
    await step(this.video.play());
    this.out = canvas(width, height);
    this.ctx = this.out.getContext('2d');
    this.input = canvas(MODEL_W, MODEL_H);
    this.mask = canvas(MODEL_W, MODEL_H);
    this.blurred = canvas(BLUR_W, BLUR_H);
    this.segmenter = new Segmentation({ locateFile: (file) => BASE + file });
    this.segmenter.setOptions({ modelSelection: 1 });
    // The mask lives only as long as the callback: keep a copy.
    const maskCtx = this.mask.getContext('2d');
    this.segmenter.onResults((results) => {
      maskCtx.clearRect(0, 0, MODEL_W, MODEL_H);
      maskCtx.drawImage(results.segmentationMask, 0, 0, MODEL_W, MODEL_H);
    });
    await step(this.segmenter.initialize());
    const times = [];
    for (let i = 0; i < PROBE_FRAMES; i += 1) times.push(await step(this.segment()));
    times.sort((a, b) => a - b);
    this.medianMs = times[times.length >> 1];
    if (this.medianMs > TOO_SLOW_MS) throw new TooSlow(this.medianMs);
    this.draw();
    this.track = this.out.captureStream(frameRate).getVideoTracks()[0];
    this.running = true;
    // A worker's timer keeps its pace on a hidden page, where the page's
    // own timers slow to once a second and the video with them.
    this.ticker = new Worker('/static/room-ticker.js');
    this.ticker.onmessage = () => this.tick();
    this.ticker.postMessage(Math.round(1000 / frameRate));
  }

  async segment() {
    const started = performance.now();
    this.input.getContext('2d').drawImage(this.video, 0, 0, MODEL_W, MODEL_H);
    await this.segmenter.send({ image: this.input });
    this.lastSegment = performance.now();
    this.lastMs = this.lastSegment - started;
    return this.lastMs;
  }

  tick() {
    if (!this.running) return;
    // "Stop my camera" disables the track we send: let the camera rest too.
    this.camera.enabled = this.track.enabled;
    if (!this.track.enabled) return;
    // On a slow device the page rests at least as long as the last mask
    // took, so segmenting never takes more than half of its time from the
    // call itself (the mask then trails a little more).
    const rest = Math.max(SEGMENT_EVERY_MS, this.lastMs);
    if (!this.segmenting && performance.now() - this.lastSegment >= rest) {
      this.segmenting = true;
      this.segment()
        .catch(() => {})
        .finally(() => { this.segmenting = false; });
    }
    this.draw();
  }

  draw() {
    const { ctx, video } = this;
    const { width, height } = this.out;
    ctx.globalCompositeOperation = 'copy';
    ctx.drawImage(this.mask, 0, 0, width, height);
    ctx.globalCompositeOperation = 'source-in';
    ctx.drawImage(video, 0, 0, width, height);
    ctx.globalCompositeOperation = 'destination-over';
    if (this.mode === 'blur') {
      this.blurred.getContext('2d').drawImage(video, 0, 0, BLUR_W, BLUR_H);
      ctx.imageSmoothingEnabled = true;
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(this.blurred, 0, 0, width, height);
    } else {
      ctx.fillStyle = PLAIN_COLOUR;
      ctx.fillRect(0, 0, width, height);
    }
    ctx.globalCompositeOperation = 'source-over';
  }

  stop() {
    this.stopped = true;
    this.running = false;
    if (this.ticker) this.ticker.terminate();
    if (this.track) this.track.stop();
    if (this.segmenter) this.segmenter.close().catch(() => {});
    if (this.video) this.video.srcObject = null;
  }
}
