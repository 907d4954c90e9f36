// The chat page: a conversation with a served model through the same origin's OpenAI API.
// Text, images (picker, drag and drop, paste) and speech (recorded or uploaded, transcribed by
// /v1/audio/transcriptions) go in; answers stream in token by token and render as Markdown.
// Model text only ever becomes text nodes (see markdown.js).

import { renderMarkdown } from "./markdown.js";

// The app's root is the folder above page/: right under any route prefix or proxy path.
const API_ROOT = new URL("../", import.meta.url);
const KEY_STORAGE = "cephalo.apiKey";
const MODEL_STORAGE = "cephalo.model";
const TRANSCRIPTION_MODEL = "whisper-1";

const $ = (id) => document.getElementById(id);
const ui = {
  model: $("model"),
  newChat: $("new-chat"),
  settings: $("settings"),
  temperature: $("temperature"),
  maxTokens: $("max-tokens"),
  apiKey: $("api-key"),
  conversation: $("conversation"),
  emptyHint: $("empty-hint"),
  status: $("status"),
  composer: $("composer"),
  attachments: $("attachments"),
  prompt: $("prompt"),
  imageInput: $("image-input"),
  audioInput: $("audio-input"),
  record: $("record"),
  stop: $("stop"),
  send: $("send"),
};

// Each turn: what the user sent and what came back. A turn whose answer failed is left out of the
// history sent with later turns, so one error does not poison the conversation.
let turns = [];
let pendingImages = []; // {name, url}
let streaming = null; // {controller, turn}
let recorder = null; // {mediaRecorder, timer}
let settingsOpenedForKey = false;

class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function apiUrl(path) {
  return new URL(path, API_ROOT).href;
}

function headers(extra = {}) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

async function errorOf(response) {
  let message = response.statusText || `HTTP ${response.status}`;
  let code = null;
  try {
    const body = await response.json();
    if (body && body.error) {
      message = body.error.message || message;
      code = body.error.code || null;
    }
  } catch {
    // not JSON: keep the status text
  }
  if (response.status === 429 || response.status === 503) {
    const after = response.headers.get("retry-after");
    if (after) message += ` (retry in ${after} s)`;
  }
  return new ApiError(response.status, message, code);
}

/** A message a person can act on, for any failure. */
export function readableError(error) {
  if (error instanceof ApiError) {
    switch (error.status) {
      case 401:
        return `The server needs an API key: enter it under Settings. (${error.message})`;
      case 413:
        return `Too large for this server: ${error.message}`;
      case 429:
      case 503:
        return `The server is busy: ${error.message}. Try again shortly.`;
      case 400:
        if (error.code === "context_length_exceeded") {
          return `The conversation is too long for this model: ${error.message}. Start a new chat or ask for fewer tokens.`;
        }
        return `The server refused the request: ${error.message}`;
      case 404:
        return `Not found: ${error.message}`;
      default:
        return `The server failed (${error.status}): ${error.message}`;
    }
  }
  if (error && error.name === "TypeError") return `Could not reach the server: ${error.message}`;
  return `Something went wrong: ${error && error.message ? error.message : error}`;
}

function setStatus(text, isError = false) {
  ui.status.textContent = text;
  ui.status.classList.toggle("error", isError);
}

// ---- models and settings ----

async function loadModels() {
  try {
    const response = await fetch(apiUrl("v1/models"), { headers: headers() });
    if (!response.ok) throw await errorOf(response);
    const body = await response.json();
    const names = body.data.map((model) => model.id);
    const wanted = sessionStorage.getItem(MODEL_STORAGE) || ui.model.value;
    ui.model.replaceChildren(...names.map((name) => new Option(name, name)));
    if (names.includes(wanted)) ui.model.value = wanted;
    setStatus(names.length ? "" : "The server lists no models.", !names.length);
    if (settingsOpenedForKey) ui.settings.open = settingsOpenedForKey = false;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401 && !ui.settings.open) {
      ui.settings.open = settingsOpenedForKey = true;
    }
    setStatus(readableError(error), true);
  }
}

function numberSetting(input, fallback) {
  const value = Number(input.value);
  return input.value !== "" && Number.isFinite(value) ? value : fallback;
}

