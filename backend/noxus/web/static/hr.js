// HR pages: behaviour that was inline (the CSP allows no inline script).
document.addEventListener("change", function (e) {
  if (e.target.matches("select[data-autosubmit]")) e.target.form.submit();
});
document.addEventListener("click", function (e) {
  var a = e.target.closest("a[data-fix-at]");
  if (a) document.getElementById("fix-at").value = a.getAttribute("data-fix-at");
});
