// Package warn collects the warnings of one command and keeps them
// readable when an input repeats one thousands of times (100,000 registry
// tags naming revisions the repository lacks must not give 100,000 lines):
// a Set keeps the first few warnings of each kind and counts the rest, and
// Cap bounds a plain list. What they return is what both the table and
// --json show.
package warn