// ---- attachments ----

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function attachImages(files) {
  const images = [...files].filter((file) => file.type.startsWith("image/"));
  if (files.length && !images.length) setStatus("Only images can be attached here; use Audio file for speech.", true);
  for (const file of images) {
    pendingImages.push({ name: file.name || "pasted image", url: await readAsDataUrl(file) });
  }
  showAttachments();
}

function showAttachments() {
  ui.attachments.replaceChildren(
    ...pendingImages.map((image, index) => {
      const thumbnail = document.createElement("img");
      thumbnail.src = image.url;
      thumbnail.alt = `Attached image: ${image.name}`;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "×";
      remove.setAttribute("aria-label", `Remove ${image.name}`);
      remove.addEventListener("click", () => {
        pendingImages.splice(index, 1);
        showAttachments();
        ui.prompt.focus();
      });
      const item = document.createElement("li");
      item.dataset.testid = "attachment";
      item.append(thumbnail, remove);
      return item;
    }),
  );
}

// ---- conversation ----

function userContent(turn) {
  const text = [turn.transcript, turn.text].filter(Boolean).join("\n");
  if (!turn.images.length) return text;
  return [
    ...turn.images.map((image) => ({ type: "image_url", image_url: { url: image.url } })),
    ...(text ? [{ type: "text", text }] : []),
  ];
}

/** The messages sent for `upTo` (a turn): earlier turns that were answered, then this question. */
export function historyFor(allTurns, upTo) {
  const messages = [];
  for (const turn of allTurns) {
    if (turn === upTo) break;
    if (turn.answer === null) continue;
    messages.push({ role: "user", content: userContent(turn) }, { role: "assistant", content: turn.answer });
  }
  messages.push({ role: "user", content: userContent(upTo) });
  return messages;
}

function showUserTurn(turn) {
  ui.emptyHint.hidden = true;
  const bubble = document.createElement("article");
  bubble.className = "message user";
  bubble.dataset.testid = "question";
  bubble.setAttribute("aria-label", "You");
  if (turn.images.length) {
    const strip = document.createElement("div");
    strip.className = "images";
    for (const image of turn.images) {
      const img = document.createElement("img");
      img.src = image.url;
      img.alt = `Image: ${image.name}`;
      strip.append(img);
    }
    bubble.append(strip);
  }
  if (turn.transcript !== undefined) {
    const spoken = document.createElement("div");
    spoken.className = "transcript";
    spoken.dataset.testid = "transcript";
    spoken.textContent = turn.transcript;
    bubble.append(spoken);
  }
  if (turn.text) {
    const text = document.createElement("div");
    text.className = "text";
    text.textContent = turn.text;
    bubble.append(text);
  }
  ui.conversation.append(bubble);
  turn.userElement = bubble;
}

function answerElement() {
  const answer = document.createElement("article");
  answer.className = "message assistant";
  answer.dataset.testid = "answer";
  answer.setAttribute("aria-label", "Answer");
  const content = document.createElement("div");
  content.className = "content";
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.dataset.testid = "answer-meta";
  const actions = document.createElement("div");
  actions.className = "actions";
  answer.append(content, meta, actions);
  return answer;
}

function button(label, onClick, testid) {
  const control = document.createElement("button");
  control.type = "button";
  control.textContent = label;
  if (testid) control.dataset.testid = testid;
  control.addEventListener("click", onClick);
  return control;
}

function setBusy(busy) {
  ui.send.disabled = busy;
  ui.stop.disabled = !busy;
  ui.record.disabled = busy && !recorder;
}

async function copyText(text, control) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // no clipboard permission (an insecure origin): copy through a selected, hidden textarea
    const area = document.createElement("textarea");
    area.value = text;
    area.className = "visually-hidden";
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  control.textContent = "Copied";
  setTimeout(() => (control.textContent = "Copy"), 1500);
}

function finishActions(turn) {
  const actions = turn.answerElement.querySelector(".actions");
  const controls = [];
  if (turn.answer !== null) {
    const copy = button("Copy", () => copyText(turn.answer, copy), "copy");
    controls.push(copy);
  }
  const isLast = turns[turns.length - 1] === turn;
  if (isLast) {
    controls.push(button(turn.answer === null ? "Retry" : "Regenerate", () => regenerate(turn), "regenerate"));
  }
  actions.replaceChildren(...controls);
}

