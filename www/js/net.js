/*
 * abri — the one way both pages talk to the service: a JSON request that
 * always ends (a timeout), the contract's error shape read in one place,
 * and a capped backoff for retries that shows its countdown and gives up
 * waiting as soon as the browser says the network is back.
 *
 * Plain ES5, no words: what to tell people is the caller's.
 *
 *   abriNet.request(method, path, {body, headers, credentials, ctrl, timeoutMs})
 *     -> Promise of {status, data}; data is the parsed JSON or null.
 *        Rejects on a network failure, an abort or the timeout.
 *   abriNet.errorCode(r), abriNet.errorMessage(r, fallback)
 *   abriNet.delay(failures, minMs, maxMs): the wait before retry number `failures`
 *   new abriNet.Backoff({minMs, maxMs, countdown: function (secondsLeft) {}})
 *     .fail(task) runs `task` after the next delay; .ok() after a success;
 *     .now() runs the pending task at once; .stop() drops it. Back online,
 *     the pending task runs at once and the delays start again from the shortest.
 */
(function (root) {
  'use strict';

  var TIMEOUT_MS = 20000;   // an ordinary call that has not answered by then never will
  var TICK_MS = 1000;       // the countdown hook is called this often

  // One call. `ctrl` (an AbortController) lets the caller end it early;
  // the timeout aborts it the same way, so a call never hangs (an old
  // browser without AbortController has only the caller's own deadline).
  function request(method, path, opts) {
    opts = opts || {};
    var headers = {};
    var name;
    for (name in opts.headers || {}) headers[name] = opts.headers[name];
    var hasBody = opts.body !== null && opts.body !== undefined;
    if (hasBody) headers['Content-Type'] = 'application/json';
    var ctrl = opts.ctrl || (typeof AbortController === 'function' ? new AbortController() : null);
    var init = {
      method: method, headers: headers, credentials: opts.credentials || 'same-origin',
      cache: 'no-store', referrerPolicy: 'no-referrer'
    };
    if (ctrl) init.signal = ctrl.signal;
    if (hasBody) init.body = JSON.stringify(opts.body);
    var timer = ctrl ? setTimeout(function () { ctrl.abort(); }, opts.timeoutMs || TIMEOUT_MS) : null;
    return fetch(path, init).then(function (res) {
      return res.text().then(function (t) {
        clearTimeout(timer);
        var data = null;
        try { data = t ? JSON.parse(t) : null; } catch (e) { data = null; }
        return { status: res.status, data: data };
      });
    }).catch(function (e) {
      clearTimeout(timer);
      throw e;
    });
  }

  // The contract's error: {"error": {"code", "message"}}.
  function errorOf(r) { return (r && r.data && r.data.error) || null; }
  function errorCode(r) { var e = errorOf(r); return e ? e.code : null; }
  function errorMessage(r, fallback) { var e = errorOf(r); return (e && e.message) || fallback; }

  // Retries after failures: min, 2 min, 4 min … up to max, each delay
  // drawn in its upper half so that many pages cut at once do not come
  // back in step.
  function delay(failures, minMs, maxMs) {
    var ms = Math.min(maxMs, minMs * Math.pow(2, failures - 1));
    return Math.round(ms / 2 + Math.random() * ms / 2);
  }

  // The same, with its pending task and countdown (the console's).
  // `failures` counts since the last success (the caller reads it: the
  // service is down while it is above 0); `step`, what the delay grows
  // with, starts again when the network comes back: the failures counted
  // offline say nothing of the new network, and a try that still fails
  // then (the network not quite up) is retried after the shortest delay.
  function Backoff(opts) {
    var self = this;
    self.minMs = opts.minMs;
    self.maxMs = opts.maxMs;
    self.countdown = opts.countdown || function () {};
    self.failures = 0;
    self.step = 0;
    self.task = null;
    self.timer = null;
    self.ticker = null;
    self.at = 0;
    root.addEventListener('online', function () {
      self.step = 0;
      self.now();
    });
  }

  // Counts a failure and runs `task` after the delay; returns the count.
  Backoff.prototype.fail = function (task) {
    var self = this;
    self.stop();
    self.failures += 1;
    self.step += 1;
    var wait = delay(self.step, self.minMs, self.maxMs);
    self.task = task;
    self.at = Date.now() + wait;
    self.timer = setTimeout(function () { self.now(); }, wait);
    self.ticker = setInterval(function () { self.tick(); }, TICK_MS);
    self.tick();
    return self.failures;
  };

  Backoff.prototype.tick = function () {
    this.countdown(Math.max(0, Math.ceil((this.at - Date.now()) / 1000)));
  };

  Backoff.prototype.now = function () {
    var task = this.task;
    if (!task) return;
    this.stop();
    this.countdown(0);
    task();
  };

  Backoff.prototype.stop = function () {
    clearTimeout(this.timer);
    clearInterval(this.ticker);
    this.task = null;
  };

  Backoff.prototype.ok = function () {
    this.stop();
    this.failures = 0;
    this.step = 0;
  };

  root.abriNet = {
    request: request, errorCode: errorCode, errorMessage: errorMessage, delay: delay, Backoff: Backoff
  };
})(window);
