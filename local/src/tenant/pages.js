// Show password, on the login page only. The button ships hidden: without JavaScript the
// field stays an ordinary password field. Inlined by pages.rs, which puts this file's SHA-256
// in the Content-Security-Policy: no other script can run.
(function () {
  var buttons = document.querySelectorAll('button[data-reveal]');
  Array.prototype.forEach.call(buttons, function (button) {
    var input = document.getElementById(button.getAttribute('aria-controls'));
    if (!input) return;
    var show = function (visible) {
      input.type = visible ? 'text' : 'password';
      button.textContent = visible ? 'Hide' : 'Show';
      button.setAttribute('aria-pressed', visible ? 'true' : 'false');
    };
    button.addEventListener('click', function () {
      show(input.type === 'password');
      input.focus();
    });
    // Password managers and the browser's history should see a password field when it posts.
    if (input.form) input.form.addEventListener('submit', function () { show(false); });
    button.hidden = false;
  });
})();
