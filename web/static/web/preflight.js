// When an in-place update (htmx) is refused or fails, say so where messages appear, instead of
// leaving the page silently unchanged. The text comes from the page (data-* on <body>), translated.
document.addEventListener("htmx:responseError", function (event) {
  var status = event.detail.xhr.status;
  var body = document.body.dataset;
  var text = status === 403 ? body.msgRefused : status === 404 ? body.msgGone : body.msgFailed;
  var list = document.querySelector("#htmx-messages");
  var item = document.createElement("li");
  item.className = "error";
  item.textContent = text;
  list.replaceChildren(item);
});
document.addEventListener("htmx:sendError", function () {
  var item = document.createElement("li");
  item.className = "error";
  item.textContent = document.body.dataset.msgOffline;
  document.querySelector("#htmx-messages").replaceChildren(item);
});
// A RACI cell opened for editing can lie beyond the grid's visible width on a phone: bring it into
// view inside the grid's scrolling box (clear of the sticky area column) and focus its first choice.
document.addEventListener("htmx:load", function (event) {
  var cell = event.target;
  if (!cell.matches || !cell.matches("td.cell.editing")) return;
  cell.scrollIntoView({ block: "nearest", inline: "nearest" });
  var first = cell.querySelector("input:not([type=hidden])");
  if (first) first.focus({ preventScroll: true });
});
// Every POST form carries a one-time key (web.idempotency): sending the same form again answers
// as the first time without acting twice. A form that stays on the page after an in-place update
// that went through is the next action's form: it gets a fresh key. (After a failure it keeps
// its key, so trying again cannot act twice.)
document.addEventListener("htmx:afterRequest", function (event) {
  if (!event.detail.successful) return;
  var element = event.detail.elt;
  var form = element.tagName === "FORM" ? element : element.closest && element.closest("form");
  var field = form && form.querySelector('input[name="submission"]');
  if (!field || !document.contains(field)) return;
  var bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  field.value = Array.prototype.map
    .call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    })
    .join("");
});
