// fetch() with the launch token, and errors turned into readable messages.

import { showError, showGate } from './alerts.js';

let token = null;

export function setToken(value) {
  token = value;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function describe(status, body) {
  if (body && typeof body.message === 'string') return body.message;
  if (body && Array.isArray(body.detail)) return body.detail.map((d) => d.msg).join('; ');
  if (body && typeof body.detail === 'string') return body.detail;
  return `The backend answered ${status}.`;
}

export async function request(method, path, { query, body, quiet = false } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, value);
  }
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    const error = new ApiError(0, 'unreachable', 'Cannot reach the ChatStats backend: is `chatstats up` still running?');
    if (!quiet) showError(error.message);
    throw error;
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(response.status, data?.code || 'http_error', describe(response.status, data));
    if (response.status === 401) {
      showGate('The backend refused this page\'s token: it was restarted or the link is old.');
    } else if (!quiet) {
      showError(error.message);
    }
    throw error;
  }
  return data;
}

export const get = (path, query, options) => request('GET', path, { ...options, query });
export const post = (path, body, options) => request('POST', path, { ...options, body });

/** The address of an SSE stream: EventSource cannot send headers, so the token goes as a query parameter. */
export function streamUrl(path, query = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) url.searchParams.set(key, value);
  }
  url.searchParams.set('token', token);
  return url.toString();
}
