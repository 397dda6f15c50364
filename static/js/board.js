// The pipeline board: drag a card onto another column to move the deal there, onto "Won" to
// mark it won, onto "Lost" to open its loss form (a reason is required). Listeners sit on
// `document`, so the board body htmx swaps in keeps working. The move is posted by htmx with
// the CSRF token of <body hx-headers>; the answer is the board body redrawn (the card in its
// new column, or the refusal above the columns). Phones use the buttons on each card.
(function () {
  "use strict";
  var dragged = null;

  function body() { return document.getElementById("board-body"); }

  function boardNext() {
    var state = document.querySelector("#board-body [data-board-next]");
    return state ? state.getAttribute("data-board-next") : "";
  }

  function dropTarget(el) {
    if (!el || !el.closest) { return null; }
    return el.closest("#board-body .board-column[data-stage-id], #board-body [data-drop]");
  }

  // The drop target under the pointer is marked (static/js/app.js).
  var clearOver = window.crmDropHighlight(function () { return dragged !== null; }, dropTarget, "board-over");

  function finish() {
    if (dragged) { dragged.classList.remove("board-dragging"); }
    dragged = null;
    clearOver();
    var b = body();
    if (b) { b.classList.remove("board-dragging"); }
  }

  function post(url, values) {
    values.next = boardNext();
    values.version = dragged ? (dragged.getAttribute("data-version") || "") : "";
    htmx.ajax("POST", url, { source: "#board-body", target: "#board-body", swap: "innerHTML", values: values });
  }

  document.addEventListener("dragstart", function (evt) {
    var card = evt.target.closest && evt.target.closest("#board-body .board-card[data-move-url]");
    if (!card) { return; }
    dragged = card;
    card.classList.add("board-dragging");
    // Shown after the drag has begun: Chromium ends a drag whose start changes the layout.
    window.setTimeout(function () { if (dragged) { body().classList.add("board-dragging"); } }, 0);
    evt.dataTransfer.effectAllowed = "move";
    evt.dataTransfer.setData("text/plain", card.getAttribute("data-deal-id") || "");
  });

  document.addEventListener("dragend", finish);

  document.addEventListener("drop", function (evt) {
    var target = dropTarget(evt.target);
    if (!dragged || !target) { return; }
    evt.preventDefault();
    var card = dragged;
    var drop = target.getAttribute("data-drop");
    if (drop === "won") {
      post(card.getAttribute("data-win-url"), {});
    } else if (drop === "lost") {
      var lost = card.querySelector("details.board-lost");
      if (lost) {
        lost.open = true;
        lost.scrollIntoView({ block: "nearest" });
        var select = lost.querySelector("select");
        if (select) { select.focus(); }
      }
    } else {
      var stage = target.getAttribute("data-stage-id");
      if (stage && stage !== card.getAttribute("data-stage-id")) {
        post(card.getAttribute("data-move-url"), { stage_id: stage });
      }
    }
    finish();
  });
})();
