// Package termsafe makes text from git or a registry safe to print on a
// terminal: a commit subject, file name, ref name or tag cannot retitle the
// window, clear the screen, recolour the output or reorder a line. It is
// for human output only; JSON carries the data exact and escapes control
// characters itself.
package termsafe
