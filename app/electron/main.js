'use strict';
// The Electron main process: start the backend sidecar, show the inbox it serves, keep it alive, stop
// it on quit. The sidecar logic lives in sidecar.js (plain Node, tested with `node --test`).

const path = require('node:path');
const { app, BrowserWindow, dialog, shell } = require('electron');

const { createLog } = require('./log');
const { sameOrigin, isExternalLink } = require('./navigation');
const { quitSequence } = require('./quitting');
const { Sidecar } = require('./sidecar');

let win = null;
let sidecar = null;
let log = null;

function createWindow() {
  win = new BrowserWindow({
    width: 1280,
    height: 800,
    title: 'ChatStats',
    show: false,
    webPreferences: { contextIsolation: true, nodeIntegration: false, sandbox: true },
  });
  win.once('ready-to-show', () => win.show());
  win.loadFile(path.join(__dirname, 'starting.html'));
  const current = () => (sidecar && sidecar.info ? sidecar.info.url : 'http://127.0.0.1');
  win.webContents.on('will-navigate', (event, url) => {
    if (!sameOrigin(url, current())) {
      event.preventDefault();
      if (isExternalLink(url)) shell.openExternal(url);
    }
  });
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (isExternalLink(url) && !sameOrigin(url, current())) shell.openExternal(url);
    return { action: 'deny' };
  });
  win.on('closed', () => { win = null; });
}

async function startBackend() {
  sidecar = new Sidecar({ log: log.line });
  // every (re)start may bring a new port and token: show the inbox at the address of the latest one
  sidecar.on('ready', (info) => {
    log.line(`[shell] backend ready at ${info.url}`);
    if (win) win.loadURL(info.app_url);
  });
  sidecar.on('exit', ({ code, signal }) => log.line(`[shell] backend died (${signal || `code ${code}`})`));
  sidecar.on('failed', (error) => {
    dialog.showErrorBox('ChatStats stopped', `${error.message}\n\nThe log is at ${log.file}.`);
  });
  try {
    await sidecar.start();
  } catch (error) {
    log.line(`[shell] backend failed to start: ${error.message}`);
    dialog.showErrorBox('ChatStats could not start', `${error.message}\n\nThe log is at ${log.file}.`);
    app.quit();
  }
}

// Chromium's profile apart from the backend's data (both live under Application Support/ChatStats)
app.setPath('userData', path.join(app.getPath('appData'), 'ChatStats', 'Shell'));

app.whenReady().then(() => {
  log = createLog(path.join(app.getPath('logs'), 'chatstats.log'));
  createWindow();
  startBackend();
  app.on('activate', () => {
    if (win === null) {
      createWindow();
      if (sidecar && sidecar.info) win.loadURL(sidecar.info.app_url);
    }
  });
});

app.on('window-all-closed', () => app.quit());

// Stop the backend before we exit, behind hidden windows; it also stops by itself if we die (it watches
// --parent-pid).
app.on('before-quit', quitSequence({
  hideWindows: () => BrowserWindow.getAllWindows().forEach((window) => window.hide()),
  stopBackend: () => (sidecar === null ? undefined : sidecar.stop()),
  closeLog: () => (log === null ? undefined : log.close()),
  quit: () => app.quit(),
  log: (line) => { if (log !== null) log.line(line); },
}));
