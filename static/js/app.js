// Small glue for htmx: the loading bar and messages for failed requests.
(function () {
  "use strict";
  var bar = document.getElementById("loading-bar");
  document.body.addEventListener("htmx:beforeRequest", function () { bar.classList.add("htmx-request"); });
  document.body.addEventListener("htmx:afterRequest", function () { bar.classList.remove("htmx-request"); });
  // The server could not be reached at all (no response to swap): say so in the flash area.
  document.body.addEventListener("htmx:sendError", function () {
    var area = document.getElementById("flash-area");
    if (area) {
      area.innerHTML = '<div class="alert alert-danger" role="alert">The server did not answer. Check the connection and try again.</div>';
    }
  });
})();
