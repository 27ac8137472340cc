/* The sheet's « Imprimer » button (inline handlers are forbidden by the pages' CSP). */
document.getElementById("imprimer").addEventListener("click", () => window.print());
