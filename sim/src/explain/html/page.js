// The page's only script: the side panel, highlighting, and a mark that it ran.
(function () {
  'use strict';
  var what = document.getElementById('details-what');
  var body = document.getElementById('details-body');
  var infoText = document.getElementById('txn-info');
  var txnInfo = infoText ? JSON.parse(infoText.textContent) : {};
  var pinned = null;

  function all(selector) {
    return Array.prototype.slice.call(document.querySelectorAll(selector));
  }

  // A message: who sent it to whom and when, and its body as the wire carried it.
  function showMessage(g) {
    what.textContent = g.getAttribute('data-info') || '';
    var wire = g.getAttribute('data-body') || '';
    try {
      body.textContent = JSON.stringify(JSON.parse(wire), null, 2);
    } catch (e) {
      body.textContent = wire;
    }
  }

  function showTxn(name) {
    what.textContent = txnInfo[name] || name;
    body.textContent = '';
  }

  // The clicked transaction, everywhere it appears.
  function select(name) {
    all('.sel').forEach(function (e) { e.classList.remove('sel'); });
    all('[data-txn="' + name + '"]').forEach(function (e) { e.classList.add('sel'); });
  }

  // The transactions of one anomaly, highlighted in every view.
  function focus(names) {
    var wanted = {};
    names.forEach(function (n) { wanted[n] = true; });
    all('[data-txn]').forEach(function (e) {
      e.classList.toggle('f', wanted[e.getAttribute('data-txn')] === true);
    });
    scrollToFocus();
  }

  // Scrolls the diagram to its first element matching `selector` (a line or a bar).
  function scrollDiagramTo(selector) {
    var box = document.getElementById('lamport-box');
    var first = document.querySelector(selector);
    if (!box || !first) { return; }
    var y = Number(first.getAttribute('y1') || first.getAttribute('y'));
    box.scrollTop = Math.max(0, y - 80);
  }

  // The diagram opens where the anomaly is.
  function scrollToFocus() {
    scrollDiagramTo('#lamport .m.f line, #lamport .tx.f');
  }

  document.addEventListener('mouseover', function (e) {
    var g = e.target.closest && e.target.closest('.m');
    if (g && !pinned) { showMessage(g); }
  });

  document.addEventListener('click', function (e) {
    var target = e.target;
    if (target.id === 'copy') {
      var text = document.getElementById('repro').textContent;
      if (navigator.clipboard) {
        navigator.clipboard.writeText(text).then(function () {
          target.textContent = 'copied';
        }, function () {
          target.textContent = 'select and copy';
        });
      }
      return;
    }
    var g = target.closest('.m');
    if (g) {
      pinned = g;
      showMessage(g);
      if (g.hasAttribute('data-txn')) { select(g.getAttribute('data-txn')); }
      return;
    }
    var t = target.closest('[data-txn]');
    if (t) {
      var name = t.getAttribute('data-txn');
      pinned = null;
      select(name);
      showTxn(name);
      // Clicked elsewhere, the diagram follows to where the transaction starts.
      if (!t.closest('#lamport')) {
        scrollDiagramTo('#lamport .tx[data-txn="' + name + '"], #lamport [data-txn="' + name + '"] line');
      }
      return;
    }
    var a = target.closest('.anomaly');
    if (a) {
      all('.anomaly.current').forEach(function (x) { x.classList.remove('current'); });
      a.classList.add('current');
      focus(a.getAttribute('data-focus').split(' ').filter(Boolean));
    }
  });

  scrollToFocus();
  document.body.dataset.ready = 'yes';
})();
