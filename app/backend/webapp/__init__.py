"""The inbox UI (app/electron/renderer) served at /app, so a browser works as well as the Electron shell."""
