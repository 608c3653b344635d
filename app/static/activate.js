// The activation page (review 14, L4): a letter's QR code and an e-mail's link carry the code in the URL's
// fragment, which browsers never send to the server. Copy it into the form, then drop it from the address
// bar and the history. Without JavaScript the pupil types the code printed beside the QR code.
(function () {
  var match = /(?:^#|&)code=([A-Za-z0-9-]{1,40})/.exec(window.location.hash);
  var field = document.getElementById("code");
  if (match && field && !field.value) { field.value = match[1]; }
  if (match && window.history && history.replaceState) {
    history.replaceState(null, "", window.location.pathname);
  }
})();
