// The event calendar: drag an item onto another day (month) or hour (week, day) to move it.
// Listeners sit on `document`, so the calendar body htmx swaps in keeps working. Phones have
// no drag and drop: each item's details carry move buttons that are plain forms.
(function () {
  "use strict";
  var dragged = null;

  function dropTarget(el) {
    return el && el.closest ? el.closest("#calendar-body [data-slot], #calendar-body [data-day]") : null;
  }

  // The new local start "YYYY-MM-DDTHH:MM": an hour slot sets the date and hour (the minutes
  // stay); a day keeps the time of day.
  function newStart(target, start) {
    var slot = target.getAttribute("data-slot");
    if (slot) { return slot.slice(0, 14) + start.slice(14, 16); }
    return target.getAttribute("data-day") + start.slice(10, 16);
  }

  // The drop target under the pointer is marked (static/js/app.js).
  var clearOver = window.crmDropHighlight(function () { return dragged !== null; }, dropTarget, "cal-drop-over");

  document.addEventListener("dragstart", function (evt) {
    var item = evt.target.closest && evt.target.closest("[data-reschedule-url]");
    if (!item) { return; }
    dragged = item;
    item.classList.add("cal-dragging");
    evt.dataTransfer.effectAllowed = "move";
    evt.dataTransfer.setData("text/plain", item.getAttribute("data-item-key") || "");
  });

  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("cal-dragging"); }
    dragged = null;
    clearOver();
  });

  document.addEventListener("drop", function (evt) {
    var target = dropTarget(evt.target);
    if (!dragged || !target) { return; }
    evt.preventDefault();
    var item = dragged;
    var start = item.getAttribute("data-start");
    var value = newStart(target, start);
    clearOver();
    item.classList.remove("cal-dragging");
    dragged = null;
    if (value === start) { return; }
    // Into the past only after a yes (window.crmConfirmPast, static/js/app.js).
    var answer = window.crmConfirmPast ? window.crmConfirmPast(document.getElementById("calendar-body"), value) : "no";
    if (answer === "cancel") { return; }
    var state = document.querySelector("#calendar-body .cal-state");
    htmx.ajax("POST", item.getAttribute("data-reschedule-url"), {
      source: "#calendar-body",
      target: "#calendar-body",
      swap: "innerHTML",
      values: {
        starts_at: value,
        version: item.getAttribute("data-version") || "",
        confirm: answer === "yes" ? "1" : "",
        view: state ? state.getAttribute("data-view") : "",
        date: state ? state.getAttribute("data-date") : "",
        user: state ? state.getAttribute("data-user") : ""
      }
    });
  });

  // One open item at a time; Escape closes it.
  document.addEventListener("toggle", function (evt) {
    var el = evt.target;
    if (!el.matches || !el.matches("details.cal-item") || !el.open) { return; }
    document.querySelectorAll("details.cal-item[open]").forEach(function (other) {
      if (other !== el) { other.open = false; }
    });
  }, true);
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") { return; }
    document.querySelectorAll("details.cal-item[open]").forEach(function (el) { el.open = false; });
  });
})();
