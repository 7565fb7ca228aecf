'use strict';
// Quitting: the windows go at once, the backend stops cleanly behind them (its workers take a few seconds
// to hand back what they hold), then the app exits. Plain Node, so it is tested with `node --test`.

/**
 * A `before-quit` handler. `hideWindows()` hides every window; `stopBackend()` resolves once the backend
 * has exited; `closeLog()` flushes the log; `quit()` quits again, and that second `before-quit` is let
 * through. Quitting again while the backend stops changes nothing.
 */
function quitSequence({ hideWindows, stopBackend, closeLog, quit, log }) {
  let state = 'running'; // then 'stopping', then 'stopped'
  return function onBeforeQuit(event) {
    if (state === 'stopped') return;
    event.preventDefault();
    if (state === 'stopping') return;
    state = 'stopping';
    hideWindows();
    Promise.resolve()
      .then(stopBackend)
      .then(
        () => log('[shell] backend stopped'),
        (error) => log(`[shell] backend did not stop cleanly: ${error.message}`),
      )
      .then(closeLog)
      .catch(() => {}) // a log that cannot be flushed must not keep the app alive
      .finally(() => {
        state = 'stopped';
        quit();
      });
  };
}

module.exports = { quitSequence };
