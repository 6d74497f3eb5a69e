// Progressive enhancement of the Jobs page; every page works without it.
// - A page whose <main> has data-live="N" (a job is running) is fetched
//   again every N seconds and its <main> swapped in place, until the page
//   says nothing is running any more.
// - A form with data-confirm asks before it is sent (delete).
// - The notice of an operation (?done=…) is shown once.
(function () {
  'use strict';

  document.addEventListener('submit', function (ev) {
    var question = ev.target.getAttribute('data-confirm');
    if (question && !window.confirm(question)) {
      ev.preventDefault();
    }
  });

  // The page itself, without the one-time notice of an operation
  // (?done=…), which a reload or a refresh should not show again.
  function pageURL() {
    var url = new URL(window.location.href);
    url.searchParams.delete('done');
    return url.toString();
  }

  function refresh(every) {
    setTimeout(function () {
      fetch(pageURL(), { credentials: 'same-origin', cache: 'no-store' })
        .then(function (resp) {
          if (resp.redirected || resp.status === 401 || resp.status === 403) {
            window.location.reload(); // signed out: let the server say where to go
            return null;
          }
          if (!resp.ok) {
            throw new Error('HTTP ' + resp.status);
          }
          return resp.text();
        })
        .then(function (html) {
          if (html === null) {
            return;
          }
          var next = new DOMParser().parseFromString(html, 'text/html').querySelector('main');
          var current = document.querySelector('main');
          if (!next || !current) {
            return;
          }
          current.replaceWith(document.importNode(next, true));
          var again = parseInt(next.getAttribute('data-live'), 10);
          if (again > 0) {
            refresh(again * 1000);
          }
        })
        .catch(function () {
          refresh(every * 5); // the server is away: try again, slower
        });
    }, every);
  }

  function start() {
    if (pageURL() !== window.location.href) {
      window.history.replaceState(null, '', pageURL());
    }
    var main = document.querySelector('main[data-live]');
    var every = main ? parseInt(main.getAttribute('data-live'), 10) : 0;
    if (every > 0) {
      refresh(every * 1000);
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
