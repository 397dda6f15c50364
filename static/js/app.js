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
  // page that lacks it; the chart placeholder (data-plotly-src) asks for its figure after that,
  // so the figure's inline script finds Plotly.
  var plotlyLoading = null;
  document.body.addEventListener("htmx:confirm", function (evt) {
    var src = evt.detail.elt.getAttribute("data-plotly-src");
    if (!src || window.Plotly) { return; }
    evt.preventDefault();
    if (!plotlyLoading) {
      plotlyLoading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src;
        script.onload = resolve;
        script.onerror = function () { plotlyLoading = null; reject(); };
        document.head.appendChild(script);
      });
    }
    plotlyLoading.then(function () { evt.detail.issueRequest(true); }, function () {
      evt.detail.elt.textContent = "The chart could not be loaded. Reload the page to try again.";
    });
  });
})();