function renderAnswer(turn, text) {
  turn.answerElement.querySelector(".content").replaceChildren(renderMarkdown(text));
}

/** Parse an SSE body of chat.completion.chunk events; calls onDelta(text) and returns the finish. */
async function readStream(response, onDelta) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let finish = null;
  let usage = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let boundary;
    while ((boundary = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return { finish, usage };
        const payload = JSON.parse(data);
        if (payload.error) throw new ApiError(500, payload.error.message || "generation failed", payload.error.code);
        if (payload.usage) usage = payload.usage;
        const choice = payload.choices && payload.choices[0];
        if (!choice) continue;
        if (choice.delta && choice.delta.content) onDelta(choice.delta.content);
        if (choice.finish_reason) finish = choice.finish_reason;
      }
    }
  }
  return { finish, usage };
}

async function ask(turn) {
  const controller = new AbortController();
  streaming = { controller, turn };
  setBusy(true);
  turn.answer = null;
  const element = answerElement();
  turn.answerElement = element;
  element.dataset.state = "streaming";
  ui.conversation.append(element);
  element.scrollIntoView({ block: "end" });
  let text = "";
  let scheduled = false;
  const started = performance.now();
  const body = {
    model: ui.model.value,
    messages: historyFor(turns, turn),
    stream: true,
    stream_options: { include_usage: true },
    temperature: numberSetting(ui.temperature, 0.2),
    max_tokens: Math.max(1, Math.round(numberSetting(ui.maxTokens, 512))),
  };
  try {
    if (!body.model) throw new Error("no model is selected (the model list did not load: see the message above)");
    const response = await fetch(apiUrl("v1/chat/completions"), {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (!response.ok) throw await errorOf(response);
    const { finish, usage } = await readStream(response, (delta) => {
      text += delta;
      if (!scheduled) {
        scheduled = true;
        requestAnimationFrame(() => {
          scheduled = false;
          renderAnswer(turn, text);
          element.scrollIntoView({ block: "end" });
        });
      }
    });
    turn.answer = text;
    renderAnswer(turn, text);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const notes = [usage ? `${usage.completion_tokens} tokens` : null, `${seconds} s`];
    if (finish === "length") notes.push("stopped at the max tokens setting");
    element.querySelector(".meta").textContent = notes.filter(Boolean).join(" · ");
    element.dataset.state = "done";
  } catch (error) {
    if (error.name === "AbortError") {
      // stopped by the person: what arrived is the answer
      turn.answer = text;
      renderAnswer(turn, text);
      element.querySelector(".meta").textContent = "stopped";
      element.dataset.stopped = "true";
      element.dataset.state = "done";
    } else {
      turn.answer = null;
      element.setAttribute("role", "alert");
      element.querySelector(".content").replaceChildren(document.createTextNode(readableError(error)));
      if (text) element.querySelector(".meta").textContent = `after ${text.length} characters`;
      element.dataset.state = "error";
      turn.userElement.classList.add("failed");
    }
  } finally {
    streaming = null;
    setBusy(false);
    for (const earlier of turns) if (earlier.answerElement) finishActions(earlier);
  }
}

function regenerate(turn) {
  if (streaming) return;
  turn.answerElement.remove();
  turn.userElement.classList.remove("failed");
  ask(turn);
}

async function send({ transcript } = {}) {
  if (streaming) return;
  const text = ui.prompt.value.trim();
  if (!text && !pendingImages.length && transcript === undefined) {
    setStatus("Type a message, attach an image or record a question first.");
    return;
  }
  const turn = { text, images: pendingImages, transcript, answer: null };
  pendingImages = [];
  showAttachments();
  ui.prompt.value = "";
  setStatus("");
  turns.push(turn);
  showUserTurn(turn);
  await ask(turn);
}

function newChat() {
  if (streaming) streaming.controller.abort();
  turns = [];
  pendingImages = [];
  showAttachments();
  ui.conversation.replaceChildren(ui.emptyHint);
  ui.emptyHint.hidden = false;
  setStatus("");
  ui.prompt.focus();
}

// ---- speech ----

const AUDIO_EXTENSIONS = { webm: "webm", ogg: "ogg", mp4: "m4a", mpeg: "mp3", wav: "wav", "x-wav": "wav", flac: "flac" };

function audioFileName(blob, fallback) {
  if (fallback) return fallback;
  const subtype = (blob.type.split(";")[0].split("/")[1] || "webm").toLowerCase();
  return `speech.${AUDIO_EXTENSIONS[subtype] || "webm"}`;
}

async function transcribeAndSend(blob, name) {
  if (streaming) return;
  setStatus("Transcribing…");
  setBusy(true);
  let transcript;
  try {
    const form = new FormData();
    form.append("file", blob, audioFileName(blob, name));
    form.append("model", TRANSCRIPTION_MODEL);
    const response = await fetch(apiUrl("v1/audio/transcriptions"), { method: "POST", headers: headers(), body: form });
    if (!response.ok) throw await errorOf(response);
    transcript = ((await response.json()).text || "").trim();
  } catch (error) {
    setStatus(`Speech: ${readableError(error)}`, true);
    return;
  } finally {
    setBusy(false);
  }
  if (!transcript) {
    setStatus("No speech was recognised in that audio.", true);
    return;
  }
  await send({ transcript });
}

function preferredRecordingType() {
  const candidates = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];
  return candidates.find((type) => window.MediaRecorder && MediaRecorder.isTypeSupported(type)) || "";
}

async function toggleRecording() {
  if (recorder) {
    recorder.mediaRecorder.stop();
    return;
  }
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    setStatus("This browser cannot record here (the microphone needs https or localhost): upload an audio file instead.", true);
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    setStatus(`The microphone is not available (${error.message || error.name}): upload an audio file instead.`, true);
    return;
  }
  const type = preferredRecordingType();
  const mediaRecorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
  const chunks = [];
  const started = Date.now();
  mediaRecorder.addEventListener("dataavailable", (event) => event.data.size && chunks.push(event.data));
  mediaRecorder.addEventListener("stop", () => {
    clearInterval(recorder.timer);
    stream.getTracks().forEach((track) => track.stop());
    recorder = null;
    ui.record.setAttribute("aria-pressed", "false");
    ui.record.textContent = "Record";
    const blob = new Blob(chunks, { type: mediaRecorder.mimeType || type || "audio/webm" });
    transcribeAndSend(blob);
  });
  recorder = {
    mediaRecorder,
    timer: setInterval(() => setStatus(`Recording… ${Math.round((Date.now() - started) / 1000)} s (press Stop recording to send)`), 500),
  };
  mediaRecorder.start(250);
  ui.record.setAttribute("aria-pressed", "true");
  ui.record.textContent = "Stop recording";
  setStatus("Recording…");
}

