// mediasync status page: refresh the data without reloading, and submit the buttons in place.
// The server renders every byte of the page (html/template escapes it); this script only fetches
// the page again and moves the sections that changed ([data-live] elements) into the document, so
// it never builds HTML from data. Without it the page still works: <noscript> reloads it, and the
// buttons' forms post and redirect back.
(function () {
  'use strict';
  var body = document.body;
  var every = parseInt(body.getAttribute('data-refresh'), 10) || 2000;
  var failures = 0;
  var timer = null;
  var loading = false; // a refresh is in flight
  var acting = 0; // buttons whose POST (and the redirect that carries their message) is in flight
  var conn = document.getElementById('conn');

  function setConn(text, bad) {
    if (!conn) return;
    conn.textContent = text;
    conn.className = bad ? 'conn bad' : 'conn';
  }

  // swap moves the [data-live] sections of a freshly fetched page into this one, replacing only
  // those whose content changed (so a button under the pointer stays put). When the set of
  // sections differs (a folder appeared), the whole <main> is replaced. A button's message
  // (#flash) stays until the next button. It reports whether the fetched document was a status
  // page.
  function swap(html, afterAction) {
    var doc = new DOMParser().parseFromString(html, 'text/html');
    var fresh = doc.getElementById('live');
    var cur = document.getElementById('live');
    if (!fresh || !cur) {
      var p = doc.getElementById('problem');
      flash(p ? p.textContent : 'The agent gave an unexpected answer.', true);
      return false;
    }
    var fs = fresh.querySelectorAll('[data-live]');
    var cs = cur.querySelectorAll('[data-live]');
    var same = fs.length === cs.length;
    for (var i = 0; same && i < fs.length; i++) {
      if (fs[i].id !== cs[i].id) same = false;
    }
    if (!same) {
      var keep = document.getElementById('flash');
      var next = document.importNode(fresh, true);
      var slot = next.querySelector('#flash');
      if (keep && slot && !afterAction) slot.replaceWith(keep);
      cur.replaceWith(next);
      return true;
    }
    for (i = 0; i < fs.length; i++) {
      if (fs[i].id === 'flash' && !afterAction) continue;
      if (fs[i].innerHTML !== cs[i].innerHTML) {
        cs[i].replaceWith(document.importNode(fs[i], true));
      }
    }
    return true;
  }

  function flash(text, bad) {
    var box = document.getElementById('flash');
    if (!box) return;
    var p = document.createElement('p');
    p.className = bad ? 'flash error' : 'flash ok';
    p.setAttribute('role', 'status');
    p.textContent = text;
    box.replaceChildren(p);
  }

  function schedule() {
    clearTimeout(timer);
    // Back off while the agent does not answer: 2, 4, 8 times the interval.
    timer = setTimeout(refresh, every * Math.pow(2, Math.min(failures, 3)));
  }

  // refresh fetches the page and swaps it in. One at a time, and none while a button's request is
  // in flight: a refresh between its POST and the redirected GET would take the one-time message
  // (the flash cookie) and drop it.
  function refresh() {
    clearTimeout(timer);
    if (loading) return; // the refresh in flight schedules the next
    if (document.hidden || acting > 0) {
      schedule();
      return;
    }
    loading = true;
    fetch(location.href, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'text/html' } })
      .then(function (r) {
        if (r.status === 401) throw new Error('not authorised: open the page again with /?token=TOKEN');
        if (!r.ok) throw new Error('the agent answered ' + r.status);
        return r.text();
      })
      .then(function (t) {
        swap(t, false);
        failures = 0;
        setConn('live', false);
      })
      .catch(function (e) {
        failures++;
        setConn('not updating (' + e.message + '); retrying', true);
      })
      .then(function () {
        loading = false;
        schedule();
      });
  }

  // Buttons: post the form with fetch and show the page the redirect leads to.
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (!form.hasAttribute('data-action')) return;
    ev.preventDefault();
    var button = form.querySelector('button');
    if (button) button.disabled = true;
    acting++;
    fetch(form.action, {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'X-CSRF-Token': body.getAttribute('data-csrf') || '' },
      body: new URLSearchParams(new FormData(form))
    })
      .then(function (r) { return r.text(); })
      .then(function (t) { swap(t, true); })
      .catch(function (e) { flash('The request failed: ' + e.message, true); })
      .then(function () {
        acting--;
        if (button && button.isConnected) button.disabled = false;
      });
  });

  document.addEventListener('visibilitychange', function () {
    if (!document.hidden) refresh();
  });
  setConn('live', false);
  schedule();
})();
