// Small glue for htmx: the loading bar and messages for failed requests.
(function () {
  "use strict";
  var bar = document.getElementById("loading-bar");
  // Background polls (the notification badge, the list refreshing itself) mark their element
  // with data-quiet: they must not flash the loading bar every minute.
  document.body.addEventListener("htmx:beforeRequest", function (evt) {
    if (evt.detail.elt && evt.detail.elt.closest && evt.detail.elt.closest("[data-quiet]")) { return; }
    bar.classList.add("htmx-request");
  });
  document.body.addEventListener("htmx:afterRequest", function () { bar.classList.remove("htmx-request"); });
  // The server could not be reached at all (no response to swap): say so in the flash area.
  document.body.addEventListener("htmx:sendError", function () {
    var area = document.getElementById("flash-area");
    if (area) {
      area.innerHTML = '<div class="alert alert-danger" role="alert">The server did not answer. Check the connection and try again.</div>';
    }
  });
  // Charts: plotly.js (4.8 MB) is loaded once, when the first chart is about to be fetched on a
  // page that lacks it; the chart placeholder (data-plotly-src) asks for its figure after that.
  var plotlyLoading = null;
  function loadPlotly(src) {
    if (window.Plotly) { return Promise.resolve(); }
    if (!plotlyLoading) {
      // Its CSS as a file first: plotly.js would otherwise add a <style> element the CSP
      // refuses (the id and class tell it the rules are already there; see crm/charts.py).
      if (!document.getElementById("plotly.js-style-global")) {
        var css = document.createElement("link");
        css.id = "plotly.js-style-global";
        css.className = "no-inline-styles";
        css.rel = "stylesheet";
        css.href = src.replace(/plotly\.min\.js$/, "plotly.css");
        document.head.appendChild(css);
        // The same for MapLibre's CSS (map traces), which plotly.js adds on load by this id.
        var maplibre = document.createElement("link");
        maplibre.id = "9f215cf04c5486422605d13261cb87401f4e7763b6296af81e98efbc0130da53";
        maplibre.rel = "stylesheet";
        maplibre.href = src.replace(/plotly\.min\.js$/, "maplibre.css");
        document.head.appendChild(maplibre);
      }
      plotlyLoading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src;
        script.onload = resolve;
        script.onerror = function () { plotlyLoading = null; reject(); };
        document.head.appendChild(script);
      });
    }
    return plotlyLoading;
  }
  document.body.addEventListener("htmx:confirm", function (evt) {
    var src = evt.detail.elt.getAttribute("data-plotly-src");
    if (!src || window.Plotly) { return; }
    evt.preventDefault();
    loadPlotly(src).then(function () { evt.detail.issueRequest(true); }, function () {
      evt.detail.elt.textContent = "The chart could not be loaded. Reload the page to try again.";
    });
  });

  // A chart is a <div data-plotly-figure="{data, layout}" data-plotly-config="{…}"> (crm/charts.py;
  // no inline script, see the Content-Security-Policy): draw each one the page or a swapped-in
  // fragment brings, once.
  function drawCharts(root) {
    var charts = Array.prototype.slice.call(root.querySelectorAll ? root.querySelectorAll("[data-plotly-figure]") : []);
    if (root.matches && root.matches("[data-plotly-figure]")) { charts.push(root); }
    charts.forEach(function (el) {
      if (el.getAttribute("data-plotly-drawn")) { return; }
      el.setAttribute("data-plotly-drawn", "1");
      loadPlotly(el.getAttribute("data-plotly-src")).then(function () {
        var fig = JSON.parse(el.getAttribute("data-plotly-figure"));
        var config = JSON.parse(el.getAttribute("data-plotly-config") || "{}");
        window.Plotly.newPlot(el, fig.data, fig.layout, config);
        // data-plotly-links (crm/charts.py): a click on a point opens the path in its customdata[0].
        if (el.hasAttribute("data-plotly-links")) {
          el.on("plotly_click", function (data) {
            var point = data && data.points && data.points[0];
            var url = point && point.customdata && point.customdata[0];
            if (typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/") {
              window.location.assign(url);
            }
          });
        }
      }, function () {
        el.textContent = "The chart could not be loaded. Reload the page to try again.";
      });
    });
  }
  htmx.onLoad(drawCharts);

  // A background poll that must not disturb the user: the element's data-poll-unless-focus
  // names the area it refreshes; skip the poll while the page is hidden or that area has focus.
  document.body.addEventListener("htmx:confirm", function (evt) {
    var area = evt.detail.elt.getAttribute("data-poll-unless-focus");
    if (area === null) { return; }
    if (document.visibilityState !== "visible" || document.querySelector(area + " :focus")) {
      evt.preventDefault();
    }
  });

  // Behaviour wired by data- attributes (no on…= handlers: the CSP runs no inline script).
  // <form data-confirm="Question?">: submitted only when the user confirms.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      evt.preventDefault();
      evt.stopImmediatePropagation();
    }
  }, true);
  // Drag and drop onto drop targets (the calendar's days and hours, the board's columns):
  // window.crmDropHighlight(isDragging, dropTarget, overClass) lets the element dropTarget(el)
  // names take the drop while isDragging(), marks it with overClass, and returns the function
  // that clears the mark.
  window.crmDropHighlight = function (isDragging, dropTarget, overClass) {
    function clearOver() {
      document.querySelectorAll("." + overClass).forEach(function (el) { el.classList.remove(overClass); });
    }
    document.addEventListener("dragover", function (evt) {
      if (!isDragging()) { return; }
      var target = dropTarget(evt.target);
      if (!target) { return; }
      evt.preventDefault();  // allows the drop
      evt.dataTransfer.dropEffect = "move";
      if (!target.classList.contains(overClass)) {
        clearOver();
        target.classList.add(overClass);
      }
    });
    return clearOver;
  };
  // A move into the past asks first. Inside an element with data-past-question="…" and
  // data-now="YYYY-MM-DDTHH:MM" (the reader's wall clock when drawn; a [data-now] element
  // within it, redrawn with each swap, is fresher), a new local start earlier than now needs a
  // yes: window.crmConfirmPast(holder, value) answers "no" (nothing to ask), "yes" or "cancel".
  // The server asks as well when a move into the past comes without confirm=1.
  window.crmConfirmPast = function (holder, value) {
    if (!holder || !value) { return "no"; }
    var fresh = holder.querySelector("[data-now]");
    var now = (fresh || holder).getAttribute("data-now");
    if (!now || value >= now) { return "no"; }
    return window.confirm(holder.getAttribute("data-past-question")) ? "yes" : "cancel";
  };
  // <form data-past-check>: the new start is the pressed button's (name="starts_at") or the
  // form's move_to field; a confirmed move is sent with its confirm field set to 1.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.matches || !form.matches("form[data-past-check]")) { return; }
    var button = evt.submitter;
    var field = form.elements.namedItem("move_to");
    var value = button && button.name === "starts_at" ? button.value : (field ? field.value : "");
    var answer = window.crmConfirmPast(form.closest("[data-past-question]"), value);
    if (answer === "cancel") {
      evt.preventDefault();
      evt.stopImmediatePropagation();
      return;
    }
    var confirmed = form.elements.namedItem("confirm");
    if (confirmed) { confirmed.value = answer === "yes" ? "1" : ""; }
  }, true);
  document.addEventListener("click", function (evt) {
    var el = evt.target.closest ? evt.target : evt.target.parentElement;
    if (!el) { return; }
    // <button data-print>: print the page.
    if (el.closest("[data-print]")) { window.print(); return; }
    // <input data-select-all>: a link or token to copy is selected whole.
    if (el.matches("input[data-select-all]")) { el.select(); return; }
    // Partner card tabs: the clicked tab is marked active at once (the tab body loads by htmx).
    var tab = el.closest("a[data-tab-link]");
    if (tab) {
      var list = tab.closest(".nav-tabs") || document;
      list.querySelectorAll(".nav-link").forEach(function (a) { a.classList.remove("active"); });
      tab.classList.add("active");
    }
  });
  // <select data-autosubmit>: choosing sends its form (My day's "whose day").
  document.addEventListener("change", function (evt) {
    var el = evt.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) { el.form.requestSubmit(); }
  });
  document.addEventListener("focusin", function (evt) {
    if (evt.target.matches && evt.target.matches("input[data-select-all]")) { evt.target.select(); }
  });
})();