// ---- wiring ----

function wire() {
  ui.apiKey.value = sessionStorage.getItem(KEY_STORAGE) || "";
  ui.apiKey.addEventListener("change", () => {
    const key = ui.apiKey.value.trim();
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
    loadModels();
  });
  ui.model.addEventListener("change", () => sessionStorage.setItem(MODEL_STORAGE, ui.model.value));
  ui.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  ui.prompt.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && streaming) streaming.controller.abort();
  });
  ui.stop.addEventListener("click", () => streaming && streaming.controller.abort());
  ui.newChat.addEventListener("click", newChat);
  ui.imageInput.addEventListener("change", async () => {
    await attachImages(ui.imageInput.files);
    ui.imageInput.value = "";
  });
  ui.audioInput.addEventListener("change", async () => {
    const [file] = ui.audioInput.files;
    ui.audioInput.value = "";
    if (file) await transcribeAndSend(file, file.name);
  });
  ui.record.addEventListener("click", toggleRecording);
  ui.prompt.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData ? event.clipboardData.files : [])];
    if (files.some((file) => file.type.startsWith("image/"))) {
      event.preventDefault();
      attachImages(files);
    }
  });
  for (const target of [ui.composer, ui.conversation]) {
    target.addEventListener("dragover", (event) => {
      event.preventDefault();
      ui.composer.classList.add("dragging");
    });
    target.addEventListener("dragleave", () => ui.composer.classList.remove("dragging"));
    target.addEventListener("drop", (event) => {
      event.preventDefault();
      ui.composer.classList.remove("dragging");
      attachImages(event.dataTransfer.files);
    });
  }
}

wire();
loadModels();
document.documentElement.dataset.ready = "true";
